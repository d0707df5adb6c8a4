// Tests for the event loop, all on its virtual clock (nothing sleeps for real, so every time is
// exact): sleepers wake in deadline order and FIFO among equal deadlines; gather runs tasks
// concurrently and keeps argument order; wait_for returns in time or cancels; the semaphore bounds
// concurrency; the queue conserves items in order and suspends when full or empty; no coroutine
// frame outlives the test; a main task that can never wake is reported as a deadlock.
#include "event_loop.hpp"

#include "workbook_test.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using wb::async_queue;
using wb::async_semaphore;
using wb::event_loop;
using wb::task;
using wb::test::call_in_background;
using duration = event_loop::duration;

// Runs loop.run(main) on a helper thread, so that a learner's endless loop becomes a failure
// naming `what` instead of a hang (the loop is single-threaded; the thread is only a watchdog).
template <class T>
T run_bounded(event_loop& loop, task<T> main, std::string what) {
  return call_in_background([&loop, main = std::move(main)]() mutable { return loop.run(std::move(main)); },
                            std::move(what))
      .get();
}

// Seconds, for messages.
double secs(duration d) { return std::chrono::duration<double>(d).count(); }

// Counts live objects of a coroutine: one probe lives in each frame while the frame exists.
struct frame_count {
  int made = 0;
  int destroyed = 0;
  int live() const { return made - destroyed; }
};
class probe {
 public:
  explicit probe(frame_count& count) : count_(count) { ++count_.made; }
  probe(const probe&) = delete;
  probe& operator=(const probe&) = delete;
  ~probe() { ++count_.destroyed; }

 private:
  frame_count& count_;
};

task<int> sleep_then_return(event_loop& loop, duration d, int value) {
  co_await loop.sleep(d);
  co_return value;
}

// Sleeps d, then appends id to `woke` and the time to `at`.
task<int> sleeper(event_loop& loop, duration d, int id, std::vector<int>& woke, std::vector<duration>& at) {
  co_await loop.sleep(d);
  woke.push_back(id);
  at.push_back(loop.now());
  co_return id;
}

task<int> sleep_then_throw(event_loop& loop, duration d) {
  co_await loop.sleep(d);
  throw std::runtime_error("boom from a child task");
}

std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return "[" + s + "]";
}

TEST(EventLoop, RunReturnsTheMainTaskValueWhenItCompletes) {
  // Given a loop and a main task that sleeps 5 s and returns 42
  event_loop loop;
  EXPECT_EQ(loop.now(), duration::zero()) << "a new loop's virtual clock should start at 0";
  // When the loop runs it
  const int got = run_bounded(loop, sleep_then_return(loop, 5s, 42), "loop.run(main sleeping 5 s)");
  // Then run() returns main's value, at exactly 5 s of virtual time
  EXPECT_EQ(got, 42) << "run() should return what the main task co_returned";
  EXPECT_EQ(loop.now(), duration(5s)) << fmt::format(
      "now() is {} s after a single 5 s sleep; the clock should jump to the timer's deadline, exactly", secs(loop.now()));
}

TEST(EventLoop, SleepersWakeInDeadlineOrderAndTimeJumpsExactly) {
  // Given three tasks that sleep 3 s, 1 s and 2 s, started in that order
  event_loop loop;
  std::vector<int> woke;
  std::vector<duration> at;
  std::vector<task<int>> tasks;
  tasks.push_back(sleeper(loop, 3s, 3, woke, at));
  tasks.push_back(sleeper(loop, 1s, 1, woke, at));
  tasks.push_back(sleeper(loop, 2s, 2, woke, at));
  // When they run concurrently
  run_bounded(loop, wb::gather(std::move(tasks)), "gather of sleepers 3 s, 1 s, 2 s");
  // Then they wake by deadline (1, 2, 3), each at its own deadline, and the loop ends at 3 s
  EXPECT_EQ(woke, (std::vector<int>{1, 2, 3})) << fmt::format(
      "sleepers woke in order {}; timers must fire earliest deadline first, not in the order they were set "
      "(a list instead of a heap or ordered set?)", join(woke));
  EXPECT_EQ(at, (std::vector<duration>{1s, 2s, 3s})) << "each sleeper should wake exactly at its deadline";
  EXPECT_EQ(loop.now(), duration(3s)) << fmt::format("now() is {} s at the end, expected 3 s", secs(loop.now()));
}

