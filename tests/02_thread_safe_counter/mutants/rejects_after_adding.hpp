// BUG: atomic_counter::add adds the amount first and only then rejects a negative one, so the rejected amount stays added
// Two thread-safe event counters with the same API: one guarded by a mutex, one lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>

namespace wb {

// locked_counter: a count that any number of threads may add to and read at once.
//
// Thread safety: every member may be called concurrently from any thread.
// Invariant (whenever mutex_ is free): value_ is the sum of every amount added so far.
// Memory ordering: unlocking mutex_ in add() happens-before the next lock in value(), so a
// reader that sees an addition also sees everything the adding thread did before it.
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
    std::lock_guard lock(mutex_);
    value_ += amount;
  }

  // The total so far. A later call, on any thread, never returns less than an earlier one.
  std::int64_t value() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

 private:
  mutable std::mutex mutex_;
  std::int64_t value_ = 0;  // guarded by mutex_
};

// atomic_counter: the same contract without a lock: one atomic read-modify-write per add.
//
// Thread safety: every member may be called concurrently from any thread; add() and value()
// are lock-free where std::atomic<std::int64_t> is (every 64-bit platform we know).
// Memory ordering: relaxed throughout. The counter publishes no other data, so it needs no
// happens-before, only atomicity; and all operations on one atomic object share a single
// modification order that every thread's reads follow (coherence), so reads never go backwards.
class atomic_counter {
 public:
  atomic_counter() = default;
  atomic_counter(const atomic_counter&) = delete;
  atomic_counter& operator=(const atomic_counter&) = delete;

  // Adds 1.
  void increment() { add(1); }

  // Adds `amount`, which must not be negative: a negative amount throws std::invalid_argument.
  void add(std::int64_t amount) {
    value_.fetch_add(amount, std::memory_order_relaxed);  // relaxed: atomicity is all we need
    if (amount < 0) throw std::invalid_argument("atomic_counter::add: amount must not be negative");
  }

  // The total so far. A later call, on any thread, never returns less than an earlier one.
  std::int64_t value() const {
    return value_.load(std::memory_order_relaxed);  // relaxed: coherence keeps reads monotonic
  }

 private:
  std::atomic<std::int64_t> value_{0};
};

}  // namespace wb
