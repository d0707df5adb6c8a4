// Tests for locked_counter and atomic_counter: exact totals under contention, monotonic reads,
// argument checks. The same checks run on both classes (they share a contract).
#include "counter.hpp"

#include <stdexcept>

#include "workbook_test.hpp"

namespace {

using wb::test::run_concurrently;

constexpr int kThreads = 4;
constexpr int kIncrementsPerThread = 50'000;

template <class Counter>
void expect_starts_at_zero() {
  // Given / When
  Counter counter;
  // Then
  EXPECT_EQ(counter.value(), 0) << "a new counter must read 0";
}

template <class Counter>
void expect_every_increment_counted() {
  // Given
  Counter counter;
  // When
  run_concurrently(kThreads, [&](int) {
    for (int i = 0; i < kIncrementsPerThread; ++i) counter.increment();
  }, "the incrementing threads");
  // Then
  const std::int64_t expected = std::int64_t{kThreads} * kIncrementsPerThread;
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
  // Given: two threads increment while two others keep reading
  Counter counter;
  constexpr int kReads = 30'000;
  std::atomic<int> backward_steps{0};
  std::int64_t worst_drop = 0;
  std::mutex worst_mutex;
  // When
  run_concurrently(4, [&](int index) {
    if (index < 2) {
      for (int i = 0; i < kIncrementsPerThread; ++i) counter.increment();
      return;
    }
    std::int64_t previous = counter.value();
    for (int i = 0; i < kReads; ++i) {
      const std::int64_t now = counter.value();
      if (now < previous) {
        backward_steps.fetch_add(1);
        std::lock_guard lock(worst_mutex);
        worst_drop = std::max(worst_drop, previous - now);
      }
      previous = now;
    }
  }, "the incrementing and reading threads");
  // Then
  EXPECT_EQ(backward_steps.load(), 0) << fmt::format(
      "value() went backwards {} times (by up to {}): an increment wrote back a stale total, "
      "undoing others' increments (a load and a separate store is not an atomic add)",
      backward_steps.load(), worst_drop);
  EXPECT_EQ(counter.value(), std::int64_t{2} * kIncrementsPerThread) << "increments were lost";
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
