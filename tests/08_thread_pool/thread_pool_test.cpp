// Tests for thread_pool: futures carry results and exceptions, at most thread_count() tasks run
// at once (and that many do), FIFO start order, tasks that submit tasks, shutdown() draining the
// queue, shutdown_now() cancelling it, a destructor that neither loses work nor hangs, map() in
// input order and as_completed() in completion order.
//
// Tasks that must stay busy wait behind a `gate` the test opens; no test relies on sleeps for
// ordering. Every wait is bounded, so a deadlock becomes a failure that says so.
#include "thread_pool.hpp"

#include "workbook_test.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using wb::task_cancelled;
using wb::thread_pool;
using wb::test::call_in_background;
using wb::test::hang_limit;
using wb::test::milliseconds;
using wb::test::run_concurrently;

// How long a call must stay blocked before we believe it is waiting (generous under TSan).
constexpr auto kPark = 100ms;
// How long we wait for something that should happen at once before we call it missing.
constexpr auto kPatience = 2s;

// A door tasks wait behind until the test opens it. A task never waits longer than hang_limit:
// wait() then returns false, so a test that fails early cannot leave a worker stuck for good.
class gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return opened_.wait_for(lock, hang_limit, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;  // guarded by mutex_
};

// Opens a gate when the test's scope ends, however it ends. Declare it after the pool: it is
// destroyed first, so the pool's destructor finds its tasks released.
struct open_at_exit {
  gate& door;
  ~open_at_exit() { door.open(); }
};

// Counts the tasks that have started and that are running now, and the most that ran at once.
class occupancy {
 public:
  void enter() {
    std::lock_guard lock(mutex_);
    ++started_;
    ++running_;
    most_ = std::max(most_, running_);
    changed_.notify_all();
  }
  void leave() {
    std::lock_guard lock(mutex_);
    --running_;
    changed_.notify_all();
  }
  // True once `count` tasks run at the same time (false if that does not happen within limit).
  bool wait_for_running(int count, milliseconds limit = kPatience) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return running_ >= count; });
  }
  bool wait_for_started(int count, milliseconds limit = kPatience) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return started_ >= count; });
  }
  int most() {
    std::lock_guard lock(mutex_);
    return most_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int started_ = 0;  // guarded by mutex_
  int running_ = 0;  // guarded by mutex_
  int most_ = 0;     // guarded by mutex_
};

// future.get(), but a future that is not ready within `limit` ends the test as hung.
template <class R>
R get_within(std::future<R>& future, std::string_view what, milliseconds limit = hang_limit) {
  if (future.wait_for(limit) != std::future_status::ready) wb::test::fail_hung(what, limit);
  return future.get();
}

bool is_ready(std::future<int>& future) { return future.wait_for(0s) == std::future_status::ready; }

// The exception the tests' tasks throw on purpose.
struct task_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// keep_alive_note: a test that reads the message of an exception a task threw keeps an
// exception_ptr to it, declared before the pool, so the exception is freed on the test's thread
// after the pool has joined its workers. Otherwise a worker may drop the last reference (with
// its promise) just after the test read the message; the reference count lives in libstdc++,
// which ThreadSanitizer does not see, so it would report that free as a data race.

// What get() threw, in words, for a task whose future was expected to throw `Expected`.
template <class Expected, class R>
std::string outcome_of(std::future<R>& future) {
  try {
    future.get();
    return "returned normally";
  } catch (const Expected&) {
    return "ok";
  } catch (const std::future_error& e) {
    return fmt::format("threw std::future_error ({}): the promise was destroyed without a value or an "
                       "exception being set",
                       e.what());
  } catch (const std::exception& e) {
    return fmt::format("threw another exception: {}", e.what());
  }
}

}  // namespace

TEST(ThreadPool, RejectsZeroThreads) {
  // Given / When / Then
  EXPECT_THROW([] { thread_pool pool(0); }(), std::invalid_argument)
      << "a pool of 0 threads could never run a task: the constructor must throw std::invalid_argument";
  thread_pool pool(3);
  EXPECT_EQ(pool.thread_count(), 3u) << "thread_count() must return the number given to the constructor";
}

