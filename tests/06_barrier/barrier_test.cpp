// Tests for wb::barrier: nobody passes before the last thread arrives; the completion runs once
// per phase, before anyone is released, and sees what every thread wrote before arriving;
// thousands of consecutive phases with 2, 3 and 4 threads stay in step; a barrier of one
// thread; the argument check.
#include "barrier.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "workbook_test.hpp"

namespace {

using namespace std::chrono_literals;
using wb::test::call_in_background;
using wb::test::run_concurrently;

// The problems one thread saw: how many, and the first in words. Each thread owns one, so
// workers never share it; the main thread reads them all after the join.
struct problems {
  int count = 0;
  std::string first;
  void note(std::string what) {
    if (count++ == 0) first = std::move(what);
  }
};

// All problems of all threads as one message ("" if none).
std::string summary(const std::vector<problems>& seen) {
  int total = 0;
  std::string first;
  for (const auto& p : seen) {
    if (p.count > 0 && first.empty()) first = p.first;
    total += p.count;
  }
  return total == 0 ? std::string() : fmt::format("{} problem(s); the first: {}", total, first);
}

// `threads` threads meet `phases` times. Before arriving in phase k a thread counts itself in
// arrivals[k]; after leaving it checks that all threads had arrived in phase k, and (with a
// completion) that exactly k + 1 completion steps have run. The completion checks that every
// thread had arrived before it ran, then counts itself in plain, test-owned data.
void expect_threads_stay_in_step(int threads, int phases, bool with_completion) {
  // Given
  std::vector<std::atomic<int>> arrivals(static_cast<std::size_t>(phases));
  std::vector<problems> seen(static_cast<std::size_t>(threads));
  problems seen_by_completion;  // written only by the completion step
  int completed = 0;            // written only by the completion step, read after every wait
  std::function<void()> completion;
  if (with_completion) {
    completion = [&] {
      if (completed >= phases) {
        seen_by_completion.note(fmt::format(
            "the completion step ran {} times for {} phases: it must run once per phase, on one "
            "thread", completed + 1, phases));
        return;
      }
      const int arrived = arrivals[static_cast<std::size_t>(completed)].load();
      if (arrived != threads) {
        seen_by_completion.note(fmt::format(
            "the completion step of phase {} ran when {} of {} threads had arrived in it: it must "
            "run once the last one arrives", completed, arrived, threads));
      }
      ++completed;
    };
  }
  wb::barrier barrier(threads, completion);

  // When
  run_concurrently(threads, [&](int me) {
    auto& mine = seen[static_cast<std::size_t>(me)];
    for (int k = 0; k < phases; ++k) {
      arrivals[static_cast<std::size_t>(k)].fetch_add(1);
      barrier.arrive_and_wait();
      const int arrived = arrivals[static_cast<std::size_t>(k)].load();
      if (arrived < threads) {
        mine.note(fmt::format(
            "thread {} left phase {} when only {} of {} threads had arrived in it: a thread passed "
            "the barrier early (released by a previous phase's wake-up, counted toward the wrong "
            "phase, or a wait in `if` instead of `while`)", me, k, arrived, threads));
      }
      if (with_completion && completed != k + 1) {
        mine.note(fmt::format(
            "thread {} left phase {} having seen {} completion steps, not {}: the completion "
            "must run exactly once per phase, before anyone is released", me, k, completed, k + 1));
      }
    }
  }, fmt::format("{} threads meeting at one barrier {} times", threads, phases));

  // Then
  EXPECT_EQ(seen_by_completion.count, 0) << seen_by_completion.first;
  EXPECT_EQ(summary(seen), "") << "threads did not stay in step";
  if (with_completion) {
    EXPECT_EQ(completed, phases) << fmt::format(
        "{} phases ran {} completion steps: one per phase was expected", phases, completed);
  }
}

}  // namespace

