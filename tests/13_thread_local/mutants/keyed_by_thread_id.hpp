// BUG: no thread_local at all: the slots sit in a map keyed by std::this_thread::get_id(), and a new thread can get the id of one that has ended
// Per-thread state done right (Python's threading.local): an accumulator, or sharded counter,
// where each thread adds to a slot of its own and total() sums them all, including the parts of
// threads that have already ended.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace wb {

// per_thread_accumulator: every thread's part is a slot in a map from thread id to slot. Slots
// are never removed, so the parts of ended threads stay in the sum without any merging.
class per_thread_accumulator {
 public:
  per_thread_accumulator() = default;
  per_thread_accumulator(const per_thread_accumulator&) = delete;
  per_thread_accumulator& operator=(const per_thread_accumulator&) = delete;

  // Adds `amount` (which may be negative) to the calling thread's part.
  void add(std::int64_t amount) {
    auto& value = my_slot().value;
    value.store(value.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
  }

  // The sum of the calling thread's own add() calls on this accumulator (0 if it made none).
  std::int64_t local() const {
    std::lock_guard lock(mutex_);
    const auto found = slots_.find(std::this_thread::get_id());
    return found == slots_.end() ? 0 : found->second->value.load(std::memory_order_relaxed);
  }

  // The sum of every add() on this accumulator by every thread, live or ended.
  std::int64_t total() const {
    std::lock_guard lock(mutex_);
    std::int64_t sum = 0;
    for (const auto& [id, part] : slots_) sum += part->value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct slot {
    std::atomic<std::int64_t> value{0};  // written only by the owning thread
  };

  slot& my_slot() {
    std::lock_guard lock(mutex_);
    auto& part = slots_[std::this_thread::get_id()];
    if (!part) part = std::make_unique<slot>();
    return *part;  // stays put: the map holds pointers
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::thread::id, std::unique_ptr<slot>> slots_;  // guarded by mutex_
};

}  // namespace wb
