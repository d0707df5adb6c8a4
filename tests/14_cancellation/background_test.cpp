// Tests for sleep_for(stop_token, d) and periodic_task: a stop ends a sleep or a long period at
// once, never interrupts a running tick, works from inside a tick, and an exception from a tick
// reaches stop(). Periods are either 1 ms (so ticks come at once) or 1 hour (so none ever comes):
// no test depends on how long anything takes.
#include "background.hpp"

#include "workbook_test.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>

namespace {

using namespace std::chrono_literals;
using wb::periodic_task;
using wb::test::call_in_background;
using wb::test::hang_limit;

// How long a call must stay blocked before we believe it is waiting. Generous, not exact.
constexpr auto kStillBlocked = 100ms;
// A period no test ever waits out: only a stop can end it.
constexpr auto kForever = 1h;
// A period short enough that ticks come at once.
constexpr auto kQuick = 1ms;

// Counts a latch down when it goes out of scope (also on an exception), so that a tick the test
// holds open is always released and the task's thread can end.
struct count_down_on_exit {
  std::latch& latch;
  ~count_down_on_exit() { latch.count_down(); }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// sleep_for

TEST(SleepFor, ReturnsTrueWhenTheWholeDurationPasses) {
  // Given: a stop source nobody stops
  std::stop_source never;
  // When
  const auto start = std::chrono::steady_clock::now();
  const bool slept = wb::sleep_for(never.get_token(), 20ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // Then
  EXPECT_TRUE(slept) << "sleep_for returned false although nobody requested a stop: it must "
                        "return true when the whole duration passed";
  EXPECT_GE(elapsed, 20ms) << fmt::format(
      "sleep_for(20ms) returned after {} us: it must sleep the whole duration unless stopped",
      std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
}

TEST(SleepFor, ReturnsFalseAtOnceWhenAlreadyStopped) {
  // Given
  std::stop_source source;
  source.request_stop();
  // When
  auto sleep = call_in_background([&] { return wb::sleep_for(source.get_token(), kForever); },
                                  "sleep_for(1 hour) with a stop already requested (it must "
                                  "return at once: check the token before sleeping)");
  // Then
  EXPECT_FALSE(sleep.get()) << "sleep_for returned true although a stop had been requested";
}

TEST(SleepFor, AStopWakesASleeperPromptly) {
  // Given: a thread in sleep_for(1 hour)
  std::stop_source source;
  auto sleep = call_in_background([&] { return wb::sleep_for(source.get_token(), kForever); },
                                  "sleep_for(1 hour) after request_stop() (a sleep that does not "
                                  "wake on a stop: std::this_thread::sleep_for, or a "
                                  "std::condition_variable that nobody notifies when the stop "
                                  "comes; condition_variable_any::wait_for takes the stop_token)");
  EXPECT_FALSE(sleep.finishes_within(kStillBlocked))
      << "sleep_for(1 hour) returned although nobody requested a stop";
  // When
  source.request_stop();
  // Then
  EXPECT_FALSE(sleep.get()) << "sleep_for returned true, but it was ended by a stop";
}

// ---------------------------------------------------------------------------------------------
// periodic_task

TEST(PeriodicTask, RejectsBadArguments) {
  // Given / When / Then
  EXPECT_THROW(periodic_task(0ms, [] {}), std::invalid_argument) << "a period of 0 was accepted";
  EXPECT_THROW(periodic_task(-1s, [] {}), std::invalid_argument)
      << "a negative period was accepted";
  EXPECT_THROW(periodic_task(1ms, std::function<void()>{}), std::invalid_argument)
      << "an empty std::function was accepted as the tick";
}

TEST(PeriodicTask, TicksRepeatedlyUntilStoppedAndCountsEveryTick) {
  // Given: a task with a 1 ms period whose tick counts its calls
  std::atomic<int> calls{0};
  std::latch five_ticks(5);
  periodic_task task(kQuick, [&] {
    if (calls.fetch_add(1) < 5) five_ticks.count_down();
  });
  // When: five ticks have run, it is stopped
  auto ticked = call_in_background([&] { five_ticks.wait(); },
                                   "waiting for 5 ticks of a task with a 1 ms period (no tick "
                                   "came: does the loop call tick() after each sleep?)");
  ticked.get();
  auto stop = call_in_background([&] { task.stop(); }, "stop() of a task with a 1 ms period");
  stop.get();
  const int calls_at_stop = calls.load();
  // Then: no tick after stop() returned, and ticks() counted every call
  std::this_thread::sleep_for(20ms);  // 20 periods: a thread still ticking would show
  EXPECT_EQ(calls.load(), calls_at_stop) << fmt::format(
      "tick() ran {} more times after stop() returned: stop() must wait until the task's thread "
      "has ended (join, not detach)", calls.load() - calls_at_stop);
  EXPECT_GE(calls_at_stop, 5);
  EXPECT_EQ(task.ticks(), static_cast<std::uint64_t>(calls_at_stop)) << fmt::format(
      "ticks() is {} but tick() was called {} times", task.ticks(), calls_at_stop);
}

TEST(PeriodicTask, StopDuringALongPeriodReturnsPromptlyWithoutTicking) {
  // Given: a task with a period of one hour, waiting for its first tick
  std::atomic<int> calls{0};
  periodic_task task(kForever, [&] { calls.fetch_add(1); });
  std::this_thread::sleep_for(kStillBlocked);  // let it start waiting
  // When
  auto stop = call_in_background([&] { task.stop(); },
                                 "stop() of a task waiting out a 1 hour period (it must end the "
                                 "wait at once: a plain std::this_thread::sleep_for, a "
                                 "condition variable nobody notifies on a stop, or a join "
                                 "without request_stop() waits the whole hour)");
  stop.get();
  // Then
  EXPECT_EQ(calls.load(), 0) << fmt::format(
      "tick() ran {} time(s) although the task was stopped before its first period ended: a "
      "stop that ends the wait must end the loop too (check the sleep's result, not only the "
      "token before sleeping)", calls.load());
  EXPECT_EQ(task.ticks(), 0u);
}

TEST(PeriodicTask, DestructorStopsPromptlyAndJoins) {
  // Given: a task with a period of one hour
  std::atomic<int> calls{0};
  std::optional<periodic_task> task(std::in_place, kForever, [&] { calls.fetch_add(1); });
  // When
  auto destroy = call_in_background([&] { task.reset(); },
                                    "the destructor of a task waiting out a 1 hour period (it "
                                    "must request the stop, end the wait at once and join)");
  // Then
  destroy.get();
  EXPECT_EQ(calls.load(), 0) << "tick() ran although the task was destroyed within its period";
}

TEST(PeriodicTask, StopWaitsForARunningTickAndNeverInterruptsIt) {
  // Given: a tick that the test holds open
  std::latch entered(1);
  std::latch release(1);
  std::atomic<int> calls{0};
  std::atomic<bool> first_tick_finished{false};
  periodic_task task(kQuick, [&] {
    if (calls.fetch_add(1) == 0) {
      entered.count_down();
      release.wait();
      first_tick_finished.store(true);
    }
  });
  std::uint64_t ticks_while_running = 0;
  {
    count_down_on_exit release_tick{release};
    auto in_tick = call_in_background([&] { entered.wait(); }, "waiting for the first tick");
    in_tick.get();
    ticks_while_running = task.ticks();
    // When: stop() is called while the tick runs
    auto stop = call_in_background([&] { task.stop(); },
                                   "stop() after the running tick was released");
    EXPECT_FALSE(stop.finishes_within(kStillBlocked))
        << "stop() returned while a tick was still running: it must wait for the task's thread "
           "to end (join), never leave it running (detach)";
    release.count_down();
    stop.get();
  }
  // Then
  EXPECT_EQ(ticks_while_running, 0u) << fmt::format(
      "ticks() was {} while the first tick was still running: it counts ticks that have "
      "finished, so increment it after tick() returns", ticks_while_running);
  EXPECT_TRUE(first_tick_finished.load())
      << "stop() returned but the running tick had not finished: it must never be interrupted";
  EXPECT_EQ(calls.load(), 1) << fmt::format(
      "tick() was called {} times: no tick may start once a stop was requested", calls.load());
  EXPECT_EQ(task.ticks(), 1u);
}

TEST(PeriodicTask, ATickCanStopItsOwnTask) {
  // Given: a tick that stops its own task on its third call
  std::latch constructed(1);
  std::latch stopped_itself(1);
  std::atomic<int> calls{0};
  std::string error;  // written by the tick before stopped_itself, read after it
  std::optional<periodic_task> task;
  task.emplace(kQuick, [&] {
    constructed.wait();  // `task` holds a value from here on
    if (calls.fetch_add(1) + 1 != 3) return;
    count_down_on_exit announce{stopped_itself};
    try {
      task->stop();
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  constructed.count_down();
  // When
  auto self_stop = call_in_background([&] { stopped_itself.wait(); },
                                      "a tick calling stop() on its own task (a thread that "
                                      "waits for itself to end waits for ever: from inside a "
                                      "tick, stop() may only request the stop)");
  self_stop.get();
  // Then
  EXPECT_EQ(error, "") << fmt::format(
      "stop() called from inside a tick threw \"{}\": a thread cannot join itself "
      "(std::thread::join throws resource_deadlock_would_occur); detect that stop() runs on the "
      "task's own thread and only request the stop", error);
  auto stop = call_in_background([&] { task->stop(); }, "stop() after the task stopped itself");
  EXPECT_NO_THROW(stop.get());
  EXPECT_EQ(calls.load(), 3) << fmt::format(
      "tick() ran {} times; it stopped its task on the third call, so no fourth may start",
      calls.load());
  EXPECT_EQ(task->ticks(), 3u);
}

TEST(PeriodicTask, AnExceptionFromATickEndsTheTaskAndStopRethrowsIt) {
  // Given: a tick that throws on its second call
  std::atomic<int> calls{0};
  std::latch thrown(1);
  periodic_task task(kQuick, [&] {
    if (calls.fetch_add(1) + 1 == 2) {
      thrown.count_down();
      throw std::runtime_error("sensor unplugged");
    }
  });
  auto second = call_in_background([&] { thrown.wait(); }, "waiting for the second tick");
  second.get();
  std::this_thread::sleep_for(20ms);  // 20 periods: a task that went on ticking would show
  // When
  std::string rethrown;
  auto stop = call_in_background([&] {
    try {
      task.stop();
    } catch (const std::runtime_error& e) {
      rethrown = e.what();
    }
  }, "stop() of a task whose tick threw");
  stop.get();
  // Then
  EXPECT_EQ(rethrown, "sensor unplugged")
      << "stop() did not rethrow the exception the tick threw: an exception must not vanish on "
         "the task's thread (store it, std::exception_ptr, and rethrow it from stop())";
  EXPECT_EQ(calls.load(), 2) << fmt::format(
      "tick() ran {} times: a tick that throws ends the task, so the second call was the last",
      calls.load());
  EXPECT_EQ(task.ticks(), 2u) << "ticks() counts the tick that threw as well";
  EXPECT_NO_THROW(task.stop()) << "the exception must be rethrown once, by the first stop()";
}

TEST(PeriodicTask, StopMayBeCalledFromSeveralThreadsAtOnce) {
  // Given: a ticking task
  std::atomic<int> calls{0};
  periodic_task task(kQuick, [&] { calls.fetch_add(1); });
  // When: three threads stop it at the same time
  auto stops = call_in_background([&] {
    wb::test::run_concurrently(3, [&](int) { task.stop(); },
                               "three threads calling stop() at once (a hang: a second stop() "
                               "waited for a thread that had already been joined)");
  }, "three concurrent stop() calls");
  stops.get();
  // Then
  const int calls_at_stop = calls.load();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(calls.load(), calls_at_stop) << "tick() ran after every stop() had returned";
  EXPECT_EQ(task.ticks(), static_cast<std::uint64_t>(calls_at_stop));
}
