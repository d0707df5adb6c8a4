// BUG: wait() checks readiness with `if` before waiting: "I was notified, so the result must be there"
// A one-shot promise/future pair with done-callbacks (Python's concurrent.futures.Future).
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace wb {

// Thrown by set_value() and set_exception() when the promise already holds a result.
class promise_already_satisfied : public std::logic_error {
 public:
  promise_already_satisfied() : std::logic_error("promise already satisfied") {}
};

// Stored as the result (and so thrown by future::get()) when a promise is destroyed before it
// was given a value or an exception.
class broken_promise : public std::runtime_error {
 public:
  broken_promise() : std::runtime_error("broken promise: destroyed without a value or an exception") {}
};

template <class T>
class future;

namespace detail {

// What a promise and its futures share. All fields are guarded by mutex; once ready is true,
// value and error are never written again, so they may be read without the lock by a thread
// that has seen ready == true under it.
template <class T>
struct future_state {
  std::mutex mutex;
  std::condition_variable became_ready;
  bool ready = false;                                            // guarded by mutex
  std::optional<T> value;                                        // guarded by mutex
  std::exception_ptr error;                                      // guarded by mutex
  std::vector<std::function<void(const future<T>&)>> callbacks;  // guarded by mutex; empty once ready
};

}  // namespace detail

// future<T>: the reading side of a one-shot result. A handle to state shared with a promise:
// copies refer to the same result. get() may be called any number of times, from any number of
// threads: each call returns a reference to the same stored value, or rethrows the same stored
// exception (like std::shared_future and Python's Future.result(), unlike std::future::get()).
//
// Thread safety: every member may be called concurrently from any thread, on one handle or on
// copies. Callbacks run outside the internal mutex, so they may call back into the future.
// Lifetime: the shared state lives as long as any promise or future refers to it; the
// reference get() returns is valid as long as some future of that state lives.
// Invariants (whenever the mutex is free): ready is false and callbacks holds every callback
// added so far, or ready is true, exactly one of value/error is set, callbacks is empty and
// every callback added before ready has run or is running.
// Memory ordering: everything the producer did before set_value()/set_exception() (or before
// destroying the promise) is visible to a thread after its get() or wait() returns, after its
// wait_for() or is_ready() returns true, and inside every callback (ready is written and read
// under the mutex, and the callbacks run after the writer's or the reader's critical section).
template <class T>
class future {
 public:
  using callback = std::function<void(const future&)>;

  // Blocks until the result is ready; returns the value or rethrows the stored exception
  // (wb::broken_promise if the promise was destroyed without a result).
  const T& get() const {
    wait();
    // Ready is never reset and the result is never written again: read it without the lock.
    if (state_->error) std::rethrow_exception(state_->error);
    return *state_->value;
  }

  // Blocks until the result is ready.
  void wait() const {
    std::unique_lock lock(state_->mutex);
    if (!state_->ready) state_->became_ready.wait(lock);  // BUG: a spurious wake-up returns early
  }

  // Like wait(), but gives up after `timeout`. Returns true if the result is ready, false if the
  // time ran out first.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    std::unique_lock lock(state_->mutex);
    return state_->became_ready.wait_for(lock, timeout, [this] { return state_->ready; });
  }

  // Whether the result is ready now (never blocks).
  bool is_ready() const {
    std::lock_guard lock(state_->mutex);
    return state_->ready;
  }

  // Arranges for fn(*this) to run exactly once when the result is ready: on the thread that
  // completes the promise, or at once on this thread if the result is already ready. Callbacks
  // run in the order they were added, never under the internal mutex. A callback must not throw
  // (std::terminate). fn is any callable taking a `const future&`, stored as a `callback`; an
  // empty one (an empty std::function, a null function pointer) throws std::invalid_argument.
  template <class F>
  void add_done_callback(F&& fn) const {
    callback stored(std::forward<F>(fn));  // built before locking: no allocation under the lock
    if (!stored) throw std::invalid_argument("future::add_done_callback: the callback is empty");
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->ready) {  // checked and appended in one critical section: never lost
        state_->callbacks.push_back(std::move(stored));
        return;
      }
    }
    run_callback(stored, *this);
  }

 private:
  template <class>
  friend class promise;

  explicit future(std::shared_ptr<detail::future_state<T>> state) : state_(std::move(state)) {}

  static void run_callback(const callback& fn, const future& self) noexcept { fn(self); }

  std::shared_ptr<detail::future_state<T>> state_;
};

// promise<T>: the writing side. set_value() or set_exception() stores the result once, wakes
// every waiter and runs the callbacks; a second attempt throws promise_already_satisfied.
// Destroying a promise that holds no result stores wb::broken_promise instead, so no waiter
// waits forever. T must be an object type (use std::monostate for "no value"); it may be
// move-only.
//
// Thread safety: set_value(), set_exception() and get_future() may be called concurrently
// with each other and with any member of the futures.
// Lifetime: movable, not copyable; a moved-from promise may only be destroyed. Destroy a
// promise only when no other thread is calling a member of that same promise object.
// Memory ordering: see future; the result and everything before it happen before any reader
// that sees the result ready.
template <class T>
class promise {
 public:
  promise() : state_(std::make_shared<detail::future_state<T>>()) {}
  promise(promise&&) noexcept = default;
  promise& operator=(promise&&) = delete;  // would have to break the promise it overwrites
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;

  // Breaks the promise if it holds no result yet (see class comment).
  ~promise() {
    if (state_) complete(nullptr, std::make_exception_ptr(broken_promise()), /*throw_if_ready=*/false);
  }

  // A future for this promise's result. May be called any number of times.
  future<T> get_future() const { return future<T>(state_); }

  // Stores value as the result. Throws promise_already_satisfied if there already is one.
  void set_value(T value) { complete(&value, nullptr, true); }

  // Stores error as the result, for get() to rethrow. Throws std::invalid_argument if error is
  // null, promise_already_satisfied if there already is a result.
  void set_exception(std::exception_ptr error) {
    if (!error) throw std::invalid_argument("promise::set_exception: the exception_ptr is null");
    complete(nullptr, std::move(error), true);
  }

 private:
  // Stores *value (if not null) or error as the result, wakes every waiter, then runs the
  // callbacks outside the lock.
  void complete(T* value, std::exception_ptr error, bool throw_if_ready) {
    std::vector<typename future<T>::callback> callbacks;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->ready) {
        if (throw_if_ready) throw promise_already_satisfied();
        return;
      }
      if (value != nullptr) {
        state_->value.emplace(std::move(*value));
      } else {
        state_->error = std::move(error);
      }
      state_->ready = true;
      callbacks.swap(state_->callbacks);  // in the same critical section as ready = true
      state_->became_ready.notify_all();  // all: every waiter needs the result
    }
    const future<T> self(state_);
    for (const auto& fn : callbacks) future<T>::run_callback(fn, self);
  }

  std::shared_ptr<detail::future_state<T>> state_;
};

}  // namespace wb
