// ALTERNATIVE: keeps the bucket as an integer count of time-denominated credit (fixed point, no double state), and try_acquire_for reserves its tokens up front, letting the credit go into debt, then sleeps once until its reserved time instead of re-checking in a loop.
// A token-bucket rate limiter: thread-safe, on an injectable clock, in integer arithmetic.
//
// The bucket's content is stored as "slices": one slice accrues in 1/K of a clock tick (K a
// power of two up to 1024), and one token costs C slices (about K * ticks-per-second / rate,
// rounded up, so the bucket never runs faster than asked: at 3 tokens/s, say, the third token
// is there a couple of nanoseconds after 1 s, never before). Accrual is then an exact integer,
// elapsed ticks * K, so fractions of a token are kept exactly and no rounding error builds up.
// A timed acquire that must wait takes its tokens at once (the credit goes negative: a debt
// that accrual repays) and sleeps until the debt is repaid, as Guava's RateLimiter does. Later
// callers see the debt and queue behind it, so waiters are served in the order they asked.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace wb {

// real_clock: token_bucket's default clock: std::chrono::steady_clock time, real waiting.
//
// A token_bucket needs only this from its Clock, so a test can pass a virtual one:
//   Clock::duration, Clock::time_point   the usual std::chrono types;
//   clock.now()             the current time; never goes backwards; callable from any thread;
//   clock.sleep_until(t)    blocks the calling thread until now() >= t (may return early: the
//                           caller checks again). The bucket waits only through this call.
struct real_clock {
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;
  time_point now() const { return std::chrono::steady_clock::now(); }
  void sleep_until(time_point t) const { std::this_thread::sleep_until(t); }
};

// token_bucket: admits on average `rate` units per second, and at most `burst` at once.
//
// The bucket holds up to `burst` tokens and starts full. Tokens accrue continuously at `rate`
// per second of clock time, fractions included (half a token accrued now and half later make
// one), and never beyond `burst`. A caller takes n whole tokens or none. So over any window of
// length w, calls succeed for at most burst + rate * w tokens in total.
//
// Thread safety: every member may be called concurrently from any thread; the Clock object must
// allow the same. Lifetime: destroy the bucket only when no call is in progress.
// Invariant (whenever mutex_ is free): kMinCredit <= credit_ <= capacity_, and credit_ is the
// bucket's content, in slices, at time stamp_ (accrual since then is added lazily); a negative
// credit_ is tokens already promised to callers of try_acquire_for that are still sleeping.
// Limits: exact for a burst up to 2^60 / C tokens and a full refill within 2^60 ticks (36 years
// of nanoseconds); beyond that the capacity saturates. Outstanding reservations are limited to
// 2^61 slices (at least 26 days of nanosecond ticks); a wait beyond that returns false.
// Memory ordering: every call reads and changes credit_ and stamp_ only under mutex_, so each
// call sees the effect of every call that held the lock before it. A reserving try_acquire_for
// sleeps after releasing the lock, so other callers are never held up by a waiter. The bucket
// is not a channel: it publishes no data of the callers'.
template <class Clock = real_clock>
class token_bucket {
 public:
  using clock_type = Clock;
  using duration = typename Clock::duration;
  using time_point = typename Clock::time_point;

  // A full bucket of `burst` tokens refilling at `rate` tokens per second. Throws
  // std::invalid_argument unless rate is positive and finite and burst is at least 1.
  token_bucket(double rate, std::int64_t burst, Clock clock = Clock{})
      : burst_(checked_burst(burst)), scale_(pick_scale(checked_rate(rate), burst)),
        capacity_(std::min(burst, kMaxCapacity / scale_.token_cost) * scale_.token_cost),
        clock_(std::move(clock)), credit_(capacity_), stamp_(clock_.now()) {}
  token_bucket(const token_bucket&) = delete;
  token_bucket& operator=(const token_bucket&) = delete;

  // Takes n tokens and returns true if at least n are there now; otherwise takes none and
  // returns false. Never blocks. n == 0 succeeds at once. Throws std::invalid_argument if n < 0
  // or n > burst (such a call could never succeed).
  bool try_acquire(std::int64_t n = 1) {
    check_count(n, "try_acquire");
    if (n == 0) return true;
    std::lock_guard lock(mutex_);
    refill(clock_.now());
    const std::int64_t cost = n * scale_.token_cost;  // <= capacity_ when n fits at all
    if (cost > capacity_ || credit_ < cost) return false;
    credit_ -= cost;
    return true;
  }

