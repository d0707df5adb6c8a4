// Tests for wb::parallel_map and wb::parallel_map_unordered: results in input order (or in
// completion order, delivered on the caller's thread), every input processed exactly once, really
// in parallel, in chunks of consecutive inputs, and an exception from f that stops the remaining
// work, reaches the caller, and leaves no call of f running behind it.
//
// The tests observe the workers only through f and the sink: which thread ran which input (a
// small id per thread, handed out on first use), in which order, how many calls run at once.
// Where an order must be forced (a later input finishing before an earlier one), f waits on a
// condition the test controls, with a time limit, and the test reports what it saw.
#include "parallel_map.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "workbook_test.hpp"

namespace {

using namespace std::chrono_literals;

// The inputs 0, 1, ..., n-1.
std::vector<int> first_n(int n) {
  std::vector<int> inputs(static_cast<std::size_t>(n));
  std::iota(inputs.begin(), inputs.end(), 0);
  return inputs;
}

// A small id for the calling thread: 0, 1, 2, ... in the order threads first ask.
std::atomic<int> next_thread_id{0};
thread_local int this_thread_id = -1;
int thread_id() {
  if (this_thread_id < 0) this_thread_id = next_thread_id.fetch_add(1);
  return this_thread_id;
}
// How many calls of f this thread has made so far (its own sequence numbers).
thread_local int calls_on_this_thread = 0;

// Spins until `until` or the deadline; true if `until` became true.
template <class Pred>
bool wait_a_while(Pred until, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!until()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

// Runs call() on another thread and returns what it returns (rethrowing what it throws); if it
// has not returned within the hang limit, the test ends saying it probably deadlocked.
template <class Call>
auto finishes(std::string what, Call call) {
  return wb::test::call_in_background(std::move(call), std::move(what)).get();
}

// Keeps the caller busy for a moment (about a microsecond per round), on the CPU: a yield
// would hand the core to whatever else runs on the machine and take far longer.
void work_for(int rounds) {
  volatile int spin = 0;  // volatile: the loop cannot be optimised away
  for (int i = 0; i < rounds * 500; ++i) spin = i;
  (void)spin;
}

}  // namespace

TEST(ParallelMap, ReturnsResultsInInputOrderWhateverTheirCost) {
  // Given: 200 inputs whose cost varies; input 0 does not finish before some later input has
  // (or 2 s have passed), so completion order is never input order
  const std::vector<int> inputs = first_n(200);
  std::atomic<int> others_done{0};

  // When
  const auto results = finishes("parallel_map of 200 inputs", [&] {
    return wb::parallel_map(inputs, [&](int x) {
      if (x == 0) wait_a_while([&] { return others_done.load() > 0; }, 2s);
      work_for((200 - x) % 23);
      if (x != 0) others_done.fetch_add(1);
      return std::to_string(x * x);
    }, 4, 3);
  });

  // Then
  ASSERT_EQ(results.size(), inputs.size()) << "one result per input";
  int out_of_place = 0;
  std::string example;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i] != std::to_string(inputs[i] * inputs[i])) {
      if (out_of_place++ == 0) example = fmt::format("results[{}] is \"{}\", expected \"{}\"", i, results[i], inputs[i] * inputs[i]);
    }
  }
  EXPECT_EQ(out_of_place, 0) << fmt::format(
      "{} results are not at their input's position (e.g. {}): results must come back in INPUT "
      "order, like Pool.map. Appending to a shared vector (push_back, even under a mutex) gives "
      "completion order; write result i into slot i instead.", out_of_place, example);
}