TEST(EventLoop, EqualDeadlinesWakeInTheOrderTheyWereSet) {
  // Given five tasks that all sleep 1 s, started in order 0..4
  event_loop loop;
  std::vector<int> woke;
  std::vector<duration> at;
  std::vector<task<int>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(sleeper(loop, 1s, i, woke, at));
  // When they run
  run_bounded(loop, wb::gather(std::move(tasks)), "gather of five 1 s sleepers");
  // Then they wake FIFO
  EXPECT_EQ(woke, (std::vector<int>{0, 1, 2, 3, 4})) << fmt::format(
      "sleepers with the same deadline woke in order {}; ties must go to the timer set first "
      "(order timers by (deadline, sequence number), not by deadline alone or newest first)", join(woke));
}

task<duration> sequential_sleeps(event_loop& loop) {
  co_await loop.sleep(1h);
  co_await loop.sleep(30min);
  co_await loop.sleep(0s);  // a yield: no time passes
  co_await loop.sleep(250ms);
  co_return loop.now();
}

TEST(EventLoop, SequentialSleepsAddUpOnTheVirtualClock) {
  // Given a task that sleeps 1 h, 30 min, 0 s and 250 ms one after another
  event_loop loop;
  // When it runs
  const auto real_start = std::chrono::steady_clock::now();
  const duration end = run_bounded(loop, sequential_sleeps(loop), "a task sleeping 1 h 30 min on the virtual clock");
  const auto real = std::chrono::steady_clock::now() - real_start;
  // Then the virtual clock shows exactly the sum, and (virtual time) no real hour passed
  EXPECT_EQ(end, duration(1h + 30min + 250ms)) << fmt::format("now() is {} s after sleeps summing to 5400.25 s", secs(end));
  EXPECT_LT(real, std::chrono::duration_cast<std::chrono::steady_clock::duration>(wb::test::hang_limit))
      << "sleeping on the virtual clock should take no real time";
}

task<int> await_a_thrower(event_loop& loop, std::string& seen) {
  try {
    co_return co_await sleep_then_throw(loop, 1s);
  } catch (const std::runtime_error& e) {
    seen = e.what();
  }
  co_return -1;
}

TEST(EventLoop, AwaitedTaskExceptionReachesTheAwaiter) {
  // Given a task that awaits a child that throws after a 1 s sleep
  event_loop loop;
  std::string seen;
  // When it runs
  const int got = run_bounded(loop, await_a_thrower(loop, seen), "a task awaiting a child that throws");
  // Then co_await rethrows the child's exception in the parent
  EXPECT_EQ(seen, "boom from a child task") << "co_await on a task that threw should rethrow its exception";
  EXPECT_EQ(got, -1);
  // And an exception escaping main comes out of run()
  event_loop loop2;
  EXPECT_THROW(run_bounded(loop2, sleep_then_throw(loop2, 2s), "main that throws"), std::runtime_error)
      << "run() should rethrow what escaped the main task";
}

task<void> acquire_forever(async_semaphore& sem, bool& passed) {
  co_await sem.acquire();
  passed = true;
}

TEST(EventLoop, RunThrowsDeadlockErrorWhenNothingCanWakeTheMainTask) {
  // Given a main task that waits for a semaphore with no permits, which nobody will release
  event_loop loop;
  async_semaphore sem(loop, 0);
  bool passed = false;
  // When the loop runs it, Then run() reports the deadlock instead of hanging or returning
  EXPECT_THROW(run_bounded(loop, acquire_forever(sem, passed), "main waiting on an empty semaphore"), wb::deadlock_error)
      << "with nothing ready and no timer pending, run() must throw deadlock_error";
  EXPECT_FALSE(passed) << "acquire() on a semaphore with no permits let the task through";
}

