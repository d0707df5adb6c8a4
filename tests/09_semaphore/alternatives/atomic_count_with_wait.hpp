// ALTERNATIVE: no mutex and no condition variable: the count is a std::atomic changed by compare-and-swap, acquire() sleeps in std::atomic::wait, and try_acquire_for() polls with a growing back-off (atomics have no timed wait).
// A counting semaphore: a number of permits that threads take and give back.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

namespace wb {

// counting_semaphore: as in the reference, but lock-free on the fast path. A permit is taken by
// a compare-and-swap from c to c - 1 with c > 0, so the count can never go below zero, and given
// back by one from c to c + n that checks the bound in the same step.
// Memory ordering: the CAS in release() is a release and the CAS that takes a permit is an
// acquire, so everything done before release() is visible after the acquire that takes it.
class counting_semaphore {
 public:
  static constexpr std::ptrdiff_t unbounded = std::numeric_limits<std::ptrdiff_t>::max();

  explicit counting_semaphore(std::ptrdiff_t initial, std::ptrdiff_t max = unbounded)
      : max_(max), count_(initial) {
    if (max < 1 || initial < 0 || initial > max) {
      throw std::invalid_argument("counting_semaphore: need 0 <= initial <= max and max >= 1, got initial " +
                                  std::to_string(initial) + ", max " + std::to_string(max));
    }
  }
  counting_semaphore(const counting_semaphore&) = delete;
  counting_semaphore& operator=(const counting_semaphore&) = delete;

  void acquire() {
    while (!try_acquire()) {
      // Sleeps only while the count is still 0 (checked atomically with going to sleep), so a
      // release() between try_acquire() and wait() is not missed. Relaxed: the acquiring CAS
      // in try_acquire() does the synchronising.
      count_.wait(0, std::memory_order_relaxed);
    }
  }

  bool try_acquire() {
    std::ptrdiff_t c = count_.load(std::memory_order_relaxed);
    while (c > 0) {
      // acquire: pairs with the release CAS in release() that made this permit available.
      if (count_.compare_exchange_weak(c, c - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    }
    return false;
  }

  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& timeout) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::ceil<clock::duration>(timeout);
    std::chrono::microseconds pause(5);
    for (;;) {
      if (try_acquire()) return true;
      const auto now = clock::now();
      if (now >= deadline) return false;
      std::this_thread::sleep_for(std::min<clock::duration>(pause, deadline - now));
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(1));
    }
  }

  void release(std::ptrdiff_t n = 1) {
    if (n < 0) throw std::invalid_argument("counting_semaphore::release: n must be >= 0, got " + std::to_string(n));
    std::ptrdiff_t c = count_.load(std::memory_order_relaxed);
    do {
      if (n > max_ - c) {
        throw std::invalid_argument("counting_semaphore::release: " + std::to_string(n) +
                                    " more permits would exceed the bound of " + std::to_string(max_));
      }
      // release: publishes what this thread did to whoever takes these permits.
    } while (!count_.compare_exchange_weak(c, c + n, std::memory_order_release, std::memory_order_relaxed));
    if (n == 1) {
      count_.notify_one();
    } else if (n > 1) {
      count_.notify_all();
    }
  }

  std::ptrdiff_t max() const { return max_; }

 private:
  const std::ptrdiff_t max_;
  std::atomic<std::ptrdiff_t> count_;
};

}  // namespace wb
