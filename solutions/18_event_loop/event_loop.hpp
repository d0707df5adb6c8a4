// asyncio in C++20 coroutines: a single-threaded event loop on a virtual clock, with task<T>,
// sleep, gather, wait_for (a timeout that cancels), an async semaphore and an async queue.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace wb {

// Thrown by awaiting event_loop::wait_for when the timeout passes first.
class timeout_error : public std::runtime_error {
 public:
  timeout_error() : std::runtime_error("wait_for: the timeout passed before the task finished") {}
};

// Thrown by event_loop::run when the main task is not done but nothing can ever run again: no
// task is ready and no timer is pending (every task waits for something only a task could do).
class deadlock_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class T = void>
class task;

namespace detail {

// Told when a task started by gather() or wait_for() finishes; returns the coroutine to resume
// next (std::noop_coroutine() for none).
struct completion_listener {
  virtual std::coroutine_handle<> on_done() noexcept = 0;

 protected:
  ~completion_listener() = default;
};

// Where a task keeps its outcome: the value (if any) or the exception that escaped it.
template <class T>
class outcome {
 public:
  void return_value(T value) { result_.template emplace<1>(std::move(value)); }
  void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }
  T take() {
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    return std::move(std::get<1>(result_));
  }

 private:
  std::variant<std::monostate, T, std::exception_ptr> result_;
};

template <>
class outcome<void> {
 public:
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void take() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

// The coroutine frame behind a task, for the loop and the combinators (not for users).
struct task_access {
  template <class T>
  static auto frame(task<T>& t) {
    if (!t.frame_ || t.frame_.done()) throw std::invalid_argument("expected a task that has not run yet");
    return t.frame_;
  }
  template <class T>
  static auto handle(task<T>& t) noexcept {
    return t.frame_;
  }
};

}  // namespace detail

// task<T>: a lazy coroutine (`async def`). Calling the coroutine function creates the frame and
// runs nothing; the body starts when the task is awaited (`co_await t`, which then resumes the
// awaiter with the result or rethrows), run by event_loop::run, or started by gather/wait_for.
// Lifetime: the task object owns its frame. Destroying it destroys the frame wherever it is
// suspended: the locals' destructors run (RAII cleanup) and every awaiter it was suspended in
// takes itself off the loop, so the body never resumes. That is how this loop cancels.
template <class T>
class [[nodiscard]] task {
 public:
  struct promise_type : detail::outcome<T> {
    std::coroutine_handle<> continuation;              // who awaits this task, if anyone
    detail::completion_listener* listener = nullptr;  // or who joins it (gather, wait_for)

    task get_return_object() { return task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct final_awaiter {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) noexcept {
        promise_type& p = self.promise();
        if (p.listener) return p.listener->on_done();
        if (p.continuation) return p.continuation;  // symmetric transfer to the awaiter
        return std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
  };

  task() noexcept = default;  // an empty task: owns no frame, cannot be awaited
  task(task&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (frame_) frame_.destroy();
      frame_ = std::exchange(other.frame_, {});
    }
    return *this;
  }
  ~task() {
    if (frame_) frame_.destroy();
  }

  // co_await t: runs t's body now (symmetric transfer), resumes the awaiter when it finishes.
  auto operator co_await() {
    struct awaiter {
      std::coroutine_handle<promise_type> child;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
        child.promise().continuation = parent;
        return child;
      }
      T await_resume() { return child.promise().take(); }
    };
    return awaiter{detail::task_access::frame(*this)};
  }

 private:
  friend struct detail::task_access;
  explicit task(std::coroutine_handle<promise_type> frame) : frame_(frame) {}
  std::coroutine_handle<promise_type> frame_;
};

