// Tests for wb::counting_semaphore: the argument checks and the bound; try_acquire; acquire
// blocking at zero until a release; release(n) waking n waiters; try_acquire_for timing out and
// succeeding in time; as a resource limiter, the cap never exceeded and actually reached; and
// conservation (no permit lost or created) between many releasers and acquirers.
#include "semaphore.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "workbook_test.hpp"

namespace {

using namespace std::chrono_literals;
using wb::counting_semaphore;
using wb::test::background_call;
using wb::test::call_in_background;
using wb::test::run_concurrently;

// How long a call must stay blocked before we believe it is waiting (generous under TSan).
constexpr auto kPark = 100ms;
// A timeout long enough never to expire during a test: the event must end the wait.
constexpr auto kForever = 1min;

// Takes every permit there is with try_acquire() and returns how many it took (at most `limit`).
std::ptrdiff_t drain(counting_semaphore& semaphore, std::ptrdiff_t limit = 1000) {
  std::ptrdiff_t taken = 0;
  while (taken < limit && semaphore.try_acquire()) ++taken;
  return taken;
}

}  // namespace

TEST(CountingSemaphore, RejectsANegativeCountOrACountAboveItsBound) {
  // Given / When / Then
  EXPECT_THROW(counting_semaphore(-1), std::invalid_argument) << "a semaphore with -1 permits must throw std::invalid_argument";
  EXPECT_THROW(counting_semaphore(3, 2), std::invalid_argument) << "3 permits with a bound of 2 must throw std::invalid_argument";
  EXPECT_THROW(counting_semaphore(0, 0), std::invalid_argument) << "a bound of 0 must throw std::invalid_argument (no permit could ever be released)";
  EXPECT_THROW(counting_semaphore(0, -4), std::invalid_argument) << "a negative bound must throw std::invalid_argument";
  counting_semaphore empty(0);
  EXPECT_EQ(drain(empty), 0) << "a semaphore built with 0 permits must hold none";
  EXPECT_EQ(empty.max(), counting_semaphore::unbounded) << "without a bound, max() must return counting_semaphore::unbounded";
}

TEST(CountingSemaphore, TryAcquireTakesAPermitOnlyWhileOneIsLeft) {
  // Given: two permits
  counting_semaphore semaphore(2);
  // When / Then
  EXPECT_TRUE(semaphore.try_acquire()) << "try_acquire() failed with 2 permits left";
  EXPECT_TRUE(semaphore.try_acquire()) << "try_acquire() failed with 1 permit left";
  EXPECT_FALSE(semaphore.try_acquire()) << "try_acquire() succeeded with no permit left: it handed out a permit it did not have";
  semaphore.release();
  EXPECT_TRUE(semaphore.try_acquire()) << "try_acquire() failed after release() gave a permit back";
  EXPECT_FALSE(semaphore.try_acquire()) << "one release() let try_acquire() succeed twice";
}

TEST(CountingSemaphore, AcquireBlocksAtZeroUntilAPermitIsReleased) {
  // Given: a semaphore with one permit, which the test takes
  counting_semaphore semaphore(1);
  auto first = call_in_background([&] { semaphore.acquire(); }, "acquire() with one permit left");
  first.get();
  // When: another acquire() at zero
  auto second = call_in_background([&] { semaphore.acquire(); }, "acquire() at zero, after a release()");
  // Then: it waits ...
  EXPECT_FALSE(second.finishes_within(kPark))
      << "acquire() returned although no permit was left: it must wait while the count is 0 "
         "(check `count > 0`, not `count >= 0`, and wait in a loop)";
  // ... until a permit is released, and it takes that permit
  semaphore.release();
  second.get();
  EXPECT_FALSE(semaphore.try_acquire()) << "after one release() and one acquire() a permit was still there: acquire() did not take it";
}