task<void> negative_timeout(event_loop& loop) { co_await loop.wait_for(sleep_then_return(loop, 1s, 1), -1s); }

TEST(EventLoop, RejectsNegativeSleepAndTimeout) {
  // Given a loop
  event_loop loop;
  // When asked to sleep or time out after a negative duration, Then it says the argument is wrong
  EXPECT_THROW((void)loop.sleep(-1ms), std::invalid_argument) << "sleep(-1 ms) should throw std::invalid_argument";
  EXPECT_THROW(run_bounded(loop, negative_timeout(loop), "wait_for with a negative timeout"), std::invalid_argument)
      << "awaiting wait_for(t, -1 s) should throw std::invalid_argument";
}

TEST(Gather, ReturnsResultsInArgumentOrder) {
  // Given tasks that finish in the order 2nd, 3rd, 1st
  event_loop loop;
  std::vector<task<int>> tasks;
  tasks.push_back(sleep_then_return(loop, 3s, 10));
  tasks.push_back(sleep_then_return(loop, 1s, 20));
  tasks.push_back(sleep_then_return(loop, 2s, 30));
  // When they are gathered
  const auto got = run_bounded(loop, wb::gather(std::move(tasks)), "gather of three tasks");
  // Then the results come in argument order, not finishing order
  EXPECT_EQ(got, (std::vector<int>{10, 20, 30})) << fmt::format(
      "gather returned {}; results must be in the order of the tasks given, whatever order they finish in", join(got));
}

TEST(Gather, TakesAsLongAsTheLongestTaskNotTheSum) {
  // Given three tasks sleeping 3 s, 1 s and 2 s
  event_loop loop;
  std::vector<task<int>> tasks;
  tasks.push_back(sleep_then_return(loop, 3s, 1));
  tasks.push_back(sleep_then_return(loop, 1s, 2));
  tasks.push_back(sleep_then_return(loop, 2s, 3));
  // When they are gathered
  run_bounded(loop, wb::gather(std::move(tasks)), "gather of three sleepers");
  // Then they ran concurrently: 3 s in all
  EXPECT_EQ(loop.now(), duration(3s)) << fmt::format(
      "gather took {} s of virtual time for sleeps of 3, 1 and 2 s; concurrent tasks take the longest (3 s); "
      "6 s means the tasks were awaited one after another", secs(loop.now()));
}

task<int> count_and_sleep(event_loop& loop, duration d, int& finished) {
  co_await loop.sleep(d);
  ++finished;
  co_return 0;
}

TEST(Gather, RethrowsAChildExceptionAfterTheOthersFinish) {
  // Given a gather of a task that throws at 1 s and two that finish at 2 s and 3 s
  event_loop loop;
  int finished = 0;
  std::vector<task<int>> tasks;
  tasks.push_back(count_and_sleep(loop, 2s, finished));
  tasks.push_back(sleep_then_throw(loop, 1s));
  tasks.push_back(count_and_sleep(loop, 3s, finished));
  // When it is awaited, Then the child's exception comes out of gather
  EXPECT_THROW(run_bounded(loop, wb::gather(std::move(tasks)), "gather with a throwing child"), std::runtime_error)
      << "a child's exception must propagate through gather, not be swallowed";
  EXPECT_EQ(finished, 2) << "gather should let every other child finish before it rethrows";
}

task<void> void_child(event_loop& loop, duration d, int& finished) {
  co_await loop.sleep(d);
  ++finished;
}