  // Like try_acquire, but if the n tokens are not there yet, waits for them (via the clock's
  // sleep_until, not holding the bucket's lock) for at most `timeout` of clock time; a zero or
  // negative timeout does not wait. Returns true having taken n tokens, or false having taken
  // none. It may return false early, once it knows the tokens cannot accrue within the timeout.
  // Not fair: a caller arriving later may take the tokens first. Throws like try_acquire.
  // (Here it decides at once: if the tokens, after every earlier reservation, accrue within the
  // timeout, it takes them now and sleeps until they have accrued; otherwise it returns false.)
  template <class Rep, class Period>
  bool try_acquire_for(std::int64_t n, std::chrono::duration<Rep, Period> timeout) {
    check_count(n, "try_acquire_for");
    if (n == 0) return true;
    // In (fractional) clock ticks: comparing as double cannot overflow, whatever the timeout.
    const double allowed_ticks = std::chrono::duration<double, typename duration::period>(timeout).count();
    time_point ready;
    {
      std::lock_guard lock(mutex_);
      const time_point now = clock_.now();
      refill(now);
      const std::int64_t cost = n * scale_.token_cost;
      if (credit_ >= cost && cost <= capacity_) {
        credit_ -= cost;
        return true;
      }
      if (cost > capacity_) return false;  // more than the (saturated) bucket ever holds
      const std::int64_t missing = cost - credit_;  // slices still to accrue, > 0
      const std::int64_t wait = missing / scale_.slices_per_tick + (missing % scale_.slices_per_tick != 0);
      if (static_cast<double>(wait) > allowed_ticks) return false;  // too late even at the head of the queue
      if (credit_ - cost < kMinCredit) return false;                 // the debt would not be representable
      credit_ -= cost;  // reserve now: later callers see the debt and wait behind us
      ready = now + std::chrono::duration_cast<duration>(ticks(wait));
    }
    // The tokens are ours; they are "in the bucket" from `ready` on. Sleep without the lock.
    while (clock_.now() < ready) clock_.sleep_until(ready);
    return true;
  }

  // The number of whole tokens there now: a snapshot that other callers may change at once.
  std::int64_t available() const {
    std::lock_guard lock(mutex_);
    const std::int64_t credit = credit_at(clock_.now());
    return credit <= 0 ? 0 : credit / scale_.token_cost;
  }

 private:
  // Integer ticks of the clock's own period (its rep might be floating point).
  using ticks = std::chrono::duration<std::int64_t, typename duration::period>;

  struct scale {
    std::int64_t slices_per_tick;  // K: a power of two, 1 .. 1024
    std::int64_t token_cost;       // C: slices per token, >= 1
  };

  static constexpr std::int64_t kMaxCapacity = std::int64_t{1} << 60;
  static constexpr std::int64_t kMinCredit = -(std::int64_t{1} << 61);

  // The finest K whose capacity (burst * C) still fits under kMaxCapacity. Computed in double:
  // C is rounded up, so the integer rate is at most the requested one.
  static scale pick_scale(double rate, std::int64_t burst) {
    const double ticks_per_second =
        static_cast<double>(duration::period::den) / static_cast<double>(duration::period::num);
    for (int shift = 10; shift >= 0; --shift) {
      const double per_tick = std::ldexp(1.0, shift);
      const double cost = std::max(1.0, std::ceil(ticks_per_second * per_tick / rate));
      if (cost * static_cast<double>(burst) <= static_cast<double>(kMaxCapacity))
        return {static_cast<std::int64_t>(per_tick), static_cast<std::int64_t>(cost)};
    }
    // A full refill would take more than 2^60 ticks: saturate (documented in Limits).
    return {1, std::max<std::int64_t>(1, kMaxCapacity / burst)};
  }

  static double checked_rate(double rate) {
    if (!(rate > 0) || !std::isfinite(rate))  // !(rate > 0) also rejects NaN
      throw std::invalid_argument("token_bucket: rate must be a positive, finite number of tokens per second");
    return rate;
  }
  static std::int64_t checked_burst(std::int64_t burst) {
    if (burst < 1) throw std::invalid_argument("token_bucket: burst must be at least 1 token");
    return burst;
  }
  void check_count(std::int64_t n, const char* member) const {
    if (n < 0) throw std::invalid_argument(std::string("token_bucket::") + member + ": n must not be negative");
    if (n > burst_)
      throw std::invalid_argument(std::string("token_bucket::") + member + ": n exceeds the burst, so it could never succeed");
  }

  // The credit at `now` (requires mutex_): what it was at stamp_, plus accrual, capped.
  // Overflow-free: the multiplication happens only when the result stays below capacity_.
  std::int64_t credit_at(time_point now) const {
    if (now <= stamp_) return credit_;
    const std::int64_t elapsed = std::chrono::duration_cast<ticks>(now - stamp_).count();
    const std::int64_t headroom = capacity_ - credit_;  // in slices, >= 0
    if (elapsed > headroom / scale_.slices_per_tick) return capacity_;
    return std::min(capacity_, credit_ + elapsed * scale_.slices_per_tick);
  }
  // Brings credit_ up to `now` (requires mutex_).
  void refill(time_point now) {
    if (now <= stamp_) return;
    credit_ = credit_at(now);
    stamp_ = now;
  }

  const std::int64_t burst_;     // as given: the largest n a caller may ask for
  const scale scale_;
  const std::int64_t capacity_;  // burst_ * C slices (saturated at kMaxCapacity)
  Clock clock_;

  mutable std::mutex mutex_;
  std::int64_t credit_;          // guarded by mutex_: slices at stamp_; negative = reserved debt
  time_point stamp_;             // guarded by mutex_
};

}  // namespace wb
