// Tests for wb::table (dining philosophers) and wb::transfer (two accounts): no deadlock, no
// lock-order cycle, and still mutual exclusion and conserved money.
//
// A deadlock with std::mutex hangs forever and ThreadSanitizer says nothing about it, so two
// things turn it into a fast failure:
//   - a progress watchdog (run_watching_progress below): the workers count every meal or
//     transfer, and when the count stops moving for kStall while they are not done, the test
//     ends and says they probably deadlocked. A correct run makes progress every few
//     microseconds; a deadlocked one never again.
//   - ThreadSanitizer's lock-order detector: it records "B was locked while A was held" and
//     reports any cycle in that graph as a LOCK-ORDER INVERSION, even on a run that happened
//     not to deadlock. The harness turns that report into a test failure. The tests named
//     ...RecordsNoLockOrderCycle take the locks in turn on ONE thread, so they can never
//     deadlock, and fail only through that report.
// The detector has a blind spot, measured here: when two threads close a cycle at the same
// moment, each checks the graph before the other's edge is in it, and the cycle is never
// reported (a stub that could deadlock passed 2 runs in 12 that way). So every concurrent test
// first lets each philosopher eat once, in turn, on the test's thread (set_the_table), or sends
// money both ways once (both_ways_once): the lock orders are then recorded one at a time, and a
// cycle among them is always reported.
// Mutual exclusion is checked by the test's own eat() callbacks: each marks the two forks it
// believes it holds and complains if a neighbour's eat() already marked one of them.
#include "dining.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "workbook_test.hpp"

namespace {

using namespace std::chrono_literals;
using wb::test::fail_hung;
using wb::test::hang_limit;
using wb::test::milliseconds;

// How long the progress counter may stand still, while workers are unfinished, before the test
// calls it a deadlock. Correct code moves it every few microseconds even under TSan.
constexpr milliseconds kStall = 600ms;
// A run that keeps making progress may take this long in all (a loaded machine slows yields a
// lot); the stall check above is what catches a deadlock. Below the launcher's 30 s timeout.
constexpr milliseconds kBackstop = 5 * hang_limit;

// Like wb::test::run_concurrently (start gate, first worker exception rethrown here), but its
// watchdog watches `progress` instead of the clock: no progress for kStall ends the process
// with a message naming `what`. So a deadlock fails in well under a second, while a slow but
// healthy run may take as long as it needs (up to kBackstop in all).
// (Written here rather than in tests/support: only this topic needs a stall detector.)
template <class Body>
void run_watching_progress(int threads, const std::atomic<std::int64_t>& progress, Body body,
                           std::string_view what) {
  std::latch start_gate(threads);
  std::mutex mutex;
  std::condition_variable all_done;
  int finished = 0;                // guarded by mutex
  std::exception_ptr first_error;  // guarded by mutex
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      start_gate.arrive_and_wait();
      std::exception_ptr error;
      try {
        body(i);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex);
      if (error && !first_error) first_error = error;
      ++finished;
      all_done.notify_all();
    });
  }
  {
    const auto started = std::chrono::steady_clock::now();
    auto last_change = started;
    std::int64_t last_seen = progress.load();
    std::unique_lock lock(mutex);
    while (!all_done.wait_for(lock, 10ms, [&] { return finished == threads; })) {
      const auto now = std::chrono::steady_clock::now();
      const std::int64_t seen = progress.load();
      if (seen != last_seen) {
        last_seen = seen;
        last_change = now;
      } else if (now - last_change > kStall) {
        fail_hung(fmt::format("{} (no progress at all for the last {} ms: every thread is waiting "
                              "for a lock another one holds)", what, kStall.count()), kStall);
      }
      if (now - started > kBackstop) fail_hung(what, kBackstop);
    }
  }
  for (auto& worker : workers) worker.join();
  if (first_error) std::rethrow_exception(first_error);
}

// Keeps the caller busy for a moment (a meal), so that a neighbour who wrongly eats at the same
// time overlaps with it.
void chew() {
  for (int i = 0; i < 20; ++i) std::this_thread::yield();
}

