// Shared helpers for the workbook's tests: start gates, watchdogs, background calls.
//
// Every helper that waits has a time limit. When the limit passes, the process prints what
// hung, in words, and exits with a failure: a deadlock in the learner's code becomes a failing
// test that explains itself, never a hang (the launcher's timeout is only the backstop).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace wb::test {

using namespace std::chrono_literals;
using milliseconds = std::chrono::milliseconds;

// How long a call that should finish in microseconds may take before we call it hung.
// Generous: ThreadSanitizer makes code 5-15x slower and CI machines have two cores.
inline constexpr milliseconds hang_limit = 5s;

// Stays busy for `duration` without giving up the processor, e.g. inside a critical section so
// that another thread overlaps it. (A yield can cost a whole time slice on a loaded machine,
// which would make a thread inside a critical section crawl.)
inline void linger(std::chrono::microseconds duration = std::chrono::microseconds(5)) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// Prints why the test is giving up and ends the process with a failure. Used when a thread we
// started cannot be joined (it is blocked forever), so the test cannot return normally.
[[noreturn]] void fail_hung(std::string_view what, milliseconds limit);

// Runs body(0) ... body(threads - 1) on `threads` new threads, released together by a start
// gate so that they really overlap. Waits for all of them (at most `limit`, else fail_hung
// naming `what`), then rethrows the first exception any of them threw, on this thread, so it
// becomes an ordinary test failure.
template <class Body>
void run_concurrently(int threads, Body body, std::string_view what, milliseconds limit = 2 * hang_limit) {
  std::latch start_gate(threads);
  std::mutex mutex;
  std::condition_variable all_done;
  int finished = 0;                  // guarded by mutex
  std::exception_ptr first_error;    // guarded by mutex
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      start_gate.arrive_and_wait();
      std::exception_ptr error;
      try {
        body(i);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex);
      if (error && !first_error) first_error = error;
      ++finished;
      all_done.notify_all();  // under the lock: `all_done` is a local the waiter may destroy
    });
  }
  {
    std::unique_lock lock(mutex);
    if (!all_done.wait_for(lock, limit, [&] { return finished == threads; })) fail_hung(what, limit);
  }
  for (auto& worker : workers) worker.join();
  if (first_error) std::rethrow_exception(first_error);
}

// A call made on another thread, so a test can check whether it blocks:
//
//   auto pop = wb::test::call_in_background([&] { return queue.pop(); }, "pop() on an empty queue");
//   EXPECT_FALSE(pop.finishes_within(100ms)) << "pop() returned although the queue was empty";
//   queue.push(7);
//   EXPECT_EQ(pop.get(), 7);   // waits at most hang_limit, else fails naming the call
//
// The destructor waits for the call too (at most hang_limit), so no thread outlives a test.
template <class R>
class background_call {
 public:
  template <class F>
  background_call(F f, std::string what) : what_(std::move(what)) {
    thread_ = std::thread([this, f = std::move(f)]() mutable {
      std::optional<stored> value;
      std::exception_ptr error;
      try {
        if constexpr (std::is_void_v<R>) {
          f();
          value.emplace();
        } else {
          value.emplace(f());
        }
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex_);
      value_ = std::move(value);
      error_ = error;
      done_ = true;
      finished_.notify_all();
    });
  }
  background_call(const background_call&) = delete;
  background_call& operator=(const background_call&) = delete;
  ~background_call() {
    if (!thread_.joinable()) return;
    wait_or_fail(hang_limit);
    thread_.join();
  }

  // True if the call returns (or throws) within `limit`; false if it is still blocked then.
  bool finishes_within(milliseconds limit) {
    std::unique_lock lock(mutex_);
    return finished_.wait_for(lock, limit, [&] { return done_; });
  }

  // The call's result (rethrowing what it threw); fail_hung if it has not returned in `limit`.
  R get(milliseconds limit = hang_limit) {
    wait_or_fail(limit);
    thread_.join();
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<R>) return std::move(*value_);
  }

 private:
  using stored = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

  void wait_or_fail(milliseconds limit) {
    if (!finishes_within(limit)) fail_hung(what_, limit);
  }

  std::string what_;
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false;                // guarded by mutex_
  std::optional<stored> value_;      // guarded by mutex_
  std::exception_ptr error_;         // guarded by mutex_
  std::thread thread_;
};

template <class F>
auto call_in_background(F f, std::string what) {
  // Returned as a prvalue: guaranteed copy elision, although background_call cannot move.
  return background_call<std::invoke_result_t<F&>>(std::move(f), std::move(what));
}

}  // namespace wb::test
