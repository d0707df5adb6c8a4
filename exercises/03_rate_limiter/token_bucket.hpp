// A token-bucket rate limiter: thread-safe, on an injectable clock.
// Background and interview questions: notes/03_rate_limiter.md
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

#include "workbook_todo.hpp"

namespace wb {

// real_clock: token_bucket's default clock: std::chrono::steady_clock time, real waiting.
// (Given, not part of the exercise.)
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
// Build it with one std::mutex guarding the bucket's state; never wait while holding it.
template <class Clock = real_clock>
class token_bucket {
 public:
  using clock_type = Clock;
  using duration = typename Clock::duration;
  using time_point = typename Clock::time_point;

  // A full bucket of `burst` tokens refilling at `rate` tokens per second. Throws
  // std::invalid_argument unless rate is positive and finite and burst is at least 1.
  token_bucket(double rate, std::int64_t burst, Clock clock = Clock{}) {
    // TODO: check the arguments, keep the clock, start full, remember when (clock.now()).
    WB_TODO("token_bucket::token_bucket", rate, burst, clock);
  }
  token_bucket(const token_bucket&) = delete;
  token_bucket& operator=(const token_bucket&) = delete;

  // Takes n tokens and returns true if at least n are there now; otherwise takes none and
  // returns false. Never blocks. n == 0 succeeds at once. Throws std::invalid_argument if n < 0
  // or n > burst (such a call could never succeed).
  bool try_acquire(std::int64_t n = 1) {
    // TODO: check n; then, in ONE critical section: add what accrued since the last refill
    // (capped at the burst, keeping fractions), and take n if they are there.
    WB_TODO("token_bucket::try_acquire", n);
  }

  // Like try_acquire, but if the n tokens are not there yet, waits for them (via the clock's
  // sleep_until, not holding the bucket's lock) for at most `timeout` of clock time; a zero or
  // negative timeout does not wait. Returns true having taken n tokens, or false having taken
  // none. It may return false early, once it knows the tokens cannot accrue within the timeout.
  // Not fair: a caller arriving later may take the tokens first. Throws like try_acquire.
  template <class Rep, class Period>
  bool try_acquire_for(std::int64_t n, std::chrono::duration<Rep, Period> timeout) {
    // TODO: fix the deadline; loop: refill, take n if there; else work out when they will be
    // there, give up if that is past the deadline, else unlock, sleep_until then, lock, retry.
    WB_TODO("token_bucket::try_acquire_for", n, timeout);
  }

  // The number of whole tokens there now: a snapshot that other callers may change at once.
  std::int64_t available() const {
    // TODO: under the lock, the content as of clock.now() (with accrual), rounded down.
    WB_TODO("token_bucket::available");
  }

 private:
  // TODO: the rate, the burst and the clock (fixed after construction); a mutable std::mutex;
  // and, guarded by it, the tokens (a double keeps fractions) and the time of the last refill.
};

}  // namespace wb
