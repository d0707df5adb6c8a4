// ALTERNATIVE: locks the two accounts one by one in a fixed global order (lower index first, std::unique_lock) instead of std::scoped_lock's deadlock avoidance, and keeps the transfer count as a plain integer under a third, innermost mutex instead of an atomic.
// A bank whose transfers are safe to run from many threads, built on a lock hierarchy: every
// thread takes account mutexes in increasing index order and the statistics mutex last, so no
// two threads can ever wait for each other in a cycle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

namespace wb {

// bank: a fixed set of accounts, numbered 0 .. size()-1, and transfers between them.
//
// Thread safety: every member may be called concurrently from any thread. Each account has its
// own mutex; a transfer locks exactly its two accounts, always the lower index first, so
// transfers between different accounts run in parallel and two opposite transfers (a->b, b->a)
// cannot deadlock: both try the lower account first and one of them simply waits there.
// total() also locks every account in increasing index order, so it fits the same hierarchy.
// stats_mutex_ is the innermost lock: it is taken (briefly) only while holding account locks
// or nothing, and nothing is locked while holding it.
// Lifetime: destroy the bank only after every call on it has returned.
// Invariants (whenever an account's mutex is free): its balance is >= 0. Whenever all account
// mutexes are free, the balances add up to the opening total. Whenever stats_mutex_ is free,
// completed_ is the number of transfers that moved money.
// Memory ordering: a transfer's changes are made and published under the two accounts'
// mutexes, so a balance() or total() that locks those accounts afterwards sees all of them;
// the count is published by stats_mutex_ in the same way.
class bank {
 public:
  // Consulted for every transfer the funds allow, before any money moves:
  // check(from, to, amount) returns false to decline the transfer.
  using fraud_check = std::function<bool(std::size_t from, std::size_t to, std::int64_t amount)>;

  // Opens one account per opening balance. A negative balance throws std::invalid_argument.
  // `check`, if given, is called by transfer() as described there; it may be slow, must not
  // call this bank's members (the bank may hold account locks while calling it), and may be
  // called from several threads at once.
  explicit bank(std::vector<std::int64_t> opening_balances, fraud_check check = {})
      : accounts_(opening_balances.size()), check_(std::move(check)) {
    for (std::size_t i = 0; i < opening_balances.size(); ++i) {
      if (opening_balances[i] < 0) throw std::invalid_argument("bank: an opening balance is negative");
      accounts_[i].balance = opening_balances[i];
    }
  }
  bank(const bank&) = delete;
  bank& operator=(const bank&) = delete;

  // The number of accounts.
  std::size_t size() const { return accounts_.size(); }

  // The balance of `account`; an index >= size() throws std::invalid_argument.
  std::int64_t balance(std::size_t account) const {
    check_index(account);
    std::lock_guard lock(accounts_[account].mutex);
    return accounts_[account].balance;
  }

  // The sum of all balances, read as one snapshot: equal to the opening total at every moment.
  // Holds every account's lock at once, taken in increasing index order (the hierarchy).
  std::int64_t total() const {
    std::vector<std::unique_lock<std::mutex>> locks;
    locks.reserve(accounts_.size());
    for (const auto& account : accounts_) locks.emplace_back(account.mutex);
    std::int64_t sum = 0;
    for (const auto& account : accounts_) sum += account.balance;
    return sum;
  }

  // Moves `amount` from `from` to `to` as one indivisible step and returns true; returns false
  // and changes nothing if `from` holds less than `amount` or the fraud check declines (it is
  // called once, after the funds check passed and before any money moves; if it throws, the
  // exception propagates and nothing changes). An index >= size(), from == to, or
  // amount <= 0 throws std::invalid_argument.
  // Memory ordering: the funds check, the fraud check and both balance changes happen while
  // both accounts are locked, so no other transfer can act in between.
  bool transfer(std::size_t from, std::size_t to, std::int64_t amount) {
    check_index(from);
    check_index(to);
    if (from == to) throw std::invalid_argument("bank::transfer: from and to are the same account");
    if (amount <= 0) throw std::invalid_argument("bank::transfer: amount must be positive");
    // The order of locking depends only on the indices, never on the direction of the transfer.
    std::unique_lock first(accounts_[from < to ? from : to].mutex);
    std::unique_lock second(accounts_[from < to ? to : from].mutex);
    account_record& source = accounts_[from];
    account_record& target = accounts_[to];
    if (source.balance < amount) return false;
    if (check_ && !check_(from, to, amount)) return false;
    source.balance -= amount;
    target.balance += amount;
    std::lock_guard stats(stats_mutex_);  // innermost: taken last, released first
    ++completed_;
    return true;
  }

  // How many transfers have moved money so far.
  std::int64_t transfers_completed() const {
    std::lock_guard stats(stats_mutex_);
    return completed_;
  }

 private:
  struct account_record {
    mutable std::mutex mutex;
    std::int64_t balance = 0;  // guarded by mutex
  };

  void check_index(std::size_t account) const {
    if (account >= accounts_.size()) throw std::invalid_argument("bank: no such account");
  }

  std::vector<account_record> accounts_;  // the vector itself never changes after construction
  const fraud_check check_;

  mutable std::mutex stats_mutex_;  // innermost lock of the hierarchy
  std::int64_t completed_ = 0;      // guarded by stats_mutex_
};

}  // namespace wb
