// Tests for bounded_queue: FIFO hand-over, blocking when full or empty, timed variants, close()
// waking every waiter and letting consumers drain, and conservation (no item lost, none
// duplicated, order kept per producer) under many producers and consumers.
#include "bounded_queue.hpp"

#include "workbook_test.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <barrier>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using wb::bounded_queue;
using wb::test::background_call;
using wb::test::call_in_background;
using wb::test::hang_limit;
using wb::test::run_concurrently;

// How long a call must stay blocked before we believe it is waiting (generous under TSan).
constexpr auto kPark = 100ms;
// A timeout long enough never to expire during a test: the event must end the wait.
constexpr auto kForever = 1min;

// One item of a producer's stream: who produced it and its place in that producer's order.
struct tagged {
  int producer = 0;
  int seq = 0;
};

// Joins descriptions (the first few) into one message.
std::string first_few(const std::vector<std::string>& problems, std::size_t limit = 5) {
  std::string text;
  for (std::size_t i = 0; i < problems.size() && i < limit; ++i) text += "\n  " + problems[i];
  if (problems.size() > limit) text += fmt::format("\n  ... and {} more", problems.size() - limit);
  return text;
}

// What one consumer saw in a stress run.
struct consumer_log {
  std::vector<tagged> popped;
  std::vector<std::string> order_errors;
  int empty_while_open = 0;  // pop() returned nothing although closed() was still false
};

// Checks that every item of every producer was popped exactly once; returns the problems.
std::vector<std::string> conservation_problems(const std::vector<consumer_log>& logs, int producers,
                                               int per_producer) {
  std::vector<int> times(static_cast<std::size_t>(producers * per_producer), 0);
  std::vector<std::string> problems;
  for (const auto& log : logs) {
    for (const auto& item : log.popped) {
      if (item.producer < 0 || item.producer >= producers || item.seq < 0 || item.seq >= per_producer) {
        problems.push_back(fmt::format("popped item {} of producer {}, which nobody pushed", item.seq, item.producer));
        continue;
      }
      ++times[static_cast<std::size_t>(item.producer * per_producer + item.seq)];
    }
  }
  for (int p = 0; p < producers; ++p) {
    for (int s = 0; s < per_producer; ++s) {
      const int n = times[static_cast<std::size_t>(p * per_producer + s)];
      if (n == 0) problems.push_back(fmt::format("item {} of producer {} was never popped (lost)", s, p));
      if (n > 1) problems.push_back(fmt::format("item {} of producer {} was popped {} times", s, p, n));
    }
  }
  return problems;
}

// Producers push their numbered streams with push(); consumers pop() until the queue is closed
// and drained; the last producer to finish closes the queue. Each consumer checks, as it goes,
// that each producer's items reach it in increasing order and that pop() only returns nothing
// once the queue is closed. `after_each` runs after every successful push and pop.
template <class AfterEach>
std::vector<consumer_log> run_stream(bounded_queue<tagged>& queue, int producers, int consumers,
                                     int per_producer, AfterEach after_each, std::string_view what) {
  std::vector<consumer_log> logs(static_cast<std::size_t>(consumers));
  std::atomic<int> producers_left{producers};
  run_concurrently(producers + consumers, [&](int index) {
    if (index < producers) {
      try {
        for (int s = 0; s < per_producer; ++s) {
          if (!queue.push(tagged{index, s})) throw std::runtime_error("push() returned false on an open queue");
          after_each();
        }
      } catch (...) {
        queue.close();  // release the consumers, so the error is reported instead of a hang
        throw;
      }
      if (producers_left.fetch_sub(1) == 1) queue.close();
      return;
    }
    auto& log = logs[static_cast<std::size_t>(index - producers)];
    std::vector<int> last(static_cast<std::size_t>(producers), -1);
    for (;;) {
      auto item = queue.pop();
      if (!item) {
        if (queue.closed()) break;
        ++log.empty_while_open;  // and keep consuming, to see what else goes wrong
        continue;
      }
      after_each();
      if (item->producer >= 0 && item->producer < producers) {
        int& previous = last[static_cast<std::size_t>(item->producer)];
        if (item->seq <= previous && log.order_errors.size() < 5) {
          log.order_errors.push_back(fmt::format("consumer {} popped item {} of producer {} after its item {}",
                                                 index - producers, item->seq, item->producer, previous));
        }
        previous = std::max(previous, item->seq);
      }
      log.popped.push_back(*item);
    }
  }, what);
  return logs;
}