TEST(CountingSemaphore, ReleaseOfNWakesNWaiters) {
  // Given: three threads blocked in acquire() on an empty semaphore, and one in try_acquire_for()
  counting_semaphore semaphore(0);
  std::deque<background_call<void>> waiters;  // a deque: background_call cannot move
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] { semaphore.acquire(); },
                         fmt::format("acquire() number {} of 3 waiting when release(3) was called", i + 1));
  }
  auto timed = call_in_background([&] { return semaphore.try_acquire_for(kForever); },
                                  "try_acquire_for(1 min) waiting when release() was called");
  std::this_thread::sleep_for(kPark);
  EXPECT_FALSE(timed.finishes_within(1ms)) << "try_acquire_for() returned although there was no permit";
  // When: three permits are released at once
  semaphore.release(3);
  // Then: three of the four waiters get one (which three is not fixed), and the fourth gets the next
  semaphore.release();
  for (auto& waiter : waiters) waiter.get();
  EXPECT_TRUE(timed.get()) << "try_acquire_for() returned false although permits were released within its timeout";
  EXPECT_FALSE(semaphore.try_acquire()) << "4 permits released to 4 waiters, yet one was left over";
}

TEST(CountingSemaphore, ReleaseRejectsANegativeCountAndChangesNothing) {
  // Given: one permit
  counting_semaphore semaphore(1);
  // When
  EXPECT_THROW(semaphore.release(-1), std::invalid_argument) << "release(-1) must throw std::invalid_argument";
  semaphore.release(0);
  // Then: still exactly one permit
  EXPECT_EQ(drain(semaphore), 1) << "release(-1) (rejected) and release(0) must leave the count as it was";
}

TEST(CountingSemaphore, ABoundedSemaphoreRejectsReleasesBeyondItsBound) {
  // Given: one permit of at most two, as Python's BoundedSemaphore
  counting_semaphore semaphore(1, 2);
  EXPECT_EQ(semaphore.max(), 2) << "max() must return the bound given to the constructor";
  // When / Then: up to the bound is fine, beyond it is rejected and changes nothing
  EXPECT_NO_THROW(semaphore.release()) << "a release() up to the bound (from 1 to 2 of 2) must be accepted";
  EXPECT_THROW(semaphore.release(), std::invalid_argument) << "a release() from 2 to 3 with a bound of 2 must throw std::invalid_argument";
  EXPECT_EQ(drain(semaphore), 2) << "after a rejected release() the semaphore must hold exactly the 2 permits it had";
  EXPECT_NO_THROW(semaphore.release(2)) << "release(2) from 0 to 2 of 2 must be accepted";
  EXPECT_THROW(semaphore.release(1), std::invalid_argument) << "a release(1) from 2 to 3 with a bound of 2 must throw";
  EXPECT_EQ(drain(semaphore), 2) << "a rejected release(1) must not change the count";
  EXPECT_THROW(semaphore.release(3), std::invalid_argument) << "release(3) from 0 to 3 with a bound of 2 must throw";
  EXPECT_EQ(drain(semaphore), 0) << "a rejected release(3) must not add any permit";
  counting_semaphore huge(5);
  EXPECT_THROW(huge.release(counting_semaphore::unbounded), std::invalid_argument)
      << "release(unbounded) on a semaphore holding 5 must throw (the count would pass the largest bound); "
         "check `n > max - count`, as `count + n > max` overflows";
}

TEST(CountingSemaphore, TryAcquireForGivesUpWhenNoPermitArrives) {
  // Given: no permit
  counting_semaphore semaphore(0);
  // When / Then
  EXPECT_FALSE(semaphore.try_acquire_for(30ms)) << "try_acquire_for(30ms) returned true although no permit was ever released";
  EXPECT_FALSE(semaphore.try_acquire_for(0ms)) << "try_acquire_for(0ms) returned true although there was no permit";
  EXPECT_FALSE(semaphore.try_acquire()) << "a timed-out try_acquire_for() created a permit";
  // When: a permit is there before the call
  semaphore.release();
  // Then: even a zero timeout takes it
  EXPECT_TRUE(semaphore.try_acquire_for(0ms)) << "try_acquire_for(0ms) returned false although a permit was there";
  EXPECT_FALSE(semaphore.try_acquire()) << "try_acquire_for() returned true without taking the permit";
}

