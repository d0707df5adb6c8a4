// BUG: count_down() subtracts first and checks afterwards, so the rejected call has already changed the count
// A latch: a one-shot countdown that threads can wait on until it reaches zero.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <string>

namespace wb {

// latch: a counter set once, counted down by any threads, that releases every waiter when it
// reaches zero. It is one-shot: once at zero it stays there and every wait returns at once.
// Counting below zero is a bug of the caller and is rejected with std::invalid_argument,
// leaving the count unchanged (std::latch makes it undefined behaviour instead).
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy the latch only after every call on it has returned (a waiter that was
// released may still be re-locking the mutex when another one returns).
// Invariants (whenever mutex_ is free): count_ >= 0 and it never goes up; no thread waits on
// reached_zero_ while count_ == 0, except for the moment between the last count_down and the
// waiter's wake-up.
// Memory ordering: everything a thread did before count_down() (or arrive_and_wait()) is
// visible to every thread after its wait(), a wait_for() that returned true, a try_wait() that
// returned true, or its arrive_and_wait() returns: all of them hold mutex_ while they change
// or read count_.
class latch {
 public:
  // A latch that opens after `count` count-downs (0: open from the start). Throws
  // std::invalid_argument if count < 0.
  explicit latch(std::ptrdiff_t count) : count_(count) {
    if (count < 0) throw std::invalid_argument("latch: the count must be >= 0, got " + std::to_string(count));
  }
  latch(const latch&) = delete;
  latch& operator=(const latch&) = delete;

  // Lowers the count by n (n >= 0) and, if it reaches zero, releases every waiter. Never waits.
  // Throws std::invalid_argument, changing nothing, if n < 0 or n is more than the count left.
  void count_down(std::ptrdiff_t n = 1) {
    std::lock_guard lock(mutex_);
    count_down_locked(n);
  }

  // True if the count has reached zero; never waits.
  bool try_wait() const {
    std::lock_guard lock(mutex_);
    return count_ == 0;
  }

  // Waits until the count reaches zero (returns at once if it has).
  void wait() const {
    std::unique_lock lock(mutex_);
    reached_zero_.wait(lock, [&] { return count_ == 0; });
  }

  // Like wait(), but gives up after timeout. Returns whether the count has reached zero.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    std::unique_lock lock(mutex_);
    return reached_zero_.wait_for(lock, timeout, [&] { return count_ == 0; });
  }

  // count_down(n), then wait(), in one step. Throws like count_down(), without waiting.
  void arrive_and_wait(std::ptrdiff_t n = 1) {
    std::unique_lock lock(mutex_);
    count_down_locked(n);
    reached_zero_.wait(lock, [&] { return count_ == 0; });
  }

 private:
  // Requires mutex_ held.
  void count_down_locked(std::ptrdiff_t n) {
    count_ -= n;
    if (n < 0 || count_ < 0) {
      throw std::invalid_argument("latch::count_down: n must be between 0 and the count left (" +
                                  std::to_string(count_) + "), got " + std::to_string(n));
    }
    if (count_ == 0 && n > 0) reached_zero_.notify_all();  // every waiter must go, not one
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable reached_zero_;  // signalled once, when count_ reaches 0
  std::ptrdiff_t count_;                          // guarded by mutex_
};

}  // namespace wb
