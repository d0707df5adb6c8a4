// Tests for event and turn_sequencer: blocking and waking (every waiter, no lost wake-ups, no
// early returns), timeouts, and strict turn order over thousands of turns.
#include "conditions.hpp"

#include "workbook_test.hpp"

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using wb::test::call_in_background;
using wb::test::hang_limit;
using wb::test::run_concurrently;

// How long a call must stay blocked before we believe it blocks. Generous, not exact.
constexpr auto kStillBlocked = 100ms;

// Runs `waiters` threads that each announce themselves and then call event.wait(), plus one
// thread that waits for the announcements, lets the waiters park for `park`, then sets the
// event. Returns how many waiters found the event clear right after wait() returned.
int count_early_returns(wb::event& event, int waiters, std::chrono::milliseconds park) {
  std::latch announced(waiters);
  std::atomic<int> early{0};
  run_concurrently(waiters + 1, [&](int index) {
    if (index == waiters) {
      announced.wait();
      std::this_thread::sleep_for(park);
      event.set();
      return;
    }
    announced.count_down();
    event.wait();
    if (!event.is_set()) early.fetch_add(1);  // nobody clears in this test
  }, fmt::format("{} threads in wait() and one set() (a hang: some waiter never woke up -- set() "
                 "used notify_one, or changed the flag outside the mutex, or notified before "
                 "changing it, so a notify was lost)", waiters),
     hang_limit);
  return early.load();
}

// Runs `parties` threads, thread p playing party p for `turns` turns, and returns the parties
// in the order their actions ran and how many actions overlapped another. The first turn out
// of order and the first overlap are reported at once, from the action itself: a sequencer
// that lets a party jump the queue usually hangs a little later, and the hang report alone
// would hide the cause.
struct turn_record {
  std::vector<int> order;
  int overlaps = 0;
};

turn_record take_turns(int parties, int turns) {
  wb::turn_sequencer sequencer(parties);
  std::mutex record_mutex;
  turn_record record;  // guarded by record_mutex
  bool reported = false;  // guarded by record_mutex
  std::atomic<int> running{0};
  run_concurrently(parties, [&](int party) {
    for (int i = 0; i < turns; ++i) {
      sequencer.run_turn(party, [&] {
        const bool alone = running.fetch_add(1) == 0;
        {
          std::lock_guard lock(record_mutex);
          const std::size_t turn = record.order.size();
          const int due = static_cast<int>(turn % static_cast<std::size_t>(parties));
          record.order.push_back(party);
          if (!alone) ++record.overlaps;
          if (!reported && (party != due || !alone)) {
            reported = true;
            ADD_FAILURE() << (party != due
                ? fmt::format("turn {} ran party {} but party {} was due: a thread went ahead "
                              "without its turn (an `if` instead of a `while` around the wait "
                              "lets a spurious or stray wake-up through)", turn, party, due)
                : fmt::format("turn {} (party {}) ran while another party's action was still "
                              "running: two parties believed it was their turn", turn, party));
          }
        }
        running.fetch_sub(1);
      });
    }
  }, fmt::format("{} parties taking {} turns each (a hang: the party whose turn it was never woke "
                 "up -- notify_one where every waiter must check, or the turn passed outside the "
                 "mutex)", parties, turns));
  return record;
}

// "" if `order` is 0, 1, ..., parties - 1, 0, 1, ... for `total` turns, else what went wrong.
std::string describe_order_error(const std::vector<int>& order, int parties, int total) {
  for (std::size_t i = 0; i < order.size(); ++i) {
    const int due = static_cast<int>(i % static_cast<std::size_t>(parties));
    if (order[i] != due) {
      return fmt::format("turn {} ran party {} but party {} was due: a thread went ahead without "
                         "its turn (an `if` instead of a `while` around the wait lets a spurious "
                         "or stray wake-up through)", i, order[i], due);
    }
  }
  if (static_cast<int>(order.size()) != total) {
    return fmt::format("{} turns ran instead of {}", order.size(), total);
  }
  return "";
}

// Keeps the calling thread busy (yielding) for about `duration`: a slow step owned by the test.
void pause_for(std::chrono::microseconds duration) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) std::this_thread::yield();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// event

TEST(Event, StartsClear) {
  // Given
  wb::event event;
  // When / Then
  EXPECT_FALSE(event.is_set()) << "a new event must start clear";
  EXPECT_FALSE(event.wait_for(10ms)) << "wait_for on a new event returned true, but nobody set it";
}