// event_loop: a single-threaded scheduler (asyncio's loop) with a virtual clock. It keeps a FIFO
// of ready coroutines and a set of timers ordered by (deadline, sequence number). run() resumes
// ready coroutines one at a time; when none is ready it jumps now() to the earliest deadline (so
// sleeping an hour takes no real time) and readies every timer due then, oldest first, so equal
// deadlines wake in the order they were set.
//
// Thread safety: none, and none needed: one thread runs the loop and every task on it, and a task
// is only ever interrupted at its own co_await. Use the loop, and the tasks, semaphores and queues
// bound to it, from the thread that calls run().
// Lifetime: the loop, and every semaphore and queue, must outlive the tasks that use them.
// Invariants: a suspended coroutine is in at most one place (the ready FIFO, the timers, or one
// wait list); timers_ holds only deadlines >= now(); now() never goes back.
// Memory ordering: not a concern: everything runs on one thread, in the order the loop resumes it.
class event_loop {
 public:
  using duration = std::chrono::nanoseconds;

  event_loop() = default;
  ~event_loop() = default;
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  // Virtual time since the loop was made (starts at 0); advances only when run() jumps to a timer.
  duration now() const { return now_; }

  // Runs main and everything it starts until main finishes; returns its value or rethrows what
  // escaped it. Throws deadlock_error if main is not done and nothing is ready and no timer is
  // pending; std::invalid_argument if main was moved from or already ran.
  template <class T>
  T run(task<T> main) {
    auto frame = detail::task_access::frame(main);
    ready_.push_back(frame);
    while (!frame.done()) {
      if (ready_.empty()) {
        if (timers_.empty()) {
          throw deadlock_error("event_loop::run: the main task waits, but no task is ready and no timer "
                               "is pending, so nothing can ever wake it");
        }
        now_ = timers_.begin()->first.deadline;
      }
      while (!timers_.empty() && timers_.begin()->first.deadline <= now_) {
        ready_.push_back(timers_.begin()->second);
        timers_.erase(timers_.begin());
      }
      auto next = ready_.front();
      ready_.pop_front();
      next.resume();
    }
    return frame.promise().take();
  }

 private:
  // A timer's place in the order: earlier deadline first, then the one set first.
  struct timer_key {
    duration deadline{};
    std::uint64_t sequence = 0;
    bool operator<(const timer_key& other) const noexcept {
      return deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence;
    }
  };

 public:
  // What `co_await loop.sleep(d)` waits in: a timer at now() + d.
  class sleep_awaiter {
   public:
    sleep_awaiter(event_loop& loop, duration delay) : loop_(loop), delay_(delay) {}
    sleep_awaiter(const sleep_awaiter&) = delete;
    sleep_awaiter& operator=(const sleep_awaiter&) = delete;
    ~sleep_awaiter() {  // destroyed while suspended (cancelled): never wake this frame
      if (waiting_) loop_.forget(key_, waiter_);
    }
    bool await_ready() const { return false; }
    void await_suspend(std::coroutine_handle<> waiter) {
      waiter_ = waiter;
      key_ = loop_.add_timer(delay_, waiter);
      waiting_ = true;
    }
    void await_resume() noexcept { waiting_ = false; }

   private:
    event_loop& loop_;
    duration delay_;
    std::coroutine_handle<> waiter_;
    bool waiting_ = false;
    timer_key key_{};
  };

  // co_await loop.sleep(d): resumes this task at now() + d, after the tasks already due then.
  // sleep(0) yields to every ready task. Throws std::invalid_argument if d is negative.
  sleep_awaiter sleep(duration delay) {
    if (delay < duration::zero()) throw std::invalid_argument("event_loop::sleep: negative duration");
    return sleep_awaiter(*this, delay);
  }

  // co_await loop.wait_for(t, timeout): t's value if t finishes within timeout (its exception if
  // it throws). Otherwise, at now() + timeout, destroys t wherever it waits (its RAII cleanup runs
  // then and it never resumes) and throws timeout_error. Awaiting it throws std::invalid_argument
  // if timeout is negative or t was moved from or already ran.
  template <class T>
  task<T> wait_for(task<T> inner, duration timeout) {
    if (timeout < duration::zero()) throw std::invalid_argument("event_loop::wait_for: negative timeout");
    deadline_awaiter<T> waiting(*this, inner, timeout);
    if constexpr (std::is_void_v<T>) {
      co_await waiting;
    } else {
      co_return co_await waiting;
    }
  }

 private:
  friend class async_semaphore;
  template <class U>
  friend class async_queue;