// The forks in use, as the philosophers' own eat() callbacks see them: the test's referee.
class fork_referee {
 public:
  explicit fork_referee(std::size_t seats) : in_use_(seats) {}

  // Called at the start of philosopher p's meal: marks its forks taken, counts a clash if a
  // neighbour's meal already had one of them.
  void start(std::size_t p) {
    if (in_use_[p].exchange(true)) clashes_.fetch_add(1);
    if (in_use_[(p + 1) % in_use_.size()].exchange(true)) clashes_.fetch_add(1);
  }
  void finish(std::size_t p) {
    in_use_[p].store(false);
    in_use_[(p + 1) % in_use_.size()].store(false);
  }
  int clashes() const { return clashes_.load(); }

 private:
  std::vector<std::atomic<bool>> in_use_;
  std::atomic<int> clashes_{0};
};

// Each philosopher eats once, one after another, on this thread: records every lock order the
// table uses while nothing can deadlock (see the top of this file).
void set_the_table(wb::table& table) {
  for (std::size_t p = 0; p < table.seats(); ++p) table.dine(p, [] {});
}

// One transfer each way between a and b, on this thread: records both lock orders.
void both_ways_once(wb::account& a, wb::account& b) {
  (void)wb::transfer(a, b, 1);
  (void)wb::transfer(b, a, 1);
}

const char* const kDeadlockFixes =
    "If it hung: every philosopher took the left fork and waited for the right one (a cycle of "
    "waiting threads). Take both with std::scoped_lock, or always the lower-numbered fork first.";

}  // namespace

TEST(Table, EveryPhilosopherEatsEveryMealWithoutDeadlock) {
  // Given: five philosophers at a table of five, released together, 300 meals each
  constexpr std::size_t kSeats = 5;
  constexpr int kMeals = 300;
  wb::table table(kSeats);
  ASSERT_EQ(table.seats(), kSeats);
  set_the_table(table);
  std::array<std::atomic<int>, kSeats> eaten{};
  std::atomic<std::int64_t> progress{0};

  // When
  run_watching_progress(static_cast<int>(kSeats), progress, [&](int t) {
    const auto p = static_cast<std::size_t>(t);
    for (int meal = 0; meal < kMeals; ++meal) {
      table.dine(p, [&] {
        eaten[p].fetch_add(1);
        progress.fetch_add(1);
      });
    }
  }, fmt::format("five philosophers eating {} meals each. {}", kMeals, kDeadlockFixes));

  // Then
  for (std::size_t p = 0; p < kSeats; ++p) {
    EXPECT_EQ(eaten[p].load(), kMeals) << fmt::format(
        "philosopher {} called dine() {} times but its eat() ran {} times: dine() must call eat() "
        "exactly once per call", p, kMeals, eaten[p].load());
  }
}

TEST(Table, NeighboursNeverEatAtTheSameTime) {
  // Given: five philosophers whose meals take a moment, and a referee that sees which forks
  // each meal uses
  constexpr std::size_t kSeats = 5;
  constexpr int kMeals = 200;
  wb::table table(kSeats);
  fork_referee referee(kSeats);
  set_the_table(table);
  std::atomic<std::int64_t> progress{0};

  // When
  run_watching_progress(static_cast<int>(kSeats), progress, [&](int t) {
    const auto p = static_cast<std::size_t>(t);
    for (int meal = 0; meal < kMeals; ++meal) {
      table.dine(p, [&] {
        referee.start(p);
        chew();
        referee.finish(p);
        progress.fetch_add(1);
      });
    }
  }, fmt::format("five philosophers eating slow meals. {}", kDeadlockFixes));

  // Then
  EXPECT_EQ(referee.clashes(), 0) << fmt::format(
      "{} times a philosopher started eating while a neighbour was still eating with their shared "
      "fork: dine() must hold BOTH forks (both mutexes) for the whole of eat(). A std::scoped_lock "
      "that names only one mutex, or a temporary std::scoped_lock{{...}} without a variable name "
      "(it unlocks at the end of its own statement), holds less than that.", referee.clashes());
}