TEST(Event, IsSetFollowsSetAndClear) {
  // Given
  wb::event event;
  // When / Then
  event.set();
  EXPECT_TRUE(event.is_set()) << "is_set() is false right after set()";
  event.set();
  EXPECT_TRUE(event.is_set()) << "setting a set event must leave it set";
  event.clear();
  EXPECT_FALSE(event.is_set()) << "is_set() is still true after clear()";
  event.clear();
  EXPECT_FALSE(event.is_set()) << "clearing a clear event must leave it clear";
  event.set();
  EXPECT_TRUE(event.is_set()) << "is_set() is false after set(), clear(), set()";
}

TEST(Event, WaitReturnsAtOnceWhenAlreadySet) {
  // Given
  wb::event event;
  event.set();
  // When
  auto wait = call_in_background([&] {
    for (int i = 0; i < 20; ++i) event.wait();
  }, "20 calls of wait() on an event that was already set (a wait that blocks before checking the "
     "flag sleeps until a set() that never comes)");
  // Then
  wait.get();  // fails, saying so, if wait() blocks
  EXPECT_TRUE(event.is_set()) << "wait() must not clear the event";
}

TEST(Event, WaitBlocksUntilSet) {
  // Given
  wb::event event;
  // When
  auto wait = call_in_background([&] { event.wait(); }, "wait() after set() was called");
  // Then
  EXPECT_FALSE(wait.finishes_within(kStillBlocked))
      << "wait() returned although nobody had set the event (an `if` instead of a `while` "
         "around the condition variable's wait returns on a spurious wake-up)";
  event.set();
  wait.get();
}

TEST(Event, WaitNeverReturnsWhileTheEventIsClear) {
  // Given: 10 rounds of 4 threads that start waiting before the event is set
  int early = 0;
  // When
  for (int round = 0; round < 10; ++round) {
    wb::event event;
    early += count_early_returns(event, 4, 2ms);
  }
  // Then
  EXPECT_EQ(early, 0) << fmt::format(
      "wait() returned {} times while the event was still clear: a condition variable may wake "
      "up without a notify (a spurious wake-up, which this test injects), so the flag must be "
      "checked again after every wake-up: `while (!flag) cv.wait(lock);` or the predicate "
      "overload, never `if`", early);
}

TEST(Event, SetWakesEveryWaiter) {
  // Given: 6 threads parked in wait() (given 100 ms to get there)
  wb::event event;
  constexpr int kWaiters = 6;
  // When: one set() (count_early_returns fails naming the hang if some waiter never wakes)
  const int early = count_early_returns(event, kWaiters, kStillBlocked);
  // Then
  EXPECT_EQ(early, 0) << "some wait() returned before set()";
  EXPECT_TRUE(event.is_set());
}

TEST(Event, ClearMakesLaterWaitsBlockAgain) {
  // Given
  wb::event event;
  event.set();
  event.wait();
  // When
  event.clear();
  auto wait = call_in_background([&] { event.wait(); }, "wait() after clear() and a new set()");
  // Then
  EXPECT_FALSE(wait.finishes_within(kStillBlocked))
      << "wait() returned at once after clear(): clear() must lower the flag so that later "
         "waits block until the next set()";
  event.set();
  wait.get();
}

TEST(Event, WaitForReturnsFalseWhenTheTimeRunsOut) {
  // Given
  wb::event event;
  constexpr auto kTimeout = 50ms;
  // When
  const auto start = std::chrono::steady_clock::now();
  auto wait = call_in_background([&] { return event.wait_for(kTimeout); }, "wait_for(50ms) on a clear event");
  const bool result = wait.get();
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  // Then
  EXPECT_FALSE(result) << "wait_for returned true although nobody set the event: it must "
                          "return the flag (false on a timeout), not `true` for \"done waiting\"";
  EXPECT_GE(waited, kTimeout - 10ms) << fmt::format(
      "wait_for(50ms) gave up after only {} ms: it must wait the whole timeout (and wait again "
      "after a spurious wake-up, until the deadline)", waited.count());
  EXPECT_FALSE(event.is_set()) << "wait_for must not change the flag";
}

TEST(Event, WaitForReturnsTrueAtOnceWhenAlreadySet) {
  // Given
  wb::event event;
  event.set();
  // When: a timeout far longer than the test may take
  auto wait = call_in_background([&] { return event.wait_for(std::chrono::minutes(10)); },
                                 "wait_for(10 min) on an event that was already set (it must "
                                 "check the flag before waiting for a notification)");
  // Then
  EXPECT_TRUE(wait.get()) << "wait_for on a set event must return true";
  EXPECT_TRUE(event.wait_for(0ms)) << "wait_for(0ms) on a set event must return true";
}