  timer_key add_timer(duration delay, std::coroutine_handle<> waiter) {
    timer_key key{now_ + delay, next_sequence_++};
    timers_.emplace(key, waiter);
    return key;
  }
  void schedule(std::coroutine_handle<> waiter) { ready_.push_back(waiter); }
  void unschedule(std::coroutine_handle<> waiter) { std::erase(ready_, waiter); }
  // Takes a cancelled sleeper off the loop: its timer if pending, else its place in ready_.
  void forget(const timer_key& key, std::coroutine_handle<> waiter) {
    if (timers_.erase(key) == 0) unschedule(waiter);
  }

  // wait_for's awaiter: starts inner, sets a timer, and resumes the waiter on whichever comes
  // first. The one that comes second finds the other gone and does nothing.
  template <class T>
  class deadline_awaiter : detail::completion_listener {
   public:
    deadline_awaiter(event_loop& loop, task<T>& inner, duration timeout)
        : loop_(loop), inner_(inner), timeout_(timeout) {}
    ~deadline_awaiter() {
      if (waiting_) loop_.forget(key_, waiter_);
    }
    bool await_ready() const { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> waiter) {
      auto frame = detail::task_access::frame(inner_);
      waiter_ = waiter;
      key_ = loop_.add_timer(timeout_, waiter);
      waiting_ = true;
      frame.promise().listener = this;
      return frame;  // start inner now
    }
    T await_resume() {
      waiting_ = false;
      loop_.timers_.erase(key_);  // gone already if it fired
      if (!inner_done_) {
        inner_ = task<T>();  // destroys inner's frame where it waits: that is the cancellation
        throw timeout_error();
      }
      return detail::task_access::handle(inner_).promise().take();
    }

   private:
    std::coroutine_handle<> on_done() noexcept override {
      inner_done_ = true;
      if (loop_.timers_.erase(key_) == 1) return waiter_;  // in time: resume the waiter now
      return std::noop_coroutine();                        // the timer fired: waiter is in ready_
    }

    event_loop& loop_;
    task<T>& inner_;
    duration timeout_;
    std::coroutine_handle<> waiter_;
    timer_key key_{};
    bool waiting_ = false;
    bool inner_done_ = false;
  };

  // All of it is touched only on the loop's thread, so no mutex guards it.
  duration now_{};
  std::uint64_t next_sequence_ = 0;
  std::deque<std::coroutine_handle<>> ready_;            // resumed in this order
  std::map<timer_key, std::coroutine_handle<>> timers_;  // earliest deadline first, then oldest
};

// The result of gather() over tasks of T: std::vector<T> in argument order (nothing for void).
template <class T>
using gather_result = std::conditional_t<std::is_void_v<T>, void, std::vector<T>>;

namespace detail {

// gather's awaiter: starts every task, resumes the waiter when the last one finishes.
template <class T>
class join_all : completion_listener {
 public:
  explicit join_all(std::vector<task<T>>& tasks) : tasks_(tasks) {}
  bool await_ready() const { return tasks_.empty(); }
  bool await_suspend(std::coroutine_handle<> waiter) {
    for (auto& t : tasks_) task_access::frame(t);  // all valid before any starts (else it throws)
    waiter_ = waiter;
    remaining_ = tasks_.size() + 1;  // + 1: a task that finishes at once must not resume us yet
    for (auto& t : tasks_) {
      auto frame = task_access::handle(t);
      frame.promise().listener = this;
      frame.resume();  // runs to its first suspension
    }
    return --remaining_ != 0;  // all done already: do not suspend
  }
  void await_resume() noexcept {}

 private:
  std::coroutine_handle<> on_done() noexcept override {
    return --remaining_ == 0 ? waiter_ : std::noop_coroutine();
  }

  std::vector<task<T>>& tasks_;
  std::size_t remaining_ = 0;
  std::coroutine_handle<> waiter_;
};

}  // namespace detail

