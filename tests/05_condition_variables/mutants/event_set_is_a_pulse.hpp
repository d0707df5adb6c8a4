// BUG: set() raises the flag, notifies, and lowers it again: "set wakes whoever is waiting now", like notify_all (Win32 PulseEvent)
// Two classic condition-variable exercises: an event (Python's threading.Event) and a turn
// sequencer that makes threads take turns in a fixed order (the "print in order" problems).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace wb {

// event: a flag that threads can wait for. It starts clear; set() raises it and wakes every
// waiter, clear() lowers it, wait() blocks until it is up, wait_for() gives up after a timeout.
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy it only when no thread is inside a member or about to call one.
// Invariant (whenever mutex_ is free): if is_set_ is true, every thread that was blocked in a
// wait has been notified, so nobody sleeps while the flag is up.
// Memory ordering: everything a thread did before set() is visible to any thread after its
// wait() returns, its wait_for() returns true, or its is_set() returns true (the flag is only
// written and read under mutex_).
class event {
 public:
  event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  // Raises the flag and wakes every thread waiting for it. Setting a set event changes nothing.
  void set() {
    std::lock_guard lock(mutex_);
    is_set_ = true;
    became_set_.notify_all();  // under the lock: a waiter may destroy the event once it returns
    is_set_ = false;           // the waiters have been told; the event is done
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

  // Blocks until the flag is up; returns at once if it already is.
  void wait() {
    std::unique_lock lock(mutex_);
    became_set_.wait(lock, [this] { return is_set_; });
  }

  // Like wait(), but gives up after `timeout`. Returns true if the flag is up, false if the
  // time ran out first.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) {
    std::unique_lock lock(mutex_);
    return became_set_.wait_for(lock, timeout, [this] { return is_set_; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable became_set_;
  bool is_set_ = false;  // guarded by mutex_
};

// turn_sequencer: `parties` threads take turns in the fixed order 0, 1, ..., parties - 1, 0, 1,
// ... run_turn(p, action) blocks until it is party p's turn, runs action on the calling thread,
// then passes the turn to party (p + 1) % parties. A single party never waits.
//
// Thread safety: run_turn may be called concurrently from any threads, but calls for the same
// party must not overlap (one thread per party, as in the puzzles).
// Lifetime: destroy it only when no thread is inside run_turn or about to call it.
// Invariant (whenever mutex_ is free): 0 <= next_party_ < parties_, and no action is running
// except possibly one of party next_party_.
// Memory ordering: everything a turn's action (and its thread before it) did is visible to the
// actions of every later turn (the turn is passed and read under mutex_).
class turn_sequencer {
 public:
  // parties < 1 throws std::invalid_argument.
  explicit turn_sequencer(int parties) : parties_(checked(parties)) {}
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
      turn_changed_.wait(lock, [&] { return next_party_ == party; });
    }
    // The turn stays ours until we pass it on, so the action can run without the lock.
    try {
      std::forward<F>(action)();
    } catch (...) {
      pass_turn();
      throw;
    }
    pass_turn();
  }

 private:
  static int checked(int parties) {
    if (parties < 1) {
      throw std::invalid_argument("turn_sequencer: parties must be at least 1, not " +
                                  std::to_string(parties));
    }
    return parties;
  }

  void pass_turn() {
    std::lock_guard lock(mutex_);
    next_party_ = (next_party_ + 1) % parties_;
    turn_changed_.notify_all();  // all: only the party now due may go, and we cannot pick it
  }

  const int parties_;
  std::mutex mutex_;
  std::condition_variable turn_changed_;
  int next_party_ = 0;  // guarded by mutex_
};

}  // namespace wb