TEST(Gather, OfVoidTasksWaitsForAllOfThem) {
  // Given four void tasks sleeping 1-4 s
  event_loop loop;
  int finished = 0;
  std::vector<task<void>> tasks;
  for (int i = 4; i >= 1; --i) tasks.push_back(void_child(loop, i * 1s, finished));
  // When they are gathered (and an empty gather too)
  run_bounded(loop, wb::gather(std::move(tasks)), "gather of four void tasks");
  const auto none = run_bounded(loop, wb::gather(std::vector<task<int>>{}), "gather of no tasks");
  // Then all finished, in 4 s
  EXPECT_EQ(finished, 4) << "gather returned before all its void tasks finished";
  EXPECT_EQ(loop.now(), duration(4s)) << fmt::format("gather of sleeps 1-4 s took {} s, expected 4 s", secs(loop.now()));
  EXPECT_TRUE(none.empty()) << "gather of no tasks should return an empty vector";
}

task<int> wait_in_time(event_loop& loop, duration& after) {
  const int v = co_await loop.wait_for(sleep_then_return(loop, 1s, 7), 2s);
  after = loop.now();
  co_await loop.sleep(5s);  // the wait_for's timer must be gone: nothing fires at 2 s
  co_return v;
}

TEST(WaitFor, ReturnsTheValueWhenTheTaskFinishesInTime) {
  // Given a task that takes 1 s, awaited with a 2 s timeout
  event_loop loop;
  duration after{};
  // When it runs
  const int got = run_bounded(loop, wait_in_time(loop, after), "wait_for(1 s task, 2 s)");
  // Then wait_for returns its value at 1 s
  EXPECT_EQ(got, 7) << "wait_for should return the task's value when it finishes in time";
  EXPECT_EQ(after, duration(1s)) << fmt::format(
      "wait_for returned at {} s; it should return as soon as the task finishes (1 s), not at the timeout", secs(after));
  EXPECT_EQ(loop.now(), duration(6s));
}

// Sleeps 10 s holding a probe; records whether it ever got past the sleep.
task<int> slow_inner(event_loop& loop, frame_count& count, bool& resumed) {
  probe p(count);
  co_await loop.sleep(10s);
  resumed = true;
  co_return 1;
}

struct timeout_log {
  bool timed_out = false;
  duration at{};
  int live_at_timeout = -1;
};

task<void> wait_too_short(event_loop& loop, frame_count& count, bool& resumed, timeout_log& log) {
  auto waiting = loop.wait_for(slow_inner(loop, count, resumed), 1s);
  try {
    co_await waiting;  // `waiting` stays alive here: the cleanup must not wait for its destruction
  } catch (const wb::timeout_error&) {
    log.timed_out = true;
    log.at = loop.now();
    log.live_at_timeout = count.live();
  }
  co_await loop.sleep(20s);  // long past the inner task's 10 s sleep
}

TEST(WaitFor, TimeoutCancelsTheTaskWhichNeverResumes) {
  // Given a task that sleeps 10 s, awaited with a 1 s timeout
  event_loop loop;
  frame_count count;
  bool resumed = false;
  timeout_log log;
  // When it runs and the loop goes on to 21 s
  run_bounded(loop, wait_too_short(loop, count, resumed, log), "wait_for(10 s task, 1 s)");
  // Then wait_for threw timeout_error at 1 s, the inner task was destroyed then, and never resumed
  EXPECT_TRUE(log.timed_out) << "wait_for should throw wb::timeout_error when the timeout passes first";
  EXPECT_EQ(log.at, duration(1s)) << fmt::format("wait_for gave up at {} s, expected at the 1 s timeout", secs(log.at));
  EXPECT_EQ(log.live_at_timeout, 0) << "when timeout_error reaches the caller, the inner task's frame should already "
                                       "be destroyed (its RAII cleanup run): that is the cancellation";
  EXPECT_FALSE(resumed) << "the timed-out inner task resumed later and ran on: wait_for must cancel it, not leave "
                           "it running in the background";
  EXPECT_EQ(count.live(), 0);
}