TEST(ParallelMap, CallsFExactlyOncePerInput) {
  // Given: 5,000 cheap inputs, chunks of 7 (the last chunk is short), four threads
  constexpr int kInputs = 5'000;
  const std::vector<int> inputs = first_n(kInputs);
  std::vector<std::atomic<int>> calls(kInputs);

  // When
  const auto results = finishes("parallel_map of 5,000 inputs", [&] {
    return wb::parallel_map(inputs, [&](int x) {
      calls[static_cast<std::size_t>(x)].fetch_add(1);
      return x + 1;
    }, 4, 7);
  });

  // Then
  std::vector<std::string> problems;
  for (int x = 0; x < kInputs; ++x) {
    const int n = calls[static_cast<std::size_t>(x)].load();
    if (n != 1 && problems.size() < 5) problems.push_back(fmt::format("input {} was processed {} times", x, n));
  }
  EXPECT_TRUE(problems.empty()) << fmt::format(
      "every input must be processed exactly once:\n  {}\nTwice: two workers claimed the same chunk "
      "(the next-chunk index read and then increased in two steps: use one fetch_add), or chunks "
      "overlap. Never: a chunk ends one input early (the end is exclusive: min(begin + chunk, n)).",
      fmt::join(problems, "\n  "));
  ASSERT_EQ(results.size(), inputs.size());
  EXPECT_EQ(results.back(), kInputs) << "the last input's result is wrong";
}

TEST(ParallelMap, RunsAsManyCallsAtOnceAsThereAreThreads) {
  // Given: 40 inputs, four threads, chunks of 1; each call waits (up to 2 s, once) until four
  // calls are running at the same time
  constexpr int kThreads = 4;
  std::atomic<int> running{0};
  std::atomic<int> most_at_once{0};
  std::atomic<bool> gave_up{false};

  // When
  finishes("parallel_map of 40 inputs", [&] {
    return wb::parallel_map(first_n(40), [&](int) {
      const int now = running.fetch_add(1) + 1;
      int most = most_at_once.load();
      while (most < now && !most_at_once.compare_exchange_weak(most, now)) {
      }
      if (!gave_up.load() && !wait_a_while([&] { return most_at_once.load() >= kThreads; }, 2s)) gave_up.store(true);
      running.fetch_sub(1);
      return 0;
    }, kThreads, 1);
  });

  // Then
  EXPECT_EQ(most_at_once.load(), kThreads) << fmt::format(
      "with threads = {} at most {} calls of f ever ran at once: the work is not really parallel "
      "(are the threads joined one by one as they start, or is f called on the caller's thread "
      "only?), or more calls ran than threads were asked for.", kThreads, most_at_once.load());
}

TEST(ParallelMap, HandsOutChunksOfConsecutiveInputs) {
  // Given: 103 inputs, chunks of 5 (20 full chunks and one of 3), three threads; each call
  // records which thread ran it and that thread's call number. Each thread's first call waits
  // (up to 2 s) until all three threads have made one, so the threads really take turns.
  constexpr int kInputs = 103;
  constexpr int kChunk = 5;
  constexpr int kThreads = 3;
  struct seen { int thread = -1; int seq = -1; };
  std::vector<seen> log(kInputs);
  std::atomic<int> threads_started{0};

  // When
  finishes("parallel_map of 103 inputs", [&] {
    return wb::parallel_map(first_n(kInputs), [&](int x) {
      if (calls_on_this_thread == 0) {
        threads_started.fetch_add(1);
        wait_a_while([&] { return threads_started.load() >= kThreads; }, 2s);
      }
      work_for(x % 3);
      log[static_cast<std::size_t>(x)] = {thread_id(), calls_on_this_thread++};
      return x;
    }, kThreads, kChunk);
  });

  // Then: each chunk [5k, 5k + 5) ran on one thread, as consecutive calls of that thread, in order
  int broken = 0;
  std::string example;
  for (int begin = 0; begin < kInputs; begin += kChunk) {
    for (int x = begin + 1; x < std::min(begin + kChunk, kInputs); ++x) {
      const seen& a = log[static_cast<std::size_t>(x - 1)];
      const seen& b = log[static_cast<std::size_t>(x)];
      if (a.thread != b.thread || b.seq != a.seq + 1) {
        if (broken++ == 0) {
          example = fmt::format("input {} ran on thread {} as its call {}, input {} on thread {} as its call {}",
                                x - 1, a.thread, a.seq, x, b.thread, b.seq);
        }
      }
    }
  }
  EXPECT_EQ(broken, 0) << fmt::format(
      "{} times two neighbouring inputs of one chunk of {} were not processed one right after the "
      "other by the same thread (e.g. {}). A worker must claim chunk_size consecutive inputs at "
      "once and process them in order, like Pool.map's chunksize; claiming one input at a time "
      "ignores chunk_size.", broken, kChunk, example);
}

