// asyncio in C++20 coroutines: a single-threaded event loop on a virtual clock, with task<T>,
// sleep, gather, wait_for (a timeout that cancels), an async semaphore and an async queue.
// Background and interview questions: notes/18_event_loop.md
//
// GIVEN, read it but it is not the exercise: task<T> and its promise_type (the coroutine
// plumbing: lazy start, result or exception, symmetric transfer to the awaiter, and a
// completion_listener hook for gather and wait_for). YOURS: everything from event_loop down.
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

#include "workbook_todo.hpp"

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
// Cancellation is destruction: when a task is destroyed while suspended, each awaiter it was
// suspended in is destroyed too, and its destructor must take the coroutine off the loop (its
// timer, or its place in the ready FIFO) so that the loop never resumes a dead frame.
class event_loop {
 public:
  using duration = std::chrono::nanoseconds;

  event_loop() = default;
  ~event_loop() = default;
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  // Virtual time since the loop was made (starts at 0); advances only when run() jumps to a timer.
  duration now() const {
    // TODO: return the virtual time.
    WB_TODO("event_loop::now");
  }

  // Runs main and everything it starts until main finishes; returns its value or rethrows what
  // escaped it. Throws deadlock_error if main is not done and nothing is ready and no timer is
  // pending; std::invalid_argument if main was moved from or already ran.
  template <class T>
  T run(task<T> main) {
    // TODO: put main's frame (detail::task_access::frame) in the ready FIFO. While it is not
    // done: if nothing is ready, jump the clock to the earliest timer (or throw deadlock_error if
    // there is none); move every due timer to the ready FIFO, oldest first; resume the front one.
    // Then return frame.promise().take().
    WB_TODO("event_loop::run", main);
  }

  // What `co_await loop.sleep(d)` waits in: a timer at now() + d.
  class sleep_awaiter {
   public:
    sleep_awaiter(event_loop& loop, duration delay) {
      // TODO: remember the loop and the delay.
      WB_TODO("event_loop::sleep_awaiter::sleep_awaiter", loop, delay);
    }
    sleep_awaiter(const sleep_awaiter&) = delete;
    sleep_awaiter& operator=(const sleep_awaiter&) = delete;
    ~sleep_awaiter() {
      // TODO: destroyed while suspended (the task was cancelled): take the timer off the loop,
      // or, if it has fired already, take the coroutine out of the ready FIFO.
    }
    bool await_ready() const {
      // TODO: always suspend (even sleep(0) yields to the other ready tasks).
      WB_TODO("event_loop::sleep_awaiter::await_ready");
    }
    void await_suspend(std::coroutine_handle<> waiter) {
      // TODO: add a timer (deadline now() + delay, next sequence number) that readies waiter.
      WB_TODO("event_loop::sleep_awaiter::await_suspend", waiter);
    }
    void await_resume() noexcept {
      // TODO: note that the sleep is over (the destructor then has nothing to undo).
    }

   private:
    // TODO: the loop, the delay, the waiting coroutine, the timer's key, a "still waiting" flag.
  };

  // co_await loop.sleep(d): resumes this task at now() + d, after the tasks already due then.
  // sleep(0) yields to every ready task. Throws std::invalid_argument if d is negative.
  sleep_awaiter sleep(duration delay) {
    // TODO: check the argument, return a sleep_awaiter.
    WB_TODO("event_loop::sleep", delay);
  }

  // co_await loop.wait_for(t, timeout): t's value if t finishes within timeout (its exception if
  // it throws). Otherwise, at now() + timeout, destroys t wherever it waits (its RAII cleanup runs
  // then and it never resumes) and throws timeout_error. Awaiting it throws std::invalid_argument
  // if timeout is negative or t was moved from or already ran.
  template <class T>
  task<T> wait_for(task<T> inner, duration timeout) {
    // TODO: make this a coroutine that co_awaits a private awaiter (a detail::completion_listener)
    // which, in await_suspend, sets a timer that readies the waiter, registers itself as inner's
    // listener and returns inner's frame (starting it). Whichever comes first wins: on_done()
    // erases the timer and returns the waiter if the timer was still pending (else the waiter is
    // already in the ready FIFO: return std::noop_coroutine()). In await_resume: inner done ->
    // take() its result; else destroy inner (inner = task<T>()) and throw timeout_error. Its
    // destructor takes the timer and the waiter off the loop.
    WB_TODO("event_loop::wait_for", inner, timeout);
  }

