// A reusable barrier: a fixed number of threads meet, one runs a completion step, all go on.
// Background and interview questions: notes/06_barrier.md
#pragma once

#include <cstddef>
#include <functional>

#include "workbook_todo.hpp"

namespace wb {

// barrier: a meeting point for `expected` threads, reusable for any number of phases.
// A phase ends when `expected` threads have called arrive_and_wait(). The last of them runs the
// completion step (if one was given), and only then are all of them released; the next call
// of any thread belongs to the next phase.
//
// Thread safety: arrive_and_wait() and expected() may be called from any thread at once.
// Exactly `expected` threads take part, each calling arrive_and_wait() once per phase.
// Lifetime: destroy the barrier only when no thread is inside arrive_and_wait() and none will
// call it again (join the threads first).
// Build it with a std::mutex and a std::condition_variable (not std::barrier).
class barrier {
 public:
  // A barrier for `expected` threads (at least 1, else std::invalid_argument). `completion`,
  // if not empty, runs once per phase on the last arriving thread, before anyone is released.
  // It must not throw (as for std::barrier; a throw ends the program) and must not call
  // arrive_and_wait() on this barrier.
  explicit barrier(std::ptrdiff_t expected, std::function<void()> completion = {}) {
    // TODO: reject expected < 1 with std::invalid_argument; keep the count and the completion.
    WB_TODO("barrier::barrier", expected, completion);
  }
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  // Arrives at the barrier and blocks until all `expected` threads have arrived in this phase
  // and the completion step has run.
  void arrive_and_wait() {
    // TODO: count this arrival under the lock. The last arriver runs the completion, resets the
    // count, starts the next phase and wakes every waiter; the others wait in a loop until the
    // phase they arrived in is over (think: how does a waiter tell "my phase ended" from "a
    // fast thread already arrived in the next one"?).
    WB_TODO("barrier::arrive_and_wait");
  }

  // The number of threads that take part in each phase.
  std::ptrdiff_t expected() const {
    // TODO: return the count given to the constructor.
    WB_TODO("barrier::expected");
  }

 private:
  // TODO: the expected count and the completion (both fixed); a std::mutex; a
  // std::condition_variable signalled when a phase ends; guarded by the mutex: how many threads
  // have arrived in this phase, and a phase (generation) number.
};

}  // namespace wb
