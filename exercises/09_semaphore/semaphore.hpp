// A counting semaphore: a number of permits that threads take and give back.
// Background and interview questions: notes/09_semaphore.md
#pragma once

#include <chrono>
#include <cstddef>
#include <limits>

#include "workbook_todo.hpp"

namespace wb {

// counting_semaphore: holds a count of permits. acquire() takes one, waiting while there are
// none; release(n) gives n back and wakes up to n waiters. Unlike a mutex, a permit has no
// owner: any thread may release, including one that never acquired (that is how one thread
// signals another). With a bound (`max`), a release that would raise the count above it is
// rejected, as Python's BoundedSemaphore does: it catches "released more often than acquired".
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy the semaphore only after every call on it has returned.
// Build it with one std::mutex guarding the count and one std::condition_variable (not
// std::counting_semaphore).
class counting_semaphore {
 public:
  // The largest bound there is: a semaphore built without one is, in practice, unbounded.
  static constexpr std::ptrdiff_t unbounded = std::numeric_limits<std::ptrdiff_t>::max();

  // A semaphore holding `initial` permits that never holds more than `max`. Throws
  // std::invalid_argument unless 0 <= initial <= max and max >= 1.
  explicit counting_semaphore(std::ptrdiff_t initial, std::ptrdiff_t max = unbounded) {
    // TODO: reject bad arguments with std::invalid_argument; keep the bound and the count.
    WB_TODO("counting_semaphore::counting_semaphore", initial, max);
  }
  counting_semaphore(const counting_semaphore&) = delete;
  counting_semaphore& operator=(const counting_semaphore&) = delete;

  // Takes one permit, waiting while there is none.
  void acquire() {
    // TODO: lock; wait in a loop (or with a predicate) while the count is 0; then take one.
    WB_TODO("counting_semaphore::acquire");
  }

  // Takes one permit if there is one now; never waits. Returns whether it took one.
  bool try_acquire() {
    // TODO: check and take in ONE critical section.
    WB_TODO("counting_semaphore::try_acquire");
  }

  // Like acquire(), but gives up and returns false if there is still no permit after timeout.
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& timeout) {
    // TODO: like acquire(), with wait_for and a predicate; decide from the count, not the clock.
    WB_TODO("counting_semaphore::try_acquire_for", timeout);
  }

  // Gives back n permits (n >= 0; 0 does nothing) and wakes up to n waiters. Throws
  // std::invalid_argument, changing nothing, if n < 0 or if the count would exceed max().
  void release(std::ptrdiff_t n = 1) {
    // TODO: check n; under the lock check the bound (without overflowing), add n, and wake
    // enough waiters for n permits.
    WB_TODO("counting_semaphore::release", n);
  }

  // The bound given to the constructor (unbounded if none was).
  std::ptrdiff_t max() const {
    // TODO: return the bound.
    WB_TODO("counting_semaphore::max");
  }

 private:
  // TODO: the bound (fixed); a std::mutex; a std::condition_variable signalled when the count
  // goes up; guarded by the mutex, the count of permits.
};

}  // namespace wb