 private:
  friend class async_semaphore;
  template <class U>
  friend class async_queue;

  // TODO: the virtual time; the next timer sequence number; a std::deque of ready
  // std::coroutine_handle<>; the timers, ordered by (deadline, sequence) (a std::map keyed by a
  // small struct with operator<, or a heap), with a way to remove one when its task is cancelled.
  // Helpers the semaphore and the queue need: schedule(h) (append to the ready FIFO) and
  // unschedule(h) (remove h from it).
};

// The result of gather() over tasks of T: std::vector<T> in argument order (nothing for void).
template <class T>
using gather_result = std::conditional_t<std::is_void_v<T>, void, std::vector<T>>;

// co_await gather(tasks): runs all the tasks concurrently (each starts at once, in argument
// order) and finishes when the last one does, so it takes as long as the longest, not the sum.
// Returns their values in argument order; if any threw, rethrows the exception of the first
// such task in argument order (after all have finished). Cancelling the gather cancels them all.
template <class T>
task<gather_result<T>> gather(std::vector<task<T>> tasks) {
  // TODO: a coroutine that co_awaits a private awaiter (a detail::completion_listener) which
  // counts tasks.size() + 1, sets itself as each task's listener and resume()s each one, then
  // drops the + 1 and suspends only if some task is still running; on_done() returns the waiter
  // when the count reaches 0. Then take() each result in argument order.
  WB_TODO("gather", tasks);
}

// async_semaphore: asyncio.Semaphore. At most `permits` tasks hold a permit at once; the others
// wait in FIFO order. release() hands its permit straight to the longest waiter (no barging).
// Thread safety: none; use it from the loop's thread only. Lifetime: outlives its tasks.
class async_semaphore {
 public:
  // Throws std::invalid_argument if permits is negative.
  async_semaphore(event_loop& loop, std::ptrdiff_t permits) {
    // TODO: check the argument; remember the loop and the permits.
    WB_TODO("async_semaphore::async_semaphore", loop, permits);
  }
  async_semaphore(const async_semaphore&) = delete;
  async_semaphore& operator=(const async_semaphore&) = delete;

  // What `co_await sem.acquire()` waits in.
  class acquire_awaiter {
   public:
    explicit acquire_awaiter(async_semaphore& sem) {
      // TODO: remember the semaphore.
      WB_TODO("async_semaphore::acquire_awaiter::acquire_awaiter", sem);
    }
    acquire_awaiter(const acquire_awaiter&) = delete;
    acquire_awaiter& operator=(const acquire_awaiter&) = delete;
    ~acquire_awaiter() {
      // TODO: destroyed while suspended (cancelled): still waiting -> leave the wait list;
      // already handed a permit (in the ready FIFO) -> leave the FIFO and pass the permit on.
    }
    bool await_ready() {
      // TODO: take a free permit if there is one (then do not suspend).
      WB_TODO("async_semaphore::acquire_awaiter::await_ready");
    }
    void await_suspend(std::coroutine_handle<> waiter) {
      // TODO: join the back of the wait list.
      WB_TODO("async_semaphore::acquire_awaiter::await_suspend", waiter);
    }
    void await_resume() noexcept {
      // TODO: the permit is ours: nothing left for the destructor to undo.
    }

   private:
    // TODO: the semaphore, the waiting coroutine, a state (idle, waiting, granted).
  };

  // co_await sem.acquire(): takes a permit, waiting (behind earlier waiters) while there is none.
  acquire_awaiter acquire() {
    // TODO: return an acquire_awaiter.
    WB_TODO("async_semaphore::acquire");
  }

  // Gives a permit back: to the longest waiter if there is one (it becomes ready), else to the pool.
  void release() {
    // TODO: a waiter? pop it, mark it granted, schedule it on the loop. Else one more free permit.
    // Never both.
    WB_TODO("async_semaphore::release");
  }

  // Permits free right now.
  std::ptrdiff_t available() const {
    // TODO: return the free permits.
    WB_TODO("async_semaphore::available");
  }

 private:
  // TODO: the loop, the free permits, a FIFO (std::deque) of waiting acquire_awaiter*.
};