TEST(Table, TwoPhilosophersShareBothForksWithoutDeadlockOrOverlap) {
  // Given: a table of two: both philosophers use forks 0 and 1, in opposite left/right roles
  constexpr int kMeals = 1'000;
  wb::table table(2);
  set_the_table(table);
  std::atomic<int> eating{0};
  std::atomic<int> overlaps{0};
  std::array<std::atomic<int>, 2> eaten{};
  std::atomic<std::int64_t> progress{0};

  // When
  run_watching_progress(2, progress, [&](int t) {
    const auto p = static_cast<std::size_t>(t);
    for (int meal = 0; meal < kMeals; ++meal) {
      table.dine(p, [&] {
        if (eating.fetch_add(1) != 0) overlaps.fetch_add(1);
        std::this_thread::yield();
        eating.fetch_sub(1);
        eaten[p].fetch_add(1);
        progress.fetch_add(1);
      });
    }
  }, fmt::format("two philosophers sharing both forks (philosopher 0 holds fork 0 and waits for "
                 "fork 1 while philosopher 1 holds fork 1 and waits for fork 0). {}", kDeadlockFixes));

  // Then
  EXPECT_EQ(overlaps.load(), 0) << "the two philosophers ate at the same time although they share both forks";
  EXPECT_EQ(eaten[0].load(), kMeals) << "philosopher 0 did not eat every meal";
  EXPECT_EQ(eaten[1].load(), kMeals) << "philosopher 1 did not eat every meal";
}

TEST(Table, PhilosophersWhoAreNotNeighboursEatAtTheSameTime) {
  // Given: four philosophers: 0 and 2 share no fork, nor do 1 and 3, so two can eat at once.
  // Each meal lingers (up to 20 ms) until it sees a second philosopher eating, until once two
  // were seen together.
  constexpr std::size_t kSeats = 4;
  constexpr int kMeals = 50;
  wb::table table(kSeats);
  set_the_table(table);
  std::atomic<int> eating{0};
  std::atomic<int> most_at_once{0};
  std::atomic<std::int64_t> progress{0};

  // When
  run_watching_progress(static_cast<int>(kSeats), progress, [&](int t) {
    const auto p = static_cast<std::size_t>(t);
    for (int meal = 0; meal < kMeals; ++meal) {
      table.dine(p, [&] {
        const int now_eating = eating.fetch_add(1) + 1;
        int most = most_at_once.load();
        while (most < now_eating && !most_at_once.compare_exchange_weak(most, now_eating)) {
        }
        const auto give_up = std::chrono::steady_clock::now() + 20ms;
        while (most_at_once.load() < 2 && std::chrono::steady_clock::now() < give_up) {
          std::this_thread::yield();
          progress.fetch_add(1);  // lingering on purpose is not a deadlock
        }
        eating.fetch_sub(1);
        progress.fetch_add(1);
      });
    }
  }, fmt::format("four philosophers eating. {}", kDeadlockFixes));

  // Then
  EXPECT_EQ(most_at_once.load(), 2) << fmt::format(
      "at most {} philosophers ever ate at once, but 0 and 2 (or 1 and 3) share no fork and should "
      "eat in parallel: one lock for the whole table avoids deadlock by serializing every meal. "
      "Lock the two forks of this philosopher and nothing else.", most_at_once.load());
}

