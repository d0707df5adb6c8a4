// Tests for token_bucket, all on a virtual clock (nothing sleeps for real, counts are exact):
// starts full, refills at the rate, caps at the burst, keeps fractions; never more than
// burst + rate * window in any window, also under concurrent callers; try_acquire_for waits
// on the clock and takes nothing when it fails; argument checks; the real clock as default.
#include "token_bucket.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include "workbook_test.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using wb::test::call_in_background;
using wb::test::fail_hung;
using wb::test::hang_limit;
using wb::test::milliseconds;
using wb::test::run_concurrently;

// ---------------------------------------------------------------------------------------------
// The virtual clock. The bucket holds a virtual_clock, a handle to a virtual_time the test owns.

class virtual_time;

struct virtual_clock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<virtual_clock, duration>;

  virtual_time* time = nullptr;
  time_point now() const;
  void sleep_until(time_point t) const;
};

using vtime_point = virtual_clock::time_point;

// Time that moves only when the test says so. Thread-safe. Two ways to sleep:
//  * advances_time: sleep_until(t) moves the time forward to t and returns. To a one-thread
//    test a blocking call is then just a call that "took" some virtual time, which it can read.
//  * waits_for_advance: sleep_until(t) blocks until the test advances the time to t, and the
//    test can see who is parked there (wait_until_parked).
class virtual_time {
 public:
  enum class sleeping { advances_time, waits_for_advance };

  explicit virtual_time(sleeping mode = sleeping::advances_time) : mode_(mode) {}
  virtual_time(const virtual_time&) = delete;
  virtual_time& operator=(const virtual_time&) = delete;

  virtual_clock clock() { return virtual_clock{this}; }

  // Yields the processor on about half the calls: the bucket calls now() while holding its own
  // lock, so this varies who gets the lock next and widens the gaps that bugs hide in.
  vtime_point now() const {
    thread_local std::minstd_rand coin(static_cast<unsigned>(
        std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
        static_cast<std::size_t>(std::chrono::steady_clock::now().time_since_epoch().count())));
    if (coin() % 2 == 0) std::this_thread::yield();
    std::lock_guard lock(mutex_);
    return now_;
  }

  // Time passed since this virtual_time was created.
  nanoseconds elapsed() const { return now() - start_; }

  void advance(nanoseconds step) {
    std::lock_guard lock(mutex_);
    now_ += step;
    woken_.notify_all();
  }

  void sleep_until(vtime_point t) {
    std::unique_lock lock(mutex_);
    if (mode_ == sleeping::advances_time) {
      now_ = std::max(now_, t);
      return;
    }
    const auto parked = wake_times_.insert(t);
    parking_.notify_all();
    woken_.wait(lock, [&] { return now_ >= t; });
    wake_times_.erase(parked);
    parking_.notify_all();
  }

  // Waits until exactly count() threads are blocked in sleep_until, each for a time not yet
  // reached (so nothing moves until the test advances the time). False if that does not
  // happen within `limit`. count() is called with the clock's mutex held.
  template <class Count>
  bool wait_until_parked(Count count, milliseconds limit = hang_limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    std::unique_lock lock(mutex_);
    while (!(wake_times_.size() == static_cast<std::size_t>(count()) &&
             (wake_times_.empty() || *wake_times_.begin() > now_))) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      parking_.wait_for(lock, 1ms);  // also polls: count() may change without notifying us
    }
    return true;
  }

 private:
  const sleeping mode_;
  const vtime_point start_{std::chrono::hours(1)};  // not the epoch: the bucket must use now()
  mutable std::mutex mutex_;
  std::condition_variable woken_;    // the time moved
  std::condition_variable parking_;  // a sleeper arrived or left
  vtime_point now_ = start_;                  // guarded by mutex_
  std::multiset<vtime_point> wake_times_;     // guarded by mutex_: one per blocked sleeper
};

inline virtual_clock::time_point virtual_clock::now() const { return time->now(); }
inline void virtual_clock::sleep_until(time_point t) const { time->sleep_until(t); }