TEST(CountingSemaphore, TryAcquireForSucceedsWhenAPermitArrivesInTime) {
  // Given: one permit
  counting_semaphore semaphore(1);
  // When / Then: with a permit there, a long timeout returns at once
  auto at_once = call_in_background([&] { return semaphore.try_acquire_for(kForever); },
                                    "try_acquire_for(1 min) with a permit available (must return at once)");
  EXPECT_TRUE(at_once.get()) << "try_acquire_for() returned false although a permit was available";
  // When: at zero, a permit is released while it waits
  auto in_time = call_in_background([&] { return semaphore.try_acquire_for(kForever); },
                                    "try_acquire_for(1 min) at zero, after a release()");
  EXPECT_FALSE(in_time.finishes_within(kPark)) << "try_acquire_for() returned early although there was no permit";
  semaphore.release();
  // Then
  EXPECT_TRUE(in_time.get()) << "try_acquire_for() must return true as soon as a permit is released, not wait for its timeout";
  EXPECT_FALSE(semaphore.try_acquire()) << "try_acquire_for() returned true without taking the permit";
}

TEST(CountingSemaphore, CapsHowManyThreadsUseAResourceAtOnce) {
  // Given: 8 threads share a resource that at most 3 may use at once, and count themselves in
  // and out of it; each takes its permit with acquire(), try_acquire() or try_acquire_for()
  constexpr int kCap = 3;
  constexpr int kThreads = 8;
  constexpr int kRounds = 150;
  counting_semaphore semaphore(kCap);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::atomic<int> over_cap{0};
  // When
  run_concurrently(kThreads, [&](int me) {
    for (int round = 0; round < kRounds; ++round) {
      switch ((me + round) % 3) {
        case 0: semaphore.acquire(); break;
        case 1: while (!semaphore.try_acquire()) std::this_thread::yield(); break;
        default: while (!semaphore.try_acquire_for(2ms)) {} break;
      }
      const int now = inside.fetch_add(1) + 1;
      if (now > kCap) over_cap.fetch_add(1);
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {}
      std::this_thread::sleep_for(20us);  // use the resource for a while, so others pile up
      inside.fetch_sub(1);
      semaphore.release();
    }
  }, "8 threads taking turns at a resource guarded by a semaphore of 3");
  // Then
  EXPECT_EQ(over_cap.load(), 0) << fmt::format(
      "{} times a thread got in while 3 others were already inside (at most {} at once): the semaphore "
      "handed out permits it did not have. Likely: a wait with `if` instead of `while` (a spurious "
      "wake-up goes through), or the count checked and taken in two critical sections",
      over_cap.load(), most.load());
  EXPECT_EQ(most.load(), kCap) << fmt::format(
      "at most {} threads were inside at once, never the {} the semaphore allows: it blocks too early "
      "(off by one?)", most.load(), kCap);
  EXPECT_EQ(drain(semaphore), kCap) << fmt::format(
      "after everyone gave their permit back the semaphore must hold its {} permits again", kCap);
}

TEST(CountingSemaphore, NoPermitIsLostOrCreatedBetweenManyReleasersAndAcquirers) {
  // Given: an empty semaphore; 3 threads release permits 1, 2 or 3 at a time, 3 threads take
  // exactly as many one at a time (acquire() or try_acquire_for())
  constexpr int kReleasers = 3;
  constexpr int kAcquirers = 3;
  constexpr int kPerReleaser = 600;  // 1 + 2 + 3 repeated: divisible by 6
  constexpr int kPerAcquirer = kReleasers * kPerReleaser / kAcquirers;
  counting_semaphore semaphore(0);
  std::atomic<int> timed_out{0};
  // When
  run_concurrently(kReleasers + kAcquirers, [&](int me) {
    if (me < kReleasers) {
      for (int given = 0, n = 1; given < kPerReleaser; given += n, n = n % 3 + 1) {
        semaphore.release(n);
        if (n == 3) std::this_thread::yield();
      }
      return;
    }
    for (int taken = 0; taken < kPerAcquirer; ++taken) {
      if (taken % 2 == 0) {
        semaphore.acquire();
      } else if (!semaphore.try_acquire_for(wb::test::hang_limit)) {
        timed_out.fetch_add(1);
        return;
      }
    }
  }, "3 threads releasing 1800 permits and 3 threads acquiring them "
     "(if it hangs: a release lost permits, or release(n) woke fewer than n waiters)");
  // Then
  EXPECT_EQ(timed_out.load(), 0) << "try_acquire_for() waited 5 s for a permit that had been released: "
                                    "permits were lost (the count was changed outside the lock?)";
  EXPECT_EQ(drain(semaphore), 0) << "every released permit was taken, yet some were left over: permits were created";
}