void expect_stream_intact(const std::vector<consumer_log>& logs, int producers, int per_producer) {
  const auto problems = conservation_problems(logs, producers, per_producer);
  EXPECT_TRUE(problems.empty()) << fmt::format(
      "{} items were lost or duplicated between push() and pop():{}\n"
      "Likely cause: the deque was touched outside the lock, or two consumers took the same front item.",
      problems.size(), first_few(problems));
  std::vector<std::string> order;
  int empty_while_open = 0;
  for (const auto& log : logs) {
    order.insert(order.end(), log.order_errors.begin(), log.order_errors.end());
    empty_while_open += log.empty_while_open;
  }
  EXPECT_TRUE(order.empty()) << fmt::format(
      "items of one producer came out of order:{}\nA queue is first in, first out: pop the front, push the back.",
      first_few(order));
  EXPECT_EQ(empty_while_open, 0) << fmt::format(
      "pop() returned std::nullopt {} times while the queue was still open. pop() must keep waiting "
      "until there is an item or the queue is closed: wait in a `while` loop (or with a predicate), "
      "because a waiter can wake without its condition being true (a spurious wake-up, or another "
      "consumer took the item first).",
      empty_while_open);
}

}  // namespace

TEST(BoundedQueue, RejectsZeroCapacity) {
  // Given / When / Then
  EXPECT_THROW(bounded_queue<int>{0}, std::invalid_argument)
      << "a queue of capacity 0 could never take an item: the constructor must throw std::invalid_argument";
  bounded_queue<int> smallest(1);
  EXPECT_EQ(smallest.capacity(), 1u) << "capacity 1 is valid and must be reported as given";
}

TEST(BoundedQueue, ReportsItsCapacitySizeAndClosedState) {
  // Given
  bounded_queue<int> queue(3);
  // Then
  EXPECT_EQ(queue.capacity(), 3u) << "capacity() must return the capacity given to the constructor";
  EXPECT_EQ(queue.size(), 0u) << "a new queue must be empty";
  EXPECT_FALSE(queue.closed()) << "a new queue must be open";
  // When
  ASSERT_TRUE(queue.push(1));
  ASSERT_TRUE(queue.try_push(2));
  // Then
  EXPECT_EQ(queue.size(), 2u) << "size() must count the items pushed and not yet popped";
  // When
  ASSERT_TRUE(queue.try_pop().has_value());
  // Then
  EXPECT_EQ(queue.size(), 1u) << "size() must go down when an item is popped";
  EXPECT_EQ(queue.capacity(), 3u) << "capacity() must not change";
}

TEST(BoundedQueue, PopsItemsInTheOrderTheyWerePushed) {
  // Given: a queue that is filled and emptied several times, so its storage wraps around
  bounded_queue<int> queue(4);
  std::vector<int> popped;
  // When
  int next = 0;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(queue.push(next++));
    for (int i = 0; i < 2; ++i) {
      auto item = queue.pop();
      ASSERT_TRUE(item.has_value()) << "pop() returned nothing although items were queued";
      popped.push_back(*item);
    }
    auto item = queue.try_pop();
    ASSERT_TRUE(item.has_value()) << "try_pop() returned nothing although an item was queued";
    popped.push_back(*item);
  }
  // Then
  std::vector<int> expected(15);
  for (int i = 0; i < 15; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(popped, expected) << "items must come out first in, first out: take the oldest (front) item";
}