TEST(ThreadPool, SubmitRunsTheCallWithItsArgumentsAndReturnsItsFuture) {
  // Given
  thread_pool pool(2);
  int touched = 0;
  // When: calls with copied, moved-only and by-reference arguments, and a move-only callable
  auto sum = pool.submit([](int a, int b) { return a + b; }, 2, 3);
  auto text = pool.submit([](const std::string& s, std::unique_ptr<int> p) { return s + std::to_string(*p); },
                          std::string("n="), std::make_unique<int>(7));
  auto by_ref = pool.submit([](int& target) { target = 42; }, std::ref(touched));
  auto move_only = pool.submit([p = std::make_unique<int>(5)] { return *p * 2; });
  static_assert(std::is_same_v<decltype(sum), std::future<int>>, "submit must return std::future<R>");
  static_assert(std::is_same_v<decltype(by_ref), std::future<void>>, "submit must return std::future<R>");
  // Then
  EXPECT_EQ(get_within(sum, "the future of submit(a + b)"), 5);
  EXPECT_EQ(get_within(text, "the future of a task taking a std::unique_ptr argument"), "n=7");
  get_within(by_ref, "the future of a void task");
  EXPECT_EQ(touched, 42) << "a std::ref argument must reach the task as a reference";
  EXPECT_EQ(get_within(move_only, "the future of a move-only task"), 10);
}

TEST(ThreadPool, AnExceptionThrownByATaskReachesTheCallerThroughItsFuture) {
  // Given: one worker and three tasks, the first two of which throw
  std::exception_ptr caught;  // see keep_alive_note
  thread_pool pool(1);
  // When
  auto failing = pool.submit([]() -> int { throw task_failed("disk full"); });
  auto failing_void = pool.submit([] { throw task_failed("no route"); });
  auto after = pool.submit([] { return 7; });
  // Then
  ASSERT_EQ(failing.wait_for(hang_limit), std::future_status::ready) << "the failing task's future never became ready";
  try {
    failing.get();
    ADD_FAILURE() << "get() returned a value although the task threw: the exception was swallowed";
  } catch (const task_failed& e) {
    caught = std::current_exception();
    EXPECT_STREQ(e.what(), "disk full") << "get() must rethrow the task's own exception object";
  } catch (const std::future_error& e) {
    ADD_FAILURE() << fmt::format("get() threw std::future_error ({}) instead of the task's exception: catch it "
                                 "in the worker and hand it over with promise.set_exception(std::current_exception())",
                                 e.what());
  }
  EXPECT_EQ(outcome_of<task_failed>(failing_void), "ok") << "a void task's exception must reach get() too";
  EXPECT_EQ(get_within(after, "a task queued after two throwing ones (did the worker die with the exception?)"), 7)
      << "the worker must go on running tasks after one threw";
}

TEST(ThreadPool, RunsAtMostThreadCountTasksAtOnceAndReachesThatMany) {
  // Given: a pool of 3 and, in each of 10 rounds, 7 tasks that wait behind a gate
  constexpr int kThreads = 3;
  constexpr int kTasks = 7;
  constexpr int kRounds = 10;
  thread_pool pool(kThreads);
  std::string problem;
  int most = 0;
  for (int round = 0; round < kRounds && problem.empty(); ++round) {
    gate door;
    occupancy seen;
    std::vector<std::future<bool>> futures;
    // When
    for (int i = 0; i < kTasks; ++i) {
      futures.push_back(pool.submit([&] {
        seen.enter();
        const bool released = door.wait();
        seen.leave();
        return released;
      }));
    }
    const bool reached = seen.wait_for_running(kThreads);
    std::this_thread::sleep_for(20ms);  // room for a fourth task to start, if the pool lets it
    most = std::max(most, seen.most());
    if (!reached) {
      problem = fmt::format("in round {}, no more than {} of the tasks ran at once although the pool has {} "
                            "threads and {} tasks were waiting. Likely causes: the worker runs the task while "
                            "holding the queue's lock (so tasks run one at a time), or workers exited while "
                            "the pool was idle (a wait with `if` that returns on a spurious wake-up).",
                            round, seen.most(), kThreads, kTasks);
    }
    door.open();
    for (auto& future : futures) {
      get_within(future, fmt::format("round {}: the gated tasks after the gate opened (do the workers still run?)", round));
    }
    most = std::max(most, seen.most());
    std::this_thread::sleep_for(2ms);  // let the workers go idle and wait again
  }
  // Then
  EXPECT_TRUE(problem.empty()) << problem;
  EXPECT_LE(most, kThreads) << fmt::format("{} tasks ran at once in a pool of {} threads", most, kThreads);
}

