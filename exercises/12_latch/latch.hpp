// A latch: a one-shot countdown that threads can wait on until it reaches zero.
// Background and interview questions: notes/12_latch.md
#pragma once

#include <chrono>
#include <cstddef>

#include "workbook_todo.hpp"

namespace wb {

// latch: a counter set once, counted down by any threads, that releases every waiter when it
// reaches zero. It is one-shot: once at zero it stays there and every wait returns at once.
// Counting below zero is a bug of the caller and is rejected with std::invalid_argument,
// leaving the count unchanged (std::latch makes it undefined behaviour instead).
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy the latch only after every call on it has returned.
// Build it with a std::mutex and a std::condition_variable (not std::latch).
class latch {
 public:
  // A latch that opens after `count` count-downs (0: open from the start). Throws
  // std::invalid_argument if count < 0.
  explicit latch(std::ptrdiff_t count) {
    // TODO: reject count < 0 with std::invalid_argument; keep the count.
    WB_TODO("latch::latch", count);
  }
  latch(const latch&) = delete;
  latch& operator=(const latch&) = delete;

  // Lowers the count by n (n >= 0) and, if it reaches zero, releases every waiter. Never waits.
  // Throws std::invalid_argument, changing nothing, if n < 0 or n is more than the count left.
  void count_down(std::ptrdiff_t n = 1) {
    // TODO: under the lock: check n against 0 and the count left BEFORE changing anything;
    // subtract; if the count reached zero, wake ALL waiters.
    WB_TODO("latch::count_down", n);
  }

  // True if the count has reached zero; never waits.
  bool try_wait() const {
    // TODO: read the count under the lock.
    WB_TODO("latch::try_wait");
  }

  // Waits until the count reaches zero (returns at once if it has).
  void wait() const {
    // TODO: lock; wait in a loop (or with a predicate) while the count is above zero.
    WB_TODO("latch::wait");
  }

  // Like wait(), but gives up after timeout. Returns whether the count has reached zero.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    // TODO: like wait(), with wait_for and a predicate; answer from the count, not the clock.
    WB_TODO("latch::wait_for", timeout);
  }

  // count_down(n), then wait(), in one step. Throws like count_down(), without waiting.
  void arrive_and_wait(std::ptrdiff_t n = 1) {
    // TODO: count down and wait under one lock.
    WB_TODO("latch::arrive_and_wait", n);
  }

 private:
  // TODO: a mutable std::mutex (the waits are const); a mutable std::condition_variable
  // signalled when the count reaches zero; guarded by the mutex, the count.
};

}  // namespace wb
