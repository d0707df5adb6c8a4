// Tests for per_thread_accumulator: exact sums over many threads, the parts of threads that have
// ended, instances that share nothing, local() as the calling thread's own part, totals read
// while threads add and end, and an accumulator destroyed while threads that used it live on.
#include "per_thread.hpp"

#include "workbook_test.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <latch>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using wb::per_thread_accumulator;
using wb::test::call_in_background;
using wb::test::hang_limit;
using wb::test::run_concurrently;

// Starts `threads` threads running body(i), joins them all (so they have ended, and their
// thread_local objects are destroyed), then rethrows the first exception a body threw.
template <class Body>
void run_threads_and_join(int threads, Body body) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      try {
        body(i);
      } catch (...) {
        errors[static_cast<std::size_t>(i)] = std::current_exception();
      }
    });
  }
  for (auto& worker : workers) worker.join();
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

// Counts a latch down when it goes out of scope, also when an exception leaves the scope, so
// nobody waits for ever on a thread that failed.
struct count_down_on_exit {
  std::latch& latch;
  ~count_down_on_exit() { latch.count_down(); }
};

// What add(i + 1) called `adds` times on each of `threads` threads sums to.
std::int64_t expected_sum(int threads, int adds) {
  std::int64_t sum = 0;
  for (int i = 0; i < threads; ++i) sum += static_cast<std::int64_t>(i + 1) * adds;
  return sum;
}

}  // namespace

TEST(PerThreadAccumulator, StartsAtZero) {
  // Given
  const per_thread_accumulator sum;
  // When / Then
  EXPECT_EQ(sum.total(), 0) << "a new accumulator must have a total of 0";
  EXPECT_EQ(sum.local(), 0) << "a thread that never called add() must have a local() of 0";
}

TEST(PerThreadAccumulator, AddsOnOneThreadShowInLocalAndTotal) {
  // Given
  per_thread_accumulator sum;
  // When
  sum.add(5);
  sum.add(-2);
  sum.add(10);
  // Then
  EXPECT_EQ(sum.local(), 13) << "local() after add(5), add(-2), add(10) on this thread";
  EXPECT_EQ(sum.total(), 13) << "total() after add(5), add(-2), add(10) on the only thread";
}

