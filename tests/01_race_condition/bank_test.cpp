// Tests for wb::bank, the "find and fix the race" topic. Two kinds of bug, two ways to catch them:
//   - a data race (two threads touch the same memory, one writes, nothing orders them) is caught
//     by ThreadSanitizer: its report fails the test (CountsTransfersWithoutADataRace is the test
//     for it, but any test with concurrent transfers will trip over it first);
//   - a check-then-act race on correctly locked data is invisible to TSan; it is caught by the
//     bank's invariants: no account below zero, exactly one winner for money that is there
//     once, and a total() that never changes, even while transfers run.
// Check-then-act windows are narrow, so the tests widen them from outside: a slow fraud check
// (a test-owned callback the bank must consult before moving money), accounts that hold exactly
// one transfer's worth, and threads released together.
#include "bank.hpp"

#include <atomic>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "workbook_test.hpp"

namespace {

using wb::test::hang_limit;
using wb::test::run_concurrently;
using namespace std::chrono_literals;

constexpr int kThreads = 4;

// A fraud check that approves everything, slowly: it keeps a transfer between its funds check
// and its withdrawal for long enough that every other thread gets there too, if it can.
wb::bank::fraud_check slow_approval() {
  return [](std::size_t, std::size_t, std::int64_t) {
    std::this_thread::sleep_for(200us);
    return true;
  };
}

const char* const kCheckThenAct =
    "This is a check-then-act race, not a data race: every balance was read and written under "
    "a lock, so ThreadSanitizer sees nothing wrong. The funds check and the withdrawal (and the "
    "deposit) must happen in ONE critical section that holds both accounts' locks (or one lock for the whole bank).";

}  // namespace