TEST(ThreadPool, StartsQueuedTasksInSubmissionOrder) {
  // Given: one worker, busy behind a gate
  gate door;
  occupancy seen;
  thread_pool pool(1);
  open_at_exit release{door};
  auto blocker = pool.submit([&] {
    seen.enter();
    return door.wait();
  });
  ASSERT_TRUE(seen.wait_for_started(1)) << "the first task never started";
  // When: six more tasks queue up behind it, and the gate opens
  std::vector<int> order;  // written only by the one worker; read after the futures are ready
  std::vector<std::future<void>> futures;
  for (int i = 0; i < 6; ++i) futures.push_back(pool.submit([&order, i] { order.push_back(i); }));
  door.open();
  get_within(blocker, "the gated task");
  for (auto& future : futures) get_within(future, "a queued task after the gate opened");
  // Then
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}))
      << "queued tasks must start first in, first out (like ThreadPoolExecutor): take the front of the queue";
}

TEST(ThreadPool, ATaskCanSubmitAnotherTaskWithoutDeadlock) {
  // Given: a pool of one thread
  thread_pool pool(1);
  // When: a task submits a task that submits a task, each returning the inner future
  auto outer = pool.submit([&pool] {
    return pool.submit([&pool] { return pool.submit([] { return 42; }); });
  });
  // Then
  const char* what = "a task submitting another task to a pool of one thread (does the worker hold the queue's "
                     "lock while it runs the task? then submit() inside the task waits for itself)";
  auto middle = get_within(outer, what);
  auto inner = get_within(middle, what);
  EXPECT_EQ(get_within(inner, what), 42);
}

TEST(ThreadPool, ShutdownRunsEveryQueuedTaskBeforeReturning) {
  // Given: two workers busy behind a gate and six tasks queued behind them
  gate door;
  occupancy seen;
  thread_pool pool(2);
  open_at_exit release{door};
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 2; ++i) {
    futures.push_back(pool.submit([&] {
      seen.enter();
      return door.wait() ? 100 : -1;
    }));
  }
  ASSERT_TRUE(seen.wait_for_running(2)) << "the two gated tasks never ran at once in a pool of 2";
  for (int i = 0; i < 6; ++i) futures.push_back(pool.submit([i] { return i; }));
  // When
  auto shutdown = call_in_background([&] { pool.shutdown(); }, "shutdown() after the running tasks were released");
  // Then: it waits for the running tasks, and returns once everything queued has run
  EXPECT_FALSE(shutdown.finishes_within(kPark)) << "shutdown() returned while tasks were still running: it must join the workers";
  door.open();
  shutdown.get();
  for (std::size_t i = 0; i < futures.size(); ++i) {
    ASSERT_TRUE(is_ready(futures[i])) << fmt::format("task {} had not finished when shutdown() returned", i);
    EXPECT_EQ(outcome_of<task_cancelled>(futures[i]), "returned normally")
        << fmt::format("task {} was queued before shutdown() and must run, not be dropped", i);
  }
}

