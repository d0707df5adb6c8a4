// Dining philosophers and two-account transfers: taking two locks without deadlocking.
// Background and interview questions: notes/15_deadlock.md
//
// FIND AND FIX THE DEADLOCKS. This code compiles and is right on one thread: every lock is
// taken and released, exclusion holds, money is conserved. With several threads it can stop
// for good: each thread holds one mutex and waits for one another thread holds. The tests
// turn that into failures two ways:
//   1. a watchdog: when no meal and no transfer has happened for a while, the test ends and
//      says the threads probably deadlocked;
//   2. ThreadSanitizer's lock-order detector: it reports a LOCK-ORDER INVERSION (a potential
//      deadlock) as soon as the locks have been taken in orders that form a cycle, even on a
//      run that was lucky and did not hang.
// The TODO comments point at the smell. Keep mutual exclusion (neighbours never eat at once,
// a transfer is one indivisible step) while you remove the deadlocks.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace wb {

// table: philosophers 0 .. seats()-1 around a round table, one fork (a mutex) between each pair
// of neighbours. Philosopher p's forks are p (left) and (p + 1) % seats() (right), so neighbours
// share one fork and a philosopher can eat only while both neighbours are not eating.
//
// Thread safety (the goal): dine() may be called concurrently from any threads, including for
// the same philosopher (the calls then simply take turns). seats() never changes.
// Lifetime: destroy the table only after every dine() has returned.
// Invariant: a fork is held by at most one dine() at a time, and only while its eat() runs.
class table {
 public:
  // A table with `seats` philosophers and as many forks. Fewer than 2 seats throws
  // std::invalid_argument (a lone philosopher's left and right fork would be the same one).
  explicit table(std::size_t seats) : forks_(seats) {
    if (seats < 2) throw std::invalid_argument("table: a table needs at least 2 seats");
  }
  table(const table&) = delete;
  table& operator=(const table&) = delete;

  // The number of philosophers (and of forks).
  std::size_t seats() const { return forks_.size(); }

  // Philosopher `philosopher` picks up both forks (waiting while a neighbour holds one), calls
  // eat() once, and puts both forks down, also when eat() throws (the exception propagates).
  // A philosopher >= seats() throws std::invalid_argument.
  template <std::invocable Eat>
  void dine(std::size_t philosopher, Eat eat) {
    if (philosopher >= forks_.size()) throw std::invalid_argument("table::dine: no such philosopher");
    // TODO (deadlock): every philosopher picks up the left fork, then waits for the right one.
    // If all of them pick up their left fork at the same moment, each waits forever for a fork
    // its neighbour holds. Which of the four Coffman conditions can you break here? Either take
    // both forks in ONE call that never waits while holding one (what does std::scoped_lock do
    // with two mutexes?), or make every philosopher take the two forks in one global order
    // (which fork must the last philosopher pick up first?).
    std::lock_guard left(forks_[philosopher]);
    std::lock_guard right(forks_[(philosopher + 1) % forks_.size()]);
    std::invoke(eat);
  }

 private:
  std::vector<std::mutex> forks_;  // fork p lies between philosophers p - 1 and p
};

// account: a balance with its own mutex, moved only by wb::transfer().
//
// Thread safety (the goal): balance() and transfer() may be called concurrently from any threads.
// Lifetime: destroy an account only after every call on it has returned.
// Invariant (whenever mutex_ is free): balance_ >= 0.
class account {
 public:
  // An account holding `opening` (< 0 throws std::invalid_argument).
  explicit account(std::int64_t opening) : balance_(opening) {
    if (opening < 0) throw std::invalid_argument("account: the opening balance is negative");
  }
  account(const account&) = delete;
  account& operator=(const account&) = delete;

  // The balance now.
  std::int64_t balance() const {
    std::lock_guard lock(mutex_);
    return balance_;
  }

  friend bool transfer(account& from, account& to, std::int64_t amount);

 private:
  mutable std::mutex mutex_;
  std::int64_t balance_;  // guarded by mutex_
};

// Moves `amount` from `from` to `to` as one indivisible step and returns true; returns false and
// changes nothing if `from` holds less than `amount`. A transfer from an account to itself moves
// nothing and returns whether the account holds `amount`. amount <= 0 throws
// std::invalid_argument.
inline bool transfer(account& from, account& to, std::int64_t amount) {
  if (amount <= 0) throw std::invalid_argument("transfer: the amount must be positive");
  // TODO (deadlock): transfer(a, b) locks a then b; transfer(b, a) at the same moment locks b
  // then a. The order follows the arguments, so it depends on the direction. Pick an order that
  // does not (a key that never changes while the accounts live), or lock both at once.
  // TODO (self-deadlock): and when from and to are the same account? std::mutex is not
  // recursive: a thread that locks it twice waits for itself.
  std::lock_guard first(from.mutex_);
  std::lock_guard second(to.mutex_);
  if (from.balance_ < amount) return false;
  from.balance_ -= amount;
  to.balance_ += amount;
  return true;
}

}  // namespace wb
