// BUG: lock() checks whether the caller is the owner before taking the mutex: "only I can write my own id there"
// A reentrant (recursive) lock, like Python's threading.RLock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <system_error>
#include <thread>

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
// Invariants (whenever mutex_ is free): depth_ == 0 exactly when owner_ is std::thread::id{}
// (nobody holds it); otherwise owner_ is the holder and depth_ the number of its unmatched
// lock calls.
// Memory ordering: everything a thread did before its last unlock() is visible to the next
// thread whose lock(), try_lock() or try_lock_for() succeeds (owner_ and depth_ are handed over
// under mutex_).
class reentrant_lock {
 public:
  reentrant_lock() = default;
  reentrant_lock(const reentrant_lock&) = delete;
  reentrant_lock& operator=(const reentrant_lock&) = delete;

  // Takes the lock, waiting while another thread holds it. If the calling thread already
  // holds it, counts one more level and returns at once.
  void lock() {
    const auto me = std::this_thread::get_id();
    if (owner_ == me) {
      std::lock_guard relock(mutex_);
      ++depth_;
      return;
    }
    std::unique_lock lock(mutex_);
    while (depth_ != 0) released_.wait(lock);
    take(me);
  }

  // Like lock(), but never waits: returns false if another thread holds the lock.
  bool try_lock() {
    const auto me = std::this_thread::get_id();
    std::lock_guard lock(mutex_);
    if (owner_ == me) {
      ++depth_;
      return true;
    }
    if (depth_ != 0) return false;
    take(me);
    return true;
  }

  // Like lock(), but gives up and returns false if another thread still holds the lock after
  // timeout.
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    const auto me = std::this_thread::get_id();
    std::unique_lock lock(mutex_);
    if (owner_ == me) {
      ++depth_;
      return true;
    }
    if (!released_.wait_for(lock, timeout, [this] { return depth_ == 0; })) return false;
    take(me);
    return true;
  }

  // Gives up one level. The last level releases the lock and wakes a waiting thread. Throws
  // std::system_error (std::errc::operation_not_permitted) if the calling thread does not hold
  // the lock; the lock is then unchanged.
  void unlock() {
    std::lock_guard lock(mutex_);
    if (owner_ != std::this_thread::get_id()) {
      throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                              "reentrant_lock::unlock: the calling thread does not hold the lock");
    }
    if (--depth_ == 0) {
      owner_ = std::thread::id{};
      released_.notify_one();  // one thread can take it; a waiter that wakes always takes it
    }
  }

  // Whether the calling thread holds the lock (true for the owner, false for everyone else).
  bool held_by_this_thread() const {
    std::lock_guard lock(mutex_);
    return owner_ == std::this_thread::get_id();
  }

 private:
  // Requires mutex_ held and nobody holding the lock.
  void take(std::thread::id me) {
    owner_ = me;
    depth_ = 1;
  }

  mutable std::mutex mutex_;
  std::condition_variable released_;  // waiters for depth_ == 0
  std::thread::id owner_;             // guarded by mutex_; id{} when nobody holds the lock
  std::size_t depth_ = 0;             // guarded by mutex_
};

}  // namespace wb
