// A one-shot promise/future pair with done-callbacks (Python's concurrent.futures.Future).
// Background and interview questions: notes/07_futures.md
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <stdexcept>

#include "workbook_todo.hpp"

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
class promise;

// TODO: the state a promise and its futures share, e.g. a struct detail::future_state<T>
// holding a std::mutex, a std::condition_variable, and guarded by the mutex: a bool ready, a
// std::optional<T> value, a std::exception_ptr error, and a std::vector of the callbacks not run
// yet. promise and future each hold a std::shared_ptr to it.

// future<T>: the reading side of a one-shot result. A handle to state shared with a promise:
// copies refer to the same result. get() may be called any number of times, from any number of
// threads: each call returns a reference to the same stored value, or rethrows the same stored
// exception (like std::shared_future and Python's Future.result(), unlike std::future::get()).
//
// Thread safety: every member may be called concurrently from any thread, on one handle or on
// copies. Callbacks run outside the internal mutex, so they may call back into the future.
// Lifetime: the shared state lives as long as any promise or future refers to it; the
// reference get() returns is valid as long as some future of that state lives.
template <class T>
class future {
 public:
  using callback = std::function<void(const future&)>;

  // Blocks until the result is ready; returns the value or rethrows the stored exception
  // (wb::broken_promise if the promise was destroyed without a result).
  const T& get() const {
    // TODO: wait(); then rethrow the error if there is one, else return the stored value.
    WB_TODO("future::get");
  }

  // Blocks until the result is ready.
  void wait() const {
    // TODO: lock; wait on the condition variable in a loop (or with a predicate) until ready.
    WB_TODO("future::wait");
  }

  // Like wait(), but gives up after `timeout`. Returns true if the result is ready, false if the
  // time ran out first.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    // TODO: wait_for with a predicate; return readiness, not "the wait ended".
    WB_TODO("future::wait_for", timeout);
  }

  // Whether the result is ready now (never blocks).
  bool is_ready() const {
    // TODO: read the ready flag under the lock.
    WB_TODO("future::is_ready");
  }

  // Arranges for fn(*this) to run exactly once when the result is ready: on the thread that
  // completes the promise, or at once on this thread if the result is already ready. Callbacks
  // run in the order they were added, never under the internal mutex. A callback must not throw
  // (std::terminate). fn is any callable taking a `const future&`, stored as a `callback`; an
  // empty one (an empty std::function, a null function pointer) throws std::invalid_argument.
  template <class F>
  void add_done_callback(F&& fn) const {
    // TODO: build a callback from fn and reject an empty one; then, in ONE critical section,
    // store it if the result is not ready yet; otherwise run it after unlocking.
    WB_TODO("future::add_done_callback", fn);
  }

 private:
  // TODO: a constructor from the shared state that only promise<T> may call (friend), and the
  // std::shared_ptr to the shared state.
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
template <class T>
class promise {
 public:
  promise() {
    // TODO: create the shared state.
    WB_TODO("promise::promise");
  }
  promise(promise&&) noexcept = default;
  promise& operator=(promise&&) = delete;  // would have to break the promise it overwrites
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;

  // Breaks the promise if it holds no result yet (see class comment).
  ~promise() {
    // TODO: unless moved-from or already satisfied, store std::make_exception_ptr(broken_promise())
    // as the result, wake every waiter and run the callbacks (like set_exception, but no throw).
  }

  // A future for this promise's result. May be called any number of times.
  future<T> get_future() const {
    // TODO: return a future sharing this promise's state.
    WB_TODO("promise::get_future");
  }

  // Stores value as the result. Throws promise_already_satisfied if there already is one.
  void set_value(T value) {
    // TODO: under the lock: throw if ready; store the value, set ready, take the callbacks out,
    // notify ALL waiters. Then, after unlocking, run the callbacks taken out.
    WB_TODO("promise::set_value", value);
  }

  // Stores error as the result, for get() to rethrow. Throws std::invalid_argument if error is
  // null, promise_already_satisfied if there already is a result.
  void set_exception(std::exception_ptr error) {
    // TODO: reject a null error; then like set_value, storing the error instead.
    WB_TODO("promise::set_exception", error);
  }
};

}  // namespace wb
