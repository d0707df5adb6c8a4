// ALTERNATIVE: one std::shared_mutex guards the whole bank (every balance and the transfer count) instead of one mutex per account: transfers take it exclusively, balance() and total() share it.
// A bank whose transfers are safe to run from many threads, with the coarsest correct locking:
// a single reader-writer lock. Transfers never run in parallel (not even on unrelated
// accounts), but reads run alongside each other, and no lock ordering can go wrong because
// there is only one lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <numeric>
#include <shared_mutex>
#include <stdexcept>
#include <utility>
#include <vector>

namespace wb {

// bank: a fixed set of accounts, numbered 0 .. size()-1, and transfers between them.
//
// Thread safety: every member may be called concurrently from any thread. transfer() holds
// mutex_ exclusively from its funds check to its last write, so it is indivisible for every
// other caller; balance(), total() and transfers_completed() hold it shared, so they see either
// all of a transfer or none of it. One lock means no deadlock is possible (the fraud check must
// not call back into the bank, as documented).
// Lifetime: destroy the bank only after every call on it has returned.
// Invariants (whenever mutex_ is free): every balance is >= 0, the balances add up to the
// opening total, and completed_ is the number of transfers that moved money.
// Memory ordering: a transfer's writes happen before it releases mutex_ exclusively, and a
// reader's shared lock acquires mutex_ afterwards, so the reader sees all of them.
class bank {
 public:
  // Consulted for every transfer the funds allow, before any money moves:
  // check(from, to, amount) returns false to decline the transfer.
  using fraud_check = std::function<bool(std::size_t from, std::size_t to, std::int64_t amount)>;

  // Opens one account per opening balance. A negative balance throws std::invalid_argument.
  // `check`, if given, is called by transfer() as described there; it may be slow, must not
  // call this bank's members (the bank holds its lock while calling it), and may be called
  // from several threads (one at a time, here).
  explicit bank(std::vector<std::int64_t> opening_balances, fraud_check check = {})
      : balances_(std::move(opening_balances)), check_(std::move(check)) {
    for (const std::int64_t opening : balances_)
      if (opening < 0) throw std::invalid_argument("bank: an opening balance is negative");
  }
  bank(const bank&) = delete;
  bank& operator=(const bank&) = delete;

  // The number of accounts (fixed at construction, so no lock is needed).
  std::size_t size() const { return balances_.size(); }

  // The balance of `account`; an index >= size() throws std::invalid_argument.
  std::int64_t balance(std::size_t account) const {
    check_index(account);
    std::shared_lock lock(mutex_);
    return balances_[account];
  }

  // The sum of all balances, read as one snapshot: equal to the opening total at every moment.
  std::int64_t total() const {
    std::shared_lock lock(mutex_);
    return std::accumulate(balances_.begin(), balances_.end(), std::int64_t{0});
  }

  // Moves `amount` from `from` to `to` as one indivisible step and returns true; returns false
  // and changes nothing if `from` holds less than `amount` or the fraud check declines (it is
  // called once, after the funds check passed and before any money moves; if it throws, the
  // exception propagates and nothing changes). An index >= size(), from == to, or
  // amount <= 0 throws std::invalid_argument.
  // Memory ordering: the funds check, the fraud check and both balance changes happen under
  // one exclusive hold of mutex_, so no other transfer can act in between.
  bool transfer(std::size_t from, std::size_t to, std::int64_t amount) {
    check_index(from);
    check_index(to);
    if (from == to) throw std::invalid_argument("bank::transfer: from and to are the same account");
    if (amount <= 0) throw std::invalid_argument("bank::transfer: amount must be positive");
    std::unique_lock lock(mutex_);
    if (balances_[from] < amount) return false;
    if (check_ && !check_(from, to, amount)) return false;
    balances_[from] -= amount;
    balances_[to] += amount;
    ++completed_;
    return true;
  }

  // How many transfers have moved money so far.
  std::int64_t transfers_completed() const {
    std::shared_lock lock(mutex_);
    return completed_;
  }

 private:
  void check_index(std::size_t account) const {
    if (account >= balances_.size()) throw std::invalid_argument("bank: no such account");
  }

  mutable std::shared_mutex mutex_;
  std::vector<std::int64_t> balances_;  // guarded by mutex_ (its size never changes)
  std::int64_t completed_ = 0;          // guarded by mutex_
  const fraud_check check_;
};

}  // namespace wb
