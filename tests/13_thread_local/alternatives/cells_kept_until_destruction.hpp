// ALTERNATIVE: nothing is merged when a thread ends: each thread's cell is shared (std::shared_ptr) between the thread's thread_local table and the accumulator, which keeps every cell it ever handed out and sums them all.
// Per-thread state done right (Python's threading.local): an accumulator, or sharded counter,
// where each thread adds to a slot of its own and total() sums them all, including the parts of
// threads that have already ended.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace wb {

// per_thread_accumulator: each thread that adds gets a cell (an atomic) of its own, held both by
// the thread's thread_local table (keyed by the accumulator's unique id) and by the accumulator.
// A cell outlives whichever of the two lets go first, so a thread's end needs no merge step and
// an accumulator destroyed before its threads end leaves them holding only their own cells.
//
// Thread safety: add(), local() and total() may be called concurrently from any threads;
// total() is exact once the adds it should count happen-before it.
// Lifetime: destroy it only when no thread is inside one of its members.
// Cost: one cell per (thread, accumulator) pair for the accumulator's whole life; fine for a
// pool of threads, wasteful for an accumulator that sees millions of short-lived threads.
// Memory ordering: relaxed loads and stores of a cell by its one writer; total() reads with
// relaxed loads, which see every add that happens-before the call.
class per_thread_accumulator {
 public:
  per_thread_accumulator() = default;
  per_thread_accumulator(const per_thread_accumulator&) = delete;
  per_thread_accumulator& operator=(const per_thread_accumulator&) = delete;

  // Adds `amount` (which may be negative) to the calling thread's part.
  void add(std::int64_t amount) {
    auto& value = my_cell().value;
    value.store(value.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
  }

  // The sum of the calling thread's own add() calls on this accumulator (0 if it made none).
  std::int64_t local() const {
    const auto& mine = this_thread_table();
    const auto found = mine.find(id_);
    return found == mine.end() ? 0 : found->second->value.load(std::memory_order_relaxed);
  }

  // The sum of every add() on this accumulator by every thread, live or ended.
  std::int64_t total() const {
    std::lock_guard lock(mutex_);
    std::int64_t sum = 0;
    for (const auto& part : cells_) sum += part->value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct cell {
    std::atomic<std::int64_t> value{0};  // written only by the owning thread
  };
  using table = std::unordered_map<std::uint64_t, std::shared_ptr<cell>>;

  static table& this_thread_table() {
    static thread_local table mine;  // its destructor just lets go of the thread's cells
    return mine;
  }

  cell& my_cell() {
    auto& mine = this_thread_table();
    if (const auto found = mine.find(id_); found != mine.end()) return *found->second;
    // A cell only this thread still holds belongs to a dead accumulator: forget it.
    std::erase_if(mine, [](const auto& item) { return item.second.use_count() == 1; });
    auto fresh = std::make_shared<cell>();
    {
      std::lock_guard lock(mutex_);
      cells_.push_back(fresh);
    }
    return *mine.emplace(id_, std::move(fresh)).first->second;
  }

  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;  // only uniqueness matters
  }

  const std::uint64_t id_ = next_id();
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<cell>> cells_;  // guarded by mutex_: every cell ever handed out
};

}  // namespace wb