TEST(Barrier, RejectsAThreadCountBelowOne) {
  // Given / When / Then
  EXPECT_THROW(wb::barrier(0), std::invalid_argument) << "a barrier for 0 threads must throw std::invalid_argument";
  EXPECT_THROW(wb::barrier(-3, [] {}), std::invalid_argument) << "a barrier for -3 threads must throw std::invalid_argument";
}

TEST(Barrier, ReportsTheThreadCountItWasBuiltFor) {
  // Given
  const wb::barrier one(1);
  wb::barrier two(2, [] {});
  // When / Then
  EXPECT_EQ(one.expected(), 1);
  EXPECT_EQ(two.expected(), 2);
  // When: one of the two threads has arrived and waits
  auto first = call_in_background([&] { two.arrive_and_wait(); }, "the first arrive_and_wait() of two");
  EXPECT_FALSE(first.finishes_within(50ms)) << "arrive_and_wait() returned when 1 of 2 threads had arrived";
  // Then: the count is still the number of threads per phase, not how many are still to come
  EXPECT_EQ(two.expected(), 2) << "expected() must return the number of threads per phase (fixed at "
                                  "construction), not the number still to arrive in this phase";
  two.arrive_and_wait();
  first.get();
  EXPECT_EQ(two.expected(), 2) << "expected() must not change from phase to phase";
}

TEST(Barrier, HoldsEveryThreadUntilTheLastOneArrives) {
  // Given: a barrier for three threads whose completion counts its runs
  std::atomic<int> completions{0};
  wb::barrier barrier(3, [&] { completions.fetch_add(1); });
  for (int phase = 1; phase <= 3; ++phase) {
    // When: two threads arrive
    auto first = call_in_background([&] { barrier.arrive_and_wait(); },
                                    fmt::format("the first arrive_and_wait() of phase {}", phase));
    auto second = call_in_background([&] { barrier.arrive_and_wait(); },
                                     fmt::format("the second arrive_and_wait() of phase {}", phase));
    // Then: both are still blocked, and no completion step has run for this phase
    EXPECT_FALSE(first.finishes_within(100ms)) << fmt::format(
        "in phase {}, arrive_and_wait() returned when 1 or 2 of 3 threads had arrived{}", phase,
        phase > 1 ? ": the barrier is not reusable (the count was not reset, or the phase did "
                    "not change)" : "");
    EXPECT_FALSE(second.finishes_within(20ms)) << fmt::format(
        "in phase {}, arrive_and_wait() returned when 2 of 3 threads had arrived", phase);
    EXPECT_EQ(completions.load(), phase - 1) << fmt::format(
        "in phase {}, the completion step ran before the last thread arrived", phase);

    // When: the third arrives
    auto third = call_in_background([&] { barrier.arrive_and_wait(); },
                                    fmt::format("the last arrive_and_wait() of phase {}", phase));
    // Then: all three are released (each within hang_limit), after one completion step
    third.get();
    first.get();
    second.get();
    EXPECT_EQ(completions.load(), phase) << fmt::format(
        "after phase {} the completion step had run {} times: it must run once per phase",
        phase, completions.load());
  }
}

TEST(Barrier, RunsTheCompletionOncePerPhaseBeforeReleasingAnyone) {
  // Given: four threads; a slow completion step publishes the phase number in plain data
  // (no atomics: if a thread can read it before the completion is done, the values differ,
  // or ThreadSanitizer reports the race)
  constexpr int kThreads = 4;
  constexpr int kPhases = 300;
  int published = 0;  // written only by the completion step
  int runs = 0;       // written only by the completion step
  wb::barrier barrier(kThreads, [&] {
    ++runs;
    std::this_thread::sleep_for(50us);  // slow: a thread released too early reads stale data
    published = runs;
  });
  std::vector<problems> seen(kThreads);
  // When
  run_concurrently(kThreads, [&](int me) {
    for (int k = 1; k <= kPhases; ++k) {
      barrier.arrive_and_wait();
      if (published != k) {
        seen[static_cast<std::size_t>(me)].note(fmt::format(
            "thread {} left its phase {} and read {} from the completion step: the completion "
            "ran after the release, more than once per phase, or not at all", me, k, published));
      }
    }
  }, "four threads whose barrier has a slow completion step");
  // Then
  EXPECT_EQ(summary(seen), "") << "threads were released before the completion step ended";
  EXPECT_EQ(runs, kPhases) << fmt::format(
      "{} phases ran the completion step {} times: one run per phase, on one thread, was expected",
      kPhases, runs);
}

