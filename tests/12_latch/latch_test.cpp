// Tests for wb::latch: the argument checks; a latch of zero never blocks; waiters blocked until
// the last count_down and then all released; wait_for timing out and succeeding in time;
// counting below zero rejected without a change; arrive_and_wait; work done before count_down
// visible after the wait (ThreadSanitizer checks the happens-before); concurrent count_downs
// losing none.
#include "latch.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "workbook_test.hpp"

namespace {

using namespace std::chrono_literals;
using wb::latch;
using wb::test::background_call;
using wb::test::call_in_background;
using wb::test::run_concurrently;

// How long a call must stay blocked before we believe it is waiting (generous under TSan).
constexpr auto kPark = 100ms;
// A timeout long enough never to expire during a test: the event must end the wait.
constexpr auto kForever = 1min;

}  // namespace

TEST(Latch, RejectsANegativeCount) {
  // Given / When / Then
  EXPECT_THROW(latch(-1), std::invalid_argument) << "a latch of -1 must throw std::invalid_argument";
  latch one(1);
  EXPECT_FALSE(one.try_wait()) << "a latch of 1 must be closed until it is counted down";
}

TEST(Latch, ALatchOfZeroNeverBlocks) {
  // Given
  latch open(0);
  // When / Then
  EXPECT_TRUE(open.try_wait()) << "a latch of 0 is open from the start: try_wait() must return true";
  auto calls = call_in_background([&] {
    open.wait();
    const bool in_time = open.wait_for(kForever);
    open.arrive_and_wait(0);
    open.count_down(0);
    return in_time;
  }, "wait(), wait_for(1 min), arrive_and_wait(0) and count_down(0) on a latch of 0 (each must return at once)");
  EXPECT_TRUE(calls.get()) << "wait_for() on an open latch must return true";
  EXPECT_TRUE(open.try_wait()) << "a latch stays open";
}

TEST(Latch, WaitBlocksUntilTheLastCountDown) {
  // Given: a latch of 3 and a thread waiting on it
  latch gate(3);
  auto waiter = call_in_background([&] { gate.wait(); }, "wait() after the last count_down()");
  // When: it is counted down, but not to zero
  gate.count_down();
  gate.count_down();
  // Then: the waiter still waits
  EXPECT_FALSE(waiter.finishes_within(kPark)) << "wait() returned when the count was 1, not 0";
  EXPECT_FALSE(gate.try_wait()) << "try_wait() returned true when the count was 1";
  // When: the last count_down
  gate.count_down();
  // Then
  waiter.get();
  EXPECT_TRUE(gate.try_wait()) << "try_wait() must return true once the count reached zero";
}

TEST(Latch, TheLastCountDownReleasesEveryWaiter) {
  // Given: four threads waiting on a latch of 2, in wait(), wait_for() and arrive_and_wait()
  latch gate(2);
  std::deque<background_call<bool>> waiters;  // a deque: background_call cannot move
  waiters.emplace_back([&] { gate.wait(); return true; }, "the first of two wait() calls");
  waiters.emplace_back([&] { gate.wait(); return true; }, "the second of two wait() calls");
  waiters.emplace_back([&] { return gate.wait_for(kForever); }, "wait_for(1 min)");
  std::this_thread::sleep_for(kPark);
  waiters.emplace_back([&] { gate.arrive_and_wait(); return true; }, "arrive_and_wait() (the first of two count-downs)");
  EXPECT_FALSE(waiters.back().finishes_within(kPark)) << "arrive_and_wait() returned with the count at 1";
  // When: the last count_down
  gate.count_down();
  // Then: every one of them is released (one notify_one would release one)
  for (auto& waiter : waiters) EXPECT_TRUE(waiter.get()) << "wait_for() returned false although the latch opened in time";
}

TEST(Latch, WaitForTimesOutWhileTheCountIsAboveZero) {
  // Given
  latch gate(1);
  // When / Then
  EXPECT_FALSE(gate.wait_for(30ms)) << "wait_for() returned true although the latch was never counted down";
  EXPECT_FALSE(gate.wait_for(0ms)) << "wait_for(0ms) returned true on a closed latch";
  EXPECT_FALSE(gate.try_wait()) << "a timed-out wait_for() opened the latch";
  gate.count_down();
  EXPECT_TRUE(gate.wait_for(0ms)) << "wait_for(0ms) must return true on an open latch";
}

TEST(Latch, WaitForReturnsTrueWhenTheLastCountDownComesInTime) {
  // Given: a thread in wait_for(1 min) on a latch of 1
  latch gate(1);
  auto waiter = call_in_background([&] { return gate.wait_for(kForever); }, "wait_for(1 min) after the last count_down()");
  EXPECT_FALSE(waiter.finishes_within(kPark)) << "wait_for() returned although the count was 1";
  // When
  gate.count_down();
  // Then
  EXPECT_TRUE(waiter.get()) << "wait_for() must return true as soon as the latch opens, not wait for its timeout";
}

