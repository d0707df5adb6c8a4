// ALTERNATIVE: a sense-reversing barrier (one bool flipped per phase instead of a phase counter) whose last arriver runs the completion step outside the mutex, before it flips the sense, so no user code runs under the lock.
// A reusable barrier: a fixed number of threads meet, one runs a completion step, all go on.
#pragma once

#include <condition_variable>
#include <cstddef>
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
// Design: instead of numbering the phases, the barrier keeps one bool, sense_, flipped once
// per phase. A waiter remembers the sense it arrived in and waits for it to change. One bit is
// enough: for the sense to flip twice, the next phase would have to complete, and it cannot
// without this very waiter arriving in it, which it does only after it has returned.
// The last arriver runs the completion step with the mutex released. That is safe because the
// phase is not over yet (the sense has not flipped): nobody of this phase can leave, and nobody
// of the next phase can arrive (all `expected` threads are inside this phase). Only after the
// step does it re-lock, re-arm the count, flip the sense and notify. (Ending the phase first and
// then running the step unlocked would be wrong: waiters could leave before the step ran.)
//
// Thread safety: arrive_and_wait() and expected() may be called from any thread at once.
// Exactly `expected` threads take part, each calling arrive_and_wait() once per phase.
// Lifetime: destroy the barrier only when no thread is inside arrive_and_wait() and none will
// call it again (join the threads first). One thread returning does not prove that the others
// have: a released waiter may still be re-locking the mutex.
// Invariants (whenever mutex_ is free): 0 <= arrived_ <= expected_, and arrived_ == expected_
// only while the last arriver runs the completion step; the arrived_ threads of the current
// phase (other than that last arriver) wait for sense_ to differ from the value it had when
// they arrived.
// Memory ordering: everything a thread did before arrive_and_wait() happens-before the
// completion step of that phase (each arriver unlocks mutex_ after counting itself; the last
// arriver locked it after all of them and runs the step on the same thread afterwards), and
// the completion step happens-before every return from arrive_and_wait() of that phase (the
// last arriver flips sense_ under mutex_ after the step, and each waiter reads the flip under
// mutex_).
class barrier {
 public:
  // A barrier for `expected` threads (at least 1, else std::invalid_argument). `completion`,
  // if not empty, runs once per phase on the last arriving thread, before anyone is released.
  // It must not throw (as for std::barrier; a throw ends the program) and must not call
  // arrive_and_wait() on this barrier.
  explicit barrier(std::ptrdiff_t expected, std::function<void()> completion = {})
      : expected_(checked(expected)), completion_(std::move(completion)) {}
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  // Arrives at the barrier and blocks until all `expected` threads have arrived in this phase
  // and the completion step has run.
  void arrive_and_wait() {
    std::unique_lock lock(mutex_);
    const bool arrival_sense = sense_;
    if (++arrived_ < expected_) {
      // Wait for the sense to flip, not for the count: the last arriver re-arms the count, and
      // a fast thread of the next phase may already have raised it again.
      while (sense_ == arrival_sense) phase_over_.wait(lock);
      return;
    }
    // Last arriver: the phase is complete but not yet over. Run the step without the lock.
    lock.unlock();
    run_completion();
    lock.lock();
    arrived_ = 0;
    sense_ = !sense_;
    phase_over_.notify_all();  // every waiter of this phase must wake, not one
  }

  // The number of threads that take part in each phase.
  std::ptrdiff_t expected() const { return expected_; }

 private:
  static std::ptrdiff_t checked(std::ptrdiff_t expected) {
    if (expected < 1) {
      throw std::invalid_argument("barrier: the number of threads must be at least 1, got " +
                                  std::to_string(expected));
    }
    return expected;
  }

  void run_completion() noexcept {
    if (completion_) completion_();
  }

  const std::ptrdiff_t expected_;
  const std::function<void()> completion_;

  std::mutex mutex_;
  std::condition_variable phase_over_;  // signalled when sense_ flips
  std::ptrdiff_t arrived_ = 0;          // guarded by mutex_
  bool sense_ = false;                  // guarded by mutex_: flipped at the end of every phase
};

}  // namespace wb
