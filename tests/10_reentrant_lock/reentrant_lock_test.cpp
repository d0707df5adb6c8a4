// Tests for reentrant_lock: the owner locks again (with every form) without blocking; other
// threads are kept out until every level is released; unlock by a non-owner, or of a lock
// nobody holds, throws and changes nothing; try_lock and try_lock_for; held_by_this_thread;
// the standard lock wrappers; waiters wake on the last release; and mutual exclusion over
// plain data under many threads and nesting levels.
#include "reentrant_lock.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "workbook_test.hpp"

namespace {

using namespace std::chrono_literals;
using wb::reentrant_lock;
using wb::test::linger;
using wb::test::background_call;
using wb::test::call_in_background;
using wb::test::run_concurrently;

// How long a call must stay blocked before we believe it is waiting (generous under TSan).
constexpr auto kPark = 100ms;
// A timeout long enough never to expire during a test: the event must end the wait.
constexpr auto kForever = 1min;

// What happened when a thread called unlock() on a lock it does not hold, in words ("" if it
// threw the right exception).
std::string unlock_refusal_problem(reentrant_lock& lock) {
  try {
    lock.unlock();
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::operation_not_permitted) return "";
    return fmt::format("it threw std::system_error, but with code {} ({}) instead of "
                       "std::errc::operation_not_permitted", e.code().value(), e.code().message());
  } catch (const std::exception& e) {
    return fmt::format("it threw something other than std::system_error: {}", e.what());
  }
  return "it returned normally instead of throwing";
}

// Whether a thread other than the caller can take the lock right now (it gives it back at once).
bool another_thread_can_take_it(reentrant_lock& lock, const std::string& when) {
  return call_in_background([&] {
    if (!lock.try_lock()) return false;
    lock.unlock();
    return true;
  }, "try_lock() from another thread " + when).get();
}

}  // namespace

TEST(ReentrantLock, OwnerLocksAgainWithEveryFormWithoutBlocking) {
  // Given: a thread that takes the lock
  reentrant_lock lock;
  struct outcome {
    bool try_lock_ok = false;
    bool try_lock_for_ok = false;
    bool held_while_nested = false;
    bool held_after_release = true;
  };
  // When: it takes it again with lock(), try_lock() and try_lock_for(), then unlocks each level
  auto owner = call_in_background([&] {
    outcome seen;
    lock.lock();
    lock.lock();
    seen.try_lock_ok = lock.try_lock();
    seen.try_lock_for_ok = lock.try_lock_for(10ms);
    seen.held_while_nested = lock.held_by_this_thread();
    const int levels = 2 + int(seen.try_lock_ok) + int(seen.try_lock_for_ok);
    for (int i = 0; i < levels; ++i) lock.unlock();
    seen.held_after_release = lock.held_by_this_thread();
    return seen;
  }, "a thread calling lock() on a reentrant_lock it already holds (a second lock() by the owner "
     "must count one more level, not wait for the owner to release it, i.e. for itself)");
  const outcome seen = owner.get();
  // Then
  EXPECT_TRUE(seen.try_lock_ok) << "try_lock() by the thread that holds the lock returned false: "
                                   "the owner must always get it again (count a level)";
  EXPECT_TRUE(seen.try_lock_for_ok) << "try_lock_for() by the thread that holds the lock returned false: "
                                       "the owner must get it again at once, whatever the timeout";
  EXPECT_TRUE(seen.held_while_nested) << "held_by_this_thread() was false for the owner while it held 4 levels";
  EXPECT_FALSE(seen.held_after_release)
      << "held_by_this_thread() was still true after the owner unlocked as often as it had locked";
  EXPECT_TRUE(another_thread_can_take_it(lock, "after the owner released every level"))
      << "the lock stayed taken after its owner unlocked it as many times as it locked it";
}