TEST(BoundedQueue, TryPushFailsWhenFullAndTryPopFailsWhenEmpty) {
  // Given
  bounded_queue<int> queue(2);
  // When / Then
  EXPECT_FALSE(queue.try_pop().has_value()) << "try_pop() on an empty queue must return std::nullopt at once";
  EXPECT_TRUE(queue.try_push(1)) << "try_push() into an empty queue must succeed";
  EXPECT_TRUE(queue.try_push(2)) << "try_push() must succeed while there is room";
  EXPECT_FALSE(queue.try_push(3)) << "try_push() into a full queue must return false, not add a third item";
  EXPECT_EQ(queue.size(), 2u) << "a failed try_push() must not change the queue";
  EXPECT_EQ(queue.try_pop(), std::optional<int>(1));
  EXPECT_EQ(queue.try_pop(), std::optional<int>(2));
  EXPECT_FALSE(queue.try_pop().has_value()) << "try_pop() must return std::nullopt once the queue is empty again";
}

TEST(BoundedQueue, PushBlocksWhileFullUntilAPopMakesRoom) {
  // Given: a full queue
  bounded_queue<int> queue(2);
  ASSERT_TRUE(queue.push(1));
  ASSERT_TRUE(queue.push(2));
  // When: a producer pushes a third item
  auto push = call_in_background([&] { return queue.push(3); },
                                 "push() into a full queue, after a pop() had made room");
  // Then: it waits, and a pop releases it
  EXPECT_FALSE(push.finishes_within(kPark)) << "push() returned although the queue was full: it must wait for room";
  EXPECT_EQ(queue.pop(), std::optional<int>(1));
  EXPECT_TRUE(push.get()) << "push() must succeed once a pop() made room (did pop() wake the producers?)";
  EXPECT_EQ(queue.try_pop(), std::optional<int>(2));
  EXPECT_EQ(queue.try_pop(), std::optional<int>(3)) << "the released push() must have appended its item";
}

TEST(BoundedQueue, PopBlocksWhileEmptyUntilAnItemIsPushed) {
  // Given: an empty queue and a consumer waiting on it
  bounded_queue<int> queue(2);
  auto pop = call_in_background([&] { return queue.pop(); }, "pop() on an empty queue, after a push()");
  // When / Then
  EXPECT_FALSE(pop.finishes_within(kPark)) << "pop() returned although the queue was empty and open: it must wait";
  ASSERT_TRUE(queue.push(7));
  EXPECT_EQ(pop.get(), std::optional<int>(7)) << "pop() must return the item pushed while it waited";
}

TEST(BoundedQueue, TryPushForTimesOutWhenFullAndSucceedsWhenRoomAppearsInTime) {
  // Given: a full queue
  bounded_queue<int> queue(1);
  ASSERT_TRUE(queue.push(1));
  // When: nobody makes room
  auto late = call_in_background([&] { return queue.try_push_for(2, 20ms); }, "try_push_for(item, 20ms) on a full queue");
  // Then
  EXPECT_FALSE(late.get()) << "try_push_for() must return false when there is still no room after the timeout";
  EXPECT_EQ(queue.size(), 1u) << "a timed-out try_push_for() must not add its item";
  // When: a consumer makes room while the producer waits
  auto in_time = call_in_background([&] { return queue.try_push_for(3, kForever); },
                                    "try_push_for(item, 1 min) on a full queue, after a pop() made room");
  EXPECT_FALSE(in_time.finishes_within(kPark)) << "try_push_for() returned early although the queue was full";
  EXPECT_EQ(queue.pop(), std::optional<int>(1));
  // Then
  EXPECT_TRUE(in_time.get()) << "try_push_for() must succeed as soon as room appears, not wait for its timeout";
  EXPECT_EQ(queue.try_pop(), std::optional<int>(3));
}

TEST(BoundedQueue, TryPopForTimesOutWhenEmptyAndSucceedsWhenAnItemArrivesInTime) {
  // Given: an empty queue
  bounded_queue<int> queue(1);
  // When: nobody pushes
  auto late = call_in_background([&] { return queue.try_pop_for(20ms); }, "try_pop_for(20ms) on an empty queue");
  // Then
  EXPECT_FALSE(late.get().has_value()) << "try_pop_for() must return std::nullopt when nothing arrives in time";
  // When: a producer pushes while the consumer waits
  auto in_time = call_in_background([&] { return queue.try_pop_for(kForever); },
                                    "try_pop_for(1 min) on an empty queue, after a push()");
  EXPECT_FALSE(in_time.finishes_within(kPark)) << "try_pop_for() returned early although the queue was empty";
  ASSERT_TRUE(queue.push(5));
  // Then
  EXPECT_EQ(in_time.get(), std::optional<int>(5))
      << "try_pop_for() must return the item as soon as it arrives, not wait for its timeout";
}

