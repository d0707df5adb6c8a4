// BUG: acquire() checks the count once with `if` and waits once, so a spurious wake-up takes a permit that is not there
// A counting semaphore: a number of permits that threads take and give back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

namespace wb {

// counting_semaphore: holds a count of permits. acquire() takes one, waiting while there are
// none; release(n) gives n back and wakes up to n waiters. Unlike a mutex, a permit has no
// owner: any thread may release, including one that never acquired (that is how one thread
// signals another). With a bound (`max`), a release that would raise the count above it is
// rejected, as Python's BoundedSemaphore does: it catches "released more often than acquired".
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy the semaphore only after every call on it has returned.
// Invariants (whenever mutex_ is free): 0 <= count_ <= max_; no thread waits on released_ while
// count_ > 0, except for the moment between a release and the waiter's wake-up.
// Memory ordering: everything a thread did before release() is visible to the thread whose
// acquire (any form that returned true) takes one of those permits: both hold mutex_ around
// the change of count_.
class counting_semaphore {
 public:
  // The largest bound there is: a semaphore built without one is, in practice, unbounded.
  static constexpr std::ptrdiff_t unbounded = std::numeric_limits<std::ptrdiff_t>::max();

  // A semaphore holding `initial` permits that never holds more than `max`. Throws
  // std::invalid_argument unless 0 <= initial <= max and max >= 1.
  explicit counting_semaphore(std::ptrdiff_t initial, std::ptrdiff_t max = unbounded)
      : max_(max), count_(initial) {
    if (max < 1 || initial < 0 || initial > max) {
      throw std::invalid_argument("counting_semaphore: need 0 <= initial <= max and max >= 1, got initial " +
                                  std::to_string(initial) + ", max " + std::to_string(max));
    }
  }
  counting_semaphore(const counting_semaphore&) = delete;
  counting_semaphore& operator=(const counting_semaphore&) = delete;

  // Takes one permit, waiting while there is none.
  void acquire() {
    std::unique_lock lock(mutex_);
    if (count_ == 0) released_.wait(lock);
    --count_;
  }

  // Takes one permit if there is one now; never waits. Returns whether it took one.
  bool try_acquire() {
    std::lock_guard lock(mutex_);
    if (count_ == 0) return false;
    --count_;
    return true;
  }

  // Like acquire(), but gives up and returns false if there is still no permit after timeout.
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& timeout) {
    std::unique_lock lock(mutex_);
    if (!released_.wait_for(lock, timeout, [&] { return count_ > 0; })) return false;
    --count_;
    return true;
  }

  // Gives back n permits (n >= 0; 0 does nothing) and wakes up to n waiters. Throws
  // std::invalid_argument, changing nothing, if n < 0 or if the count would exceed max().
  void release(std::ptrdiff_t n = 1) {
    if (n < 0) throw std::invalid_argument("counting_semaphore::release: n must be >= 0, got " + std::to_string(n));
    std::lock_guard lock(mutex_);
    if (n > max_ - count_) {  // written so that it cannot overflow, unlike count_ + n > max_
      throw std::invalid_argument("counting_semaphore::release: " + std::to_string(n) +
                                  " more permits would exceed the bound of " + std::to_string(max_) +
                                  " (released more often than acquired?)");
    }
    count_ += n;
    // n permits can serve n waiters: notify_one would leave n - 1 of them asleep.
    if (n == 1) {
      released_.notify_one();
    } else if (n > 1) {
      released_.notify_all();
    }
  }

  // The bound given to the constructor (unbounded if none was).
  std::ptrdiff_t max() const { return max_; }

 private:
  const std::ptrdiff_t max_;
  std::mutex mutex_;
  std::condition_variable released_;  // signalled when count_ goes up
  std::ptrdiff_t count_;              // guarded by mutex_
};

}  // namespace wb
