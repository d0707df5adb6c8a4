// A reentrant (recursive) lock, like Python's threading.RLock.
// Background and interview questions: notes/10_reentrant_lock.md
#pragma once

#include <chrono>

#include "workbook_todo.hpp"

namespace wb {

// reentrant_lock: a mutex that the thread holding it may lock again. It counts how many times
// its owner has locked it and is released for other threads only when the owner has called
// unlock() as many times. Only the owner may unlock it: unlock() from any other thread (or
// while nobody holds it) throws std::system_error with std::errc::operation_not_permitted and
// changes nothing. It meets the standard's Lockable and TimedLockable requirements, so
// std::lock_guard, std::unique_lock and std::scoped_lock work with it.
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy it only when no thread holds it or is inside a member.
// Build it from one std::mutex guarding the owner's std::thread::id (std::thread::id{} when
// nobody holds it) and a count of levels, plus one std::condition_variable that waiting
// threads sleep on until the count drops to zero. Do not use std::recursive_mutex.
class reentrant_lock {
 public:
  reentrant_lock() = default;
  reentrant_lock(const reentrant_lock&) = delete;
  reentrant_lock& operator=(const reentrant_lock&) = delete;

  // Takes the lock, waiting while another thread holds it. If the calling thread already
  // holds it, counts one more level and returns at once.
  void lock() {
    // TODO: lock the mutex; if this thread is the owner, count a level; else wait in a loop
    // until nobody holds it, then become the owner with one level.
    WB_TODO("reentrant_lock::lock");
  }

  // Like lock(), but never waits: returns false if another thread holds the lock.
  bool try_lock() {
    // TODO: like lock(), but return false instead of waiting.
    WB_TODO("reentrant_lock::try_lock");
  }

  // Like lock(), but gives up and returns false if another thread still holds the lock after
  // timeout.
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    // TODO: like lock(), with wait_for and a predicate; decide from the state, not the timeout.
    WB_TODO("reentrant_lock::try_lock_for", timeout);
  }

  // Gives up one level. The last level releases the lock and wakes a waiting thread. Throws
  // std::system_error (std::errc::operation_not_permitted) if the calling thread does not hold
  // the lock; the lock is then unchanged.
  void unlock() {
    // TODO: under the mutex, check the caller is the owner (else throw, changing nothing);
    // count a level down; at zero, forget the owner and wake a waiter.
    WB_TODO("reentrant_lock::unlock");
  }

  // Whether the calling thread holds the lock (true for the owner, false for everyone else).
  bool held_by_this_thread() const {
    // TODO: compare the owner with std::this_thread::get_id(), under the mutex.
    WB_TODO("reentrant_lock::held_by_this_thread");
  }

 private:
  // TODO: a mutable std::mutex; guarded by it, the owner's std::thread::id and a
  // std::size_t count of levels; a std::condition_variable (released_) for waiting threads.
};

}  // namespace wb