TEST(Latch, CountingBelowZeroIsRejectedAndChangesNothing) {
  // Given
  latch gate(2);
  // When / Then: too much, or a negative amount, is rejected and leaves the count at 2
  EXPECT_THROW(gate.count_down(3), std::invalid_argument) << "count_down(3) on a latch of 2 must throw std::invalid_argument";
  EXPECT_THROW(gate.count_down(-1), std::invalid_argument) << "count_down(-1) must throw std::invalid_argument";
  auto too_many = call_in_background([&] { gate.arrive_and_wait(3); }, "arrive_and_wait(3) on a latch of 2 (it must throw at once)");
  EXPECT_THROW(too_many.get(), std::invalid_argument) << "arrive_and_wait(3) on a latch of 2 must throw (and not wait)";
  EXPECT_FALSE(gate.try_wait()) << "a rejected count_down opened the latch";
  gate.count_down();
  EXPECT_FALSE(gate.try_wait()) << "after rejected count_downs, one count_down() opened a latch of 2: they changed the count";
  gate.count_down();
  EXPECT_TRUE(gate.try_wait()) << "after rejected count_downs, two count_down() did not open a latch of 2: they changed the count";
  // And: an open latch cannot go below zero either
  EXPECT_THROW(gate.count_down(), std::invalid_argument) << "count_down() on an open latch must throw std::invalid_argument";
  EXPECT_TRUE(gate.try_wait()) << "a latch must stay open";
}

TEST(Latch, ArriveAndWaitCountsDownThenWaitsForTheOthers) {
  // Given: a latch of 3
  latch gate(3);
  // When: one thread arrives for two
  auto two = call_in_background([&] { gate.arrive_and_wait(2); }, "arrive_and_wait(2) on a latch of 3, after the last count_down()");
  // Then: it waits for the third
  EXPECT_FALSE(two.finishes_within(kPark)) << "arrive_and_wait(2) on a latch of 3 returned before the third count-down";
  EXPECT_FALSE(gate.try_wait()) << "arrive_and_wait(2) on a latch of 3 opened it";
  // When: the third arrives
  auto third = call_in_background([&] { gate.arrive_and_wait(); }, "arrive_and_wait() of the third count-down of 3");
  // Then: both return
  third.get();
  two.get();
  EXPECT_TRUE(gate.try_wait()) << "the latch must be open after 3 count-downs";
}

TEST(Latch, WorkDoneBeforeCountDownIsVisibleAfterWait) {
  // Given: 300 rounds, each with its own latch of 3 and 3 plain slots. Three workers fill their
  // slot of a round and count down; three readers wait (wait(), wait_for(), a try_wait() loop)
  // and then read all three slots. No atomics: only the latch orders the writes before the
  // reads, and ThreadSanitizer reports the race if it does not.
  constexpr int kWorkers = 3;
  constexpr int kRounds = 300;
  std::vector<std::unique_ptr<latch>> latches;
  std::vector<std::vector<int>> slots(kRounds, std::vector<int>(kWorkers, -1));
  for (int k = 0; k < kRounds; ++k) latches.push_back(std::make_unique<latch>(kWorkers));
  std::vector<int> early(kWorkers, 0);  // early[r]: rounds reader r saw unfinished
  // When
  run_concurrently(2 * kWorkers, [&](int me) {
    if (me < kWorkers) {
      for (int k = 0; k < kRounds; ++k) {
        std::this_thread::sleep_for(20us);  // slow workers: the readers really have to wait
        slots[static_cast<std::size_t>(k)][static_cast<std::size_t>(me)] = k * kWorkers + me;
        latches[static_cast<std::size_t>(k)]->count_down();
      }
      return;
    }
    const int reader = me - kWorkers;
    for (int k = 0; k < kRounds; ++k) {
      auto& gate = *latches[static_cast<std::size_t>(k)];
      if (reader == 0) {
        gate.wait();
      } else if (reader == 1) {
        if (!gate.wait_for(kForever)) throw std::runtime_error("wait_for(1 min) timed out");
      } else {
        while (!gate.try_wait()) std::this_thread::yield();
      }
      for (int w = 0; w < kWorkers; ++w) {
        if (slots[static_cast<std::size_t>(k)][static_cast<std::size_t>(w)] != k * kWorkers + w) {
          ++early[static_cast<std::size_t>(reader)];
          break;
        }
      }
    }
  }, "3 workers counting down 300 latches and 3 readers waiting on them");
  // Then
  const char* how[] = {"wait()", "wait_for()", "try_wait()"};
  for (int r = 0; r < kWorkers; ++r) {
    EXPECT_EQ(early[static_cast<std::size_t>(r)], 0) << fmt::format(
        "in {} of {} rounds, a reader whose {} said the latch was open found a worker's slot not yet "
        "written: the latch let it through before the last count_down (a wait with `if` instead of "
        "`while`, or a notify before the count reached zero)", early[static_cast<std::size_t>(r)], kRounds, how[r]);
  }
}

TEST(Latch, ConcurrentCountDownsLoseNone) {
  // Given: a latch one higher than what 4 threads count down together (by 1 and by 2)
  constexpr int kThreads = 4;
  constexpr int kPerThread = 900;  // 1 + 2 repeated: divisible by 3
  latch gate(kThreads * kPerThread + 1);
  // When
  run_concurrently(kThreads, [&](int) {
    for (int done = 0, n = 1; done < kPerThread; done += n, n = 3 - n) gate.count_down(n);
  }, "4 threads counting down one latch");
  // Then: exactly one count is left
  EXPECT_FALSE(gate.try_wait()) << "the latch opened before its last count-down: count-downs were double-counted";
  EXPECT_FALSE(gate.wait_for(0ms)) << "wait_for(0ms) said open before the last count-down";
  auto last = call_in_background([&] { gate.count_down(); }, "the last count_down()");
  last.get();
  EXPECT_TRUE(gate.try_wait()) << "the latch did not open after all its count-downs: some were lost "
                                  "(the count was changed outside the lock?)";
}
