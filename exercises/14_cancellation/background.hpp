// Cancellation (Python's daemon threads and Event-based stop flags, done the C++ way): an
// interruptible sleep, and a periodic task on its own std::jthread that stops promptly on request.
// Background and interview questions: notes/14_cancellation.md
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>

#include "workbook_todo.hpp"

namespace wb {

// Sleeps for `duration` unless a stop is requested on `stop` first. Returns true if the whole
// duration passed, false as soon as a stop is requested (at once if one already was).
template <class Rep, class Period>
bool sleep_for(std::stop_token stop, const std::chrono::duration<Rep, Period>& duration) {
  // TODO: wait on a std::condition_variable_any with the overload that takes the stop_token
  // (a plain sleep cannot be woken); then say whether the stop came.
  WB_TODO("sleep_for", stop, duration);
}

// periodic_task: calls tick() every `period` on a thread of its own: it waits one period, calls
// tick(), waits one period, and so on, until stopped. Waiting ends at once when a stop is
// requested; a running tick() is never interrupted.
//
// Thread safety: stop() and ticks() may be called from any thread, also concurrently, and
// stop() also from inside tick() (then it only requests the stop: a thread cannot join itself).
// Lifetime: the destructor stops the task and waits for its thread to end. Do not destroy the
// task from inside its own tick().
// Errors: if tick() throws, the task stops after it, and the next stop() from another thread
// rethrows the exception (once); the destructor drops an exception nobody collected.
class periodic_task {
 public:
  // A period <= 0 or an empty tick throws std::invalid_argument.
  periodic_task(std::chrono::steady_clock::duration period, std::function<void()> tick) {
    // TODO: check the arguments, keep them, and start a std::jthread whose function takes the
    // std::stop_token: loop { sleep_for(token, period) or end; tick(); count it }.
    WB_TODO("periodic_task::periodic_task", period, tick);
  }
  periodic_task(const periodic_task&) = delete;
  periodic_task& operator=(const periodic_task&) = delete;

  // Stops the task (see stop()), dropping an exception a tick threw.
  ~periodic_task() {
    // TODO: call stop(); a destructor must not throw, so catch what it rethrows.
  }

  // Requests the stop and waits until the task's thread has ended: returns at once if the task
  // is waiting between ticks, after the current tick() if one is running. From inside tick():
  // only requests the stop and returns; no further tick starts. Rethrows (once) an exception
  // that ended the task.
  void stop() {
    // TODO: from the task's own thread, only request_stop(). Otherwise, under a mutex (several
    // threads may call stop() at once), request_stop(), join if joinable, take the stored
    // exception; rethrow it after unlocking.
    WB_TODO("periodic_task::stop");
  }

  // How many calls of tick() have finished (returned or thrown).
  std::uint64_t ticks() const {
    // TODO: an atomic counter, incremented after each tick() (release), read with acquire.
    WB_TODO("periodic_task::ticks");
  }

 private:
  // TODO: the period and the tick; an atomic tick count; a mutex for stop(); the exception a
  // tick threw (std::exception_ptr); a way to know that stop() runs on the task's own thread
  // (a static thread_local pointer to the running task works); and the std::jthread, declared
  // last so it starts after, and is joined before, everything it uses.
};

}  // namespace wb