TEST(PerThreadAccumulator, LocalSeesOnlyTheCallingThreadsPart) {
  // Given: two threads that add different amounts, and a main thread that adds nothing
  per_thread_accumulator sum;
  std::latch both_added(2);
  std::vector<std::int64_t> seen(2, -1);
  // When: each reads local() after both have added
  run_concurrently(2, [&](int i) {
    for (int k = 0; k < 100; ++k) sum.add(i == 0 ? 1 : 1000);
    both_added.arrive_and_wait();
    seen[static_cast<std::size_t>(i)] = sum.local();
  }, "two threads adding, then reading local() (a hang: add() or local() blocked)");
  // Then
  EXPECT_EQ(seen[0], 100) << fmt::format(
      "the thread that added 1 a hundred times saw local() == {}: local() must be the calling "
      "thread's own part, not the total or another thread's slot", seen[0]);
  EXPECT_EQ(seen[1], 100'000) << fmt::format(
      "the thread that added 1000 a hundred times saw local() == {}", seen[1]);
  EXPECT_EQ(sum.local(), 0) << "the main thread added nothing, so its local() must be 0";
  EXPECT_EQ(sum.total(), 100'100);
}

TEST(PerThreadAccumulator, TwoInstancesShareNothing) {
  // Given
  per_thread_accumulator apples;
  per_thread_accumulator pears;
  // When: the main thread and two other threads add to both, different amounts
  apples.add(5);
  pears.add(7);
  run_threads_and_join(2, [&](int) {
    apples.add(1);
    pears.add(100);
    pears.add(100);
  });
  // Then
  EXPECT_EQ(apples.local(), 5) << fmt::format(
      "apples.local() is {} after apples.add(5), pears.add(7) on this thread: the two "
      "accumulators share a slot (one `static thread_local` for every instance?)", apples.local());
  EXPECT_EQ(pears.local(), 7) << fmt::format("pears.local() is {}, expected 7", pears.local());
  EXPECT_EQ(apples.total(), 7) << fmt::format(
      "apples.total() is {}, expected 5 + 1 + 1: every instance needs slots of its own",
      apples.total());
  EXPECT_EQ(pears.total(), 407) << fmt::format("pears.total() is {}, expected 7 + 200 + 200",
                                               pears.total());
}

TEST(PerThreadAccumulator, ManyThreadsSumExactlyOnceJoined) {
  // Given
  per_thread_accumulator sum;
  constexpr int kThreads = 8;
  constexpr int kAdds = 5'000;
  // When: 8 threads add i + 1, 5,000 times each, all at once, and end
  run_concurrently(kThreads, [&](int i) {
    for (int k = 0; k < kAdds; ++k) sum.add(i + 1);
  }, "8 threads adding (a hang: add() blocked)");
  // Then: the threads have ended, so only what their ends merged is left
  const std::int64_t want = expected_sum(kThreads, kAdds);
  const std::int64_t got = sum.total();
  EXPECT_EQ(got, want) << fmt::format(
      "total() is {} after 8 threads added {} in all and were joined ({}): when a thread ends, its "
      "part must be merged into the total exactly once, then its slot dropped", got, want,
      got == 0 ? "nothing of theirs survived: their slots were dropped without merging"
      : got > want ? "counted twice: merged into the total but the slot was still summed too"
      : "some parts were lost");
}

TEST(PerThreadAccumulator, EndedAndRunningThreadsBothCount) {
  // Given: 3 threads that add and stay alive, parked on a latch
  per_thread_accumulator sum;
  std::latch added(3);
  std::latch release(1);
  auto runners = call_in_background([&] {
    run_threads_and_join(3, [&](int i) {
      {
        count_down_on_exit announce{added};
        sum.add(10 * (i + 1));  // 10 + 20 + 30
      }
      release.wait();
    });
  }, "3 threads that added and were then released (a hang: add() blocked)");
  std::int64_t while_running = 0;
  {
    count_down_on_exit release_runners{release};
    added.wait();
    // When: meanwhile 4 short-lived threads add and end
    run_threads_and_join(4, [&](int) { sum.add(1000); });
    while_running = sum.total();
  }
  // Then
  runners.get();
  const std::int64_t after_all_ended = sum.total();
  EXPECT_EQ(while_running, 4060) << fmt::format(
      "total() was {} with 60 added by 3 threads still running and 4000 by 4 threads that had "
      "ended: it must count both the live slots and the merged parts of ended threads",
      while_running);
  EXPECT_EQ(after_all_ended, 4060) << fmt::format(
      "total() was {} once all 7 threads had ended (expected 4060)", after_all_ended);
}

TEST(PerThreadAccumulator, TotalReadWhileThreadsAddAndEndNeverDecreasesOrOvershoots) {
  // Given: a reader calling total() over and over
  per_thread_accumulator sum;
  constexpr int kWaves = 6;
  constexpr int kThreads = 4;
  constexpr int kAdds = 1'000;
  constexpr std::int64_t kFinal = std::int64_t{kWaves} * kThreads * kAdds;
  std::atomic<bool> done{false};
  std::atomic<bool> reader_stopped{false};
  std::atomic<long> reads{0};
  auto reader = call_in_background([&] {
    struct announce_stop {
      std::atomic<bool>& stopped;
      ~announce_stop() { stopped.store(true); }
    } on_exit{reader_stopped};
    std::vector<std::string> problems;
    std::int64_t last = 0;
    while (!done.load() && problems.size() < 3) {
      const std::int64_t now = sum.total();
      if (now < last) problems.push_back(fmt::format("total() went from {} down to {}", last, now));
      if (now > kFinal) problems.push_back(fmt::format("total() was {} > {}", now, kFinal));
      last = now;
      reads.fetch_add(1);
    }
    return problems;
  }, "a thread calling total() in a loop (a hang: total() blocked)");
  // When: waves of threads start, add 1 a thousand times, and end; halfway through its adds,
  // each waits until the reader has finished two more total() calls, so that total() surely
  // reads the registry and the slots while their owners are alive and adding
  {
    struct stop_reader {
      std::atomic<bool>& done;
      ~stop_reader() { done.store(true); }
    } on_exit{done};
    for (int wave = 0; wave < kWaves; ++wave) {
      run_threads_and_join(kThreads, [&](int) {
        for (int k = 0; k < kAdds; ++k) {
          sum.add(1);
          if (k != kAdds / 2) continue;
          const long seen = reads.load();
          const auto give_up = std::chrono::steady_clock::now() + hang_limit;
          while (reads.load() < seen + 2 && !reader_stopped.load() &&
                 std::chrono::steady_clock::now() < give_up) {
            std::this_thread::yield();
          }
        }
      });
    }
  }
  // Then
  const auto problems = reader.get();
  EXPECT_TRUE(problems.empty()) << fmt::format(
      "only +1s were added, {} in all, yet {}: a part must move from its slot to the merged total "
      "in one step under the registry's mutex, never be counted in both or in neither",
      kFinal, problems.empty() ? "" : problems.front());
  EXPECT_EQ(sum.total(), kFinal);
}

TEST(PerThreadAccumulator, ANewThreadStartsWithNothingOfAnEndedOne) {
  // Given
  per_thread_accumulator sum;
  std::vector<std::int64_t> seen_at_start;
  // When: ten threads one after the other, each ending before the next starts (the system
  // usually hands the next thread the same id and stack)
  for (int i = 0; i < 10; ++i) {
    run_threads_and_join(1, [&](int) {
      seen_at_start.push_back(sum.local());
      sum.add(5);
    });
  }
  // Then
  for (std::size_t i = 0; i < seen_at_start.size(); ++i) {
    EXPECT_EQ(seen_at_start[i], 0) << fmt::format(
        "thread {} saw local() == {} before its first add(): it inherited the part of a thread "
        "that had ended. Slots keyed by std::thread::id break when an id is reused; a slot must "
        "belong to the thread itself (thread_local) and be merged when the thread ends", i,
        seen_at_start[i]);
  }
  EXPECT_EQ(sum.total(), 50);
}

TEST(PerThreadAccumulator, MayBeDestroyedWhileThreadsThatAddedStillRun) {
  // Given: 3 threads that added to an accumulator and are still running
  std::optional<per_thread_accumulator> doomed(std::in_place);
  std::latch added(3);
  std::latch destroyed(1);
  std::vector<std::int64_t> later(3, -1);
  auto runners = call_in_background([&] {
    run_threads_and_join(3, [&](int i) {
      {
        count_down_on_exit announce{added};
        doomed->add(1);
      }
      destroyed.wait();
      // After the accumulator died, the same threads use a fresh one.
      per_thread_accumulator fresh;
      fresh.add(i + 1);
      later[static_cast<std::size_t>(i)] = fresh.total();
    });
  }, "3 threads ending after their accumulator was destroyed (a hang: a thread's exit blocked "
     "on the dead accumulator's state)");
  std::int64_t before = 0;
  {
    count_down_on_exit release_runners{destroyed};
    added.wait();
    before = doomed->total();
    // When: it is destroyed first, and then the threads go on and end
    doomed.reset();
  }
  runners.get();
  EXPECT_EQ(before, 3) << "total() after 3 threads added 1 each";
  // Then: no crash, no report from ThreadSanitizer, and the fresh accumulators worked
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(later[static_cast<std::size_t>(i)], i + 1) << fmt::format(
        "thread {} added {} to a new accumulator after the old one was destroyed, and its "
        "total() was {}", i, i + 1, later[static_cast<std::size_t>(i)]);
  }
}

