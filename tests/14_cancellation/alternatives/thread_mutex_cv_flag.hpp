// ALTERNATIVE: no jthread inside the task: a std::thread, a bool stop flag and a std::condition_variable under one mutex (the pre-C++20 way); sleep_for registers its own std::stop_callback to notify a plain condition_variable.
// Cancellation (Python's daemon threads and Event-based stop flags, done the C++ way): an
// interruptible sleep, and a periodic task on its own thread that stops promptly on request.
#pragma once

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
// Design: a std::stop_callback notifies a plain std::condition_variable; it takes the mutex
// first, so the notify cannot fall between the sleeper's check of the token and its wait.
template <class Rep, class Period>
bool sleep_for(std::stop_token stop, const std::chrono::duration<Rep, Period>& duration) {
  std::mutex mutex;
  std::condition_variable woken;
  std::stop_callback on_stop(stop, [&] {
    std::lock_guard lock(mutex);
    woken.notify_all();
  });
  std::unique_lock lock(mutex);
  return !woken.wait_for(lock, duration, [&] { return stop.stop_requested(); });
}

// periodic_task: calls tick() every `period` on a thread of its own, until stopped.
//
// Design: a std::thread, and under mutex_ a bool stop flag, the tick count and the stored
// exception; the loop waits on a condition variable for the flag or the end of the period.
// Thread safety: stop() and ticks() may be called from any thread, also concurrently, and
// stop() also from inside tick() (then it only raises the flag).
// Lifetime: the destructor stops the task and waits for its thread to end.
// Memory ordering: everything a tick did is visible after ticks() counts it (both under
// mutex_) and after stop() returns (join).
class periodic_task {
 public:
  // A period <= 0 or an empty tick throws std::invalid_argument.
  periodic_task(std::chrono::steady_clock::duration period, std::function<void()> tick)
      : period_(period), tick_(std::move(tick)) {
    if (period_ <= std::chrono::steady_clock::duration::zero()) {
      throw std::invalid_argument("periodic_task: the period must be positive");
    }
    if (!tick_) throw std::invalid_argument("periodic_task: tick must be a callable, not empty");
    std::lock_guard lock(mutex_);  // the thread's first lock waits for worker_id_
    worker_ = std::thread([this] { run(); });
    worker_id_ = worker_.get_id();
  }
  periodic_task(const periodic_task&) = delete;
  periodic_task& operator=(const periodic_task&) = delete;

  ~periodic_task() {
    try {
      stop();
    } catch (...) {  // dropped: call stop() first to see it
    }
  }

  // Raises the stop flag and waits until the thread has ended (from inside tick(): only raises
  // it). Rethrows (once) an exception that ended the task.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      wake_.notify_all();
      if (std::this_thread::get_id() == worker_id_) return;
    }
    std::lock_guard join_lock(join_mutex_);
    if (worker_.joinable()) worker_.join();
    std::lock_guard lock(mutex_);
    if (auto error = std::exchange(error_, nullptr)) std::rethrow_exception(error);
  }

  // How many calls of tick() have finished (returned or thrown).
  std::uint64_t ticks() const {
    std::lock_guard lock(mutex_);
    return ticks_;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
      lock.unlock();
      std::exception_ptr error;
      try {
        tick_();
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      ++ticks_;
      if (error) {
        error_ = error;
        return;
      }
    }
  }

  const std::chrono::steady_clock::duration period_;
  const std::function<void()> tick_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;       // guarded by mutex_
  std::uint64_t ticks_ = 0;     // guarded by mutex_
  std::exception_ptr error_;    // guarded by mutex_
  std::thread::id worker_id_;   // guarded by mutex_ (written once, before the thread runs)
  std::mutex join_mutex_;       // one joiner at a time
  std::thread worker_;          // guarded by join_mutex_ after construction
};

}  // namespace wb