TEST(ThreadPool, SubmitAfterShutdownThrowsAndShutdownTwiceIsHarmless) {
  // Given
  thread_pool pool(2);
  auto before = pool.submit([] { return 1; });
  // When
  pool.shutdown();
  // Then
  EXPECT_TRUE(is_ready(before)) << "a task submitted before shutdown() must have run when it returns";
  EXPECT_THROW(pool.submit([] { return 2; }), std::runtime_error)
      << "submit() after shutdown() must throw std::runtime_error: a task accepted now would never run";
  auto again = call_in_background([&] { pool.shutdown(); }, "a second shutdown()");
  again.get();
  auto now = call_in_background([&] { return pool.shutdown_now(); }, "shutdown_now() after shutdown()");
  EXPECT_EQ(now.get(), 0u) << "nothing was queued, so shutdown_now() must report 0 tasks cancelled";
  EXPECT_EQ(pool.thread_count(), 2u);
}

TEST(ThreadPool, ShutdownWakesEveryIdleWorker) {
  // Given: four workers, left idle long enough to be asleep
  thread_pool pool(4);
  std::this_thread::sleep_for(kPark);
  // When / Then: a hang here means shutdown() woke only some of them
  auto shutdown = call_in_background([&] { pool.shutdown(); },
                                     "shutdown() of an idle pool of 4 threads (did it wake only one worker?)");
  shutdown.get();
}

TEST(ThreadPool, DestroyingAnIdlePoolReturnsPromptly) {
  // Given / When: pools destroyed at once, and one destroyed after its workers fell asleep
  auto destroy = call_in_background([] {
    for (int i = 0; i < 10; ++i) thread_pool fresh(3);
    auto idle = std::make_unique<thread_pool>(3);
    std::this_thread::sleep_for(kPark);
    idle.reset();
  }, "destroying idle pools (does the destructor wake every worker?)");
  // Then
  destroy.get();
}

TEST(ThreadPool, DestructorRunsQueuedTasksAndWaitsForRunningOnes) {
  // Given: two workers busy behind a gate, six tasks queued behind them
  gate door;
  occupancy seen;
  std::atomic<int> done{0};
  auto pool = std::make_unique<thread_pool>(2);
  open_at_exit release{door};
  for (int i = 0; i < 2; ++i) {
    pool->submit([&] {
      seen.enter();
      if (door.wait()) done.fetch_add(1);
    });
  }
  ASSERT_TRUE(seen.wait_for_running(2)) << "the two gated tasks never ran at once in a pool of 2";
  for (int i = 0; i < 6; ++i) pool->submit([&] { done.fetch_add(1); });
  // When
  auto destroy = call_in_background([&] { pool.reset(); }, "destroying a pool after its running tasks were released");
  // Then
  EXPECT_FALSE(destroy.finishes_within(kPark))
      << "the destructor returned while tasks were still running: it must join the workers, not detach them";
  door.open();
  destroy.get();
  EXPECT_EQ(done.load(), 8) << "the destructor must run every queued task before it returns (a drain shutdown)";
}

TEST(ThreadPool, ShutdownNowCancelsQueuedTasksAndLetsRunningOnesFinish) {
  // Given: one worker busy behind a gate, four tasks queued behind it
  gate door;
  occupancy seen;
  std::atomic<int> ran{0};
  thread_pool pool(1);
  open_at_exit release{door};
  auto running = pool.submit([&] {
    seen.enter();
    return door.wait() ? 1 : -1;
  });
  ASSERT_TRUE(seen.wait_for_started(1)) << "the first task never started";
  std::vector<std::future<int>> queued;
  for (int i = 0; i < 4; ++i) queued.push_back(pool.submit([&] { return ran.fetch_add(1); }));
  // When
  auto cancel = call_in_background([&] { return pool.shutdown_now(); },
                                   "shutdown_now() after the running task was released");
  // Then: the queued tasks are cancelled at once, while the running one still runs
  for (std::size_t i = 0; i < queued.size(); ++i) {
    EXPECT_EQ(queued[i].wait_for(kPatience), std::future_status::ready) << fmt::format(
        "the future of queued task {} was not ready {} ms after shutdown_now(): a discarded task's future must "
        "report the cancellation at once, not wait for the running tasks",
        i, kPatience.count());
  }
  EXPECT_FALSE(cancel.finishes_within(kPark))
      << "shutdown_now() returned while a task was still running: it must let it finish and join";
  EXPECT_THROW(pool.submit([] { return 0; }), std::runtime_error) << "submit() after shutdown_now() must throw";
  door.open();
  EXPECT_EQ(cancel.get(), 4u) << "shutdown_now() must return the number of queued tasks it discarded";
  EXPECT_EQ(get_within(running, "the task running during shutdown_now()"), 1)
      << "the running task must finish normally";
  for (std::size_t i = 0; i < queued.size(); ++i) {
    EXPECT_EQ(outcome_of<task_cancelled>(queued[i]), "ok")
        << fmt::format("get() on discarded task {} must throw wb::task_cancelled", i);
  }
  EXPECT_EQ(ran.load(), 0) << "shutdown_now() must discard the queued tasks, not run them";
}

