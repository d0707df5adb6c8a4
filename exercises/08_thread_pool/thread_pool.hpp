// A fixed-size thread pool with futures, map, as_completed, and two kinds of shutdown.
// Background and interview questions: notes/08_thread_pool.md
#pragma once

#include <cstddef>
#include <future>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "workbook_todo.hpp"

namespace wb {

// What the future of a task discarded by shutdown_now() throws from get().
class task_cancelled : public std::runtime_error {
 public:
  task_cancelled() : std::runtime_error("task cancelled: the pool was shut down before it started") {}
};

// thread_pool: `thread_count` worker threads that take tasks from one FIFO queue, like Python's
// concurrent.futures.ThreadPoolExecutor. submit() returns a std::future for the task's result or
// exception; tasks start in submission order and at most thread_count() run at once.
//
// Thread safety: submit, map, as_completed, shutdown and shutdown_now may be called from any
// thread, also from inside a task (except shutdown/shutdown_now: a task cannot join itself).
// Lifetime: the destructor is shutdown(): it runs every queued task, then joins. Keep whatever
// the tasks use alive until then.
// Build it with one std::mutex guarding a std::deque of type-erased tasks and a stopping flag,
// one std::condition_variable the idle workers wait on, and a std::vector<std::thread>. Each
// queued task owns a std::promise<R>: running it sets the value (or the exception), cancelling
// it sets wb::task_cancelled.
class thread_pool {
 public:
  // Starts thread_count workers. Throws std::invalid_argument if thread_count is 0.
  explicit thread_pool(std::size_t thread_count) {
    // TODO: reject 0; start thread_count threads, each running the worker loop: wait (in a
    // `while` loop) for a task or for stopping; exit once stopping and the queue is empty; else
    // take the front task and run it WITHOUT holding the lock.
    WB_TODO("thread_pool::thread_pool", thread_count);
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    // TODO: shutdown(). (Nothing to do in this stub: its constructor always throws, so no
    // thread_pool is ever built, and a destructor must not throw.)
  }

  // Queues f(args...) (both decay-copied) and returns the future of its result; get() rethrows
  // what the task threw, or wb::task_cancelled if shutdown_now() discarded it. Throws
  // std::runtime_error if the pool is shut down.
  template <class F, class... Args>
  auto submit(F&& f, Args&&... args) -> std::future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
    // TODO: wrap a copy of f and args with a std::promise (set_value, or set_exception in a
    // catch (...)); take its future; under the lock throw if stopping, else push to the back;
    // wake one worker.
    WB_TODO("thread_pool::submit", f, args...);
  }

  // Runs f(input) for every input on the pool; returns the results in input order (waiting for
  // all of them). If some f(input) threw, rethrows the exception of the first such input.
  // f must return a value (not void).
  template <class F, class T>
  auto map(F f, const std::vector<T>& inputs) -> std::vector<std::invoke_result_t<F, T>> {
    // TODO: submit every input first, then get() the futures in input order.
    WB_TODO("thread_pool::map", f, inputs);
  }

  // Runs f(input) for every input on the pool and calls on_done(index, future) on this thread
  // once per input, in the order the tasks finish; each future is ready (get() returns the
  // result or rethrows). Returns after the last call. An exception from on_done ends the loop.
  template <class F, class T, class OnDone>
  void as_completed(F f, const std::vector<T>& inputs, OnDone on_done) {
    // TODO: a std::future cannot tell you when it becomes ready, so let each task report: give it
    // a shared "finish line" (a mutex, a condition variable, a deque of finished indices) that it
    // appends its index to after its promise is set (also when it is cancelled). Then pop
    // indices from it, waiting while it is empty, and pass each future to on_done.
    WB_TODO("thread_pool::as_completed", f, inputs, on_done);
  }

  // Stops accepting tasks, lets the workers run every queued task, and joins them. Calling it
  // again does nothing more.
  void shutdown() {
    // TODO: set stopping under the lock; wake EVERY worker; join the joinable threads.
    WB_TODO("thread_pool::shutdown");
  }

  // Stops accepting tasks, discards the queued ones (their futures throw wb::task_cancelled),
  // lets the running ones finish, and joins. Returns the number of tasks discarded.
  std::size_t shutdown_now() {
    // TODO: under the lock set stopping and take the whole queue; wake every worker; cancel each
    // taken task (set wb::task_cancelled on its promise); join; return how many there were.
    WB_TODO("thread_pool::shutdown_now");
  }

  // The number of worker threads, as given to the constructor.
  std::size_t thread_count() const {
    // TODO: return the number of threads.
    WB_TODO("thread_pool::thread_count");
  }

 private:
  // TODO: a std::mutex; guarded by it, a std::deque of tasks (each with run() and cancel()) and a
  // bool stopping_ flag; a std::condition_variable work_available_; the std::vector<std::thread>
  // of workers (and a second mutex, so that two shutdowns never join one thread twice).
};

}  // namespace wb