task<int> throw_in_time(event_loop& loop) {
  try {
    co_return co_await loop.wait_for(sleep_then_throw(loop, 1s), 5s);
  } catch (const wb::timeout_error&) {
    co_return 1;
  } catch (const std::runtime_error&) {
    co_return 2;
  }
}

TEST(WaitFor, PassesOnTheTaskExceptionWhenItThrowsInTime) {
  // Given a task that throws at 1 s, awaited with a 5 s timeout
  event_loop loop;
  // When it runs
  const int got = run_bounded(loop, throw_in_time(loop), "wait_for(task throwing at 1 s, 5 s)");
  // Then its own exception comes out of wait_for, at 1 s
  EXPECT_EQ(got, 2) << (got == 1 ? "wait_for threw timeout_error, but the task threw its own error before the timeout"
                                 : "wait_for did not rethrow the task's exception");
  EXPECT_EQ(loop.now(), duration(1s));
}

struct occupancy {
  int inside = 0;
  int most = 0;
  int done = 0;
  std::vector<int> order;
};

task<void> worker(event_loop& loop, async_semaphore& sem, occupancy& o, int id) {
  co_await sem.acquire();
  o.order.push_back(id);
  o.most = std::max(o.most, ++o.inside);
  co_await loop.sleep(1s);
  --o.inside;
  ++o.done;
  sem.release();
}

TEST(AsyncSemaphore, NeverLetsMoreThanItsPermitsInAndAllRun) {
  // Given a semaphore of 2 permits and 7 workers that each hold one for 1 s
  event_loop loop;
  async_semaphore sem(loop, 2);
  occupancy o;
  std::vector<task<void>> tasks;
  for (int i = 0; i < 7; ++i) tasks.push_back(worker(loop, sem, o, i));
  // When they run concurrently
  run_bounded(loop, wb::gather(std::move(tasks)), "7 workers sharing a semaphore of 2");
  // Then at most 2 were inside at once, all 7 ran, in 4 s (rounds of 2), and both permits are back
  EXPECT_EQ(o.most, 2) << fmt::format("{} workers were inside at once with 2 permits{}", o.most,
                                      o.most > 2 ? " (does release() both hand a permit to a waiter and add it back?)" : "");
  EXPECT_EQ(o.done, 7) << "not every worker got through the semaphore";
  EXPECT_EQ(loop.now(), duration(4s)) << fmt::format("7 workers of 1 s through 2 permits took {} s, expected 4 s", secs(loop.now()));
  EXPECT_EQ(sem.available(), 2) << "after every worker released, both permits should be available";
}

TEST(AsyncSemaphore, WaitersGetPermitsInFifoOrder) {
  // Given one permit and five workers started in order
  event_loop loop;
  async_semaphore sem(loop, 1);
  occupancy o;
  std::vector<task<void>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(worker(loop, sem, o, i));
  // When they run
  run_bounded(loop, wb::gather(std::move(tasks)), "5 workers sharing a semaphore of 1");
  // Then they got in in the order they asked
  EXPECT_EQ(o.order, (std::vector<int>{0, 1, 2, 3, 4})) << fmt::format("workers got the permit in order {}", join(o.order));
  EXPECT_EQ(o.most, 1);
}

task<void> hold_for(event_loop& loop, async_semaphore& sem, duration d) {
  co_await sem.acquire();
  co_await loop.sleep(d);
  sem.release();
}

task<int> acquire_and_count(async_semaphore& sem, int& got_in) {
  co_await sem.acquire();
  ++got_in;
  sem.release();
  co_return 0;
}

