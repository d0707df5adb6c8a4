// A bank whose transfers are safe to run from many threads: no data race, no overdraft, and
// no moment at which money is missing from the total.
// Background and interview questions: notes/01_race_condition.md
//
// FIND AND FIX THE BUGS. This code compiles, runs, and gives the right answers when one thread
// uses it. With several threads it has two races of two different kinds:
//   1. a data race: ThreadSanitizer reports it, and the tests fail with its report;
//   2. a check-then-act race on data that is correctly locked: ThreadSanitizer sees nothing,
//      yet accounts go below zero and total() sees money that is nowhere.
// The TODO comments point at the smell. TSan stops a test at its first report, so you will
// probably see race 1 everywhere first; once it is fixed, the tests that check the money
// will show you race 2.
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
// Thread safety (the goal): every member may be called concurrently from any thread.
// Lifetime: destroy the bank only after every call on it has returned.
// Invariants to reach: a balance is never below 0; at every moment the balances add up to the
// opening total.
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
    std::vector<std::unique_lock<std::mutex>> locks;
    locks.reserve(accounts_.size());
    for (const auto& account : accounts_) locks.emplace_back(account.mutex);  // index order
    std::int64_t sum = 0;
    for (const auto& account : accounts_) sum += account.balance;
    return sum;
  }

  // Moves `amount` from `from` to `to` as one indivisible step and returns true; returns false
  // and changes nothing if `from` holds less than `amount` or the fraud check declines (it is
  // called once, after the funds check passed and before any money moves; if it throws, the
  // exception propagates and nothing changes). An index >= size(), from == to, or
  // amount <= 0 throws std::invalid_argument.
  bool transfer(std::size_t from, std::size_t to, std::int64_t amount) {
    check_index(from);
    check_index(to);
    if (from == to) throw std::invalid_argument("bank::transfer: from and to are the same account");
    if (amount <= 0) throw std::invalid_argument("bank::transfer: amount must be positive");

    // TODO (race 2, check-then-act): each step below locks one account at a time, so it can
    // never deadlock -- but the funds check and the withdrawal are separate critical sections.
    // While this thread runs the fraud check, another transfer from the same account can pass
    // the same check, and both withdraw. And between the withdrawal and the deposit the money
    // is in neither account, which total() can see. What must be locked, for how long, so that
    // check, fraud check, withdrawal and deposit are one step? How do you lock two accounts
    // without deadlocking against a transfer going the other way?
    {
      std::lock_guard lock(accounts_[from].mutex);
      if (accounts_[from].balance < amount) return false;
    }
    // The fraud check may be slow, so it runs without holding a lock.
    if (check_ && !check_(from, to, amount)) return false;
    {
      std::lock_guard lock(accounts_[from].mutex);
      accounts_[from].balance -= amount;
    }
    {
      std::lock_guard lock(accounts_[to].mutex);
      accounts_[to].balance += amount;
    }

    // TODO (race 1, data race): transfers on different accounts run at the same time, and
    // each one writes this plain integer with no lock they share: concurrent ++ is a data race
    // (undefined behaviour, and lost counts). What makes one counter safe to bump from many
    // threads without serializing every transfer on one lock?
    ++transfers_completed_;
    return true;
  }

  // How many transfers have moved money so far.
  std::int64_t transfers_completed() const {
    // TODO (race 1): this read races with the writes in transfer() too.
    return transfers_completed_;
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
  std::int64_t transfers_completed_ = 0;  // TODO (race 1): guarded by nothing
};

}  // namespace wb
