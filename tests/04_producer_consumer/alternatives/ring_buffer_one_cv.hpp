// ALTERNATIVE: a fixed ring buffer (vector of optional slots, head index and count) with ONE condition variable for producers and consumers, woken with notify_all only when the queue leaves the empty or the full state, and timed waits on an absolute steady_clock deadline.
// A bounded blocking queue for many producers and many consumers, with close().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace wb {

// bounded_queue<T>: a FIFO of at most capacity() items. push() waits while it is full, pop()
// waits while it is empty; the try_ forms never wait and the _for forms wait at most a timeout.
// close() ends the stream: pushes fail from then on, every waiter wakes, and consumers still get
// the items already queued, then std::nullopt. T may be move-only (and need not be
// default-constructible: an empty slot is an empty std::optional).
//
// Design: the storage is allocated once, capacity() slots used as a ring: the oldest item is at
// slots_[head_], the next free slot at slots_[(head_ + count_) % capacity]. Producers and
// consumers share ONE condition variable, `changed_`. With one condition variable a notify_one
// could wake a thread of the wrong kind (a producer when an item arrived) and the wake-up would
// be lost, so every notification is a notify_all. To keep that affordable we notify only on
// the two transitions that can release anyone: empty -> not empty (consumers may wait only
// while count_ == 0) and full -> not full (producers may wait only while count_ == capacity).
// A push onto a non-empty queue cannot release a consumer that is still waiting: any consumer
// waiting at that moment has already been notified by the push that made the queue non-empty
// and merely has not re-locked yet; it will re-check the predicate when it does.
//
// Thread safety: every member may be called concurrently from any thread.
// Lifetime: destroy the queue only after every call on it has returned (close() first, then
// join the threads that use it).
// Invariants (whenever mutex_ is free): count_ <= slots_.size(); head_ < slots_.size();
// exactly the count_ slots from head_ (wrapping) hold a value; once closed_ is true it stays
// true and count_ only shrinks; a thread blocked on changed_ either waits for a state that does
// not hold, or has been notified since it did.
// Memory ordering: everything a producer did before push(v) (any form that returned true) is
// visible to the consumer after its pop returns v: both hand-over steps run under mutex_.
// Memory ordering: everything done before close() is visible to any thread whose call then
// reports the queue closed (a failed push, a final std::nullopt, closed() == true), because
// closed_ is written and read only under mutex_.
template <class T>
class bounded_queue {
 public:
  // Throws std::invalid_argument if capacity is 0 (such a queue could never take an item).
  explicit bounded_queue(std::size_t capacity) : slots_(checked(capacity)) {}
  bounded_queue(const bounded_queue&) = delete;
  bounded_queue& operator=(const bounded_queue&) = delete;

  // Appends item, waiting while the queue is full. Returns false (dropping item) if the queue
  // is closed, before or while waiting.
  bool push(T item) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return closed_ || !full_locked(); });
    return append_locked(item);
  }

  // Appends item if there is room now; never waits. Returns false (dropping item) if the queue
  // is full or closed.
  bool try_push(T item) {
    std::lock_guard lock(mutex_);
    return append_locked(item);
  }

  // Like push(), but gives up and returns false (dropping item) if there is still no room after
  // timeout.
  template <class Rep, class Period>
  bool try_push_for(T item, const std::chrono::duration<Rep, Period>& timeout) {
    const auto deadline = deadline_after(timeout);
    std::unique_lock lock(mutex_);
    while (!closed_ && full_locked()) {
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }
    return append_locked(item);  // re-checks closed_ and room: the deadline may have passed
  }

  // Removes and returns the oldest item, waiting while the queue is empty and open. Returns
  // std::nullopt only when the queue is closed and every item has been taken.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return closed_ || count_ > 0; });
    return take_locked();
  }

  // Removes and returns the oldest item if there is one; never waits.
  std::optional<T> try_pop() {
    std::lock_guard lock(mutex_);
    return take_locked();
  }

  // Like pop(), but returns std::nullopt if the queue is still empty (and open) after timeout.
  template <class Rep, class Period>
  std::optional<T> try_pop_for(const std::chrono::duration<Rep, Period>& timeout) {
    const auto deadline = deadline_after(timeout);
    std::unique_lock lock(mutex_);
    while (!closed_ && count_ == 0) {
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }
    return take_locked();  // an item that arrived right at the deadline is still taken
  }

  // Closes the queue and wakes every waiting producer and consumer. Calling it again does nothing.
  void close() {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    changed_.notify_all();  // producers must fail and consumers drain: everybody re-checks
  }

  // True once close() has been called.
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

  // The number of queued items (a snapshot: other threads may change it at once).
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return count_;
  }

  // The most items the queue holds at once, as given to the constructor (slots_ never resizes,
  // so reading its size needs no lock).
  std::size_t capacity() const { return slots_.size(); }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) throw std::invalid_argument("bounded_queue: capacity must be at least 1");
    return capacity;
  }

  // An absolute deadline, so that waking up early (spuriously, or for a change another thread
  // took first) does not restart the timeout.
  template <class Rep, class Period>
  static std::chrono::steady_clock::time_point deadline_after(
      const std::chrono::duration<Rep, Period>& timeout) {
    return std::chrono::steady_clock::now() +
           std::chrono::ceil<std::chrono::steady_clock::duration>(timeout);
  }

  // Requires mutex_ held.
  bool full_locked() const { return count_ == slots_.size(); }

  // Requires mutex_ held. Appends item if the queue is open and has room.
  bool append_locked(T& item) {
    if (closed_ || full_locked()) return false;
    slots_[(head_ + count_) % slots_.size()].emplace(std::move(item));
    if (count_++ == 0) changed_.notify_all();  // empty -> not empty: consumers may be waiting
    return true;
  }

  // Requires mutex_ held. Takes the oldest item, if any.
  std::optional<T> take_locked() {
    if (count_ == 0) return std::nullopt;
    // Move the value, not the whole optional (g++ 12 then warns maybe-uninitialized, wrongly).
    std::optional<T> item(std::move(*slots_[head_]));
    slots_[head_].reset();  // the slot is free: destroy the moved-from value now
    head_ = (head_ + 1) % slots_.size();
    if (count_-- == slots_.size()) changed_.notify_all();  // full -> not full: producers may wait
    return item;
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;       // signalled on empty->non-empty, full->non-full, close
  std::vector<std::optional<T>> slots_;   // guarded by mutex_ (its size is fixed: capacity)
  std::size_t head_ = 0;                  // guarded by mutex_: index of the oldest item
  std::size_t count_ = 0;                 // guarded by mutex_: number of queued items
  bool closed_ = false;                   // guarded by mutex_
};

}  // namespace wb