TEST(ReentrantLock, OtherThreadsWaitUntilTheOwnerReleasesEveryLevel) {
  // Given: the main thread holds three levels and another thread calls lock()
  reentrant_lock lock;
  lock.lock();
  ASSERT_TRUE(lock.try_lock()) << "try_lock() by the owner must succeed";
  ASSERT_TRUE(lock.try_lock_for(kForever)) << "try_lock_for() by the owner must succeed";
  auto waiter = call_in_background([&] {
    lock.lock();
    const bool held = lock.held_by_this_thread();
    lock.unlock();
    return held;
  }, "lock() from another thread, after the owner released all 3 levels (was the waiter notified "
     "when the last level went?)");
  EXPECT_FALSE(waiter.finishes_within(kPark))
      << "another thread got the lock while the owner held 3 levels: lock() must wait while another "
         "thread holds it (in a `while` loop: a wake-up does not mean the lock is free)";
  // When / Then: the first two unlocks do not release it
  lock.unlock();
  EXPECT_FALSE(waiter.finishes_within(kPark))
      << "another thread got the lock after the owner's first of 3 unlocks: only the last unlock may "
         "release it (count the levels down, release at zero)";
  lock.unlock();
  EXPECT_FALSE(waiter.finishes_within(kPark))
      << "another thread got the lock after the owner's second of 3 unlocks: only the last unlock may release it";
  // When: the last level goes
  lock.unlock();
  // Then: the waiter gets it
  EXPECT_TRUE(waiter.get()) << "held_by_this_thread() was false in the thread whose lock() had just returned";
}

TEST(ReentrantLock, TryLockFailsWhileAnotherThreadHoldsAnyLevel) {
  // Given: the main thread holds two levels
  reentrant_lock lock;
  lock.lock();
  lock.lock();
  // When / Then
  EXPECT_FALSE(another_thread_can_take_it(lock, "while the owner held 2 levels"))
      << "try_lock() from another thread succeeded while the owner held the lock";
  lock.unlock();
  EXPECT_FALSE(another_thread_can_take_it(lock, "while the owner still held 1 of 2 levels"))
      << "try_lock() from another thread succeeded after the owner's first of 2 unlocks: the lock is "
         "released only when the count of levels reaches zero";
  lock.unlock();
  EXPECT_TRUE(another_thread_can_take_it(lock, "after the owner released both levels"))
      << "try_lock() from another thread failed although nobody held the lock any more";
  EXPECT_TRUE(lock.try_lock()) << "try_lock() on a free lock must succeed";
  lock.unlock();
}

TEST(ReentrantLock, TryLockForTimesOutWhileHeldAndSucceedsWhenReleasedInTime) {
  // Given: the main thread holds the lock
  reentrant_lock lock;
  lock.lock();
  // When: another thread tries for 20 ms and nobody releases it
  auto late = call_in_background([&] {
    const bool got = lock.try_lock_for(20ms);
    if (got) lock.unlock();
    return got;
  }, "try_lock_for(20ms) while another thread held the lock");
  // Then
  EXPECT_FALSE(late.get()) << "try_lock_for() returned true although another thread held the lock "
                              "for the whole timeout: decide from the state (nobody holds it), not "
                              "from how the wait ended";
  EXPECT_TRUE(lock.held_by_this_thread()) << "a timed-out try_lock_for() in another thread took the "
                                             "lock away from its owner";
  // When: another thread tries for a long time, and the owner releases the lock meanwhile
  auto in_time = call_in_background([&] {
    const bool got = lock.try_lock_for(kForever);
    const bool held = got && lock.held_by_this_thread();
    if (got) lock.unlock();
    return held;
  }, "try_lock_for(1 min) while another thread held the lock, after it was released");
  EXPECT_FALSE(in_time.finishes_within(kPark)) << "try_lock_for() returned early although another thread held the lock";
  lock.unlock();
  // Then
  EXPECT_TRUE(in_time.get()) << "try_lock_for() must take the lock as soon as it is released, not "
                                "wait for its timeout (did unlock() wake the waiter?)";
}

