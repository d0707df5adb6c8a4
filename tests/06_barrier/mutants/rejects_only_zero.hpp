// BUG: the constructor rejects a count of 0 but lets a negative count through: "a thread count of zero is the invalid one"
// A reusable barrier: a fixed number of threads meet, one runs a completion step, all go on.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace wb {

// barrier: a meeting point for `expected` threads, reusable for any number of phases.
// A phase ends when `expected` threads have called arrive_and_wait(). The last of them runs the
// completion step (if one was given), and only then are all of them released; the next call
// of any thread belongs to the next phase.
//
// Thread safety: arrive_and_wait() and expected() may be called from any thread at once.
// Exactly `expected` threads take part, each calling arrive_and_wait() once per phase.
// Lifetime: destroy the barrier only when no thread is inside arrive_and_wait() and none will
// call it again (join the threads first). One thread returning does not prove that the others
// have: a released waiter may still be re-locking the mutex.
// Invariants (whenever mutex_ is free): 0 <= arrived_ < expected_; phase_ is the number of
// completed phases; the arrived_ threads of the current phase wait for phase_ to change.
// Memory ordering: everything a thread did before arrive_and_wait() happens-before the
// completion step of that phase, and the completion step happens-before every return from
// arrive_and_wait() of that phase (all of it is ordered by mutex_: the last arriver locks it
// after every other arriver unlocked it, and each waiter re-locks it after the last arriver's
// unlock).
class barrier {
 public:
  // A barrier for `expected` threads (at least 1, else std::invalid_argument). `completion`,
  // if not empty, runs once per phase on the last arriving thread, before anyone is released.
  // It must not throw (as for std::barrier; a throw ends the program) and must not call
  // arrive_and_wait() on this barrier.
  explicit barrier(std::ptrdiff_t expected, std::function<void()> completion = {})
      : expected_(expected), completion_(std::move(completion)) {
    if (expected == 0) {
      throw std::invalid_argument("barrier: the number of threads must be at least 1, got " +
                                  std::to_string(expected));
    }
  }
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  // Arrives at the barrier and blocks until all `expected` threads have arrived in this phase
  // and the completion step has run.
  void arrive_and_wait() {
    std::unique_lock lock(mutex_);
    const std::uint64_t my_phase = phase_;
    if (++arrived_ < expected_) {
      // Wait for the phase number, not the count: a fast thread of the next phase may already
      // have re-armed the count by the time this one wakes.
      phase_done_.wait(lock, [&] { return phase_ != my_phase; });
      return;
    }
    run_completion();  // under the lock: nobody of this phase can be released before it ends
    arrived_ = 0;
    ++phase_;
    phase_done_.notify_all();  // every waiter of this phase must wake, not one
  }

  // The number of threads that take part in each phase.
  std::ptrdiff_t expected() const { return expected_; }

 private:
  void run_completion() noexcept {
    if (completion_) completion_();
  }

  const std::ptrdiff_t expected_;
  const std::function<void()> completion_;

  std::mutex mutex_;
  std::condition_variable phase_done_;  // signalled when phase_ changes
  std::ptrdiff_t arrived_ = 0;          // guarded by mutex_
  std::uint64_t phase_ = 0;             // guarded by mutex_
};

}  // namespace wb
