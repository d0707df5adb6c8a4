// BUG: total() locks each account only while it reads that account, so a transfer can run between two reads and be counted half
// A bank whose transfers are safe to run from many threads: no data race, no overdraft, and
// no moment at which money is missing from the total.
#pragma once

#include <atomic>
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
// own mutex; a transfer locks exactly its two accounts (std::scoped_lock, which cannot deadlock
// however the pair is ordered), so transfers between different accounts run in parallel.
// total() locks every account, in index order; it cannot deadlock with transfers because
// std::scoped_lock never blocks while it holds a lock (it blocks on one, then try_locks the other,
// and backs off if that fails).
// Lifetime: destroy the bank only after every call on it has returned.
// Invariants (whenever an account's mutex is free): its balance is >= 0. Whenever all of them
// are free, the balances add up to the opening total.
// Memory ordering: a transfer's changes are made and published under the two accounts' mutexes,
// so a balance() or total() that locks those accounts afterwards sees all of them.
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
  std::int64_t total() const {
    std::int64_t sum = 0;
    for (const auto& account : accounts_) {
      std::lock_guard lock(account.mutex);
      sum += account.balance;
    }
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
    std::scoped_lock lock(accounts_[from].mutex, accounts_[to].mutex);
    if (accounts_[from].balance < amount) return false;
    if (check_ && !check_(from, to, amount)) return false;
    accounts_[from].balance -= amount;
    accounts_[to].balance += amount;
    transfers_completed_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a count, publishes nothing
    return true;
  }

  // How many transfers have moved money so far.
  std::int64_t transfers_completed() const {
    return transfers_completed_.load(std::memory_order_relaxed);  // relaxed: a statistic only
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
  std::atomic<std::int64_t> transfers_completed_{0};
};

}  // namespace wb