// async_queue<T>: asyncio.Queue(maxsize). A FIFO of at most capacity() items: `co_await q.put(v)`
// waits while it is full, `co_await q.get()` while it is empty. Waiters are served FIFO; an item
// goes straight to a waiting getter, and a get that frees a slot moves the longest-waiting
// putter's item in, so a woken task never has to check again.
// Thread safety: none; use it from the loop's thread only. Lifetime: outlives its tasks.
// Cancellation: a cancelled put() adds nothing; an item handed to a get() that is cancelled
// before it resumes goes to the next getter, or back to the head of the queue.
template <class T>
class async_queue {
 public:
  // Throws std::invalid_argument if capacity is 0.
  async_queue(event_loop& loop, std::size_t capacity) {
    // TODO: check the argument; remember the loop and the capacity.
    WB_TODO("async_queue::async_queue", loop, capacity);
  }
  async_queue(const async_queue&) = delete;
  async_queue& operator=(const async_queue&) = delete;

  // What `co_await q.put(v)` waits in.
  class put_awaiter {
   public:
    put_awaiter(async_queue& queue, T item) {
      // TODO: remember the queue and the item.
      WB_TODO("async_queue::put_awaiter::put_awaiter", queue, item);
    }
    put_awaiter(const put_awaiter&) = delete;
    put_awaiter& operator=(const put_awaiter&) = delete;
    ~put_awaiter() {
      // TODO: cancelled while waiting -> leave the putters' list (the item is dropped); cancelled
      // after a get moved the item in (granted) -> leave the ready FIFO.
    }
    bool await_ready() {
      // TODO: a getter waits -> hand it the item directly; room -> append; else suspend.
      WB_TODO("async_queue::put_awaiter::await_ready");
    }
    void await_suspend(std::coroutine_handle<> waiter) {
      // TODO: join the back of the putters' list.
      WB_TODO("async_queue::put_awaiter::await_suspend", waiter);
    }
    void await_resume() noexcept {
      // TODO: done: nothing left for the destructor to undo.
    }

   private:
    // TODO: the queue, the item (std::optional<T>), the waiting coroutine, a state.
  };

  // What `co_await q.get()` waits in.
  class get_awaiter {
   public:
    explicit get_awaiter(async_queue& queue) {
      // TODO: remember the queue.
      WB_TODO("async_queue::get_awaiter::get_awaiter", queue);
    }
    get_awaiter(const get_awaiter&) = delete;
    get_awaiter& operator=(const get_awaiter&) = delete;
    ~get_awaiter() {
      // TODO: cancelled while waiting -> leave the getters' list; cancelled after being handed an
      // item -> leave the ready FIFO and pass the item to the next getter or the queue's head.
    }
    bool await_ready() {
      // TODO: an item? take the front one; if a putter waits, move its item in and schedule it.
      WB_TODO("async_queue::get_awaiter::await_ready");
    }
    void await_suspend(std::coroutine_handle<> waiter) {
      // TODO: join the back of the getters' list.
      WB_TODO("async_queue::get_awaiter::await_suspend", waiter);
    }
    T await_resume() {
      // TODO: return the item taken or handed over.
      WB_TODO("async_queue::get_awaiter::await_resume");
    }

   private:
    // TODO: the queue, the item (std::optional<T>), the waiting coroutine, a state.
  };

  // co_await q.put(v): appends v, waiting (behind earlier putters) while the queue is full.
  put_awaiter put(T item) {
    // TODO: return a put_awaiter holding item.
    WB_TODO("async_queue::put", item);
  }

  // co_await q.get(): removes and returns the oldest item, waiting while the queue is empty.
  get_awaiter get() {
    // TODO: return a get_awaiter.
    WB_TODO("async_queue::get");
  }

  // Items queued right now (items handed straight to a waiting getter are not counted).
  std::size_t size() const {
    // TODO: the number of queued items.
    WB_TODO("async_queue::size");
  }
  // The most items the queue holds, as given to the constructor.
  std::size_t capacity() const {
    // TODO: the capacity.
    WB_TODO("async_queue::capacity");
  }

 private:
  // TODO: the loop, the capacity, a std::deque<T> of items, FIFOs of waiting get_awaiter* and
  // put_awaiter*, and a helper that hands an item to the first waiting getter.
};

}  // namespace wb
