// BUG: the slot's value is a plain int64_t: "only its own thread ever writes it"
// Per-thread state done right (Python's threading.local): an accumulator, or sharded counter,
// where each thread adds to a slot of its own and total() sums them all, including the parts of
// threads that have already ended.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace wb {

// per_thread_accumulator: a sum that many threads add to without contending. A thread's first
// add() gives it a slot of its own in this accumulator; add() then touches only that slot,
// local() reads it, and total() adds up every live slot plus what ended threads left behind:
// when a thread ends, a thread_local object's destructor merges the value of each of its slots
// into its accumulator and drops the slot. Two accumulators never share a slot.
//
// Thread safety: add(), local() and total() may be called concurrently from any threads.
// total() is exact once every add() it should count happens-before the call (the adding threads
// were joined, or signalled through a latch or a mutex). While adds and thread exits run
// concurrently, each thread counts with a value its part really had during the call, and a
// thread's value is never counted twice nor lost while it is merged; so with non-negative
// amounts, successive total() calls by one thread never decrease and never exceed the final sum.
// Lifetime: destroy it only when no thread is inside one of its members; threads that added to
// it may still be running (their slots are then discarded when they end). Do not call add()
// from a thread_local destructor: the thread's slots may have been merged already.
// Invariant (whenever registry_->mutex is free): total() == merged + the sum of the live slots,
// and each slot is either live (registered and owned by its thread) or merged, never both.
// Memory ordering: add() is a relaxed load and store by the slot's only writer; total() and the
// merge at thread exit read slots with relaxed loads, which see every add that happens-before
// them (coherence). The accumulator counts; it publishes no other data between threads.
class per_thread_accumulator {
 public:
  per_thread_accumulator() = default;
  per_thread_accumulator(const per_thread_accumulator&) = delete;
  per_thread_accumulator& operator=(const per_thread_accumulator&) = delete;

  // Adds `amount` (which may be negative) to the calling thread's part. No lock after the
  // thread's first add() to this accumulator.
  void add(std::int64_t amount) {
    auto& value = my_slot().value;
    // One writer per slot: a plain read-modify-write of our own atomic, no lock-prefixed RMW.
    value += amount;
  }

  // The sum of the calling thread's own add() calls on this accumulator (0 if it made none).
  std::int64_t local() const {
    for (const auto& link : this_thread_entries()) {
      if (link.owner_id == id_) return link.mine->value;
    }
    return 0;
  }

  // The sum of every add() on this accumulator by every thread, live or ended.
  std::int64_t total() const {
    std::lock_guard lock(registry_->mutex);
    std::int64_t sum = registry_->merged;
    for (const auto& part : registry_->live) sum += part->value;
    return sum;
  }

 private:
  struct slot {
    std::int64_t value = 0;  // written only by the owning thread
  };
  // Shared with the threads that hold slots, so a thread ending after the accumulator was
  // destroyed finds it gone instead of touching freed memory.
  struct registry {
    std::mutex mutex;
    std::int64_t merged = 0;                  // guarded by mutex: parts of ended threads
    std::vector<std::unique_ptr<slot>> live;  // guarded by mutex: slots of living threads
  };
  // A thread's link to one accumulator it added to.
  struct entry {
    std::uint64_t owner_id;          // unique per accumulator: an address could be reused
    std::weak_ptr<registry> owner;   // expired once the accumulator is destroyed
    slot* mine;                      // owned by owner->live while the owner lives
  };
  // One per thread (thread_local): created on the thread's first use, destroyed when it ends.
  struct thread_entries {
    std::vector<entry> entries;
    thread_entries() = default;
    thread_entries(const thread_entries&) = delete;
    thread_entries& operator=(const thread_entries&) = delete;
    ~thread_entries() {
      for (const auto& link : entries) merge_and_drop(link);
    }
  };

  static std::vector<entry>& this_thread_entries() {
    static thread_local thread_entries mine;
    return mine.entries;
  }

  static void merge_and_drop(const entry& link) {
    const auto owner = link.owner.lock();  // keeps the registry alive while we use it
    if (!owner) return;                     // the accumulator is gone, and the slot with it
    std::lock_guard lock(owner->mutex);
    owner->merged += link.mine->value;
    std::erase_if(owner->live, [&](const auto& live) { return live.get() == link.mine; });
  }

  slot& my_slot() {
    auto& entries = this_thread_entries();
    for (auto& link : entries) {
      if (link.owner_id == id_) return *link.mine;
    }
    // First add() by this thread: forget accumulators that died, register a new slot.
    std::erase_if(entries, [](const entry& link) { return link.owner.expired(); });
    auto fresh = std::make_unique<slot>();
    slot* const mine = fresh.get();
    {
      std::lock_guard lock(registry_->mutex);
      registry_->live.push_back(std::move(fresh));
    }
    entries.push_back(entry{id_, registry_, mine});
    return *mine;
  }

  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;  // only uniqueness matters
  }

  const std::uint64_t id_ = next_id();
  const std::shared_ptr<registry> registry_ = std::make_shared<registry>();
};

}  // namespace wb