TEST(ParallelMap, AnExceptionFromFStopsTheRemainingWorkAndReachesTheCaller) {
  // Given: 1,000 inputs; f throws on input 10; every other call takes a little while
  constexpr int kInputs = 1'000;
  std::atomic<int> calls{0};
  std::atomic<bool> thrown{false};
  std::atomic<int> started_after_the_throw{0};

  // When
  std::string what = "(nothing was thrown)";
  bool right_type = false;
  try {
    finishes("parallel_map whose f throws on input 10", [&] {
      return wb::parallel_map(first_n(kInputs), [&](int x) {
        calls.fetch_add(1);
        if (thrown.load()) started_after_the_throw.fetch_add(1);
        if (x == 10) {
          thrown.store(true);
          throw std::domain_error("input 10 is bad");
        }
        std::this_thread::sleep_for(200us);
        return x;
      }, 4, 2);
    });
  } catch (const std::domain_error& error) {
    right_type = true;
    what = error.what();
  } catch (const std::exception& error) {
    what = fmt::format("a different exception: {}", error.what());
  }

  // Then
  EXPECT_TRUE(right_type) << fmt::format(
      "parallel_map must rethrow f's exception itself (here std::domain_error) to its caller; it "
      "{}. An exception swallowed in a worker, or replaced by another, hides the failure.", what);
  EXPECT_EQ(what, "input 10 is bad") << "the exception's message changed on the way";
  EXPECT_LT(started_after_the_throw.load(), kInputs / 2) << fmt::format(
      "{} of the {} calls of f started after f had thrown: once f throws, the workers must stop "
      "claiming chunks (and stop within their chunk), like Pool.map does not wait for the rest.",
      started_after_the_throw.load(), calls.load());
}

TEST(ParallelMap, NoCallOfFIsStillRunningWhenItThrows) {
  // Given: four threads; input 0 throws at once, the others take 20 ms each
  std::atomic<int> running{0};
  std::atomic<int> running_at_return{-1};

  // When: (counted the moment the exception arrives)
  finishes("parallel_map whose f throws on input 0", [&] {
    try {
      (void)wb::parallel_map(first_n(8), [&](int x) {
        running.fetch_add(1);
        if (x == 0) {
          running.fetch_sub(1);
          throw std::runtime_error("input 0 failed");
        }
        std::this_thread::sleep_for(20ms);
        running.fetch_sub(1);
        return x;
      }, 4, 1);
    } catch (const std::runtime_error&) {
      running_at_return.store(running.load());
    }
  });

  // Then
  EXPECT_EQ(running_at_return.load(), 0) << fmt::format(
      "when parallel_map threw, {} calls of f were still running (-1: it did not throw): it must "
      "join every thread it started before it returns or throws, so nothing it started touches "
      "the caller's data afterwards (a detached thread would).", running_at_return.load());
}

