// BUG: locks `from`, then `to`: the order follows the arguments, so a -> b and b -> a take the same two mutexes in opposite orders
// Dining philosophers and two-account transfers: taking two locks without deadlocking.
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
// Thread safety: dine() may be called concurrently from any threads, including for the same
// philosopher (the calls then simply take turns). seats() never changes.
// Lifetime: destroy the table only after every dine() has returned.
// Invariant: a fork is held by at most one dine() at a time, and only while its eat() runs.
// Deadlock freedom: dine() takes its two forks with std::scoped_lock (std::lock's algorithm:
// block on one mutex, try_lock the other, and if that fails release everything and block on the
// one that was busy), so no thread ever waits while holding a fork: hold-and-wait is broken, no
// cycle of waiting threads can form, and no lock order is ever recorded between two forks.
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
  // Memory ordering: everything a philosopher did in eat() is visible to the next philosopher
  // that holds either of its forks, in that one's eat() (the fork mutexes order them).
  template <std::invocable Eat>
  void dine(std::size_t philosopher, Eat eat) {
    if (philosopher >= forks_.size()) throw std::invalid_argument("table::dine: no such philosopher");
    std::scoped_lock forks(forks_[philosopher], forks_[(philosopher + 1) % forks_.size()]);
    std::invoke(eat);
  }

 private:
  std::vector<std::mutex> forks_;  // fork p lies between philosophers p - 1 and p
};

// account: a balance with its own mutex, moved only by wb::transfer().
//
// Thread safety: balance() and transfer() may be called concurrently from any threads.
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
// Deadlock freedom: the two mutexes are always taken in one global order, by address (a key
// that never changes while the accounts live), so a->b and b->a lock in the same order and no
// cycle of waiting threads can form. The same account is locked only once.
// Memory ordering: both balances change while both mutexes are held, so whoever locks either
// account next sees the whole transfer or none of it.
inline bool transfer(account& from, account& to, std::int64_t amount) {
  if (amount <= 0) throw std::invalid_argument("transfer: the amount must be positive");
  if (&from == &to) {
    std::lock_guard lock(from.mutex_);  // std::mutex is not recursive: lock it once
    return from.balance_ >= amount;
  }
  const bool from_first = true;  // the order of the arguments
  std::lock_guard first(from_first ? from.mutex_ : to.mutex_);
  std::lock_guard second(from_first ? to.mutex_ : from.mutex_);
  if (from.balance_ < amount) return false;
  from.balance_ -= amount;
  to.balance_ += amount;
  return true;
}

}  // namespace wb
