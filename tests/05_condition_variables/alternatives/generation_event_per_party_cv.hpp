// ALTERNATIVE: the event counts its set() calls (a generation) so a waiter returns once the flag was raised during its wait even if cleared again before it woke, and the turn sequencer gives every party its own condition variable and wakes exactly the party due with notify_one.
// Two classic condition-variable exercises: an event (Python's threading.Event) and a turn
// sequencer that makes threads take turns in a fixed order (the "print in order" problems).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace wb {

// event: a flag that threads can wait for. It starts clear; set() raises it and wakes every
// waiter, clear() lowers it, wait() blocks until it is up, wait_for() gives up after a timeout.
//
// Design: besides the flag, the event counts the set() calls that raised it (sets_). A waiter
// remembers the count when it starts and returns as soon as the flag is up OR the count has
// moved: then the flag was up at some moment during its wait, and that set() was meant to wake
// it. So set(); clear(); in quick succession wakes every thread that was waiting, as Python's
// Event does, instead of letting slow waiters wake up, find the flag down and sleep on.
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy it only when no thread is inside a member or about to call one.
// Invariant (whenever mutex_ is free): every thread blocked in a wait either started waiting
// after the last set() that raised the flag, or has been notified since; if is_set_ is true,
// every blocked thread has been notified.
// Memory ordering: everything a thread did before set() is visible to any thread after its
// wait() returns, its wait_for() returns true, or its is_set() returns true (is_set_ and sets_
// are only written and read under mutex_).
class event {
 public:
  event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  // Raises the flag and wakes every thread waiting for it. Setting a set event changes nothing.
  void set() {
    std::lock_guard lock(mutex_);
    if (is_set_) return;  // nobody can be waiting on a raised flag: nothing to wake
    is_set_ = true;
    ++sets_;
    raised_.notify_all();  // under the lock: a waiter may destroy the event once it returns
  }

  // Lowers the flag: waits that start after this block until the next set().
  void clear() {
    std::lock_guard lock(mutex_);
    is_set_ = false;
  }

  // Whether the flag is up now (another thread may change it the moment this returns).
  bool is_set() const {
    std::lock_guard lock(mutex_);
    return is_set_;
  }

  // Blocks until the flag is up, or has been raised since this call began; returns at once if
  // it already is up.
  void wait() {
    std::unique_lock lock(mutex_);
    const std::uint64_t seen = sets_;
    while (!is_set_ && sets_ == seen) raised_.wait(lock);
  }

  // Like wait(), but gives up after `timeout`. Returns true if the flag is up or was raised
  // during the wait, false if the time ran out first.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) {
    std::unique_lock lock(mutex_);
    const std::uint64_t seen = sets_;
    return raised_.wait_for(lock, timeout, [&] { return is_set_ || sets_ != seen; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable raised_;  // signalled by every set() that raises the flag
  bool is_set_ = false;             // guarded by mutex_
  std::uint64_t sets_ = 0;          // guarded by mutex_: how many times the flag went up
};

// turn_sequencer: `parties` threads take turns in the fixed order 0, 1, ..., parties - 1, 0, 1,
// ... run_turn(p, action) blocks until it is party p's turn, runs action on the calling thread,
// then passes the turn to party (p + 1) % parties. A single party never waits.
//
// Design: party p waits only on its own condition variable, your_turn_[p]. Passing the turn to
// party q is then a targeted notify_one on your_turn_[q]: no other party is woken just to find
// that it is not its turn (the one-condition-variable version must notify_all, and with n
// parties wakes n - 1 threads for nothing). notify_one is enough because at most one thread
// ever waits on your_turn_[q]: calls for the same party never overlap. The wait still checks
// next_party_ in a loop, for spurious wake-ups.
//
// Thread safety: run_turn may be called concurrently from any threads, but calls for the same
// party must not overlap (one thread per party, as in the puzzles).
// Lifetime: destroy it only when no thread is inside run_turn or about to call it.
// Invariant (whenever mutex_ is free): 0 <= next_party_ < parties_; no action is running
// except possibly one of party next_party_; only a thread of party p waits on your_turn_[p].
// Memory ordering: everything a turn's action (and its thread before it) did is visible to the
// actions of every later turn (the turn is passed and read under mutex_).
class turn_sequencer {
 public:
  // parties < 1 throws std::invalid_argument.
  explicit turn_sequencer(int parties)
      : parties_(checked(parties)),
        your_turn_(std::make_unique<std::condition_variable[]>(static_cast<std::size_t>(parties))) {}
  turn_sequencer(const turn_sequencer&) = delete;
  turn_sequencer& operator=(const turn_sequencer&) = delete;

  // Waits for party `party`'s turn, runs action(), and passes the turn on. If action throws,
  // the turn is still passed on and the exception propagates. A party outside
  // [0, parties) throws std::invalid_argument without waiting or running action.
  template <class F>
  void run_turn(int party, F&& action) {
    if (party < 0 || party >= parties_) {
      throw std::invalid_argument("turn_sequencer::run_turn: party " + std::to_string(party) +
                                  " is not in [0, " + std::to_string(parties_) + ")");
    }
    {
      std::unique_lock lock(mutex_);
      auto& mine = your_turn_[static_cast<std::size_t>(party)];
      while (next_party_ != party) mine.wait(lock);
    }
    // The turn stays ours until we pass it on, so the action runs without the lock. A guard
    // passes it on however the action ends (return or exception).
    struct pass_on_exit {
      turn_sequencer& self;
      ~pass_on_exit() { self.pass_turn(); }
    } pass{*this};
    std::forward<F>(action)();
  }

 private:
  static int checked(int parties) {
    if (parties < 1) {
      throw std::invalid_argument("turn_sequencer: parties must be at least 1, not " +
                                  std::to_string(parties));
    }
    return parties;
  }

  void pass_turn() noexcept {
    std::lock_guard lock(mutex_);
    next_party_ = (next_party_ + 1) % parties_;
    // Only the party now due waits on this one: wake exactly it (under the lock, so the
    // sequencer cannot be destroyed between the change and the notify).
    your_turn_[static_cast<std::size_t>(next_party_)].notify_one();
  }

  const int parties_;
  std::mutex mutex_;
  // One per party, never resized: only party p waits on your_turn_[p].
  const std::unique_ptr<std::condition_variable[]> your_turn_;
  int next_party_ = 0;  // guarded by mutex_
};

}  // namespace wb