// co_await gather(tasks): runs all the tasks concurrently (each starts at once, in argument
// order) and finishes when the last one does, so it takes as long as the longest, not the sum.
// Returns their values in argument order; if any threw, rethrows the exception of the first
// such task in argument order (after all have finished). Cancelling the gather cancels them all.
template <class T>
task<gather_result<T>> gather(std::vector<task<T>> tasks) {
  co_await detail::join_all<T>(tasks);
  if constexpr (std::is_void_v<T>) {
    for (auto& t : tasks) detail::task_access::handle(t).promise().take();
  } else {
    std::vector<T> results;
    results.reserve(tasks.size());
    for (auto& t : tasks) results.push_back(detail::task_access::handle(t).promise().take());
    co_return results;
  }
}

// async_semaphore: asyncio.Semaphore. At most `permits` tasks hold a permit at once; the others
// wait in FIFO order. release() hands its permit straight to the longest waiter (no barging).
// Thread safety: none; use it from the loop's thread only. Lifetime: outlives its tasks.
// Invariant: available() > 0 only while nobody waits.
class async_semaphore {
 public:
  // Throws std::invalid_argument if permits is negative.
  async_semaphore(event_loop& loop, std::ptrdiff_t permits) : loop_(loop), available_(permits) {
    if (permits < 0) throw std::invalid_argument("async_semaphore: permits must not be negative");
  }
  async_semaphore(const async_semaphore&) = delete;
  async_semaphore& operator=(const async_semaphore&) = delete;

  // What `co_await sem.acquire()` waits in.
  class acquire_awaiter {
   public:
    explicit acquire_awaiter(async_semaphore& sem) : sem_(sem) {}
    acquire_awaiter(const acquire_awaiter&) = delete;
    acquire_awaiter& operator=(const acquire_awaiter&) = delete;
    ~acquire_awaiter() {  // destroyed while suspended (cancelled)
      if (state_ == state::waiting) std::erase(sem_.waiters_, this);
      if (state_ == state::granted) {  // a permit was handed to us: pass it on
        sem_.loop_.unschedule(waiter_);
        sem_.release();
      }
    }
    bool await_ready() {
      if (sem_.available_ == 0) return false;
      --sem_.available_;
      return true;
    }
    void await_suspend(std::coroutine_handle<> waiter) {
      waiter_ = waiter;
      state_ = state::waiting;
      sem_.waiters_.push_back(this);
    }
    void await_resume() noexcept { state_ = state::idle; }

   private:
    friend class async_semaphore;
    enum class state { idle, waiting, granted };
    async_semaphore& sem_;
    std::coroutine_handle<> waiter_;
    state state_ = state::idle;
  };

  // co_await sem.acquire(): takes a permit, waiting (behind earlier waiters) while there is none.
  acquire_awaiter acquire() { return acquire_awaiter(*this); }

  // Gives a permit back: to the longest waiter if there is one (it becomes ready), else to the pool.
  void release() {
    if (waiters_.empty()) {
      ++available_;
      return;
    }
    acquire_awaiter* next = waiters_.front();
    waiters_.pop_front();
    next->state_ = acquire_awaiter::state::granted;
    loop_.schedule(next->waiter_);
  }

  // Permits free right now.
  std::ptrdiff_t available() const { return available_; }

 private:
  // All of it is touched only on the loop's thread, so no mutex guards it.
  event_loop& loop_;
  std::ptrdiff_t available_;
  std::deque<acquire_awaiter*> waiters_;  // FIFO
};

