// Two classic condition-variable exercises: an event (Python's threading.Event) and a turn
// sequencer that makes threads take turns in a fixed order (the "print in order" problems).
// Background and interview questions: notes/05_condition_variables.md
#pragma once

#include <chrono>

#include "workbook_todo.hpp"

namespace wb {

// event: a flag that threads can wait for. It starts clear; set() raises it and wakes every
// waiter, clear() lowers it, wait() blocks until it is up, wait_for() gives up after a timeout.
//
// Thread safety: every member may be called concurrently from any thread.
// Build it with a std::mutex, a std::condition_variable and a bool the mutex guards.
class event {
 public:
  event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  // Raises the flag and wakes every thread waiting for it. Setting a set event changes nothing.
  void set() {
    // TODO: raise the flag while holding the mutex, then wake every waiter (not just one).
    WB_TODO("event::set");
  }

  // Lowers the flag: waits that start after this block until the next set().
  void clear() {
    // TODO: lower the flag while holding the mutex.
    WB_TODO("event::clear");
  }

  // Whether the flag is up now (another thread may change it the moment this returns).
  bool is_set() const {
    // TODO: read the flag while holding the mutex.
    WB_TODO("event::is_set");
  }

  // Blocks until the flag is up; returns at once if it already is.
  void wait() {
    // TODO: wait on the condition variable until the flag is up; a wait can wake up spuriously,
    // so check the flag again each time (a while loop or the predicate overload).
    WB_TODO("event::wait");
  }

  // Like wait(), but gives up after `timeout`. Returns true if the flag is up, false if the
  // time ran out first.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) {
    // TODO: like wait(), with condition_variable::wait_for; the answer is the flag, not
    // whether a notification arrived.
    WB_TODO("event::wait_for", timeout);
  }

 private:
  // TODO: a mutex (mutable, so is_set() can lock it), a condition variable, and the flag.
};

// turn_sequencer: `parties` threads take turns in the fixed order 0, 1, ..., parties - 1, 0, 1,
// ... run_turn(p, action) blocks until it is party p's turn, runs action on the calling thread,
// then passes the turn to party (p + 1) % parties. A single party never waits.
//
// Thread safety: run_turn may be called concurrently from any threads, but calls for the same
// party must not overlap (one thread per party, as in the puzzles).
// Build it with a std::mutex, a std::condition_variable and "whose turn is it" guarded by them.
class turn_sequencer {
 public:
  // parties < 1 throws std::invalid_argument.
  explicit turn_sequencer(int parties) {
    // TODO: reject parties < 1; remember the number of parties; party 0 goes first.
    WB_TODO("turn_sequencer::turn_sequencer", parties);
  }
  turn_sequencer(const turn_sequencer&) = delete;
  turn_sequencer& operator=(const turn_sequencer&) = delete;

  // Waits for party `party`'s turn, runs action(), and passes the turn on. If action throws,
  // the turn is still passed on and the exception propagates. A party outside
  // [0, parties) throws std::invalid_argument without waiting or running action.
  template <class F>
  void run_turn(int party, F&& action) {
    // TODO: check party; wait until it is this party's turn (in a loop); run action; then,
    // under the mutex, pass the turn to the next party and wake the waiters -- all of them:
    // only the one whose turn it is may go, and notify_one cannot choose which thread wakes.
    WB_TODO("turn_sequencer::run_turn", party, action);
  }

 private:
  // TODO: the number of parties, a mutex, a condition variable, and the party whose turn it
  // is (guarded by the mutex).
};

}  // namespace wb
