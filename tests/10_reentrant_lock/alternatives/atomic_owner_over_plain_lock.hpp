// ALTERNATIVE: layered like Python's pure-Python RLock: a plain, unowned lock (taken/free, any thread may release it) does all the waiting, while the owner's id is a relaxed std::atomic read without any lock and the count is plain data only the owner touches.
// A reentrant (recursive) lock, like Python's threading.RLock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>

namespace wb {

// A plain lock like Python's threading.Lock: taken or free, no owner, so any thread may
// release it. All waiting happens here.
class plain_lock {
 public:
  void acquire() {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [this] { return !taken_; });
    taken_ = true;
  }
  bool try_acquire() {
    std::lock_guard lock(mutex_);
    if (taken_) return false;
    taken_ = true;
    return true;
  }
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& timeout) {
    std::unique_lock lock(mutex_);
    if (!freed_.wait_for(lock, timeout, [this] { return !taken_; })) return false;
    taken_ = true;
    return true;
  }
  void release() {
    std::lock_guard lock(mutex_);
    taken_ = false;
    freed_.notify_one();  // one waiter can take it
  }

 private:
  std::mutex mutex_;
  std::condition_variable freed_;
  bool taken_ = false;  // guarded by mutex_
};

// reentrant_lock: a mutex that the thread holding it may lock again. It counts how many times
// its owner has locked it and is released for other threads only when the owner has called
// unlock() as many times. Only the owner may unlock it: unlock() from any other thread (or
// while nobody holds it) throws std::system_error with std::errc::operation_not_permitted and
// changes nothing. It meets the standard's Lockable and TimedLockable requirements.
//
// Design (the classic recursive lock over a plain one, as many runtimes build it): the plain
// lock base_ is taken exactly while some thread holds the reentrant lock. owner_ is
// written only by the thread holding base_ (its own id after taking it, id{} before releasing it) and read
// without any lock. A thread compares owner_ only with its own id, and that comparison is
// right even with relaxed loads: no other thread ever writes this thread's id, and a thread
// always sees its own latest store to an atomic, so owner_ == me exactly when this thread has
// stored its id and not yet cleared it. depth_ is touched only by the owner; it passes from
// one owner to the next through base_'s release()/acquire() (its internal mutex).
// (A std::timed_mutex would do as base_, but its try_lock_for() calls pthread_mutex_clocklock,
// which this machine's ThreadSanitizer does not intercept: it then reports false races. A
// std::binary_semaphore would do too, but libstdc++'s has a reported lost wake-up under
// contention (GCC bug 98033), and a version built on it failed one gallery run of 20 here.)
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy it only when no thread holds it or is inside a member.
// Invariants: base_ is taken exactly when owner_ != id{}; depth_ >= 1 while held.
// Memory ordering: everything a thread did before its last unlock() is visible to the next
// thread whose lock call succeeds (base_.release() and base_.acquire() synchronize).
class reentrant_lock {
 public:
  reentrant_lock() = default;
  reentrant_lock(const reentrant_lock&) = delete;
  reentrant_lock& operator=(const reentrant_lock&) = delete;

  // Takes the lock, waiting while another thread holds it. If the calling thread already
  // holds it, counts one more level and returns at once.
  void lock() {
    if (reenter()) return;
    base_.acquire();
    take();
  }

  // Like lock(), but never waits: returns false if another thread holds the lock.
  bool try_lock() {
    if (reenter()) return true;
    if (!base_.try_acquire()) return false;
    take();
    return true;
  }

  // Like lock(), but gives up and returns false if another thread still holds the lock after
  // timeout.
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    if (reenter()) return true;
    if (!base_.try_acquire_for(timeout)) return false;
    take();
    return true;
  }

  // Gives up one level. The last level releases the lock and wakes a waiting thread. Throws
  // std::system_error (std::errc::operation_not_permitted) if the calling thread does not hold
  // the lock; the lock is then unchanged.
  void unlock() {
    if (!held_by_this_thread()) {
      throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                              "reentrant_lock::unlock: the calling thread does not hold the lock");
    }
    if (--depth_ == 0) {
      owner_.store(std::thread::id{}, std::memory_order_relaxed);  // before giving base_ back
      base_.release();
    }
  }

  // Whether the calling thread holds the lock (true for the owner, false for everyone else).
  bool held_by_this_thread() const {
    // relaxed: only this thread ever stores its own id, and it always sees its own stores
    return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

 private:
  // If the caller is the owner, counts a level and returns true.
  bool reenter() {
    if (!held_by_this_thread()) return false;
    ++depth_;
    return true;
  }

  // Requires base_ just taken by the caller.
  void take() {
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);  // read only by comparisons with one's own id
    depth_ = 1;
  }

  plain_lock base_;                       // taken while anyone holds the reentrant lock
  std::atomic<std::thread::id> owner_{};  // written only by the holder of base_
  std::size_t depth_ = 0;                 // touched only by the owner
};

}  // namespace wb