TEST(BoundedQueue, CloseWakesEveryBlockedConsumer) {
  // Given: three consumers blocked in pop() and one in try_pop_for() on an empty queue
  bounded_queue<int> queue(2);
  std::deque<background_call<std::optional<int>>> consumers;
  for (int i = 0; i < 3; ++i) {
    consumers.emplace_back([&] { return queue.pop(); },
                           fmt::format("consumer {} blocked in pop() when close() was called", i));
  }
  consumers.emplace_back([&] { return queue.try_pop_for(kForever); },
                         "a consumer blocked in try_pop_for(1 min) when close() was called");
  std::this_thread::sleep_for(kPark);
  for (auto& consumer : consumers) {
    EXPECT_FALSE(consumer.finishes_within(1ms))
        << "a consumer returned from pop() on an empty, open queue: it must wait (in a `while` loop)";
  }
  // When
  queue.close();
  // Then: every one of them returns std::nullopt (a hang here means close() woke only some)
  for (auto& consumer : consumers) {
    EXPECT_FALSE(consumer.get().has_value()) << "a consumer woken by close() on an empty queue must get std::nullopt";
  }
}

TEST(BoundedQueue, CloseWakesEveryBlockedProducer) {
  // Given: three producers blocked in push() and one in try_push_for() on a full queue
  bounded_queue<int> queue(1);
  ASSERT_TRUE(queue.push(0));
  std::deque<background_call<bool>> producers;
  for (int i = 1; i <= 3; ++i) {
    producers.emplace_back([&queue, i] { return queue.push(i); },
                           fmt::format("producer {} blocked in push() when close() was called", i));
  }
  producers.emplace_back([&] { return queue.try_push_for(4, kForever); },
                         "a producer blocked in try_push_for(item, 1 min) when close() was called");
  std::this_thread::sleep_for(kPark);
  for (auto& producer : producers) {
    EXPECT_FALSE(producer.finishes_within(1ms))
        << "a producer returned from push() on a full, open queue: it must wait (in a `while` loop)";
  }
  // When
  queue.close();
  // Then: every one of them fails (a hang here means close() woke only some, or push ignores close)
  for (auto& producer : producers) {
    EXPECT_FALSE(producer.get()) << "a producer woken by close() must return false: the queue no longer takes items";
  }
  EXPECT_EQ(queue.pop(), std::optional<int>(0)) << "the item queued before close() must still be there";
  EXPECT_FALSE(queue.pop().has_value()) << "after close() and draining, pop() must return std::nullopt";
}

TEST(BoundedQueue, ConsumersDrainItemsLeftAfterClose) {
  // Given: three items queued, then close()
  bounded_queue<int> queue(4);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(queue.push(i));
  queue.close();
  // When: consumers keep popping, with each form of pop
  auto first = queue.pop();
  auto second = queue.try_pop();
  auto third = call_in_background([&] { return queue.try_pop_for(kForever); },
                                  "try_pop_for(1 min) on a closed queue that still holds an item");
  auto third_item = third.get();
  auto after = call_in_background([&] { return queue.pop(); }, "pop() on a closed, drained queue");
  auto after_item = after.get();
  // Then: they get every item, in order, and only then std::nullopt
  EXPECT_EQ(first, std::optional<int>(1)) << "pop() after close() must still return the items left in the queue";
  EXPECT_EQ(second, std::optional<int>(2)) << "try_pop() after close() must still return the items left";
  EXPECT_EQ(third_item, std::optional<int>(3)) << "try_pop_for() after close() must still return the items left";
  EXPECT_FALSE(after_item.has_value()) << "pop() on a closed, drained queue must return std::nullopt at once";
  EXPECT_FALSE(queue.try_pop().has_value());
  EXPECT_FALSE(queue.try_pop_for(kForever).has_value())
      << "try_pop_for() on a closed, drained queue must return std::nullopt at once";
}

