// ALTERNATIVE: no mutex and no condition variable: the count is a std::atomic lowered by compare-and-swap (so a rejected count_down changes nothing), waiters sleep in std::atomic::wait, and wait_for() polls with a growing back-off (atomics have no timed wait).
// A latch: a one-shot countdown that threads can wait on until it reaches zero.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <thread>

namespace wb {

// latch: as in the reference, built like libstdc++'s std::latch.
// Memory ordering: every count_down is a release (acq_rel) read-modify-write on count_, so the
// chain of them forms one release sequence; a waiter's acquire load that reads 0 synchronises
// with every count_down before it, and sees all the work done before them.
class latch {
 public:
  explicit latch(std::ptrdiff_t count) : count_(count) {
    if (count < 0) throw std::invalid_argument("latch: the count must be >= 0, got " + std::to_string(count));
  }
  latch(const latch&) = delete;
  latch& operator=(const latch&) = delete;

  void count_down(std::ptrdiff_t n = 1) {
    std::ptrdiff_t c = count_.load(std::memory_order_relaxed);
    do {
      if (n < 0 || n > c) {
        throw std::invalid_argument("latch::count_down: n must be between 0 and the count left (" +
                                    std::to_string(c) + "), got " + std::to_string(n));
      }
    } while (!count_.compare_exchange_weak(c, c - n, std::memory_order_acq_rel, std::memory_order_relaxed));
    if (c == n && n > 0) count_.notify_all();  // this call took it to zero: wake every waiter
  }

  bool try_wait() const { return count_.load(std::memory_order_acquire) == 0; }

  void wait() const {
    // atomic::wait(c) returns once the value is no longer c (or spuriously): re-check in a loop.
    for (std::ptrdiff_t c = count_.load(std::memory_order_acquire); c != 0; c = count_.load(std::memory_order_acquire)) {
      count_.wait(c, std::memory_order_acquire);
    }
  }

  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::ceil<clock::duration>(timeout);
    std::chrono::microseconds pause(5);
    for (;;) {
      if (try_wait()) return true;
      const auto now = clock::now();
      if (now >= deadline) return false;
      std::this_thread::sleep_for(std::min<clock::duration>(pause, deadline - now));
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(1));
    }
  }

  void arrive_and_wait(std::ptrdiff_t n = 1) {
    count_down(n);
    wait();
  }

 private:
  std::atomic<std::ptrdiff_t> count_;
};

}  // namespace wb