TEST(Event, WaitForReturnsTrueWhenSetInTime) {
  // Given
  wb::event event;
  // When
  auto wait = call_in_background([&] { return event.wait_for(std::chrono::minutes(10)); },
                                 "wait_for(10 min) after set() was called");
  // Then
  EXPECT_FALSE(wait.finishes_within(kStillBlocked))
      << "wait_for returned although nobody had set the event";
  event.set();
  EXPECT_TRUE(wait.get()) << "wait_for must return true when the event is set before the timeout";
}

TEST(Event, PingPongThousandsOfTimesWithoutLosingAWakeUp) {
  // Given: two threads that hand a ball back and forth with two events; the ball is a plain
  // int, so it is the events that must order the accesses to it
  wb::event serve;
  wb::event reply;
  constexpr int kRounds = 1500;
  int ball = 0;
  std::atomic<int> out_of_turn{0};
  // When
  run_concurrently(2, [&](int index) {
    for (int round = 0; round < kRounds; ++round) {
      if (index == 0) {
        if (ball != 2 * round) out_of_turn.fetch_add(1);
        ++ball;
        serve.set();
        reply.wait();
        reply.clear();
      } else {
        serve.wait();
        serve.clear();
        if (ball != 2 * round + 1) out_of_turn.fetch_add(1);
        ++ball;
        reply.set();
      }
    }
  }, fmt::format("two threads handing a ball back and forth {} times with set() and wait() (a hang: "
                 "a set() happened between a waiter's check of the flag and its wait, so its "
                 "notify was lost -- the flag must be changed while holding the mutex, before "
                 "the notify)", kRounds));
  // Then
  EXPECT_EQ(out_of_turn.load(), 0) << "a thread moved before the other had set its event: "
                                      "wait() returned while the event was clear";
  EXPECT_EQ(ball, 2 * kRounds) << "the ball was not hit exactly once per half-round";
}

TEST(Event, SetClearAndIsSetMayBeCalledFromManyThreadsAtOnce) {
  // Given: two threads toggling the flag while two others read it
  wb::event event;
  constexpr int kToggles = 2000;
  // When
  run_concurrently(4, [&](int index) {
    for (int i = 0; i < kToggles; ++i) {
      if (index < 2) {
        event.set();
        event.clear();
      } else if (index == 2) {
        (void)event.is_set();
      } else {
        (void)event.wait_for(0ms);
      }
    }
  }, "threads calling set(), clear(), is_set() and wait_for() at once");
  event.set();
  // Then: ThreadSanitizer stops the test if any of them touched the flag without the mutex
  EXPECT_TRUE(event.is_set());
  auto wait = call_in_background([&] { event.wait(); }, "wait() after the final set()");
  wait.get();
}

// ---------------------------------------------------------------------------------------------
// turn_sequencer

TEST(TurnSequencer, TwoPartiesStrictlyAlternate) {
  // Given / When (a turn out of order is reported as it happens, see take_turns)
  constexpr int kTurns = 1500;
  const turn_record record = take_turns(2, kTurns);
  // Then
  const std::string error = describe_order_error(record.order, 2, 2 * kTurns);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(record.overlaps, 0) << fmt::format(
      "{} actions ran while another party's action was still running", record.overlaps);
}

TEST(TurnSequencer, ThreePartiesTakeTurnsInOrder) {
  // Given / When (a turn out of order is reported as it happens, see take_turns)
  constexpr int kTurns = 700;
  const turn_record record = take_turns(3, kTurns);
  // Then
  const std::string error = describe_order_error(record.order, 3, 3 * kTurns);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(record.overlaps, 0) << fmt::format(
      "{} actions ran while another party's action was still running", record.overlaps);
}

TEST(TurnSequencer, PartiesArrivingAtRandomMomentsNeverMissTheirTurn) {
  // Given: two parties whose actions take a while and who come back for their next turn after
  // a random pause, so a party often arrives while the other is in the middle of its turn
  wb::turn_sequencer sequencer(2);
  constexpr int kTurns = 500;
  std::atomic<int> out_of_turn{0};
  int next_due = 0;  // written only inside actions: the sequencer must order them
  // When
  run_concurrently(2, [&](int party) {
    std::minstd_rand random(static_cast<unsigned>(party + 1) * 7919u);
    for (int i = 0; i < kTurns; ++i) {
      pause_for(std::chrono::microseconds(random() % 300));
      sequencer.run_turn(party, [&] {
        if (next_due != party) out_of_turn.fetch_add(1);
        pause_for(std::chrono::microseconds(50 + random() % 100));
        next_due = 1 - party;
      });
    }
  }, fmt::format("2 parties taking {} turns each at random moments (a hang: a party checked the "
                 "turn, and before it was asleep the turn was passed to it and the notify was "
                 "lost -- the turn must be changed while holding the mutex)", kTurns));
  // Then
  EXPECT_EQ(out_of_turn.load(), 0) << "a party ran its action when it was not its turn";
}

