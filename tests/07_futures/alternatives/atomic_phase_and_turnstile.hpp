// ALTERNATIVE: no mutex and no condition variable: an atomic phase word claimed with compare_exchange, a binary-semaphore turnstile for the waits (timed ones too), and a lock-free stack of callbacks closed with one exchange.
// A one-shot promise/future pair with done-callbacks (Python's concurrent.futures.Future).
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <semaphore>
#include <stdexcept>
#include <utility>

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

// What a promise and its futures share.
//
// Design: `phase` goes pending -> writing -> ready, each step once. The thread whose
// compare_exchange moves it out of pending owns value/error and writes them with no lock; its
// release store of `ready` publishes them. Waiters do not sleep on a condition variable but on
// a turnstile: a binary semaphore released once when the result is ready, which every waiter
// takes and at once gives back, so each release lets the next waiter through. Callbacks wait in
// a lock-free (Treiber) stack; completing the promise swaps the head for the `closed` sentinel
// in one exchange, so a callback is either in the stack the completer takes (and runs it) or
// finds the sentinel and runs itself: never both, never neither.
template <class T>
struct future_state {
  struct node {
    std::function<void(const future<T>&)> fn;
    node* next = nullptr;
  };
  enum : int { pending, writing, ready };

  std::atomic<int> phase{pending};
  std::optional<T> value;    // written only by the thread that left `pending`, before `ready`
  std::exception_ptr error;  // likewise
  std::binary_semaphore turnstile{0};
  std::atomic<node*> callbacks{nullptr};  // a stack of callbacks not run yet; `closed()` once taken

  node* closed() { return &closed_sentinel; }

  ~future_state() {
    node* head = callbacks.load(std::memory_order_acquire);
    while (head != nullptr && head != closed()) delete std::exchange(head, head->next);
  }

 private:
  node closed_sentinel;  // its address marks "the callbacks have been taken"; never dereferenced
};

}  // namespace detail

// future<T>: the reading side of a one-shot result (see the reference for the contract).
// get() may be called many times from any threads and returns a reference to one stored value.
//
// Thread safety: every member may be called concurrently from any thread. Callbacks run with no
// lock held (there is none), so they may call back into the future.
// Memory ordering: the producer's writes before completing happen before any reader that sees
// phase == ready with an acquire load (is_ready, wait, wait_for, get) and before every callback
// (the callback stack's exchange is acq_rel and follows the release store of the phase).
template <class T>
class future {
 public:
  using callback = std::function<void(const future&)>;

  const T& get() const {
    wait();
    if (state_->error) std::rethrow_exception(state_->error);
    return *state_->value;
  }

  void wait() const {
    if (is_ready()) return;
    state_->turnstile.acquire();  // released once the result is ready...
    state_->turnstile.release();  // ...and passed on to the next waiter
  }

  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    if (is_ready()) return true;
    if (state_->turnstile.try_acquire_for(timeout)) state_->turnstile.release();
    // Decide from the phase: another waiter may hold the token just as the time runs out.
    return is_ready();
  }

  bool is_ready() const {
    // acquire: pairs with the completer's release store, so the result is visible after true.
    return state_->phase.load(std::memory_order_acquire) == detail::future_state<T>::ready;
  }

  template <class F>
  void add_done_callback(F&& fn) const {
    using node = typename detail::future_state<T>::node;
    auto entry = std::make_unique<node>(node{callback(std::forward<F>(fn)), nullptr});
    if (!entry->fn) throw std::invalid_argument("future::add_done_callback: the callback is empty");
    // acquire: if we see the sentinel, we also see the result published before it.
    node* head = state_->callbacks.load(std::memory_order_acquire);
    while (head != state_->closed()) {
      entry->next = head;
      // release: the completer's exchange must see the node's contents.
      if (state_->callbacks.compare_exchange_weak(head, entry.get(), std::memory_order_release,
                                                  std::memory_order_acquire)) {
        entry.release();  // the completer owns it now
        return;
      }
    }
    run_callback(entry->fn, *this);
  }

 private:
  template <class>
  friend class promise;

  explicit future(std::shared_ptr<detail::future_state<T>> state) : state_(std::move(state)) {}

  static void run_callback(const callback& fn, const future& self) noexcept { fn(self); }

  std::shared_ptr<detail::future_state<T>> state_;
};

// promise<T>: the writing side (see the reference for the contract).
template <class T>
class promise {
 public:
  promise() : state_(std::make_shared<detail::future_state<T>>()) {}
  promise(promise&&) noexcept = default;
  promise& operator=(promise&&) = delete;
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;

  ~promise() {
    if (state_) complete(nullptr, std::make_exception_ptr(broken_promise()), false);
  }

  future<T> get_future() const { return future<T>(state_); }

  void set_value(T value) { complete(&value, nullptr, true); }

  void set_exception(std::exception_ptr error) {
    if (!error) throw std::invalid_argument("promise::set_exception: the exception_ptr is null");
    complete(nullptr, std::move(error), true);
  }

 private:
  void complete(T* value, std::exception_ptr error, bool throw_if_taken) {
    using state = detail::future_state<T>;
    int expected = state::pending;
    // relaxed: winning the claim publishes nothing; the release store below does.
    if (!state_->phase.compare_exchange_strong(expected, state::writing, std::memory_order_relaxed)) {
      if (throw_if_taken) throw promise_already_satisfied();
      return;
    }
    if (value != nullptr) {
      state_->value.emplace(std::move(*value));
    } else {
      state_->error = std::move(error);
    }
    state_->phase.store(state::ready, std::memory_order_release);  // publishes value/error
    state_->turnstile.release();                                    // lets the first waiter through
    // acq_rel: acquire the callbacks pushed so far; release the phase to late adders.
    typename state::node* head = state_->callbacks.exchange(state_->closed(), std::memory_order_acq_rel);
    typename state::node* in_order = nullptr;  // the stack is newest first: reverse it
    while (head != nullptr) {
      typename state::node* next = head->next;
      head->next = in_order;
      in_order = head;
      head = next;
    }
    const future<T> self(state_);
    while (in_order != nullptr) {
      std::unique_ptr<typename state::node> entry(std::exchange(in_order, in_order->next));
      future<T>::run_callback(entry->fn, self);
    }
  }

  std::shared_ptr<detail::future_state<T>> state_;
};

}  // namespace wb