TEST(ReentrantLock, UnlockByAnotherThreadThrowsAndLeavesTheLockHeld) {
  // Given: the main thread holds two levels
  reentrant_lock lock;
  lock.lock();
  lock.lock();
  // When: another thread calls unlock()
  const std::string problem = call_in_background([&] { return unlock_refusal_problem(lock); },
                                                 "unlock() from a thread that does not hold the lock").get();
  // Then: it is refused, and the lock is exactly as before
  EXPECT_EQ(problem, "") << "unlock() from a thread that does not hold the lock: " << problem
                         << ". It must throw std::system_error(std::errc::operation_not_permitted): "
                            "only the owner may release a reentrant lock (compare the caller's "
                            "std::this_thread::get_id() with the owner, under the mutex)";
  EXPECT_TRUE(lock.held_by_this_thread()) << "the owner lost the lock after another thread's refused unlock()";
  EXPECT_FALSE(another_thread_can_take_it(lock, "after a refused unlock() by a non-owner"))
      << "a non-owner's unlock() released the lock (or a level of it)";
  EXPECT_NO_THROW(lock.unlock()) << "the owner's first unlock() of 2 failed after a non-owner's unlock() "
                                    "was refused: the refused call must not have changed the count";
  EXPECT_FALSE(another_thread_can_take_it(lock, "while the owner still held 1 of 2 levels"))
      << "a non-owner's refused unlock() still took a level off the count";
  EXPECT_NO_THROW(lock.unlock()) << "the owner's second unlock() of 2 failed";
  EXPECT_TRUE(another_thread_can_take_it(lock, "after the owner released both levels"));
}

TEST(ReentrantLock, UnlockOfALockNobodyHoldsThrows) {
  // Given: a new lock
  reentrant_lock lock;
  // When / Then
  const std::string fresh = unlock_refusal_problem(lock);
  EXPECT_EQ(fresh, "") << "unlock() of a lock nobody ever locked: " << fresh
                       << ". It must throw std::system_error(std::errc::operation_not_permitted)";
  // Given: a lock taken twice and released twice by this thread
  lock.lock();
  lock.lock();
  lock.unlock();
  lock.unlock();
  // When / Then: one unlock too many
  const std::string extra = unlock_refusal_problem(lock);
  EXPECT_EQ(extra, "") << "a third unlock() after two lock() calls: " << extra
                       << ". The last release must forget the owner, so the former owner's extra "
                          "unlock() is refused like anyone else's (and the count does not go below zero)";
  EXPECT_FALSE(lock.held_by_this_thread()) << "held_by_this_thread() was true after every level was released";
  EXPECT_TRUE(another_thread_can_take_it(lock, "after an extra unlock() was refused"))
      << "the lock was unusable after an extra unlock() (did the count wrap around below zero?)";
}

TEST(ReentrantLock, HeldByThisThreadIsTrueOnlyInTheOwner) {
  // Given
  reentrant_lock lock;
  EXPECT_FALSE(lock.held_by_this_thread()) << "a new lock must not be held by anyone";
  // When
  lock.lock();
  // Then
  EXPECT_TRUE(lock.held_by_this_thread()) << "held_by_this_thread() must be true in the thread that locked it";
  const bool seen_elsewhere = call_in_background([&] { return lock.held_by_this_thread(); },
                                                 "held_by_this_thread() from another thread").get();
  EXPECT_FALSE(seen_elsewhere) << "held_by_this_thread() was true in a thread that does not hold the lock: "
                                  "it must answer \"do *I* hold it\", not \"is it locked\"";
  lock.unlock();
  EXPECT_FALSE(lock.held_by_this_thread()) << "held_by_this_thread() was still true after the only unlock()";
}

TEST(ReentrantLock, EveryWaiterGetsTheLockAfterTheLastLevelIsReleased) {
  // Given: in each of 3 rounds, the main thread holds two levels and 8 threads wait in lock()
  // (so that a waiter that wakes up without re-checking, e.g. after a spurious wake-up, is very
  // likely), each of which will take two levels itself, count itself in plain data, and release
  constexpr int kRounds = 3;
  constexpr int kWaiters = 8;
  for (int round = 0; round < kRounds; ++round) {
    reentrant_lock lock;
    lock.lock();
    lock.lock();
    int entered = 0;                 // plain data: only touched while holding `lock`
    std::atomic<int> finished{0};
    std::deque<background_call<void>> waiters;
    for (int i = 0; i < kWaiters; ++i) {
      waiters.emplace_back([&] {
        lock.lock();
        lock.lock();
        ++entered;
        lock.unlock();
        lock.unlock();
        finished.fetch_add(1);
      }, fmt::format("round {}: waiter {} of {} in lock() after the owner released the lock (each last "
                     "unlock() must wake a waiting thread)", round, i, kWaiters));
    }
    std::this_thread::sleep_for(kPark);
    EXPECT_EQ(finished.load(), 0) << fmt::format(
        "round {}: {} waiters got through the lock while the main thread held it: lock() must wait, in a "
        "`while` loop, until nobody holds it", round, finished.load());
    // When
    lock.unlock();
    lock.unlock();
    // Then: each of them gets in, one after another (a hang here means a release woke nobody)
    for (auto& waiter : waiters) waiter.get();
    lock.lock();
    EXPECT_EQ(entered, kWaiters) << "not every waiter went through the lock";
    lock.unlock();
    if (HasFailure()) return;
  }
}