TEST(ParallelMap, HandlesEmptyInputAndMoreThreadsThanInputs) {
  // Given
  std::atomic<int> calls{0};
  const auto square = [&](int x) {
    calls.fetch_add(1);
    return x * x;
  };

  // When
  const auto none = finishes("parallel_map of no input", [&] { return wb::parallel_map(std::vector<int>{}, square, 4, 3); });
  const auto three = finishes("parallel_map of 3 inputs on 16 threads", [&] {
    return wb::parallel_map(std::vector<int>{1, 2, 3}, square, 16, 1);
  });
  const auto big_chunk = finishes("parallel_map of 2 inputs in chunks of 1,000", [&] {
    return wb::parallel_map(std::vector<int>{4, 5}, square, 2, 1'000);
  });

  // Then
  EXPECT_TRUE(none.empty()) << "an empty input must give an empty result";
  EXPECT_EQ(three, (std::vector<int>{1, 4, 9})) << "three inputs on sixteen threads";
  EXPECT_EQ(big_chunk, (std::vector<int>{16, 25})) << "two inputs in one chunk of 1,000";
  EXPECT_EQ(calls.load(), 5) << "f must be called once per input, and never for an empty input";
}

TEST(ParallelMap, RejectsZeroThreadsOrAZeroChunkSize) {
  // Given
  std::atomic<int> calls{0};
  const auto f = [&](int x) {
    calls.fetch_add(1);
    return x;
  };
  const auto sink = [](std::size_t, int) {};
  const std::vector<int> inputs{1, 2, 3};

  // When / Then
  EXPECT_THROW(wb::parallel_map(inputs, f, 0, 1), std::invalid_argument) << "threads = 0 must throw std::invalid_argument";
  EXPECT_THROW(wb::parallel_map(inputs, f, 2, 0), std::invalid_argument) << "chunk_size = 0 must throw std::invalid_argument";
  EXPECT_THROW(wb::parallel_map_unordered(inputs, f, 0, 1, sink), std::invalid_argument)
      << "threads = 0 must throw std::invalid_argument (unordered)";
  EXPECT_THROW(wb::parallel_map_unordered(inputs, f, 2, 0, sink), std::invalid_argument)
      << "chunk_size = 0 must throw std::invalid_argument (unordered)";
  EXPECT_EQ(calls.load(), 0) << "f was called although the arguments were rejected";
}

TEST(ParallelMapUnordered, DeliversAFastLaterResultBeforeASlowEarlierOne) {
  // Given: 6 inputs, two threads, chunks of 1; f(0) does not finish until the sink has received
  // input 1's result (or 2 s have passed)
  std::mutex mutex;
  std::vector<std::size_t> order;  // guarded by mutex
  std::vector<int> values(6, -1);  // guarded by mutex
  std::atomic<bool> one_delivered{false};

  // When
  finishes("parallel_map_unordered of 6 inputs", [&] {
    wb::parallel_map_unordered(first_n(6), [&](int x) {
      if (x == 0) wait_a_while([&] { return one_delivered.load(); }, 2s);
      return 10 * x;
    }, 2, 1, [&](std::size_t index, int value) {
      std::lock_guard lock(mutex);
      order.push_back(index);
      if (index < values.size()) values[index] = value;
      if (index == 1) one_delivered.store(true);
    });
  });

  // Then
  std::lock_guard lock(mutex);
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5})) << "every index must be delivered exactly once";
  EXPECT_EQ(values, (std::vector<int>{0, 10, 20, 30, 40, 50})) << "sink(index, result) got a result for the wrong index";
  const auto zero = std::find(order.begin(), order.end(), std::size_t{0});
  const auto one = std::find(order.begin(), order.end(), std::size_t{1});
  EXPECT_TRUE(one < zero) << fmt::format(
      "the sink got the indices in the order {}: input 1 was finished long before input 0, but "
      "its result was only delivered after 0's. parallel_map_unordered must hand each result to "
      "the sink as soon as it is ready (like imap_unordered), not collect them into input order.",
      fmt::join(order, ", "));
}