TEST(Barrier, CompletionSeesEverythingWrittenBeforeArrival) {
  // Given: each thread writes a plain slot of its own before arriving; the completion step
  // reads every slot and publishes their sum
  constexpr int kThreads = 4;
  constexpr int kPhases = 500;
  std::vector<int> slot(kThreads, -1);  // slot[i] written by thread i only, before arriving
  int phase = 0;                        // the completion step's own count
  long sum = 0;                         // written by the completion step
  problems seen_by_completion;          // written by the completion step
  wb::barrier barrier(kThreads, [&] {
    sum = 0;
    for (int i = 0; i < kThreads; ++i) {
      const int expected = phase * kThreads + i;
      if (slot[static_cast<std::size_t>(i)] != expected) {
        seen_by_completion.note(fmt::format(
            "in phase {} the completion step read {} from thread {}, which had written {} before "
            "arriving", phase, slot[static_cast<std::size_t>(i)], i, expected));
      }
      sum += slot[static_cast<std::size_t>(i)];
    }
    ++phase;
  });
  std::vector<problems> seen(kThreads);
  // When
  run_concurrently(kThreads, [&](int me) {
    for (int k = 0; k < kPhases; ++k) {
      slot[static_cast<std::size_t>(me)] = k * kThreads + me;
      barrier.arrive_and_wait();
      const long expected = long{k} * kThreads * kThreads + kThreads * (kThreads - 1) / 2;
      if (sum != expected) {
        seen[static_cast<std::size_t>(me)].note(fmt::format(
            "thread {} left phase {} and read the sum {} from the completion step, not {}", me, k,
            sum, expected));
      }
    }
  }, "four threads writing their slots and meeting at the barrier");
  // Then
  EXPECT_EQ(seen_by_completion.count, 0) << seen_by_completion.first
      << " (the completion step ran before every thread had arrived)";
  EXPECT_EQ(summary(seen), "") << "the completion step's result was not there after the release";
}

TEST(Barrier, TwoThreadsStayInStepOverThousandsOfPhases) { expect_threads_stay_in_step(2, 2000, true); }

TEST(Barrier, ThreeThreadsStayInStepOverThousandsOfPhases) { expect_threads_stay_in_step(3, 1500, true); }

TEST(Barrier, FourThreadsStayInStepOverThousandsOfPhases) { expect_threads_stay_in_step(4, 1200, true); }

TEST(Barrier, WorksWithoutACompletionStep) { expect_threads_stay_in_step(3, 1000, false); }

TEST(Barrier, ABarrierOfOneThreadNeverBlocks) {
  // Given: a barrier for one thread
  constexpr int kCalls = 1000;
  int completions = 0;
  wb::barrier barrier(1, [&] { ++completions; });
  // When: that thread arrives again and again
  auto calls = call_in_background([&] {
    int wrong = 0;
    for (int i = 1; i <= kCalls; ++i) {
      barrier.arrive_and_wait();
      if (completions != i) ++wrong;
    }
    return wrong;
  }, "1000 calls of arrive_and_wait() on a barrier of one thread (each should return at once)");
  // Then: every call returned after running the completion step once
  EXPECT_EQ(calls.get(), 0) << "after some calls the completion step had not run exactly once per call";
  EXPECT_EQ(completions, kCalls) << "a barrier of one thread completes a phase on every call";
}