using bucket = wb::token_bucket<virtual_clock>;

// The most tokens the contract lets through in a window of length `window`:
// burst + rate * window, with a hair of tolerance for floating-point rounding.
std::int64_t window_limit(double rate, std::int64_t burst, nanoseconds window) {
  const double seconds = std::chrono::duration<double>(window).count();
  return static_cast<std::int64_t>(std::floor(static_cast<double>(burst) + rate * seconds + 1e-6));
}

// The fewest tokens a bucket drained at every step must have let through by then (nothing
// lost): burst + rate * elapsed, whole tokens, same tolerance.
std::int64_t least_admitted(double rate, std::int64_t burst, nanoseconds elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  return static_cast<std::int64_t>(std::floor(static_cast<double>(burst) + rate * seconds - 1e-6));
}

double ms(nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Calls try_acquire() until it fails (at most `limit` times); returns how many succeeded.
int drain(bucket& b, int limit = 1000) {
  int taken = 0;
  while (taken < limit && b.try_acquire()) ++taken;
  return taken;
}

}  // namespace

TEST(TokenBucket, StartsFullWithBurstTokens) {
  // Given: a new bucket with burst 5
  virtual_time time;
  bucket limiter(10.0, 5, time.clock());
  // When
  const std::int64_t at_start = limiter.available();
  const int taken = drain(limiter, 50);
  // Then
  EXPECT_EQ(at_start, 5) << "available() on a new bucket must be the burst: a bucket starts full";
  EXPECT_EQ(taken, 5) << fmt::format(
      "a new bucket with burst 5 admitted {} calls at once; it must start full and admit exactly 5 "
      "(fewer: it started empty or short; more: it did not stop at zero)", taken);
  EXPECT_EQ(limiter.available(), 0) << "after taking every token, available() must be 0";
}

TEST(TokenBucket, RefillsAtTheGivenRate) {
  // Given: 10 tokens per second, emptied
  virtual_time time;
  bucket limiter(10.0, 5, time.clock());
  ASSERT_TRUE(limiter.try_acquire(5)) << "a full bucket with burst 5 must grant try_acquire(5)";
  // When: 250 ms pass (2.5 tokens' worth)
  time.advance(250ms);
  // Then: two whole tokens, and the half stays in the bucket
  EXPECT_EQ(limiter.available(), 2) << "after 250 ms at 10 tokens/s, 2 whole tokens must be there";
  EXPECT_TRUE(limiter.try_acquire(2)) << "try_acquire(2) must succeed with 2.5 tokens in the bucket";
  EXPECT_FALSE(limiter.try_acquire()) << "with 0.5 tokens left, try_acquire() must fail";
  // When: 100 ms more (0.5 + 1 = 1.5 tokens)
  time.advance(100ms);
  // Then
  const int taken = drain(limiter, 50);
  EXPECT_EQ(taken, 1) << fmt::format(
      "0.5 tokens left plus 100 ms at 10 tokens/s is 1.5 tokens, so exactly 1 call may pass, "
      "but {} did (is the rate per second, and is the leftover half kept?)", taken);
}