TEST(Bank, CountsTransfersWithoutADataRace) {
  // Given: four pairs of accounts, one pair per thread, with plenty of money (so no transfer
  // ever competes with another for funds: only the shared transfer counter is contended)
  constexpr int kRoundTrips = 1'000;
  wb::bank bank(std::vector<std::int64_t>(2 * kThreads, 1'000));
  std::atomic<std::int64_t> succeeded{0};

  // When: each thread moves 1 back and forth inside its own pair
  run_concurrently(kThreads, [&](int t) {
    const std::size_t a = 2 * static_cast<std::size_t>(t);
    for (int i = 0; i < kRoundTrips; ++i) {
      if (bank.transfer(a, a + 1, 1)) succeeded.fetch_add(1);
      if (bank.transfer(a + 1, a, 1)) succeeded.fetch_add(1);
    }
  }, "threads making transfers between their own two accounts", hang_limit);

  // Then: every transfer succeeded and was counted exactly once
  const std::int64_t expected = std::int64_t{2} * kRoundTrips * kThreads;
  EXPECT_EQ(succeeded.load(), expected) << "a transfer between two accounts holding 1,000 each returned false";
  EXPECT_EQ(bank.transfers_completed(), succeeded.load()) << fmt::format(
      "transfers_completed() is {} but {} transfers returned true: concurrent increments of the "
      "counter overwrote each other. That is a DATA RACE (ThreadSanitizer should have stopped "
      "this test first): transfers on different accounts share no lock, so the counter needs "
      "its own protection (a std::atomic, or a mutex every transfer takes).",
      bank.transfers_completed(), succeeded.load());
  for (std::size_t i = 0; i < bank.size(); ++i) {
    EXPECT_EQ(bank.balance(i), 1'000) << fmt::format("account {} should be back at 1,000", i);
  }
  EXPECT_EQ(bank.total(), 1'000 * 2 * kThreads) << "money was created or destroyed";
}

TEST(Bank, NeverOverdrawsWhenTransfersCompeteForTheSameMoney) {
  // Given: small accounts that each hold exactly one transfer's worth, one collection account,
  // and a slow fraud check (so a transfer that has passed its funds check stays "in progress"
  // for a while)
  constexpr std::size_t kSources = 24;
  constexpr std::size_t kCollector = kSources;
  constexpr std::int64_t kAmount = 40;
  constexpr int kRounds = 6;
  std::vector<std::int64_t> opening(kSources, kAmount);
  opening.push_back(0);
  wb::bank bank(opening, slow_approval());
  std::int64_t expected_completed = 0;

  for (int round = 0; round < kRounds; ++round) {
    // When: all threads try to empty the same sources, in the same order, at the same time
    std::vector<std::vector<char>> won(kThreads, std::vector<char>(kSources, 0));
    run_concurrently(kThreads, [&](int t) {
      for (std::size_t i = 0; i < kSources; ++i) won[t][i] = bank.transfer(i, kCollector, kAmount);
    }, "threads competing to empty the same accounts", hang_limit);

    // Then: each source was emptied exactly once, by exactly one winner
    bool broken = false;
    for (std::size_t i = 0; i < kSources; ++i) {
      int winners = 0;
      for (int t = 0; t < kThreads; ++t) winners += won[t][i];
      const std::int64_t left = bank.balance(i);
      if (left < 0) {
        ADD_FAILURE() << fmt::format(
            "round {}: account {} went to {}: {} transfers of {} all saw enough money in an account "
            "that held {} once, and all withdrew it. {}",
            round, i, left, winners, kAmount, kAmount, kCheckThenAct);
        broken = true;
        break;
      }
      if (winners != 1 || left != 0) {
        ADD_FAILURE() << fmt::format(
            "round {}: account {} held {} and {} threads each tried to take it all: {} transfers "
            "returned true and {} is left (expected exactly 1 winner and 0 left)",
            round, i, kAmount, kThreads, winners, left);
        broken = true;
        break;
      }
    }
    const std::int64_t collected = bank.balance(kCollector);
    if (!broken && collected != kAmount * static_cast<std::int64_t>(kSources)) {
      ADD_FAILURE() << fmt::format("round {}: the collection account holds {} instead of {}", round,
                                   collected, kAmount * static_cast<std::int64_t>(kSources));
      broken = true;
    }
    if (broken) break;
    expected_completed += kSources;
    EXPECT_EQ(bank.transfers_completed(), expected_completed) << "transfers_completed() is off";

    // Given (next round): put the money back
    for (std::size_t i = 0; i < kSources; ++i) {
      ASSERT_TRUE(bank.transfer(kCollector, i, kAmount)) << "could not refill account " << i;
    }
    expected_completed += kSources;
  }
  EXPECT_EQ(bank.total(), kAmount * static_cast<std::int64_t>(kSources)) << "money was created or destroyed";
}

TEST(Bank, TotalNeverChangesWhileMoneyMoves) {
  // Given: 32 accounts of 1,000; two threads move random amounts between random accounts while
  // two others keep reading total() and balances (reads and transfers overlap: the writers go on
  // until the readers have read often enough, the readers until the writers are done)
  constexpr std::size_t kAccounts = 32;
  constexpr std::int64_t kOpeningTotal = 1'000 * static_cast<std::int64_t>(kAccounts);
  constexpr int kTransfersPerWriter = 3'000;
  constexpr int kMinReadings = 8'000;  // the writers keep going until the readers have looked this often
  wb::bank bank(std::vector<std::int64_t>(kAccounts, 1'000));
  std::atomic<int> writers_left{2};
  std::atomic<std::int64_t> succeeded{0};
  std::atomic<int> readings{0};
  std::atomic<int> wrong_totals{0};
  std::atomic<std::int64_t> a_wrong_total{kOpeningTotal};
  std::atomic<int> negative_balances{0};

  // When
  run_concurrently(4, [&](int t) {
    std::mt19937 random(static_cast<unsigned>(t) * 7919u + 1u);
    std::uniform_int_distribution<std::size_t> pick(0, kAccounts - 1);
    if (t < 2) {
      std::uniform_int_distribution<std::int64_t> amount(1, 50);
      for (int i = 0; i < kTransfersPerWriter || readings.load() < kMinReadings; ++i) {
        const std::size_t from = pick(random);
        std::size_t to = pick(random);
        if (to == from) to = (to + 1) % kAccounts;
        if (bank.transfer(from, to, amount(random))) succeeded.fetch_add(1);
      }
      writers_left.fetch_sub(1);
      return;
    }
    do {
      const std::int64_t total = bank.total();
      readings.fetch_add(1);
      if (total != kOpeningTotal) {
        wrong_totals.fetch_add(1);
        a_wrong_total.store(total);
      }
      if (bank.balance(pick(random)) < 0) negative_balances.fetch_add(1);
    } while (writers_left.load() > 0);
  }, "two threads making transfers and two reading total()", hang_limit);

  // Then: every reading saw all the money, and none of it was lost at the end
  EXPECT_EQ(wrong_totals.load(), 0) << fmt::format(
      "{} of {} calls to total() returned a wrong sum (e.g. {} instead of {}): total() saw a "
      "transfer half done, its money in neither account (or counted in both). Either the "
      "withdrawal and the deposit are separate critical sections, or total() does not hold every "
      "account's lock at once while it adds them up. This is a race condition, not a data race: "
      "every balance was read and written under a lock, so ThreadSanitizer sees nothing wrong.",
      wrong_totals.load(), readings.load(), a_wrong_total.load(), kOpeningTotal);
  EXPECT_EQ(negative_balances.load(), 0) << fmt::format(
      "balance() returned a negative balance {} times: a transfer withdrew money that was no "
      "longer there. {}", negative_balances.load(), kCheckThenAct);
  EXPECT_EQ(bank.total(), kOpeningTotal) << "money was created or destroyed";
  EXPECT_EQ(bank.transfers_completed(), succeeded.load())
      << "transfers_completed() does not match the number of transfers that returned true";
}

TEST(Bank, TransfersInOppositeDirectionsDoNotDeadlock) {
  // Given: two pairs of accounts; for each pair, one thread sends money one way and another
  // thread sends it back at the same time
  constexpr int kTransfers = 2'000;
  wb::bank bank(std::vector<std::int64_t>(4, 1'000'000));
  std::atomic<std::int64_t> succeeded{0};

  // When: (a watchdog ends the test if the threads deadlock)
  run_concurrently(kThreads, [&](int t) {
    const std::size_t low = 2 * static_cast<std::size_t>(t / 2);
    const std::size_t from = t % 2 == 0 ? low : low + 1;
    const std::size_t to = t % 2 == 0 ? low + 1 : low;
    for (int i = 0; i < kTransfers; ++i) {
      if (bank.transfer(from, to, 1)) succeeded.fetch_add(1);
    }
  }, "threads transferring a->b while others transfer b->a (if they locked 'from' then 'to', "
     "each holds the lock the other is waiting for: lock the two accounts with std::scoped_lock, "
     "or always in the same order, e.g. lower index first)", hang_limit);

  // Then
  EXPECT_EQ(succeeded.load(), std::int64_t{kThreads} * kTransfers) << "some transfers returned false";
  for (std::size_t i = 0; i < bank.size(); ++i) {
    EXPECT_EQ(bank.balance(i), 1'000'000) << fmt::format("account {} should be back where it started", i);
  }
  EXPECT_EQ(bank.transfers_completed(), succeeded.load()) << "transfers_completed() is off";
}

TEST(Bank, RefusesATransferThatWouldOverdrawAndChangesNothing) {
  // Given: one pair of accounts per thread: 10 in the first, 0 in the second
  constexpr int kRounds = 500;
  std::vector<std::int64_t> opening;
  for (int t = 0; t < kThreads; ++t) opening.insert(opening.end(), {10, 0});
  wb::bank bank(opening);
  std::atomic<int> wrongly_allowed{0};
  std::atomic<int> wrongly_refused{0};

  // When: each thread asks for too much, exactly enough, too much again, and sends it back
  run_concurrently(kThreads, [&](int t) {
    const std::size_t a = 2 * static_cast<std::size_t>(t);
    for (int i = 0; i < kRounds; ++i) {
      if (bank.transfer(a, a + 1, 11)) wrongly_allowed.fetch_add(1);
      if (!bank.transfer(a, a + 1, 10)) wrongly_refused.fetch_add(1);
      if (bank.transfer(a, a + 1, 1)) wrongly_allowed.fetch_add(1);
      if (!bank.transfer(a + 1, a, 10)) wrongly_refused.fetch_add(1);
    }
  }, "threads making transfers between their own two accounts", hang_limit);

  // Then
  EXPECT_EQ(wrongly_allowed.load(), 0) << "transfer() returned true although the account held less than the amount";
  EXPECT_EQ(wrongly_refused.load(), 0) << "transfer() returned false although the account held exactly the amount";
  for (int t = 0; t < kThreads; ++t) {
    const std::size_t a = 2 * static_cast<std::size_t>(t);
    EXPECT_EQ(bank.balance(a), 10) << fmt::format("account {} should hold 10: a refused transfer moved money", a);
    EXPECT_EQ(bank.balance(a + 1), 0) << fmt::format("account {} should hold 0: a refused transfer moved money", a + 1);
  }
  EXPECT_EQ(bank.transfers_completed(), std::int64_t{2} * kRounds * kThreads)
      << "transfers_completed() must count the transfers that moved money, and only those";
}

TEST(Bank, DeclinedTransfersMoveNoMoney) {
  // Given: a fraud check that declines odd amounts and counts how often it is asked
  constexpr std::int64_t kLargest = 400;
  std::atomic<std::int64_t> asked{0};
  wb::bank bank(std::vector<std::int64_t>(2 * kThreads, 1'000'000),
                [&](std::size_t, std::size_t, std::int64_t amount) {
                  asked.fetch_add(1);
                  return amount % 2 == 0;
                });
  std::atomic<int> wrong_results{0};

  // When: each thread sends 1, 2, ..., 400 within its own pair of accounts
  run_concurrently(kThreads, [&](int t) {
    const std::size_t a = 2 * static_cast<std::size_t>(t);
    for (std::int64_t amount = 1; amount <= kLargest; ++amount) {
      if (bank.transfer(a, a + 1, amount) != (amount % 2 == 0)) wrong_results.fetch_add(1);
    }
  }, "threads making transfers that the fraud check approves or declines", hang_limit);

  // Then: only the even amounts moved, and the fraud check was asked about every transfer
  EXPECT_EQ(wrong_results.load(), 0)
      << "transfer() must return false when the fraud check declines, and true when it approves";
  EXPECT_EQ(asked.load(), kLargest * kThreads)
      << "the fraud check must be consulted exactly once for every transfer the funds allow";
  std::int64_t even_sum = 0;
  for (std::int64_t amount = 2; amount <= kLargest; amount += 2) even_sum += amount;
  for (int t = 0; t < kThreads; ++t) {
    const std::size_t a = 2 * static_cast<std::size_t>(t);
    EXPECT_EQ(bank.balance(a), 1'000'000 - even_sum) << fmt::format("account {}: a declined transfer moved money", a);
    EXPECT_EQ(bank.balance(a + 1), 1'000'000 + even_sum) << fmt::format("account {}: a declined transfer moved money", a + 1);
  }
  EXPECT_EQ(bank.transfers_completed(), kLargest / 2 * kThreads)
      << "transfers_completed() must count approved transfers only";
}

TEST(Bank, RejectsBadArgumentsWithoutDisturbingOtherTransfers) {
  // Given
  EXPECT_THROW(wb::bank(std::vector<std::int64_t>{5, -1}), std::invalid_argument)
      << "a negative opening balance must throw std::invalid_argument";
  constexpr int kRounds = 1'000;
  wb::bank bank(std::vector<std::int64_t>{100, 100, 100, 100});
  ASSERT_EQ(bank.size(), 4u);
  std::atomic<int> not_rejected{0};
  std::atomic<std::int64_t> succeeded{0};

  // When: two threads make good transfers while two others make bad calls
  run_concurrently(kThreads, [&](int t) {
    if (t < 2) {
      const std::size_t a = 2 * static_cast<std::size_t>(t);
      for (int i = 0; i < kRounds; ++i) {
        if (bank.transfer(a, a + 1, 7)) succeeded.fetch_add(1);
        if (bank.transfer(a + 1, a, 7)) succeeded.fetch_add(1);
      }
      return;
    }
    const auto expect_rejected = [&](auto call) {
      try {
        call();
        not_rejected.fetch_add(1);
      } catch (const std::invalid_argument&) {
      }
    };
    for (int i = 0; i < kRounds / 10; ++i) {
      expect_rejected([&] { bank.transfer(0, 4, 1); });   // no account 4
      expect_rejected([&] { bank.transfer(9, 0, 1); });   // no account 9
      expect_rejected([&] { bank.transfer(1, 1, 1); });   // to itself
      expect_rejected([&] { bank.transfer(0, 1, 0); });   // nothing to move
      expect_rejected([&] { bank.transfer(0, 1, -5); });  // a negative amount
      expect_rejected([&] { (void)bank.balance(4); });    // no account 4
    }
  }, "threads making good transfers and bad calls", hang_limit);

  // Then
  EXPECT_EQ(not_rejected.load(), 0) << "a bad index, from == to, or an amount <= 0 must throw std::invalid_argument";
  EXPECT_EQ(succeeded.load(), std::int64_t{4} * kRounds) << "good transfers failed";
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(bank.balance(i), 100) << fmt::format("account {} changed", i);
  EXPECT_EQ(bank.transfers_completed(), succeeded.load()) << "transfers_completed() is off";
}
