// Tests for locked_counter and atomic_counter: exact totals under contention, monotonic reads,
// argument checks. The same checks run on both classes (they share a contract).
#include "counter.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>

#include "workbook_test.hpp"

namespace {

using wb::test::run_concurrently;

constexpr int kThreads = 4;
// Many short rounds, each opened by a fresh start gate, instead of one long run: on 2 cores the
// threads of one long run soon drift apart and take turns, while a round that starts all of them
// at once keeps them overlapping (measured: a load-then-store "atomic" counter lost increments
// in 10-16 of 20 one-run tests, and in 20 of 20 with rounds).
constexpr int kRounds = 50;
constexpr int kIncrementsPerRound = 1'000;  // per thread

template <class Counter>
void expect_starts_at_zero() {
  // Given: memory full of garbage, as reused heap or stack memory may be
  alignas(Counter) unsigned char storage[sizeof(Counter)];
  std::memset(storage, 0xA5, sizeof storage);
  // When: a counter is default-initialized there (`Counter counter;` does the same on the stack)
  auto* counter = new (storage) Counter;
  const std::int64_t first = counter->value();
  counter->~Counter();
  // Then
  EXPECT_EQ(first, 0) << fmt::format(
      "a new counter read {}, not 0: its count was never initialized, so it started with whatever "
      "the memory held (give the member an initializer: `std::int64_t value_ = 0;`)", first);
}

template <class Counter>
void expect_every_increment_counted() {
  // Given
  Counter counter;
  // When
  for (int round = 0; round < kRounds; ++round) {
    run_concurrently(kThreads, [&](int) {
      for (int i = 0; i < kIncrementsPerRound; ++i) counter.increment();
    }, "the incrementing threads");
  }
  // Then
  const std::int64_t expected = std::int64_t{kThreads} * kRounds * kIncrementsPerRound;
  const std::int64_t got = counter.value();
  EXPECT_EQ(got, expected) << fmt::format(
      "lost {} of {} increments: two threads did the read-modify-write at once and one "
      "overwrote the other's result (a missing lock, or a load then a store instead of one "
      "atomic fetch_add)",
      expected - got, expected);
}

template <class Counter>
void expect_every_amount_added() {
  // Given: each thread adds 0, 1, ..., 6, 0, 1, ... (zero is a valid amount)
  Counter counter;
  constexpr int kAdds = 20'000;
  std::int64_t per_thread = 0;
  for (int i = 0; i < kAdds; ++i) per_thread += i % 7;
  // When
  run_concurrently(kThreads, [&](int) {
    for (int i = 0; i < kAdds; ++i) counter.add(i % 7);
  }, "the adding threads");
  // Then
  const std::int64_t expected = per_thread * kThreads;
  EXPECT_EQ(counter.value(), expected) << fmt::format(
      "the total is off by {}: concurrent add() calls overwrote each other", expected - counter.value());
}

template <class Counter>
void expect_reads_never_go_backwards() {
  // Given: in each round two threads increment while two others keep reading until both
  // incrementers are done
  Counter counter;
  std::atomic<int> backward_steps{0};
  std::atomic<std::int64_t> worst_drop{0};
  // When
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> incrementers_done{0};
    run_concurrently(4, [&](int index) {
      if (index < 2) {
        for (int i = 0; i < kIncrementsPerRound; ++i) counter.increment();
        incrementers_done.fetch_add(1);
        return;
      }
      std::int64_t previous = counter.value();
      while (incrementers_done.load() < 2) {
        const std::int64_t now = counter.value();
        if (now < previous) {
          backward_steps.fetch_add(1);
          std::int64_t worst = worst_drop.load();
          while (previous - now > worst && !worst_drop.compare_exchange_weak(worst, previous - now)) {
          }
        }
        previous = now;
      }
    }, "the incrementing and reading threads");
  }
  // Then
  EXPECT_EQ(backward_steps.load(), 0) << fmt::format(
      "value() went backwards {} times (by up to {}): an increment wrote back a stale total, "
      "undoing others' increments (a load and a separate store is not an atomic add)",
      backward_steps.load(), worst_drop.load());
  const std::int64_t expected = std::int64_t{2} * kRounds * kIncrementsPerRound;
  EXPECT_EQ(counter.value(), expected) << fmt::format(
      "lost {} of {} increments while other threads were reading", expected - counter.value(), expected);
}

template <class Counter>
void expect_negative_amount_rejected() {
  // Given
  Counter counter;
  counter.add(5);
  // When / Then
  EXPECT_THROW(counter.add(-1), std::invalid_argument) << "add(-1) must throw std::invalid_argument";
  EXPECT_EQ(counter.value(), 5) << "a rejected add() must leave the count unchanged";
}

}  // namespace

TEST(LockedCounter, StartsAtZero) { expect_starts_at_zero<wb::locked_counter>(); }
TEST(LockedCounter, CountsEveryIncrementFromManyThreads) { expect_every_increment_counted<wb::locked_counter>(); }
TEST(LockedCounter, AddsEveryAmountFromManyThreads) { expect_every_amount_added<wb::locked_counter>(); }
TEST(LockedCounter, ReadsNeverGoBackwards) { expect_reads_never_go_backwards<wb::locked_counter>(); }
TEST(LockedCounter, RejectsANegativeAmount) { expect_negative_amount_rejected<wb::locked_counter>(); }

TEST(AtomicCounter, StartsAtZero) { expect_starts_at_zero<wb::atomic_counter>(); }
TEST(AtomicCounter, CountsEveryIncrementFromManyThreads) { expect_every_increment_counted<wb::atomic_counter>(); }
TEST(AtomicCounter, AddsEveryAmountFromManyThreads) { expect_every_amount_added<wb::atomic_counter>(); }
TEST(AtomicCounter, ReadsNeverGoBackwards) { expect_reads_never_go_backwards<wb::atomic_counter>(); }
TEST(AtomicCounter, RejectsANegativeAmount) { expect_negative_amount_rejected<wb::atomic_counter>(); }
