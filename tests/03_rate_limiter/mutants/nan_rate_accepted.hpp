// BUG: the rate check is `rate <= 0 || isinf(rate)`; both are false for NaN, so a NaN rate is accepted
// A token-bucket rate limiter: thread-safe, on an injectable clock.
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
// Invariant (whenever mutex_ is free): 0 <= tokens_ <= burst_, and tokens_ is the bucket's
// content at time last_refill_ (accrual since then is added lazily, on the next call).
// Memory ordering: every call reads and changes the bucket only under mutex_, so each call sees
// the effect of every call that held the lock before it. try_acquire_for waits without the lock,
// so other callers are never held up by a waiter. The bucket is not a channel: it publishes
// no data of the callers'.
template <class Clock = real_clock>
class token_bucket {
 public:
  using clock_type = Clock;
  using duration = typename Clock::duration;
  using time_point = typename Clock::time_point;

  // A full bucket of `burst` tokens refilling at `rate` tokens per second. Throws
  // std::invalid_argument unless rate is positive and finite and burst is at least 1.
  token_bucket(double rate, std::int64_t burst, Clock clock = Clock{})
      : rate_(checked_rate(rate)), burst_(checked_burst(burst)), clock_(std::move(clock)),
        tokens_(static_cast<double>(burst_)), last_refill_(clock_.now()) {}
  token_bucket(const token_bucket&) = delete;
  token_bucket& operator=(const token_bucket&) = delete;

  // Takes n tokens and returns true if at least n are there now; otherwise takes none and
  // returns false. Never blocks. n == 0 succeeds at once. Throws std::invalid_argument if n < 0
  // or n > burst (such a call could never succeed).
  bool try_acquire(std::int64_t n = 1) {
    check_count(n, "try_acquire");
    std::lock_guard lock(mutex_);
    refill(clock_.now());
    if (tokens_ < static_cast<double>(n)) return false;
    tokens_ -= static_cast<double>(n);
    return true;
  }

  // Like try_acquire, but if the n tokens are not there yet, waits for them (via the clock's
  // sleep_until, not holding the bucket's lock) for at most `timeout` of clock time; a zero or
  // negative timeout does not wait. Returns true having taken n tokens, or false having taken
  // none. It may return false early, once it knows the tokens cannot accrue within the timeout.
  // Not fair: a caller arriving later may take the tokens first. Throws like try_acquire.
  template <class Rep, class Period>
  bool try_acquire_for(std::int64_t n, std::chrono::duration<Rep, Period> timeout) {
    check_count(n, "try_acquire_for");
    std::unique_lock lock(mutex_);
    const time_point deadline = clock_.now() + std::chrono::ceil<duration>(timeout);
    while (true) {
      const time_point now = clock_.now();
      refill(now);
      const double missing = static_cast<double>(n) - tokens_;
      if (missing <= 0) {
        tokens_ -= static_cast<double>(n);
        return true;
      }
      const time_point ready = now + std::chrono::ceil<duration>(std::chrono::duration<double>(missing / rate_));
      if (ready > deadline) return false;  // even with no competition, too late
      lock.unlock();  // never sleep holding the lock: others must still get in
      clock_.sleep_until(ready);
      lock.lock();  // then check again: another caller may have taken the tokens meanwhile
    }
  }

  // The number of whole tokens there now: a snapshot that other callers may change at once.
  std::int64_t available() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::int64_t>(std::floor(tokens_at(clock_.now())));
  }

 private:
  static double checked_rate(double rate) {
    if (rate <= 0 || std::isinf(rate))
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

  // The bucket's content at `now` (requires mutex_): what it held, plus accrual, capped.
  double tokens_at(time_point now) const {
    if (now <= last_refill_) return tokens_;
    const double elapsed = std::chrono::duration<double>(now - last_refill_).count();
    return std::min(static_cast<double>(burst_), tokens_ + elapsed * rate_);
  }
  // Brings tokens_ up to `now` (requires mutex_).
  void refill(time_point now) {
    if (now <= last_refill_) return;
    tokens_ = tokens_at(now);
    last_refill_ = now;
  }

  const double rate_;          // tokens per second
  const std::int64_t burst_;   // capacity
  Clock clock_;

  mutable std::mutex mutex_;
  double tokens_;              // guarded by mutex_
  time_point last_refill_;     // guarded by mutex_
};

}  // namespace wb
