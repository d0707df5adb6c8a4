// ALTERNATIVE: locked_counter guards its count with a hand-written test-and-set spinlock (std::atomic_flag, acquire/release) instead of std::mutex, and atomic_counter spreads additions over cache-line-sized stripes chosen per thread and sums them on read, instead of one shared atomic.
// Two thread-safe event counters with the same API. Both trade something for speed under
// contention: the spinlock never sleeps in the kernel (good for tiny critical sections), the
// striped counter lets threads add without fighting over one cache line (reads cost more).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <thread>

namespace wb {

// locked_counter: a count that any number of threads may add to and read at once.
//
// Thread safety: every member may be called concurrently from any thread. Both members hold
// the spinlock `locked_` for one read (or read-modify-write) of value_.
// Invariant (whenever locked_ is clear): value_ is the sum of every amount added so far.
// Memory ordering: lock() sets the flag with acquire and unlock() clears it with release, so
// each holder's writes happen-before the next holder's reads: the same guarantee a mutex gives.
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
    lock();
    value_ += amount;  // cannot throw, so no guard object is needed to unlock
    unlock();
  }

  // The total so far. A later call, on any thread, never returns less than an earlier one.
  std::int64_t value() const {
    lock();
    const std::int64_t result = value_;
    unlock();
    return result;
  }

 private:
  void lock() const {
    // acquire: what the previous holder wrote before its release is visible from here on.
    while (locked_.test_and_set(std::memory_order_acquire)) {
      // Wait with plain loads (no cache-line ping-pong from writes) and give the holder the
      // core: with more threads than cores, pure spinning would starve it.
      while (locked_.test(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void unlock() const {
    locked_.clear(std::memory_order_release);  // release: publishes value_ to the next holder
  }

  mutable std::atomic_flag locked_;  // set while a thread holds the lock (C++20: starts clear)
  std::int64_t value_ = 0;           // guarded by locked_
};

// atomic_counter: the same contract without a lock. Each thread adds to one of kStripes
// atomics (picked by hashing its thread id), each on its own cache line, so threads on
// different stripes never contend; value() adds up the stripes.
//
// Thread safety: every member may be called concurrently from any thread; lock-free.
// Invariant: the sum of the stripes is the sum of every amount whose add() has completed.
// Memory ordering: relaxed throughout. The counter publishes no other data. Each stripe only
// grows, and coherence means a later read of a stripe never returns an older value than an
// earlier read (by this thread, or by one that happens-before it), so each term of the sum,
// and thus the sum, never goes backwards. The sum need not equal the count at any one instant
// while adds are in flight (a read may catch one stripe before an add and another after); the
// contract asks only for reads that never go backwards and an exact total once adders are done
// (their completion, e.g. a join, happens-before the read).
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
    stripes_[my_stripe()].value.fetch_add(amount, std::memory_order_relaxed);  // relaxed: atomicity only
  }

  // The total so far. A later call, on any thread, never returns less than an earlier one.
  std::int64_t value() const {
    std::int64_t sum = 0;
    for (const stripe& s : stripes_) sum += s.value.load(std::memory_order_relaxed);  // relaxed: see above
    return sum;
  }

 private:
  static constexpr std::size_t kStripes = 8;
  static constexpr std::size_t kCacheLine = 64;  // a constant, not hardware_destructive_interference_size (its value may differ between compilers)

  struct alignas(kCacheLine) stripe {
    std::atomic<std::int64_t> value{0};
  };

  static std::size_t my_stripe() {
    // Computed once per thread; any mapping is correct, a spread-out one is merely faster.
    thread_local const std::size_t index = std::hash<std::thread::id>{}(std::this_thread::get_id()) % kStripes;
    return index;
  }

  std::array<stripe, kStripes> stripes_{};
};

}  // namespace wb