TEST(ReentrantLock, WorksWithLockGuardUniqueLockAndScopedLock) {
  // Given: a reentrant lock and a plain mutex
  reentrant_lock lock;
  std::mutex other;
  // When: one thread nests the standard wrappers around them
  auto user = call_in_background([&] {
    std::scoped_lock both(lock, other);  // std::lock(): lock() and try_lock()
    std::lock_guard again(lock);
    std::unique_lock tried(lock, std::try_to_lock);
    std::unique_lock timed(lock, 10ms);  // try_lock_for()
    EXPECT_TRUE(tried.owns_lock()) << "std::unique_lock(lock, std::try_to_lock) failed in the owner";
    EXPECT_TRUE(timed.owns_lock()) << "std::unique_lock(lock, 10ms) failed in the owner";
    EXPECT_TRUE(lock.held_by_this_thread());
    EXPECT_FALSE(another_thread_can_take_it(lock, "while the owner nested 4 wrappers"))
        << "another thread took the lock while it was held through 4 nested wrappers";
  }, "a thread nesting std::scoped_lock, std::lock_guard and two std::unique_lock on one reentrant_lock");
  user.get();
  // Then: all four wrappers released it
  EXPECT_FALSE(lock.held_by_this_thread());
  EXPECT_TRUE(another_thread_can_take_it(lock, "after 4 nested wrappers were destroyed"))
      << "the lock was still held after every wrapper around it was destroyed";
}

TEST(ReentrantLock, ProtectsPlainDataAcrossThreadsAndNestingLevels) {
  // Given: 4 threads that each enter 400 times, with lock(), a try_lock() loop or try_lock_for(),
  // then nest a second level, and update two plain (non-atomic) counters inside
  constexpr int kThreads = 4;
  constexpr int kRounds = 400;
  reentrant_lock lock;
  long first = 0;   // only touched while holding `lock`
  long second = 0;  // only touched while holding `lock`
  std::vector<std::string> problems(kThreads);
  std::atomic<int> torn{0};
  // When
  run_concurrently(kThreads, [&](int index) {
    auto& problem = problems[static_cast<std::size_t>(index)];
    for (int round = 0; round < kRounds && problem.empty(); ++round) {
      switch ((round + index) % 3) {
        case 0: lock.lock(); break;
        case 1: while (!lock.try_lock()) std::this_thread::yield(); break;
        default:
          if (!lock.try_lock_for(kForever)) problem = "try_lock_for(1 min) gave up";
      }
      lock.lock();  // a second level
      if (!lock.held_by_this_thread()) problem = "held_by_this_thread() was false inside the critical section";
      if (first != second) torn.fetch_add(1);
      ++first;
      linger();  // stay inside a little, so others queue up
      ++second;
      for (int level = 0; level < 2; ++level) {
        try {
          lock.unlock();
        } catch (const std::exception& e) {
          problem = fmt::format("unlock() by the thread that had locked it threw: {} (another thread "
                                "must have taken the lock over while this one held it)", e.what());
        }
      }
    }
  }, "4 threads taking and releasing the lock 400 times each (if all wait at once, a release "
     "woke nobody)");
  // Then
  for (const auto& problem : problems) EXPECT_EQ(problem, "") << problem;
  EXPECT_EQ(torn.load(), 0) << fmt::format(
      "{} times a thread entered while another was between its two updates: two threads were inside at "
      "once. lock() must wait in a `while` loop until nobody holds the lock, because a wake-up (even a "
      "spurious one) does not mean it is free.", torn.load());
  EXPECT_EQ(first, long{kThreads} * kRounds) << fmt::format(
      "{} increments made under the lock were lost: two threads were inside at once", long{kThreads} * kRounds - first);
}