TEST(Table, AMealThatThrowsStillPutsBothForksDown) {
  // Given: five philosophers; every seventh meal of each throws
  constexpr std::size_t kSeats = 5;
  constexpr int kMeals = 140;
  wb::table table(kSeats);
  set_the_table(table);
  std::atomic<int> thrown_out{0};
  std::atomic<int> wrong_exception{0};
  std::atomic<std::int64_t> progress{0};

  // When: the exception leaves dine(); the philosopher catches it and goes on eating
  run_watching_progress(static_cast<int>(kSeats), progress, [&](int t) {
    const auto p = static_cast<std::size_t>(t);
    for (int meal = 0; meal < kMeals; ++meal) {
      try {
        table.dine(p, [&] {
          progress.fetch_add(1);
          if (meal % 7 == 3) throw std::runtime_error("spilled the soup");
        });
      } catch (const std::runtime_error& error) {
        if (std::string_view(error.what()) == "spilled the soup") thrown_out.fetch_add(1);
        else wrong_exception.fetch_add(1);
      } catch (...) {
        wrong_exception.fetch_add(1);
      }
    }
  }, "philosophers whose meals sometimes throw (if it hung: a fork stayed locked after eat() "
     "threw. Lock with RAII, std::scoped_lock, never bare lock()/unlock() around a callback)");

  // Then
  EXPECT_EQ(thrown_out.load(), static_cast<int>(kSeats) * kMeals / 7)
      << "dine() must let eat()'s exception reach its caller, unchanged";
  EXPECT_EQ(wrong_exception.load(), 0) << "dine() replaced eat()'s exception with another one";
}

TEST(Table, RejectsTooFewSeatsAndUnknownPhilosophers) {
  // Given
  EXPECT_THROW(wb::table(0), std::invalid_argument) << "a table of 0 seats must throw std::invalid_argument";
  EXPECT_THROW(wb::table(1), std::invalid_argument)
      << "a table of 1 seat must throw std::invalid_argument: the philosopher's left and right "
         "fork would be the same mutex, locked twice";
  constexpr std::size_t kSeats = 3;
  constexpr int kMeals = 300;
  wb::table table(kSeats);
  set_the_table(table);
  std::atomic<int> not_rejected{0};
  std::atomic<int> ate_anyway{0};
  std::atomic<std::int64_t> progress{0};

  // When: three philosophers dine while a fourth thread asks for philosophers 3 and 4
  run_watching_progress(static_cast<int>(kSeats) + 1, progress, [&](int t) {
    if (t < static_cast<int>(kSeats)) {
      for (int meal = 0; meal < kMeals; ++meal) {
        table.dine(static_cast<std::size_t>(t), [&] { progress.fetch_add(1); });
      }
      return;
    }
    for (int i = 0; i < kMeals; ++i) {
      try {
        table.dine(kSeats + static_cast<std::size_t>(i % 2), [&] { ate_anyway.fetch_add(1); });
        not_rejected.fetch_add(1);
      } catch (const std::invalid_argument&) {
      }
    }
  }, fmt::format("three philosophers eating while bad calls come in. {}", kDeadlockFixes));

  // Then
  EXPECT_EQ(not_rejected.load(), 0) << "dine() with a philosopher >= seats() must throw std::invalid_argument";
  EXPECT_EQ(ate_anyway.load(), 0) << "dine() called eat() for a philosopher who is not at the table";
}

TEST(Table, DiningInTurnsOnOneThreadRecordsNoLockOrderCycle) {
  // Given: five philosophers, but ONE thread: they eat one after another, so nothing can
  // deadlock on this run
  constexpr std::size_t kSeats = 5;
  wb::table table(kSeats);
  int eaten = 0;

  // When: each eats once, around the table
  for (std::size_t p = 0; p < kSeats; ++p) table.dine(p, [&] { ++eaten; });

  // Then: ThreadSanitizer saw no cycle in the order the forks were locked. Philosopher p
  // locking fork p and then fork p+1, for every p, records 0 -> 1 -> 2 -> 3 -> 4 -> 0: a
  // LOCK-ORDER INVERSION report (which fails this test) means that five threads doing the same
  // at the same moment could each hold one fork and wait forever for the next.
  EXPECT_EQ(eaten, static_cast<int>(kSeats)) << "each philosopher's eat() should have run once";
}