TEST(BoundedQueue, PushAfterCloseFailsAndCloseIsIdempotent) {
  // Given: a queue with room, one item in it
  bounded_queue<int> queue(4);
  ASSERT_TRUE(queue.push(1));
  // When
  queue.close();
  queue.close();  // a second close() is harmless
  // Then
  EXPECT_TRUE(queue.closed()) << "closed() must be true after close()";
  auto push = call_in_background([&] { return queue.push(2); }, "push() on a closed queue with room");
  EXPECT_FALSE(push.get()) << "push() on a closed queue must return false, even when there is room";
  EXPECT_FALSE(queue.try_push(3)) << "try_push() on a closed queue must return false";
  auto timed = call_in_background([&] { return queue.try_push_for(4, kForever); },
                                  "try_push_for(item, 1 min) on a closed queue with room");
  EXPECT_FALSE(timed.get()) << "try_push_for() on a closed queue must return false at once";
  EXPECT_EQ(queue.size(), 1u) << "pushes after close() must not add items";
  EXPECT_EQ(queue.pop(), std::optional<int>(1));
  EXPECT_FALSE(queue.pop().has_value());
}

TEST(BoundedQueue, CarriesMoveOnlyItems) {
  // Given: a queue of std::unique_ptr (which cannot be copied)
  bounded_queue<std::unique_ptr<int>> queue(2);
  // When / Then
  ASSERT_TRUE(queue.push(std::make_unique<int>(1)));
  ASSERT_TRUE(queue.try_push(std::make_unique<int>(2)));
  EXPECT_FALSE(queue.try_push_for(std::make_unique<int>(3), 10ms)) << "the queue was full";
  auto first = queue.pop();
  auto second = queue.try_pop();
  ASSERT_TRUE(first.has_value() && *first != nullptr) << "pop() must return the pointer that was pushed";
  ASSERT_TRUE(second.has_value() && *second != nullptr) << "try_pop() must return the pointer that was pushed";
  EXPECT_EQ(**first, 1);
  EXPECT_EQ(**second, 2);
  ASSERT_TRUE(queue.try_push_for(std::make_unique<int>(4), kForever));
  auto third = queue.try_pop_for(kForever);
  ASSERT_TRUE(third.has_value() && *third != nullptr);
  EXPECT_EQ(**third, 4);
}

TEST(BoundedQueue, ClosedIsSeenByAThreadPollingIt) {
  // Given: a thread polling closed() until it turns true
  bounded_queue<int> queue(1);
  auto watcher = call_in_background([&] {
    int polls = 0;
    while (!queue.closed()) {
      ++polls;
      std::this_thread::yield();
    }
    return polls;
  }, "a thread polling closed() until it is true, after close()");
  std::this_thread::sleep_for(10ms);
  // When
  queue.close();
  // Then: it sees the change (a hang here means it never did)
  watcher.get();
  EXPECT_TRUE(queue.closed());
}

TEST(BoundedQueue, EveryItemIsPoppedExactlyOnceInProducerOrder) {
  // Given: 3 producers pushing 1200 numbered items each, 3 consumers, a small queue
  constexpr int kProducers = 3;
  constexpr int kConsumers = 3;
  constexpr int kPerProducer = 1200;
  bounded_queue<tagged> queue(4);
  // When
  const auto logs = run_stream(queue, kProducers, kConsumers, kPerProducer, [] {},
                               "3 producers and 3 consumers on a queue of capacity 4 (if everyone waits "
                               "at once, a wake-up was lost or went to the wrong kind of waiter)");
  // Then
  expect_stream_intact(logs, kProducers, kPerProducer);
}