task<void> cancel_a_waiter(event_loop& loop, async_semaphore& sem, int& got_in, bool& timed_out) {
  // The holder releases at 1 s, the very moment the waiter's 1 s timeout fires: the permit is
  // handed to the waiter, which is then cancelled before it resumes.
  std::vector<task<void>> side;
  side.push_back(hold_for(loop, sem, 1s));
  side.push_back([](event_loop& l, async_semaphore& s, int& g, bool& t) -> task<void> {
    co_await l.sleep(0s);  // let the holder take the permit first
    try {
      co_await l.wait_for(acquire_and_count(s, g), 1s);
    } catch (const wb::timeout_error&) {
      t = true;
    }
  }(loop, sem, got_in, timed_out));
  co_await wb::gather(std::move(side));
  co_await acquire_and_count(sem, got_in);  // the permit must still be there
}

TEST(AsyncSemaphore, CancelledWaiterDoesNotKeepAPermit) {
  // Given one permit, a holder, and a waiter whose wait is cancelled as the permit reaches it
  event_loop loop;
  async_semaphore sem(loop, 1);
  int got_in = 0;
  bool timed_out = false;
  // When a third acquire comes after
  run_bounded(loop, cancel_a_waiter(loop, sem, got_in, timed_out), "acquire after a cancelled waiter");
  // Then the third acquire gets the permit (a deadlock_error would mean the permit went down with the waiter)
  EXPECT_TRUE(timed_out) << "the waiter should have timed out (its timeout fired with the holder's release)";
  EXPECT_EQ(got_in, 1) << "only the acquire after the cancellation should have got in";
  EXPECT_EQ(sem.available(), 1) << "a permit handed to a waiter that is then cancelled must be passed on or returned";
}

TEST(AsyncSemaphore, RejectsNegativePermits) {
  event_loop loop;
  EXPECT_THROW(async_semaphore(loop, -1), std::invalid_argument) << "a semaphore of -1 permits should be rejected";
}

task<void> producer(event_loop& loop, async_queue<int>& q, int n, std::vector<duration>& put_at) {
  for (int i = 0; i < n; ++i) {
    co_await q.put(i);
    put_at.push_back(loop.now());
    if (i % 7 == 3) co_await loop.sleep(1ms);
  }
}

task<void> consumer(event_loop& loop, async_queue<int>& q, int n, std::vector<int>& got, std::size_t& most) {
  for (int i = 0; i < n; ++i) {
    most = std::max(most, q.size());
    got.push_back(co_await q.get());
    if (i % 5 == 1) co_await loop.sleep(2ms);
  }
}