TEST(ThreadPool, MapReturnsResultsInInputOrder) {
  // Given: two workers; input 0 waits until every other input has been computed, so it
  // finishes last
  thread_pool pool(2);
  const std::vector<int> inputs{0, 1, 2, 3, 4, 5, 6, 7};
  std::mutex mutex;
  std::condition_variable changed;
  int others_done = 0;  // guarded by mutex
  auto times_ten = [&](int x) {
    std::unique_lock lock(mutex);
    if (x == 0) {
      changed.wait_for(lock, hang_limit, [&] { return others_done == 7; });
    } else {
      ++others_done;
      changed.notify_all();
    }
    return x * 10;
  };
  // When
  auto map = call_in_background([&] { return pool.map(times_ten, inputs); }, "map() over 8 inputs");
  const auto results = map.get();
  // Then
  EXPECT_EQ(results, (std::vector<int>{0, 10, 20, 30, 40, 50, 60, 70})) << fmt::format(
      "map() returned {}: results must come in input order (Executor.map), not in the order the tasks finished",
      fmt::join(results, ", "));
  EXPECT_TRUE(pool.map(times_ten, std::vector<int>{}).empty()) << "map() over no inputs must return no results";
}

TEST(ThreadPool, MapRethrowsTheExceptionOfAFailingInput) {
  // Given
  std::exception_ptr caught;  // see keep_alive_note
  thread_pool pool(2);
  auto checked = [](int x) {
    if (x == 3) throw task_failed("input 3 is bad");
    return x;
  };
  // When
  auto map = call_in_background([&] { return pool.map(checked, std::vector<int>{1, 2, 3, 4}); }, "map() with a failing input");
  // Then
  try {
    map.get();
    ADD_FAILURE() << "map() returned although f threw for input 3";
  } catch (const task_failed& e) {
    caught = std::current_exception();
    EXPECT_STREQ(e.what(), "input 3 is bad");
  } catch (const std::exception& e) {
    ADD_FAILURE() << fmt::format("map() threw \"{}\" instead of the task's own exception", e.what());
  }
}

TEST(ThreadPool, AsCompletedYieldsFastLaterTasksBeforeASlowEarlierOne) {
  // Given: input 0 waits behind a gate; inputs 1-4 return at once
  gate door;
  thread_pool pool(2);
  open_at_exit release{door};
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<std::size_t, int>> yielded;  // guarded by mutex
  auto slow_first = [&](int x) {
    if (x == 0 && !door.wait()) return -1;
    return x * 10;
  };
  // When
  auto loop = call_in_background([&] {
    pool.as_completed(slow_first, std::vector<int>{0, 1, 2, 3, 4}, [&](std::size_t index, std::future<int> done) {
      const int value = done.get();
      std::lock_guard lock(mutex);
      yielded.emplace_back(index, value);
      changed.notify_all();
    });
  }, "as_completed() over 5 inputs, after the slow one was released");
  // Then: the four fast ones are handed over while input 0 is still behind the gate
  bool fast_ones_first = false;
  {
    std::unique_lock lock(mutex);
    fast_ones_first = changed.wait_for(lock, kPatience, [&] { return yielded.size() >= 4; });
  }
  EXPECT_TRUE(fast_ones_first) << "as_completed() did not hand over inputs 1-4, which had finished, while input 0 "
                                  "was still running: it waits for the tasks in submission order instead of "
                                  "yielding each as it finishes";
  door.open();
  loop.get();
  std::lock_guard lock(mutex);
  ASSERT_EQ(yielded.size(), 5u) << "on_done must be called once per input";
  EXPECT_EQ(yielded.back(), (std::pair<std::size_t, int>{0, 0})) << "the slow input 0 must be yielded last";
}

