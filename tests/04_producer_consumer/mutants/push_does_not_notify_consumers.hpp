// BUG: push() appends the item but does not notify the consumers waiting for one
// A bounded blocking queue for many producers and many consumers, with close().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace wb {

// bounded_queue<T>: a FIFO of at most capacity() items. push() waits while it is full, pop()
// waits while it is empty; the try_ forms never wait and the _for forms wait at most a timeout.
// close() ends the stream: pushes fail from then on, every waiter wakes, and consumers still get
// the items already queued, then std::nullopt. T may be move-only.
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy the queue only after every call on it has returned (close() first, then
// join the threads that use it).
// Invariants (whenever mutex_ is free): items_.size() <= capacity_; once closed_ is true it stays
// true and items_ only shrinks; no thread waits on not_empty_ while items_ is non-empty or on
// not_full_ while there is room, except for the moment between a change and its wake-up.
// Memory ordering: everything a producer did before push(v) (any form that returned true) is
// visible to the consumer after its pop returns v, because both hold mutex_ around the hand-over.
// Memory ordering: everything done before close() is visible to any thread whose call then
// reports the queue closed (a failed push, a final std::nullopt, closed() == true).
template <class T>
class bounded_queue {
 public:
  // Throws std::invalid_argument if capacity is 0 (such a queue could never take an item).
  explicit bounded_queue(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("bounded_queue: capacity must be at least 1");
  }
  bounded_queue(const bounded_queue&) = delete;
  bounded_queue& operator=(const bounded_queue&) = delete;

  // Appends item, waiting while the queue is full. Returns false (dropping item) if the queue
  // is closed, before or while waiting.
  bool push(T item) {
    std::unique_lock lock(mutex_);
    while (!closed_ && items_.size() >= capacity_) not_full_.wait(lock);
    return push_locked(std::move(item));
  }

  // Appends item if there is room now; never waits. Returns false (dropping item) if the queue
  // is full or closed.
  bool try_push(T item) {
    std::lock_guard lock(mutex_);
    if (items_.size() >= capacity_) return false;
    return push_locked(std::move(item));
  }

  // Like push(), but gives up and returns false (dropping item) if there is still no room after
  // timeout.
  template <class Rep, class Period>
  bool try_push_for(T item, const std::chrono::duration<Rep, Period>& timeout) {
    std::unique_lock lock(mutex_);
    not_full_.wait_for(lock, timeout, [&] { return closed_ || items_.size() < capacity_; });
    if (items_.size() >= capacity_) return false;
    return push_locked(std::move(item));
  }

  // Removes and returns the oldest item, waiting while the queue is empty and open. Returns
  // std::nullopt only when the queue is closed and every item has been taken.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    while (!closed_ && items_.empty()) not_empty_.wait(lock);
    return pop_locked();
  }

  // Removes and returns the oldest item if there is one; never waits.
  std::optional<T> try_pop() {
    std::lock_guard lock(mutex_);
    return pop_locked();
  }

  // Like pop(), but returns std::nullopt if the queue is still empty (and open) after timeout.
  template <class Rep, class Period>
  std::optional<T> try_pop_for(const std::chrono::duration<Rep, Period>& timeout) {
    std::unique_lock lock(mutex_);
    not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); });
    return pop_locked();
  }

  // Closes the queue and wakes every waiting producer and consumer. Calling it again does nothing.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_full_.notify_all();   // every producer must see closed_ and fail
    not_empty_.notify_all();  // every consumer must see closed_ and drain, then stop
  }

  // True once close() has been called.
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

  // The number of queued items (a snapshot: other threads may change it at once).
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

  // The most items the queue holds at once, as given to the constructor.
  std::size_t capacity() const { return capacity_; }

 private:
  // Requires mutex_ held and room in items_.
  bool push_locked(T&& item) {
    if (closed_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  // Requires mutex_ held.
  std::optional<T> pop_locked() {
    if (items_.empty()) return std::nullopt;
    std::optional<T> item(std::move(items_.front()));
    items_.pop_front();
    not_full_.notify_one();  // one free slot: one producer can use it
    return item;
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<T> items_;                // guarded by mutex_
  bool closed_ = false;                // guarded by mutex_
  std::condition_variable not_full_;   // producers wait here for room (or close)
  std::condition_variable not_empty_;  // consumers wait here for an item (or close)
};

}  // namespace wb