TEST(TurnSequencer, EachTurnSeesWhatEarlierTurnsDid) {
  // Given: three parties appending to a plain vector, with no lock of the test's own: the
  // sequencer alone must order the actions (ThreadSanitizer checks that it does)
  wb::turn_sequencer sequencer(3);
  constexpr int kTurns = 300;
  std::vector<int> order;
  order.reserve(3 * kTurns);
  // When
  run_concurrently(3, [&](int party) {
    for (int i = 0; i < kTurns; ++i) sequencer.run_turn(party, [&] { order.push_back(party); });
  }, "3 parties appending to a vector in turn");
  // Then
  const std::string error = describe_order_error(order, 3, 3 * kTurns);
  EXPECT_TRUE(error.empty()) << error;
}

TEST(TurnSequencer, PartiesStartedInAnyOrderStillGoInOrder) {
  // Given: parties 2 and 1 arrive first
  wb::turn_sequencer sequencer(3);
  std::mutex order_mutex;
  std::vector<int> order;  // guarded by order_mutex
  auto run = [&](int party) {
    sequencer.run_turn(party, [&] {
      std::lock_guard lock(order_mutex);
      order.push_back(party);
    });
  };
  auto third = call_in_background([&] { run(2); }, "run_turn(2, ...) after parties 0 and 1 ran");
  EXPECT_FALSE(third.finishes_within(kStillBlocked)) << "party 2 ran before party 0 had its turn";
  auto second = call_in_background([&] { run(1); }, "run_turn(1, ...) after party 0 ran");
  EXPECT_FALSE(second.finishes_within(kStillBlocked)) << "party 1 ran before party 0 had its turn";
  // When: party 0 arrives last
  run(0);
  second.get();
  third.get();
  // Then
  std::lock_guard lock(order_mutex);
  const std::string error = describe_order_error(order, 3, 3);
  EXPECT_TRUE(error.empty()) << error;
}

TEST(TurnSequencer, ASinglePartyNeverWaits) {
  // Given
  wb::turn_sequencer sequencer(1);
  constexpr int kTurns = 1000;
  // When
  auto calls = call_in_background([&] {
    int ran = 0;
    for (int i = 0; i < kTurns; ++i) sequencer.run_turn(0, [&] { ++ran; });
    return ran;
  }, "1000 turns of a single party (the turn must pass from party 0 back to party 0)");
  // Then
  EXPECT_EQ(calls.get(), kTurns) << "each run_turn must run its action exactly once";
}

TEST(TurnSequencer, ThrowingActionStillPassesTheTurn) {
  // Given
  wb::turn_sequencer sequencer(2);
  bool second_ran = false;
  // When
  EXPECT_THROW(sequencer.run_turn(0, [] { throw std::runtime_error("action failed"); }), std::runtime_error)
      << "the action's exception must reach run_turn's caller";
  auto next = call_in_background([&] { sequencer.run_turn(1, [&] { second_ran = true; }); },
                                 "party 1's turn after party 0's action threw (the turn must be "
                                 "passed on even when the action throws)");
  next.get();
  // Then
  EXPECT_TRUE(second_ran);
}

TEST(TurnSequencer, RejectsBadArguments) {
  // Given / When / Then
  EXPECT_THROW((void)wb::turn_sequencer(0), std::invalid_argument) << "zero parties must be rejected";
  EXPECT_THROW((void)wb::turn_sequencer(-2), std::invalid_argument) << "negative parties must be rejected";
  wb::turn_sequencer sequencer(3);
  bool ran = false;
  EXPECT_THROW(sequencer.run_turn(3, [&] { ran = true; }), std::invalid_argument)
      << "party 3 of 3 parties (valid: 0, 1, 2) must be rejected";
  EXPECT_THROW(sequencer.run_turn(-1, [&] { ran = true; }), std::invalid_argument)
      << "party -1 must be rejected";
  EXPECT_FALSE(ran) << "a rejected run_turn must not run the action";
  auto first = call_in_background([&] { sequencer.run_turn(0, [&] { ran = true; }); },
                                  "party 0's first turn after rejected calls");
  first.get();
  EXPECT_TRUE(ran) << "rejected calls must not use up or move the turn";
}