TEST(ParallelMapUnordered, CallsTheSinkOnTheCallersThreadOneCallAtATime) {
  // Given: 300 inputs, four threads
  std::atomic<int> elsewhere{0};
  std::atomic<int> in_sink{0};
  std::atomic<int> overlapping{0};
  std::vector<int> delivered(300, 0);  // written by the sink only, so on one thread

  // When
  finishes("parallel_map_unordered of 300 inputs", [&] {
    const auto caller = std::this_thread::get_id();
    wb::parallel_map_unordered(first_n(300), [](int x) {
      work_for(x % 5);
      return x;
    }, 4, 2, [&](std::size_t index, int value) {
      if (std::this_thread::get_id() != caller) elsewhere.fetch_add(1);
      if (in_sink.fetch_add(1) != 0) overlapping.fetch_add(1);
      if (index < delivered.size() && value == static_cast<int>(index)) ++delivered[index];
      work_for(2);
      in_sink.fetch_sub(1);
    });
  });

  // Then
  EXPECT_EQ(elsewhere.load(), 0) << fmt::format(
      "{} sink calls ran on a worker thread: the sink must run on the caller's thread (workers "
      "hand results over, e.g. through a mutex-guarded queue and a condition variable), so the "
      "caller's sink needs no locking of its own.", elsewhere.load());
  EXPECT_EQ(overlapping.load(), 0) << "two sink calls overlapped";
  EXPECT_EQ(std::count(delivered.begin(), delivered.end(), 1), 300)
      << "every index must reach the sink exactly once, with its own result";
}

TEST(ParallelMapUnordered, AnExceptionFromFStopsTheRestAndReachesTheCaller) {
  // Given: 1,000 inputs; f throws on input 10, the others take a little while
  constexpr int kInputs = 1'000;
  std::atomic<bool> thrown{false};
  std::atomic<int> started_after_the_throw{0};
  std::atomic<int> running{0};
  std::atomic<int> running_at_return{-1};

  // When
  std::string what = "(nothing was thrown)";
  finishes("parallel_map_unordered whose f throws on input 10", [&] {
    try {
      wb::parallel_map_unordered(first_n(kInputs), [&](int x) {
        running.fetch_add(1);
        if (thrown.load()) started_after_the_throw.fetch_add(1);
        if (x == 10) {
          thrown.store(true);
          running.fetch_sub(1);
          throw std::domain_error("input 10 is bad");
        }
        std::this_thread::sleep_for(200us);
        running.fetch_sub(1);
        return x;
      }, 4, 1, [](std::size_t, int) {});
    } catch (const std::domain_error& error) {
      running_at_return.store(running.load());
      what = error.what();
    }
  });

  // Then
  EXPECT_EQ(what, "input 10 is bad") << "parallel_map_unordered must rethrow f's exception to its caller";
  EXPECT_LT(started_after_the_throw.load(), kInputs / 2)
      << fmt::format("{} calls of f started after f had thrown: the workers must stop", started_after_the_throw.load());
  EXPECT_EQ(running_at_return.load(), 0) << "calls of f were still running when the exception reached the caller";
}

TEST(ParallelMapUnordered, AnExceptionFromTheSinkStopsTheWorkers) {
  // Given: 1,000 inputs that take 2 ms each; the sink throws on its first result
  constexpr int kInputs = 1'000;
  std::atomic<int> calls{0};
  std::atomic<int> running{0};
  int running_at_return = -1;

  // When: (counted the moment the exception arrives)
  std::string what = "(nothing was thrown)";
  finishes("parallel_map_unordered whose sink throws", [&] {
    try {
      wb::parallel_map_unordered(first_n(kInputs), [&](int x) {
        running.fetch_add(1);
        calls.fetch_add(1);
        std::this_thread::sleep_for(2ms);
        running.fetch_sub(1);
        return x;
      }, 4, 1, [](std::size_t, int) { throw std::runtime_error("the sink is full"); });
    } catch (const std::runtime_error& error) {
      running_at_return = running.load();
      what = error.what();
    }
  });

  // Then
  EXPECT_EQ(what, "the sink is full") << "the sink's exception must reach the caller";
  EXPECT_EQ(running_at_return, 0) << "calls of f were still running when the exception reached the caller";
  EXPECT_LT(calls.load(), kInputs / 2) << fmt::format(
      "f was called {} times after the sink had thrown on the first result: the caller must tell "
      "the workers to stop before it waits for them", calls.load());
}