TEST(PerThreadAccumulator, ANewAccumulatorAtTheSameAddressStartsEmpty) {
  // Given: an accumulator this thread added to, destroyed
  alignas(per_thread_accumulator) std::byte storage[sizeof(per_thread_accumulator)];
  auto* sum = new (storage) per_thread_accumulator;
  sum->add(3);
  sum->~per_thread_accumulator();
  // When: another one is built in the very same storage, and this thread adds to it
  sum = new (storage) per_thread_accumulator;
  const std::int64_t local_before = sum->local();
  sum->add(4);
  const std::int64_t local_after = sum->local();
  const std::int64_t total_after = sum->total();
  sum->~per_thread_accumulator();
  // Then
  EXPECT_EQ(local_before, 0) << fmt::format(
      "a new accumulator's local() was {} before any add(): the thread found the slot of a dead "
      "accumulator that had lived at the same address. Key a thread's slots by something that "
      "is never reused (an id), not by `this`", local_before);
  EXPECT_EQ(local_after, 4) << fmt::format("local() after add(4) is {}", local_after);
  EXPECT_EQ(total_after, 4) << fmt::format(
      "total() after one add(4) is {}: the add went to a slot this accumulator does not know "
      "(one left behind by a dead accumulator at the same address?)", total_after);
}