TEST(ThreadPool, AsCompletedHandsOverEveryInputOnceWithItsResultOrException) {
  // Given: 40 inputs, every seventh of which fails
  thread_pool pool(3);
  std::vector<int> inputs(40);
  for (int i = 0; i < 40; ++i) inputs[static_cast<std::size_t>(i)] = i;
  auto square = [](int x) {
    if (x % 7 == 3) throw task_failed(std::to_string(x));
    return x * x;
  };
  std::vector<int> times(40, 0);
  std::vector<std::string> problems;
  // When
  auto loop = call_in_background([&] {
    pool.as_completed(square, inputs, [&](std::size_t index, std::future<int> done) {
      if (index >= times.size()) {
        problems.push_back(fmt::format("on_done got index {}, which is no input", index));
        return;
      }
      ++times[index];
      const int x = inputs[index];
      const std::string outcome = outcome_of<task_failed>(done);
      if (x % 7 == 3 && outcome != "ok") problems.push_back(fmt::format("input {}: get() {}", x, outcome));
      if (x % 7 != 3 && outcome != "returned normally") problems.push_back(fmt::format("input {}: get() {}", x, outcome));
    });
    bool called = false;
    pool.as_completed(square, std::vector<int>{}, [&](std::size_t, std::future<int>) { called = true; });
    if (called) problems.push_back("as_completed() over no inputs called on_done");
  }, "as_completed() over 40 inputs");
  loop.get();
  // Then
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (times[i] != 1) problems.push_back(fmt::format("input {} was handed to on_done {} times", i, times[i]));
  }
  EXPECT_TRUE(problems.empty()) << fmt::format("{} problems, for example: {}", problems.size(),
                                               problems.empty() ? "" : problems.front());
}

TEST(ThreadPool, TasksSubmittedFromManyThreadsEachRunExactlyOnce) {
  // Given: 4 threads submitting 250 tasks each to a pool of 3
  constexpr int kSubmitters = 4;
  constexpr int kPerSubmitter = 250;
  thread_pool pool(3);
  std::vector<std::atomic<int>> runs(kSubmitters * kPerSubmitter);
  std::atomic<int> wrong_results{0};
  // When
  run_concurrently(kSubmitters, [&](int submitter) {
    std::vector<std::future<int>> futures;
    for (int i = 0; i < kPerSubmitter; ++i) {
      const int id = submitter * kPerSubmitter + i;
      futures.push_back(pool.submit([&runs, id] {
        runs[static_cast<std::size_t>(id)].fetch_add(1);
        return id;
      }));
    }
    for (int i = 0; i < kPerSubmitter; ++i) {
      if (futures[static_cast<std::size_t>(i)].get() != submitter * kPerSubmitter + i) wrong_results.fetch_add(1);
    }
  }, "4 threads submitting 250 tasks each and waiting for their futures");
  // Then
  int lost = 0;
  int repeated = 0;
  for (auto& count : runs) {
    if (count.load() == 0) ++lost;
    if (count.load() > 1) ++repeated;
  }
  EXPECT_EQ(lost, 0) << fmt::format("{} tasks never ran: the queue lost them", lost);
  EXPECT_EQ(repeated, 0) << fmt::format("{} tasks ran more than once: two workers took the same task", repeated);
  EXPECT_EQ(wrong_results.load(), 0) << "some futures delivered another task's result";
}