TEST(AsyncQueue, DeliversEveryItemOnceInFifoOrder) {
  // Given a queue of capacity 3, a producer of 0..99 and a consumer of 100 items, at uneven paces
  event_loop loop;
  async_queue<int> q(loop, 3);
  EXPECT_EQ(q.capacity(), 3u);
  std::vector<int> got;
  std::vector<duration> put_at;
  std::size_t most = 0;
  std::vector<task<void>> tasks;
  tasks.push_back(consumer(loop, q, 100, got, most));
  tasks.push_back(producer(loop, q, 100, put_at));
  // When they run
  run_bounded(loop, wb::gather(std::move(tasks)), "producer and consumer of 100 items");
  // Then every item arrived once, in order, and the queue never held more than 3
  std::vector<int> want(100);
  for (int i = 0; i < 100; ++i) want[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(got, want) << "the consumer did not get 0..99 exactly once in order";
  EXPECT_LE(most, 3u) << fmt::format("the queue held {} items with capacity 3", most);
  EXPECT_EQ(q.size(), 0u);
}

task<void> slow_get(event_loop& loop, async_queue<int>& q, std::vector<int>& got) {
  co_await loop.sleep(5s);
  got.push_back(co_await q.get());
  got.push_back(co_await q.get());
  got.push_back(co_await q.get());
}

TEST(AsyncQueue, PutWaitsWhileFullUntilAGetMakesRoom) {
  // Given a queue of capacity 2 and a consumer that starts getting only at 5 s
  event_loop loop;
  async_queue<int> q(loop, 2);
  std::vector<int> got;
  std::vector<duration> put_at;
  std::vector<task<void>> tasks;
  tasks.push_back(producer(loop, q, 3, put_at));
  tasks.push_back(slow_get(loop, q, got));
  // When a producer puts three items
  run_bounded(loop, wb::gather(std::move(tasks)), "producer of 3 into a queue of 2");
  // Then the first two puts finish at once and the third only when the get at 5 s makes room
  ASSERT_EQ(put_at.size(), 3u) << "not every put() finished";
  EXPECT_EQ(put_at[0], duration::zero());
  EXPECT_EQ(put_at[1], duration::zero());
  EXPECT_EQ(put_at[2], duration(5s)) << fmt::format(
      "the third put into a full queue of 2 finished at {} s; it should wait for the get at 5 s", secs(put_at[2]));
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
}

task<void> delayed_put(event_loop& loop, async_queue<std::string>& q) {
  co_await loop.sleep(3s);
  co_await q.put("late");
}

task<duration> get_early(event_loop& loop, async_queue<std::string>& q, std::string& got) {
  got = co_await q.get();
  co_return loop.now();
}

TEST(AsyncQueue, GetWaitsWhileEmptyUntilAPut) {
  // Given an empty queue, a get at 0 s and a put at 3 s
  event_loop loop;
  async_queue<std::string> q(loop, 1);
  std::string got;
  duration at{};
  auto body = [](event_loop& l, async_queue<std::string>& qq, std::string& g, duration& a) -> task<void> {
    std::vector<task<void>> both;
    both.push_back([](event_loop& l2, async_queue<std::string>& q2, std::string& g2, duration& a2) -> task<void> {
      a2 = co_await get_early(l2, q2, g2);
    }(l, qq, g, a));
    both.push_back(delayed_put(l, qq));
    co_await wb::gather(std::move(both));
  };
  // When they run
  run_bounded(loop, body(loop, q, got, at), "get on an empty queue, put at 3 s");
  // Then the get returns the item at 3 s
  EXPECT_EQ(got, "late");
  EXPECT_EQ(at, duration(3s)) << fmt::format("get() on an empty queue returned at {} s; the put came at 3 s", secs(at));
}

TEST(AsyncQueue, RejectsZeroCapacity) {
  event_loop loop;
  EXPECT_THROW(async_queue<int>(loop, 0), std::invalid_argument) << "a queue of capacity 0 should be rejected";
}

task<int> probed_sleep(event_loop& loop, frame_count& count, duration d, int v) {
  probe p(count);
  co_await loop.sleep(d);
  co_return v;
}

task<int> probed_get(async_queue<int>& q, frame_count& count) {
  probe p(count);
  co_return co_await q.get();
}

task<int> everything(event_loop& loop, frame_count& count, async_queue<int>& q) {
  probe p(count);
  std::vector<task<int>> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(probed_sleep(loop, count, i * 1s, i));
  const auto got = co_await wb::gather(std::move(tasks));
  int sum = got.empty() ? 0 : got.back();
  sum += co_await loop.wait_for(probed_sleep(loop, count, 1s, 10), 5s);
  try {
    sum += co_await loop.wait_for(probed_get(q, count), 1s);  // nobody puts: cancelled while waiting
  } catch (const wb::timeout_error&) {
  }
  co_return sum;
}

TEST(Frames, EveryCoroutineFrameIsDestroyed) {
  // Given coroutines that each hold a probe: gathered, awaited in time, and cancelled in a get()
  frame_count count;
  {
    event_loop loop;
    async_queue<int> q(loop, 1);
    // When they all run
    EXPECT_EQ(run_bounded(loop, everything(loop, count, q), "a mix of gather and wait_for"), 13);
  }
  // Then every frame made was destroyed
  EXPECT_EQ(count.made, 7) << "expected 7 coroutine frames to be made";
  EXPECT_EQ(count.live(), 0) << fmt::format(
      "{} of {} coroutine frames were never destroyed: a task must destroy its frame when it goes away", count.live(),
      count.made);
}

}  // namespace