// async_queue<T>: asyncio.Queue(maxsize). A FIFO of at most capacity() items: `co_await q.put(v)`
// waits while it is full, `co_await q.get()` while it is empty. Waiters are served FIFO; an item
// goes straight to a waiting getter, and a get that frees a slot moves the longest-waiting
// putter's item in, so a woken task never has to check again.
// Thread safety: none; use it from the loop's thread only. Lifetime: outlives its tasks.
// Invariants: getters wait only while the queue is empty, putters only while it is full.
// Cancellation: a cancelled put() adds nothing; an item handed to a get() that is cancelled
// before it resumes goes to the next getter, or back to the head of the queue.
template <class T>
class async_queue {
 public:
  // Throws std::invalid_argument if capacity is 0.
  async_queue(event_loop& loop, std::size_t capacity) : loop_(loop), capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("async_queue: capacity must be at least 1");
  }
  async_queue(const async_queue&) = delete;
  async_queue& operator=(const async_queue&) = delete;

 private:
  enum class state { idle, waiting, granted };  // of a put or get awaiter

 public:

  // What `co_await q.put(v)` waits in.
  class put_awaiter {
   public:
    put_awaiter(async_queue& queue, T item) : queue_(queue), item_(std::move(item)) {}
    put_awaiter(const put_awaiter&) = delete;
    put_awaiter& operator=(const put_awaiter&) = delete;
    ~put_awaiter() {
      if (state_ == state::waiting) std::erase(queue_.putters_, this);  // the item is dropped
      if (state_ == state::granted) queue_.loop_.unschedule(waiter_);   // the item is in already
    }
    bool await_ready() {
      if (!queue_.getters_.empty()) {  // the queue is empty: hand the item over directly
        queue_.hand_to_getter(std::move(*item_));
        return true;
      }
      if (queue_.items_.size() >= queue_.capacity_) return false;
      queue_.items_.push_back(std::move(*item_));
      return true;
    }
    void await_suspend(std::coroutine_handle<> waiter) {
      waiter_ = waiter;
      state_ = state::waiting;
      queue_.putters_.push_back(this);
    }
    void await_resume() noexcept { state_ = state::idle; }

   private:
    friend class async_queue;
    async_queue& queue_;
    std::optional<T> item_;
    std::coroutine_handle<> waiter_;
    state state_ = state::idle;
  };

  // What `co_await q.get()` waits in.
  class get_awaiter {
   public:
    explicit get_awaiter(async_queue& queue) : queue_(queue) {}
    get_awaiter(const get_awaiter&) = delete;
    get_awaiter& operator=(const get_awaiter&) = delete;
    ~get_awaiter() {
      if (state_ == state::waiting) std::erase(queue_.getters_, this);
      if (state_ == state::granted) {  // handed an item we will never return: pass it on
        queue_.loop_.unschedule(waiter_);
        if (!queue_.getters_.empty()) {
          queue_.hand_to_getter(std::move(*item_));
        } else {
          queue_.items_.push_front(std::move(*item_));
        }
      }
    }
    bool await_ready() {
      if (queue_.items_.empty()) return false;
      item_.emplace(std::move(queue_.items_.front()));
      queue_.items_.pop_front();
      if (!queue_.putters_.empty()) {  // a slot is free: the longest-waiting putter's item goes in
        put_awaiter* next = queue_.putters_.front();
        queue_.putters_.pop_front();
        queue_.items_.push_back(std::move(*next->item_));
        next->state_ = state::granted;
        queue_.loop_.schedule(next->waiter_);
      }
      return true;
    }
    void await_suspend(std::coroutine_handle<> waiter) {
      waiter_ = waiter;
      state_ = state::waiting;
      queue_.getters_.push_back(this);
    }
    T await_resume() {
      state_ = state::idle;
      return std::move(*item_);
    }

   private:
    friend class async_queue;
    async_queue& queue_;
    std::optional<T> item_;
    std::coroutine_handle<> waiter_;
    state state_ = state::idle;
  };

  // co_await q.put(v): appends v, waiting (behind earlier putters) while the queue is full.
  put_awaiter put(T item) { return put_awaiter(*this, std::move(item)); }

  // co_await q.get(): removes and returns the oldest item, waiting while the queue is empty.
  get_awaiter get() { return get_awaiter(*this); }

  // Items queued right now (items handed straight to a waiting getter are not counted).
  std::size_t size() const { return items_.size(); }
  // The most items the queue holds, as given to the constructor.
  std::size_t capacity() const { return capacity_; }

 private:
  void hand_to_getter(T item) {
    get_awaiter* next = getters_.front();
    getters_.pop_front();
    next->item_.emplace(std::move(item));
    next->state_ = state::granted;
    loop_.schedule(next->waiter_);
  }

  // All of it is touched only on the loop's thread, so no mutex guards it.
  event_loop& loop_;
  const std::size_t capacity_;
  std::deque<T> items_;
  std::deque<get_awaiter*> getters_;  // FIFO; non-empty only while items_ is empty
  std::deque<put_awaiter*> putters_;  // FIFO; non-empty only while items_ is full
};

}  // namespace wb
