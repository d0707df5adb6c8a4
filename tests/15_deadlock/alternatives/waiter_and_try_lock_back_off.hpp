// ALTERNATIVE: a waiter (one mutex, one condition variable, a flag per fork) hands out both forks at once instead of a mutex per fork, and transfers lock one account, try_lock the other and back off (release, yield, start with the other one) instead of ordering by address.
// Dining philosophers and two-account transfers: taking two locks without deadlocking.
#pragma once

#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace wb {

// table: philosophers 0 .. seats()-1 around a round table, one fork between each pair of
// neighbours. Philosopher p's forks are p (left) and (p + 1) % seats() (right).
//
// Thread safety: dine() may be called concurrently from any threads, including for the same
// philosopher. seats() never changes.
// Lifetime: destroy the table only after every dine() has returned.
// Invariant (whenever waiter_ is free): taken_[f] is true exactly while some eat() runs with
// fork f.
// Deadlock freedom (an arbitrator): a philosopher asks the waiter for both forks and gets both or
// none, so nobody ever holds one fork while waiting for another (hold-and-wait is broken). The
// only mutex is the waiter's, and eat() runs without it. (Not starvation-free: two neighbours
// can keep a philosopher hungry by taking turns; a queue of requests would fix that.)
class table {
 public:
  // A table with `seats` philosophers and as many forks. Fewer than 2 seats throws
  // std::invalid_argument (a lone philosopher's left and right fork would be the same one).
  explicit table(std::size_t seats) : taken_(seats, false) {
    if (seats < 2) throw std::invalid_argument("table: a table needs at least 2 seats");
  }
  table(const table&) = delete;
  table& operator=(const table&) = delete;

  // The number of philosophers (and of forks).
  std::size_t seats() const { return taken_.size(); }

  // Philosopher `philosopher` picks up both forks (waiting while a neighbour holds one), calls
  // eat() once, and puts both forks down, also when eat() throws (the exception propagates).
  // A philosopher >= seats() throws std::invalid_argument.
  // Memory ordering: everything a philosopher did in eat() is visible to the next philosopher
  // that gets either of its forks (both hand-overs go through waiter_).
  template <std::invocable Eat>
  void dine(std::size_t philosopher, Eat eat) {
    if (philosopher >= taken_.size()) throw std::invalid_argument("table::dine: no such philosopher");
    const std::size_t left = philosopher;
    const std::size_t right = (philosopher + 1) % taken_.size();
    {
      std::unique_lock lock(waiter_);
      forks_put_down_.wait(lock, [&] { return !taken_[left] && !taken_[right]; });
      taken_[left] = taken_[right] = true;
    }
    struct put_down {  // runs when eat() returns or throws
      table& self;
      std::size_t left, right;
      ~put_down() {
        {
          std::lock_guard lock(self.waiter_);
          self.taken_[left] = self.taken_[right] = false;
        }
        // After unlocking: the table outlives every dine(), so the condition variable is still there.
        self.forks_put_down_.notify_all();  // all: the two neighbours wait for different forks
      }
    } forks{*this, left, right};
    std::invoke(eat);
  }

 private:
  std::mutex waiter_;
  std::condition_variable forks_put_down_;
  std::vector<bool> taken_;  // guarded by waiter_
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
// Deadlock freedom: block on one mutex only while holding none; try_lock the other, and if it is
// busy, release the first, yield, and start again from the busy one (what std::lock does). The
// yield keeps two transfers from retrying in lock-step forever (livelock).
// Memory ordering: both balances change while both mutexes are held.
inline bool transfer(account& from, account& to, std::int64_t amount) {
  if (amount <= 0) throw std::invalid_argument("transfer: the amount must be positive");
  if (&from == &to) {
    std::lock_guard lock(from.mutex_);
    return from.balance_ >= amount;
  }
  std::unique_lock first(from.mutex_);
  std::unique_lock second(to.mutex_, std::defer_lock);
  while (!second.try_lock()) {
    first.unlock();
    std::this_thread::yield();
    std::swap(first, second);
    first.lock();
  }
  if (from.balance_ < amount) return false;
  from.balance_ -= amount;
  to.balance_ += amount;
  return true;
}

}  // namespace wb
