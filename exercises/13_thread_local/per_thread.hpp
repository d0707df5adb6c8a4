// Per-thread state done right (Python's threading.local): an accumulator, or sharded counter,
// where each thread adds to a slot of its own and total() sums them all, including the parts of
// threads that have already ended.
// Background and interview questions: notes/13_thread_local.md
#pragma once

#include <cstdint>

#include "workbook_todo.hpp"

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
class per_thread_accumulator {
 public:
  per_thread_accumulator() = default;
  per_thread_accumulator(const per_thread_accumulator&) = delete;
  per_thread_accumulator& operator=(const per_thread_accumulator&) = delete;

  // Adds `amount` (which may be negative) to the calling thread's part. No lock after the
  // thread's first add() to this accumulator.
  void add(std::int64_t amount) {
    // TODO: find this thread's slot for this accumulator in a thread_local list (on the first
    // add, create one and register it under the registry's mutex); then add to it. Only this
    // thread writes the slot, but total() reads it: make the value a std::atomic.
    WB_TODO("per_thread_accumulator::add", amount);
  }

  // The sum of the calling thread's own add() calls on this accumulator (0 if it made none).
  std::int64_t local() const {
    // TODO: look this accumulator up in the calling thread's thread_local list; 0 if absent.
    WB_TODO("per_thread_accumulator::local");
  }

  // The sum of every add() on this accumulator by every thread, live or ended.
  std::int64_t total() const {
    // TODO: under the registry's mutex, the merged parts of ended threads plus every live slot.
    WB_TODO("per_thread_accumulator::total");
  }

 private:
  // TODO: a registry shared (std::shared_ptr) with the threads that hold slots: a mutex, the
  // merged parts of ended threads, and the live slots (each an atomic value), both guarded by
  // the mutex. A unique id per accumulator (an address can be reused once it dies).
  // One `static thread_local` object per thread holding, per accumulator it added to, the id,
  // a std::weak_ptr to the registry and its slot; its destructor runs when the thread ends and
  // merges each slot into its registry (if the accumulator still lives) and drops the slot.
};

}  // namespace wb
