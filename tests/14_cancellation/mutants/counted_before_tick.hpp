// BUG: ticks() is incremented before tick() runs, so it counts a tick that has not finished (or even started its work)
// Cancellation (Python's daemon threads and Event-based stop flags, done the C++ way): an
// interruptible sleep, and a periodic task on its own std::jthread that stops promptly on request.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <utility>

namespace wb {

// Sleeps for `duration` unless a stop is requested on `stop` first. Returns true if the whole
// duration passed, false as soon as a stop is requested (at once if one already was).
// Memory ordering: everything the thread that called request_stop() did before it is visible
// to the sleeper once sleep_for returns false (stop_source/stop_token synchronize).
template <class Rep, class Period>
bool sleep_for(std::stop_token stop, const std::chrono::duration<Rep, Period>& duration) {
  std::mutex mutex;
  std::condition_variable_any woken;  // the _any overload takes a stop_token and wakes on it
  std::unique_lock lock(mutex);
  woken.wait_for(lock, stop, duration, [] { return false; });  // only a stop or the time ends it
  return !stop.stop_requested();
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
// Invariant: after stop() returns (called from outside the task), no tick() is running and none
// will start; ticks() is then exactly the number of calls of tick().
// Memory ordering: everything a tick() did is visible to a thread after its ticks() returns a
// count that includes that tick (release/acquire), and after stop() returns (join).
class periodic_task {
 public:
  // A period <= 0 or an empty tick throws std::invalid_argument.
  periodic_task(std::chrono::steady_clock::duration period, std::function<void()> tick)
      : period_(checked(period)), tick_(checked(std::move(tick))),
        worker_([this](std::stop_token stop) { run(std::move(stop)); }) {}
  periodic_task(const periodic_task&) = delete;
  periodic_task& operator=(const periodic_task&) = delete;

  // Stops the task (see stop()), dropping an exception a tick threw.
  ~periodic_task() {
    try {
      stop();
    } catch (...) {  // a destructor must not throw; call stop() first to see the error
    }
  }

  // Requests the stop and waits until the task's thread has ended: returns at once if the task
  // is waiting between ticks, after the current tick() if one is running. From inside tick():
  // only requests the stop and returns; no further tick starts. Rethrows (once) an exception
  // that ended the task.
  void stop() {
    if (running_on_this_thread_ == this) {  // joining ourselves would deadlock
      worker_.request_stop();
      return;
    }
    std::exception_ptr error;
    {
      std::lock_guard lock(stop_mutex_);
      worker_.request_stop();
      if (worker_.joinable()) worker_.join();
      error = std::exchange(error_, nullptr);
    }
    if (error) std::rethrow_exception(error);
  }

  // How many calls of tick() have finished (returned or thrown).
  std::uint64_t ticks() const { return ticks_.load(std::memory_order_acquire); }

 private:
  static std::chrono::steady_clock::duration checked(std::chrono::steady_clock::duration period) {
    if (period <= std::chrono::steady_clock::duration::zero()) {
      throw std::invalid_argument("periodic_task: the period must be positive");
    }
    return period;
  }
  static std::function<void()> checked(std::function<void()> tick) {
    if (!tick) throw std::invalid_argument("periodic_task: tick must be a callable, not empty");
    return tick;
  }

  void run(std::stop_token stop) {
    running_on_this_thread_ = this;
    while (sleep_for(stop, period_)) {
      ticks_.fetch_add(1, std::memory_order_release);
      try {
        tick_();
      } catch (...) {
        error_ = std::current_exception();  // read by stop() after join
        return;
      }
    }
  }

  // Which task's thread this is (so stop() can tell it is called from a tick).
  static inline thread_local const periodic_task* running_on_this_thread_ = nullptr;

  const std::chrono::steady_clock::duration period_;
  const std::function<void()> tick_;
  std::atomic<std::uint64_t> ticks_{0};
  std::mutex stop_mutex_;    // one joiner at a time
  std::exception_ptr error_;  // written by the worker before it ends; guarded by stop_mutex_ after
  std::jthread worker_;      // last: started after every other member is ready, joined first
};

}  // namespace wb
