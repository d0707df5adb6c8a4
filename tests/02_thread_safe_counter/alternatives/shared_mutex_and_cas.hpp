// ALTERNATIVE: locked_counter uses a std::shared_mutex (exclusive for add, shared for value) and atomic_counter adds with a compare_exchange_weak retry loop instead of fetch_add.
// Two thread-safe event counters with the same API: one guarded by a reader-writer lock, one
// lock-free, written the long way round (load, compute, compare-and-swap, retry).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>

namespace wb {

// locked_counter: a count that any number of threads may add to and read at once.
//
// Thread safety: every member may be called concurrently from any thread. add() holds mutex_
// exclusively; value() holds it shared, so any number of readers proceed together and only
// writers wait for each other (and readers wait for a writer in progress).
// Invariant (whenever mutex_ is not held exclusively): value_ is the sum of every amount added.
// Memory ordering: releasing the exclusive lock in add() happens-before a later shared lock in
// value(), so a reader that sees an addition also sees everything the adder did before it.
class locked_counter {
 public:
  locked_counter() = default;
  locked_counter(const locked_counter&) = delete;
  locked_counter& operator=(const locked_counter&) = delete;

  // Adds 1.
  void increment() { add(1); }

  // Adds `amount`, which must not be negative (so reads never go backwards): a negative amount
  // throws std::invalid_argument.
  void add(std::int64_t amount) {
    if (amount < 0) throw std::invalid_argument("locked_counter::add: amount must not be negative");
    std::unique_lock lock(mutex_);  // exclusive: the read-modify-write must be indivisible
    value_ += amount;
  }

  // The total so far. A later call, on any thread, never returns less than an earlier one.
  std::int64_t value() const {
    std::shared_lock lock(mutex_);  // shared: readers only exclude writers
    return value_;
  }

 private:
  mutable std::shared_mutex mutex_;
  std::int64_t value_ = 0;  // guarded by mutex_
};

// atomic_counter: the same contract without a lock. add() reads the count, computes the new
// total and installs it with compare_exchange_weak only if nobody changed the count meanwhile;
// otherwise the failed exchange hands back the fresh value and it tries again.
//
// Thread safety: every member may be called concurrently from any thread. Lock-free (not
// wait-free: under contention one thread may retry while others keep winning).
// Memory ordering: relaxed throughout. The counter publishes no other data, so it needs no
// happens-before. A successful compare-exchange is a read-modify-write, which always reads
// the latest value in the atomic's modification order, so no addition is ever lost; and
// coherence of that single modification order keeps reads monotonic.
class atomic_counter {
 public:
  atomic_counter() = default;
  atomic_counter(const atomic_counter&) = delete;
  atomic_counter& operator=(const atomic_counter&) = delete;

  // Adds 1.
  void increment() { add(1); }

  // Adds `amount`, which must not be negative: a negative amount throws std::invalid_argument.
  void add(std::int64_t amount) {
    if (amount < 0) throw std::invalid_argument("atomic_counter::add: amount must not be negative");
    std::int64_t seen = value_.load(std::memory_order_relaxed);  // relaxed: only a first guess
    // On failure `seen` is refreshed with the current value; weak may also fail spuriously,
    // which the loop absorbs. relaxed on both paths: atomicity, not ordering, is needed.
    while (!value_.compare_exchange_weak(seen, seen + amount, std::memory_order_relaxed,
                                         std::memory_order_relaxed)) {
    }
  }

  // The total so far. A later call, on any thread, never returns less than an earlier one.
  std::int64_t value() const {
    return value_.load(std::memory_order_relaxed);  // relaxed: coherence keeps reads monotonic
  }

 private:
  std::atomic<std::int64_t> value_{0};
};

}  // namespace wb