TEST(Transfer, OppositeDirectionsBetweenTheSamePairFinishAndConserveMoney) {
  // Given: two accounts; two threads send money a -> b while two others send it b -> a
  constexpr int kTransfers = 2'000;
  wb::account a(1'000'000);
  wb::account b(1'000'000);
  both_ways_once(a, b);
  std::atomic<std::int64_t> succeeded{0};

  // When
  run_watching_progress(4, succeeded, [&](int t) {
    for (int i = 0; i < kTransfers; ++i) {
      if (t % 2 == 0 ? wb::transfer(a, b, 1) : wb::transfer(b, a, 1)) succeeded.fetch_add(1);
    }
  }, "transfers a -> b at the same time as b -> a (if they lock `from` and then `to`, each holds "
     "the lock the other waits for: lock both with std::scoped_lock, or in one global order "
     "that does not depend on the direction, e.g. by address)");

  // Then
  EXPECT_EQ(succeeded.load(), 4 * kTransfers) << "a transfer of 1 from an account holding about 1,000,000 returned false";
  EXPECT_EQ(a.balance(), 1'000'000) << "account a should be back where it started";
  EXPECT_EQ(b.balance(), 1'000'000) << "account b should be back where it started";
}

TEST(Transfer, AroundACycleOfAccountsDoesNotDeadlock) {
  // Given: three accounts in a ring; thread i sends money from account i to account i+1, so
  // the transfers form a cycle (the philosophers' table, with accounts for forks)
  constexpr int kTransfers = 2'000;
  std::array<wb::account, 3> accounts{wb::account(1'000), wb::account(1'000), wb::account(1'000)};
  for (std::size_t i = 0; i < 3; ++i) both_ways_once(accounts[i], accounts[(i + 1) % 3]);
  std::atomic<std::int64_t> progress{0};

  // When
  run_watching_progress(3, progress, [&](int t) {
    const auto from = static_cast<std::size_t>(t);
    for (int i = 0; i < kTransfers; ++i) {
      (void)wb::transfer(accounts[from], accounts[(from + 1) % 3], 1 + i % 5);
      progress.fetch_add(1);
    }
  }, "transfers 0 -> 1, 1 -> 2 and 2 -> 0 at the same time (if each locks `from` first, each can "
     "hold its own and wait for the next; if the order depends on something that changes, like "
     "the balances, two transfers can still take the same pair in opposite orders)");

  // Then
  std::int64_t total = 0;
  for (const auto& account : accounts) {
    EXPECT_GE(account.balance(), 0) << "an account went below zero";
    total += account.balance();
  }
  EXPECT_EQ(total, 3'000) << "money was created or destroyed";
}

TEST(Transfer, ToTheSameAccountChangesNothingAndDoesNotDeadlock) {
  // Given: two accounts of 10,000; one thread sends money from a to a while two others move
  // money between a and b (at most 1,000 each way, so a always holds at least 9,000)
  constexpr int kTransfers = 1'000;
  wb::account a(10'000);
  wb::account b(10'000);
  both_ways_once(a, b);
  std::atomic<int> wrong_results{0};
  std::atomic<std::int64_t> progress{0};

  // When
  run_watching_progress(3, progress, [&](int t) {
    for (int i = 0; i < kTransfers; ++i) {
      if (t == 0) {
        if (!wb::transfer(a, a, 1)) wrong_results.fetch_add(1);               // a always holds >= 9,000
        if (wb::transfer(a, a, 1'000'000)) wrong_results.fetch_add(1);        // a never holds that much
      } else if (t == 1) {
        (void)wb::transfer(a, b, 1);
      } else {
        (void)wb::transfer(b, a, 1);
      }
      progress.fetch_add(1);
    }
  }, "a transfer from an account to itself (std::mutex is not recursive: locking the same "
     "account's mutex twice on one thread waits for itself forever, and std::scoped_lock with "
     "the same mutex twice is undefined and never returns; check from == to and lock it once)");

  // Then
  EXPECT_EQ(wrong_results.load(), 0)
      << "transfer(a, a, x) must return whether a holds x (and move nothing)";
  EXPECT_EQ(a.balance() + b.balance(), 20'000) << "money was created or destroyed";
}

TEST(Transfer, RefusesOverdraftsAndNonPositiveAmountsWithoutMovingMoney) {
  // Given
  EXPECT_THROW(wb::account(-1), std::invalid_argument) << "a negative opening balance must throw std::invalid_argument";
  constexpr int kThreads = 4;
  constexpr int kRounds = 300;
  std::vector<std::unique_ptr<wb::account>> accounts;
  for (int i = 0; i < kThreads; ++i) {  // one pair per thread: 10 and 0
    accounts.push_back(std::make_unique<wb::account>(10));
    accounts.push_back(std::make_unique<wb::account>(0));
  }
  for (int i = 0; i < kThreads; ++i) both_ways_once(*accounts[2 * static_cast<std::size_t>(i)], *accounts[2 * static_cast<std::size_t>(i) + 1]);
  std::atomic<int> wrongly_allowed{0};
  std::atomic<int> wrongly_refused{0};
  std::atomic<int> not_rejected{0};
  std::atomic<std::int64_t> progress{0};

  // When: each thread asks for too much, exactly enough, too much again, and sends it back
  run_watching_progress(kThreads, progress, [&](int t) {
    wb::account& a = *accounts[2 * static_cast<std::size_t>(t)];
    wb::account& b = *accounts[2 * static_cast<std::size_t>(t) + 1];
    for (int i = 0; i < kRounds; ++i) {
      if (wb::transfer(a, b, 11)) wrongly_allowed.fetch_add(1);
      if (!wb::transfer(a, b, 10)) wrongly_refused.fetch_add(1);
      if (wb::transfer(a, b, 1)) wrongly_allowed.fetch_add(1);
      if (!wb::transfer(b, a, 10)) wrongly_refused.fetch_add(1);
      for (const std::int64_t bad : {0, -5}) {
        try {
          (void)wb::transfer(a, b, bad);
          not_rejected.fetch_add(1);
        } catch (const std::invalid_argument&) {
        }
      }
      progress.fetch_add(1);
    }
  }, "threads moving money back and forth within their own pair of accounts (a -> b, then b -> a: "
     "one thread alone cannot deadlock, but the two lock orders it records could with two threads)");

  // Then
  EXPECT_EQ(wrongly_allowed.load(), 0) << "transfer() returned true although `from` held less than the amount";
  EXPECT_EQ(wrongly_refused.load(), 0) << "transfer() returned false although `from` held exactly the amount";
  EXPECT_EQ(not_rejected.load(), 0) << "an amount of 0 or below must throw std::invalid_argument";
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(accounts[2 * static_cast<std::size_t>(t)]->balance(), 10) << "a refused transfer moved money";
    EXPECT_EQ(accounts[2 * static_cast<std::size_t>(t) + 1]->balance(), 0) << "a refused transfer moved money";
  }
}

TEST(Transfer, BothDirectionsOnOneThreadRecordNoLockOrderCycle) {
  // Given: two accounts, and ONE thread: nothing can deadlock on this run
  wb::account a(100);
  wb::account b(50);

  // When: money goes a -> b, then b -> a, and back, so that which account is richer changes too
  EXPECT_TRUE(wb::transfer(a, b, 60));   // a 40, b 110
  EXPECT_TRUE(wb::transfer(b, a, 100));  // a 140, b 10
  EXPECT_TRUE(wb::transfer(a, b, 90));   // a 50, b 100
  EXPECT_TRUE(wb::transfer(b, a, 50));   // a 100, b 50

  // Then: ThreadSanitizer saw both transfers lock the two mutexes in the same order. A
  // LOCK-ORDER INVERSION report (which fails this test) means a -> b locked a then b and b -> a
  // locked b then a (or the order followed something that changes, like the balances): two
  // threads doing that at the same moment could wait for each other forever.
  EXPECT_EQ(a.balance(), 100);
  EXPECT_EQ(b.balance(), 50);
}
