// A bounded blocking queue for many producers and many consumers, with close().
// Background and interview questions: notes/04_producer_consumer.md
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include "workbook_todo.hpp"

namespace wb {

// bounded_queue<T>: a FIFO of at most capacity() items. push() waits while it is full, pop()
// waits while it is empty; the try_ forms never wait and the _for forms wait at most a timeout.
// close() ends the stream: pushes fail from then on, every waiter wakes, and consumers still get
// the items already queued, then std::nullopt. T may be move-only.
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy the queue only after every call on it has returned (close() first, then
// join the threads that use it).
// Build it with one std::mutex guarding a std::deque<T> and a closed flag, and two
// std::condition_variable: one producers wait on ("not full"), one consumers wait on ("not empty").
template <class T>
class bounded_queue {
 public:
  // Throws std::invalid_argument if capacity is 0 (such a queue could never take an item).
  explicit bounded_queue(std::size_t capacity) {
    // TODO: reject a capacity of 0, then remember the capacity.
    WB_TODO("bounded_queue::bounded_queue", capacity);
  }
  bounded_queue(const bounded_queue&) = delete;
  bounded_queue& operator=(const bounded_queue&) = delete;

  // Appends item, waiting while the queue is full. Returns false (dropping item) if the queue
  // is closed, before or while waiting.
  bool push(T item) {
    // TODO: lock; wait in a loop while full and open; fail if closed; else append and wake a consumer.
    WB_TODO("bounded_queue::push", item);
  }

  // Appends item if there is room now; never waits. Returns false (dropping item) if the queue
  // is full or closed.
  bool try_push(T item) {
    // TODO: like push(), but check and append in ONE critical section and never wait.
    WB_TODO("bounded_queue::try_push", item);
  }

  // Like push(), but gives up and returns false (dropping item) if there is still no room after
  // timeout.
  template <class Rep, class Period>
  bool try_push_for(T item, const std::chrono::duration<Rep, Period>& timeout) {
    // TODO: like push(), with wait_for and a predicate; decide from the state, not the timeout.
    WB_TODO("bounded_queue::try_push_for", item, timeout);
  }

  // Removes and returns the oldest item, waiting while the queue is empty and open. Returns
  // std::nullopt only when the queue is closed and every item has been taken.
  std::optional<T> pop() {
    // TODO: lock; wait in a loop while empty and open; take the front item (if any), wake a producer.
    WB_TODO("bounded_queue::pop");
  }

  // Removes and returns the oldest item if there is one; never waits.
  std::optional<T> try_pop() {
    // TODO: take the front item if there is one, under the lock, and wake a producer.
    WB_TODO("bounded_queue::try_pop");
  }

  // Like pop(), but returns std::nullopt if the queue is still empty (and open) after timeout.
  template <class Rep, class Period>
  std::optional<T> try_pop_for(const std::chrono::duration<Rep, Period>& timeout) {
    // TODO: like pop(), with wait_for and a predicate that also stops waiting on close.
    WB_TODO("bounded_queue::try_pop_for", timeout);
  }

  // Closes the queue and wakes every waiting producer and consumer. Calling it again does nothing.
  void close() {
    // TODO: set the flag under the lock, then wake ALL waiters of both kinds.
    WB_TODO("bounded_queue::close");
  }

  // True once close() has been called.
  bool closed() const {
    // TODO: read the flag under the lock.
    WB_TODO("bounded_queue::closed");
  }

  // The number of queued items (a snapshot: other threads may change it at once).
  std::size_t size() const {
    // TODO: read the size under the lock.
    WB_TODO("bounded_queue::size");
  }

  // The most items the queue holds at once, as given to the constructor.
  std::size_t capacity() const {
    // TODO: return the capacity given to the constructor.
    WB_TODO("bounded_queue::capacity");
  }

 private:
  // TODO: the capacity; a mutable std::mutex; guarded by it, a std::deque<T> of items and a
  // bool closed flag; two std::condition_variable (not_full_, not_empty_).
};

}  // namespace wb