TEST(TokenBucket, NeverHoldsMoreThanBurstAfterALongIdle) {
  // Given: an emptied bucket with burst 5 at 10 tokens/s
  virtual_time time;
  bucket limiter(10.0, 5, time.clock());
  ASSERT_EQ(drain(limiter, 50), 5);
  // When: an hour passes (36000 tokens' worth)
  time.advance(std::chrono::hours(1));
  // Then: only the burst is there
  EXPECT_EQ(limiter.available(), 5) << fmt::format(
      "after an hour idle available() is {}, not the burst 5: the refill must stop at the burst",
      limiter.available());
  const int taken = drain(limiter, 100'000);
  EXPECT_EQ(taken, 5) << fmt::format(
      "after an hour idle {} calls passed at once; at most the burst (5) may: the refill must "
      "cap the bucket at the burst, or a long pause lets a flood through", taken);
  // And it keeps refilling afterwards: 350 ms is 3.5 tokens
  time.advance(350ms);
  EXPECT_EQ(drain(limiter, 50), 3) << "350 ms after draining, 3 whole tokens must be there";
}

TEST(TokenBucket, KeepsFractionalTokensAcrossManySmallSteps) {
  // Given: 10 tokens per second (one per 100 ms), burst 1, emptied
  virtual_time time;
  bucket limiter(10.0, 1, time.clock());
  ASSERT_TRUE(limiter.try_acquire());
  // When: 250 steps of 1 ms, with a call after each (0.01 token per step)
  std::vector<int> admitted_at;
  for (int step = 1; step <= 250; ++step) {
    time.advance(1ms);
    if (limiter.try_acquire()) admitted_at.push_back(step);
    if (step % 10 == 0) static_cast<void>(limiter.available());  // observers must not lose accrual either
  }
  // Then: 2.5 tokens accrued, so 2 calls passed, near 100 ms and 200 ms
  ASSERT_EQ(admitted_at.size(), 2u) << fmt::format(
      "250 ms at 10 tokens/s is 2.5 tokens, but {} calls passed: with a call every 1 ms each "
      "refill adds only 0.01 token. If that fraction is dropped while the refill time still "
      "moves to now, tokens never accrue at high call rates (keep the fraction, or move the "
      "refill time only by the time the whole tokens took)", admitted_at.size());
  EXPECT_TRUE(admitted_at[0] >= 99 && admitted_at[0] <= 101 && admitted_at[1] >= 199 && admitted_at[1] <= 201)
      << fmt::format("the tokens were admitted at {} ms and {} ms; they accrue at 100 and 200 ms",
                     admitted_at[0], admitted_at[1]);
}

TEST(TokenBucket, TryAcquireTakesAllOrNothing) {
  // Given: burst 5, 2 tokens left
  virtual_time time;
  bucket limiter(10.0, 5, time.clock());
  ASSERT_TRUE(limiter.try_acquire(3));
  ASSERT_EQ(limiter.available(), 2);
  // When: asking for 3
  const bool granted = limiter.try_acquire(3);
  // Then: refused, and nothing taken
  EXPECT_FALSE(granted) << "try_acquire(3) must fail when only 2 tokens are there";
  EXPECT_EQ(limiter.available(), 2) << "a failed try_acquire(3) must take no token at all";
  EXPECT_TRUE(limiter.try_acquire(0)) << "try_acquire(0) asks for nothing and must succeed";
  EXPECT_TRUE(limiter.try_acquire(2)) << "try_acquire(2) must succeed with 2 tokens there";
  EXPECT_EQ(limiter.available(), 0);
}

TEST(TokenBucket, ConcurrentCallersNeverExceedBurstPlusRateTimesAnyWindow) {
  // Given: several buckets at 1000 tokens/s, burst 4, on one virtual clock that moves 1.5 ms
  // (1.5 tokens) per phase; in each phase four threads released together go through the
  // buckets in the same order, calling try_acquire() on each until it fails
  constexpr double kRate = 1000.0;
  constexpr std::int64_t kBurst = 4;
  constexpr nanoseconds kStep = 1500us;
  constexpr int kPhases = 100;
  constexpr int kBuckets = 8;
  constexpr int kWorkers = 4;
  virtual_time time;
  std::vector<std::unique_ptr<bucket>> limiters;
  for (int b = 0; b < kBuckets; ++b) limiters.push_back(std::make_unique<bucket>(kRate, kBurst, time.clock()));
  // admitted[worker][phase * kBuckets + bucket]: tokens that worker took there
  std::vector<std::vector<int>> admitted(kWorkers, std::vector<int>(static_cast<std::size_t>(kPhases * kBuckets), 0));
  std::atomic<bool> stop{false};
  std::atomic<int> phase_started{-1};  // set by the driver
  std::atomic<int> workers_done{0};    // in the current phase
  // When (all five threads spin between phases, so the cores stay busy and the schedule varies)
  run_concurrently(kWorkers + 1, [&](int index) {
    if (index == 0) {  // the driver: the time is fixed while a phase runs
      for (int phase = 0; phase < kPhases && !stop.load(); ++phase) {
        if (phase > 0) time.advance(kStep);
        workers_done.store(0);
        phase_started.store(phase);
        while (workers_done.load() < kWorkers) std::this_thread::yield();
      }
      phase_started.store(kPhases);  // releases everyone, also after a stop
      return;
    }
    const int worker = index - 1;
    std::exception_ptr error;
    for (int phase = 0; phase < kPhases; ++phase) {
      while (phase_started.load() < phase) std::this_thread::yield();
      if (stop.load() || phase_started.load() >= kPhases) break;
      try {
        for (int b = 0; b < kBuckets; ++b) {
          int taken = 0;
          while (taken < 100 && limiters[b]->try_acquire()) ++taken;
          admitted[worker][phase * kBuckets + b] = taken;
        }
      } catch (...) {
        error = std::current_exception();
        stop.store(true);
      }
      workers_done.fetch_add(1);
    }
    if (error) std::rethrow_exception(error);
  }, "the try_acquire() threads and the clock driver");
  // Then, for every bucket: every window of phases i..j admits at most burst + rate * (j - i) *
  // step, and nothing is lost: by phase k, burst + rate * k * step whole tokens have passed
  for (int b = 0; b < kBuckets; ++b) {
    std::vector<std::int64_t> per_phase(kPhases, 0);
    for (int p = 0; p < kPhases; ++p)
      for (int w = 0; w < kWorkers; ++w) per_phase[p] += admitted[w][p * kBuckets + b];
    std::int64_t cumulative = 0;
    for (int j = 0; j < kPhases; ++j) {
      cumulative += per_phase[j];
      const std::int64_t floor_count = least_admitted(kRate, kBurst, j * kStep);
      ASSERT_GE(cumulative, floor_count) << fmt::format(
          "by {:.1f} ms only {} tokens were admitted, but {} had accrued (burst {} + {} per ms) "
          "and every phase drained the bucket: tokens were lost", ms(j * kStep), cumulative,
          floor_count, kBurst, kRate / 1000);
      std::int64_t in_window = 0;
      for (int i = j; i >= 0; --i) {
        in_window += per_phase[i];
        const std::int64_t limit = window_limit(kRate, kBurst, (j - i) * kStep);
        ASSERT_LE(in_window, limit) << fmt::format(
            "{} calls passed in the window {:.1f} ms .. {:.1f} ms, but at most burst {} + rate x "
            "window = {} may. Two callers both took the same last token: the check and the take "
            "must be one critical section (or the refill was not capped, or counted twice)",
            in_window, ms(i * kStep), ms(j * kStep), kBurst, limit);
      }
    }
  }
}

TEST(TokenBucket, TryAcquireForSucceedsWhenTokensArriveBeforeTheTimeout) {
  // Given: 10 tokens/s, emptied; sleeping on this clock advances the virtual time
  virtual_time time;
  bucket limiter(10.0, 2, time.clock());
  ASSERT_TRUE(limiter.try_acquire(2));
  // When: waiting up to 150 ms for a token that accrues at 100 ms
  auto one = call_in_background([&] { return limiter.try_acquire_for(1, 150ms); },
                                "try_acquire_for(1, 150ms) on the virtual clock");
  const bool first = one.get();
  const nanoseconds first_at = time.elapsed();
  // Then
  EXPECT_TRUE(first) << "try_acquire_for(1, 150ms) must succeed: a token accrues after 100 ms";
  EXPECT_TRUE(first_at >= 99ms && first_at <= 150ms) << fmt::format(
      "try_acquire_for(1, 150ms) returned after {:.3f} virtual ms; the token accrues at 100 ms and "
      "the timeout is 150 ms (it must wait through the clock's sleep_until, and not past the timeout)",
      ms(first_at));
  // When: then waiting up to 300 ms for two tokens (they accrue 200 ms after the first call)
  auto two = call_in_background([&] { return limiter.try_acquire_for(2, 300ms); },
                                "try_acquire_for(2, 300ms) on the virtual clock");
  const bool second = two.get();
  const nanoseconds second_at = time.elapsed();
  // Then
  EXPECT_TRUE(second) << "try_acquire_for(2, 300ms) must succeed: two tokens accrue in 200 ms";
  EXPECT_GE(second_at, 299ms) << fmt::format(
      "try_acquire_for(2, ...) returned true at {:.3f} virtual ms, before both tokens had accrued "
      "(at 300 ms): it must wait for all n", ms(second_at));
  EXPECT_EQ(limiter.available(), 0) << "the tokens try_acquire_for waited for must have been taken";
}

TEST(TokenBucket, TryAcquireForFailsWithoutTakingTokensWhenTheyWouldArriveTooLate) {
  // Given: 10 tokens/s, emptied; sleeping on this clock advances the virtual time
  virtual_time time;
  bucket limiter(10.0, 2, time.clock());
  ASSERT_TRUE(limiter.try_acquire(2));
  // When: waiting only 50 ms for a token that accrues at 100 ms
  auto call = call_in_background([&] { return limiter.try_acquire_for(1, 50ms); },
                                 "try_acquire_for(1, 50ms) on the virtual clock");
  const bool granted = call.get();
  const nanoseconds returned_at = time.elapsed();
  // Then: it fails, does not wait past its timeout, and takes nothing
  EXPECT_FALSE(granted) << "try_acquire_for(1, 50ms) must fail: the next token accrues at 100 ms";
  EXPECT_LE(returned_at, 50ms) << fmt::format(
      "try_acquire_for(1, 50ms) returned after {:.3f} virtual ms: it waited past its timeout",
      ms(returned_at));
  time.advance(120ms - returned_at);
  EXPECT_EQ(limiter.available(), 1) << fmt::format(
      "120 ms after emptying at 10 tokens/s one token must be there, but available() is {}: the "
      "failed try_acquire_for took tokens (a call that returns false must take none)",
      limiter.available());
  // And: a zero or negative timeout does not wait at all
  ASSERT_TRUE(limiter.try_acquire());
  const vtime_point before = time.now();
  EXPECT_FALSE(limiter.try_acquire_for(1, 0ms)) << "try_acquire_for(1, 0ms) on an empty bucket must fail";
  EXPECT_FALSE(limiter.try_acquire_for(1, -1s)) << "try_acquire_for(1, -1s) on an empty bucket must fail";
  EXPECT_EQ(time.now(), before) << "try_acquire_for with a zero or negative timeout must not wait";
  EXPECT_TRUE(limiter.try_acquire_for(0, 0ms)) << "try_acquire_for(0, ...) asks for nothing and must succeed";
}

TEST(TokenBucket, TryAcquireForWaitsOnTheClockWithoutBlockingOtherCallers) {
  // Given: 10 tokens/s, emptied; sleepers on this clock block until the test advances it
  virtual_time time(virtual_time::sleeping::waits_for_advance);
  bucket limiter(10.0, 2, time.clock());
  ASSERT_TRUE(limiter.try_acquire(2));
  auto waiter = call_in_background([&] { return limiter.try_acquire_for(1, 1s); },
                                   "try_acquire_for(1, 1s), with the virtual time advanced to +110 ms");
  auto parked_or_done = [&] {
    return time.wait_until_parked([&] { return waiter.finishes_within(0ms) ? 0 : 1; });
  };
  if (!parked_or_done())
    fail_hung("try_acquire_for(1, 1s) on an empty bucket: it neither returned nor waited in the "
              "clock's sleep_until (busy-waiting, or blocked on something else?)", hang_limit);
  ASSERT_FALSE(waiter.finishes_within(0ms)) << fmt::format(
      "try_acquire_for(1, 1s) returned {} at once, but a token accrues in 100 ms, well within the "
      "timeout: it must wait for it (through the clock's sleep_until)", waiter.get());
  // When: another thread calls while it waits
  auto other = call_in_background([&] { return (limiter.try_acquire() ? 1 : 0) + 2 * static_cast<int>(limiter.available()); },
                                  "try_acquire() and available() on another thread while try_acquire_for "
                                  "waits (does try_acquire_for sleep holding the bucket's mutex?)");
  // Then: that call is not held up by the waiter
  EXPECT_EQ(other.get(), 0) << "with no token there, try_acquire() must fail and available() be 0";
  // When: 50 ms pass (half a token)
  time.advance(50ms);
  if (!parked_or_done()) fail_hung("try_acquire_for(1, 1s) after the time moved 50 ms", hang_limit);
  // Then: it still waits
  ASSERT_FALSE(waiter.finishes_within(0ms)) << fmt::format(
      "try_acquire_for(1, 1s) returned {} at +50 ms, before the token accrued at +100 ms",
      waiter.get());
  // When: the time reaches +110 ms
  time.advance(60ms);
  // Then: it takes the token
  EXPECT_TRUE(waiter.get()) << "try_acquire_for(1, 1s) must take the token that accrued at +100 ms";
  EXPECT_EQ(limiter.available(), 0) << "the token try_acquire_for took must be gone";
}

TEST(TokenBucket, BlockedCallersAreAdmittedAtTheRateAndNoFaster) {
  // Given: 1000 tokens/s, burst 2; three threads each take 15 tokens with try_acquire_for;
  // the driver advances the time 0.25 ms whenever every caller is parked on the clock
  constexpr double kRate = 1000.0;
  constexpr std::int64_t kBurst = 2;
  constexpr int kCallers = 3;
  constexpr int kEach = 15;
  constexpr nanoseconds kStep = 250us;
  virtual_time time(virtual_time::sleeping::waits_for_advance);
  bucket limiter(kRate, kBurst, time.clock());
  std::atomic<int> live{kCallers};
  std::atomic<int> refused{0};
  std::mutex admitted_mutex;
  std::vector<nanoseconds> admitted_at;  // guarded by admitted_mutex
  // When
  run_concurrently(kCallers + 1, [&](int index) {
    if (index == 0) {
      for (int step = 0; live.load() > 0; ++step) {
        if (step > 4000) fail_hung("callers in try_acquire_for(1, 1h): 1 virtual second passed and they "
                                   "still wait (do they sleep until the right time?)", hang_limit);
        if (!time.wait_until_parked([&] { return live.load(); }))
          fail_hung("the callers in try_acquire_for: some neither returned nor waited in the clock's "
                    "sleep_until (one sleeping while holding the bucket's mutex blocks all others)",
                    hang_limit);
        time.advance(kStep);
      }
      return;
    }
    try {
      for (int k = 0; k < kEach; ++k) {
        if (!limiter.try_acquire_for(1, std::chrono::hours(1))) {
          refused.fetch_add(1);
          break;
        }
        std::lock_guard lock(admitted_mutex);
        admitted_at.push_back(time.elapsed());  // exact: the time moves only when all are parked
      }
    } catch (...) {
      live.fetch_sub(1);
      throw;
    }
    live.fetch_sub(1);
  }, "the try_acquire_for callers and the clock driver");
  // Then
  ASSERT_EQ(refused.load(), 0) << "try_acquire_for(1, 1h) returned false although the virtual time "
                                  "advanced less than a second";
  ASSERT_EQ(admitted_at.size(), std::size_t{kCallers * kEach});
  std::sort(admitted_at.begin(), admitted_at.end());
  for (std::size_t j = 0; j < admitted_at.size(); ++j) {
    for (std::size_t i = 0; i <= j; ++i) {
      const std::int64_t in_window = static_cast<std::int64_t>(j - i + 1);
      const std::int64_t limit = window_limit(kRate, kBurst, admitted_at[j] - admitted_at[i]);
      ASSERT_LE(in_window, limit) << fmt::format(
          "{} callers were admitted between {:.2f} ms and {:.2f} ms, but at most burst {} + rate x "
          "window = {} may: a woken waiter took a token without checking again under the lock "
          "(another caller may have taken it meanwhile)", in_window, ms(admitted_at[i]),
          ms(admitted_at[j]), kBurst, limit);
    }
  }
  const nanoseconds due = std::chrono::duration_cast<nanoseconds>(
      std::chrono::duration<double>((kCallers * kEach - kBurst) / kRate));
  EXPECT_LE(admitted_at.back(), due + 1ms) << fmt::format(
      "the last of {} tokens was granted at {:.2f} ms, but at {} per ms they had all accrued by "
      "{:.2f} ms: waiters slept too long or tokens were lost", kCallers * kEach,
      ms(admitted_at.back()), kRate / 1000, ms(due));
}

TEST(TokenBucket, RejectsANonPositiveRateOrBurst) {
  // Given
  virtual_time time;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  // When / Then
  EXPECT_THROW(bucket(0.0, 1, time.clock()), std::invalid_argument) << "rate 0 must throw std::invalid_argument";
  EXPECT_THROW(bucket(-1.0, 1, time.clock()), std::invalid_argument) << "a negative rate must throw";
  EXPECT_THROW(bucket(nan, 1, time.clock()), std::invalid_argument)
      << "rate NaN must throw (NaN <= 0 is false: test !(rate > 0))";
  EXPECT_THROW(bucket(inf, 1, time.clock()), std::invalid_argument) << "an infinite rate must throw";
  EXPECT_THROW(bucket(1.0, 0, time.clock()), std::invalid_argument) << "burst 0 must throw: nothing could ever pass";
  EXPECT_THROW(bucket(1.0, -1, time.clock()), std::invalid_argument) << "a negative burst must throw";
  EXPECT_NO_THROW(bucket(0.5, 1, time.clock())) << "rate 0.5 and burst 1 are valid";
}

TEST(TokenBucket, RejectsNegativeCountsAndCountsAboveTheBurst) {
  // Given: burst 3, full
  virtual_time time;
  bucket limiter(10.0, 3, time.clock());
  // When / Then
  EXPECT_THROW(static_cast<void>(limiter.try_acquire(-1)), std::invalid_argument)
      << "try_acquire(-1) must throw std::invalid_argument";
  EXPECT_THROW(static_cast<void>(limiter.try_acquire(4)), std::invalid_argument)
      << "try_acquire(4) with burst 3 must throw: the bucket never holds 4";
  auto negative = call_in_background([&] { return limiter.try_acquire_for(-1, 1s); }, "try_acquire_for(-1, 1s)");
  EXPECT_THROW(static_cast<void>(negative.get()), std::invalid_argument)
      << "try_acquire_for(-1, ...) must throw std::invalid_argument";
  auto too_many = call_in_background([&] { return limiter.try_acquire_for(4, 1s); },
                                     "try_acquire_for(4, 1s) with burst 3 (it can never succeed)");
  EXPECT_THROW(static_cast<void>(too_many.get()), std::invalid_argument)
      << "try_acquire_for(4, ...) with burst 3 must throw: the bucket never holds 4, so it would "
         "wait in vain (forever, with a long timeout)";
  EXPECT_EQ(limiter.available(), 3) << "rejected calls must take no tokens";
}

TEST(TokenBucket, WorksWithTheRealSteadyClockByDefault) {
  // Given: the default clock, 1000 tokens/s, emptied
  static_assert(std::is_same_v<wb::token_bucket<>, wb::token_bucket<wb::real_clock>>,
                "token_bucket's default Clock must be wb::real_clock");
  wb::token_bucket<> limiter(1000.0, 2);
  ASSERT_TRUE(limiter.try_acquire(2)) << "a new bucket with burst 2 must grant try_acquire(2)";
  // When: waiting (for real, about 1 ms) for the next token
  auto call = call_in_background([&] { return limiter.try_acquire_for(1, 5s); },
                                 "try_acquire_for(1, 5s) on the real clock at 1000 tokens/s");
  // Then
  EXPECT_TRUE(call.get()) << "at 1000 tokens/s a token accrues in 1 ms, well within 5 s";
  EXPECT_LE(limiter.available(), 2);
}
