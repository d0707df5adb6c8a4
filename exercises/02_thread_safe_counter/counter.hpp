// Two thread-safe event counters with the same API: one guarded by a mutex, one lock-free.
// Background and interview questions: notes/02_thread_safe_counter.md
#pragma once

#include <cstdint>

#include "workbook_todo.hpp"

namespace wb {

// locked_counter: a count that any number of threads may add to and read at once.
//
// Thread safety: every member may be called concurrently from any thread.
// Build it with a std::mutex and a plain integer the mutex guards.
class locked_counter {
 public:
  locked_counter() = default;
  locked_counter(const locked_counter&) = delete;
  locked_counter& operator=(const locked_counter&) = delete;

  // Adds 1.
  void increment() {
    // TODO: add one, safely under concurrent calls.
    WB_TODO("locked_counter::increment");
  }

  // Adds `amount`, which must not be negative (so reads never go backwards): a negative amount
  // throws std::invalid_argument.
  void add(std::int64_t amount) {
    // TODO: reject a negative amount, then add it while holding the mutex.
    WB_TODO("locked_counter::add", amount);
  }

  // The total so far. A later call, on any thread, never returns less than an earlier one.
  std::int64_t value() const {
    // TODO: read the total while holding the mutex (a read races with writes too).
    WB_TODO("locked_counter::value");
  }

 private:
  // TODO: a mutex (mutable, so value() can lock it) and the count it guards.
};

// atomic_counter: the same contract without a lock.
//
// Thread safety: every member may be called concurrently from any thread.
// Build it with one std::atomic<std::int64_t>, and choose (and justify) the memory order.
class atomic_counter {
 public:
  atomic_counter() = default;
  atomic_counter(const atomic_counter&) = delete;
  atomic_counter& operator=(const atomic_counter&) = delete;

  // Adds 1.
  void increment() {
    // TODO: add one with a single atomic read-modify-write.
    WB_TODO("atomic_counter::increment");
  }

  // Adds `amount`, which must not be negative: a negative amount throws std::invalid_argument.
  void add(std::int64_t amount) {
    // TODO: reject a negative amount, then add it in one atomic step (not a load then a store).
    WB_TODO("atomic_counter::add", amount);
  }

  // The total so far. A later call, on any thread, never returns less than an earlier one.
  std::int64_t value() const {
    // TODO: load the atomic.
    WB_TODO("atomic_counter::value");
  }

 private:
  // TODO: one std::atomic<std::int64_t> starting at 0.
};

}  // namespace wb