TEST(BoundedQueue, NeverHoldsMoreThanItsCapacity) {
  // Given: a queue of capacity 1 fought over by 3 producers and 3 consumers, each of whom looks
  // at size() after every successful push and pop
  constexpr int kProducers = 3;
  constexpr int kConsumers = 3;
  constexpr int kPerProducer = 500;
  bounded_queue<tagged> queue(1);
  std::atomic<int> over_capacity{0};
  std::atomic<std::size_t> largest{0};
  // When
  const auto logs = run_stream(queue, kProducers, kConsumers, kPerProducer, [&] {
    const std::size_t size = queue.size();
    if (size > queue.capacity()) {
      over_capacity.fetch_add(1);
      std::size_t seen = largest.load();
      while (size > seen && !largest.compare_exchange_weak(seen, size)) {
      }
    }
  }, "3 producers and 3 consumers on a queue of capacity 1 (if everyone waits at once, a wake-up "
     "was lost or went to the wrong kind of waiter: with one condition variable for both, "
     "notify_one can wake a producer when a consumer was needed)");
  // Then
  EXPECT_EQ(over_capacity.load(), 0) << fmt::format(
      "size() exceeded capacity() {} times (up to {} items in a queue of capacity 1): push() appended "
      "without room. Re-check the room after every wake-up (a `while` loop, not an `if`), in the same "
      "critical section as the append.",
      over_capacity.load(), largest.load());
  expect_stream_intact(logs, kProducers, kPerProducer);
}

TEST(BoundedQueue, TryPushNeverWaitsEvenWhenProducersRaceForTheLastSlot) {
  // Given: 4 threads, over many rounds, all calling try_push() at once on an empty queue of
  // capacity 1, with items that are slow to move
  struct slow_item {
    int value = 0;
    explicit slow_item(int v) : value(v) {}
    slow_item(slow_item&& other) noexcept : value(other.value) { std::this_thread::sleep_for(500us); }
    slow_item& operator=(slow_item&& other) noexcept {
      value = other.value;
      return *this;
    }
  };
  constexpr int kThreads = 4;
  constexpr int kRounds = 15;
  bounded_queue<slow_item> queue(1);
  std::atomic<int> accepted{0};
  std::vector<int> accepted_per_round;
  std::barrier round_gate(kThreads);
  // When
  run_concurrently(kThreads, [&](int index) {
    for (int round = 0; round < kRounds; ++round) {
      round_gate.arrive_and_wait();
      if (queue.try_push(slow_item(index))) accepted.fetch_add(1);
      round_gate.arrive_and_wait();
      if (index == 0) {
        accepted_per_round.push_back(accepted.exchange(0));
        while (queue.try_pop()) {
        }
      }
    }
  }, "4 threads calling try_push() at once on a queue with one free slot (try_push() must never "
     "wait: if it checks for room in one step and pushes in another, it can find the slot taken "
     "and block in a push() nobody will release)");
  // Then
  std::vector<int> wrong;
  for (std::size_t r = 0; r < accepted_per_round.size(); ++r) {
    if (accepted_per_round[r] != 1) wrong.push_back(static_cast<int>(r));
  }
  EXPECT_TRUE(wrong.empty()) << fmt::format(
      "in {} of {} rounds, the number of try_push() calls that succeeded on an empty queue of capacity 1 "
      "was not exactly 1 (first bad round: {}). Check for room and append in one critical section.",
      wrong.size(), kRounds, wrong.empty() ? -1 : wrong.front());
}

TEST(BoundedQueue, CloseReleasesWaitersThatAreJustStartingToWait) {
  // Given: many rounds of two consumers starting pop() on an empty queue and a producer
  // starting push() on a full one, while another thread closes both queues at about that time
  constexpr int kRounds = 40;
  int wrong_results = 0;
  for (int round = 0; round < kRounds; ++round) {
    bounded_queue<int> empty(1);
    bounded_queue<int> full(1);
    ASSERT_TRUE(full.push(0));
    std::atomic<int> wrong{0};
    // When
    run_concurrently(4, [&](int index) {
      if (index == 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(40 * (round % 10)));
        empty.close();
        full.close();
      } else if (index == 3) {
        if (full.push(index)) wrong.fetch_add(1);
      } else {
        if (empty.pop().has_value()) wrong.fetch_add(1);
      }
    }, fmt::format("round {}: two consumers in pop() and a producer in push() when close() was called "
                   "(a waiter missed close()'s wake-up: was the closed flag set without holding the mutex?)",
                   round), hang_limit);
    wrong_results += wrong.load();
  }
  // Then
  EXPECT_EQ(wrong_results, 0) << "a pop() on an empty queue returned an item, or a push() on a closed queue succeeded";
}
