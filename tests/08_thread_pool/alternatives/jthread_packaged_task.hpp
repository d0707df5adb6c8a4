// ALTERNATIVE: std::jthread workers stopped through their stop_token (condition_variable_any waits on it, so no notify_all at shutdown), tasks as std::packaged_task<R(bool)> whose bool says "cancelled" (cancelling runs the task in a mode that throws wb::task_cancelled), and as_completed counting finished tasks with a std::counting_semaphore.
// A fixed-size thread pool with futures, map, as_completed, and two kinds of shutdown.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace wb {

// What the future of a task discarded by shutdown_now() throws from get().
class task_cancelled : public std::runtime_error {
 public:
  task_cancelled() : std::runtime_error("task cancelled: the pool was shut down before it started") {}
};

// thread_pool: `thread_count` std::jthread workers taking std::packaged_tasks from one FIFO queue.
// Thread safety, lifetime and contract as in the reference: the destructor is shutdown().
// Invariants (whenever mutex_ is free): once stopping_ is true it stays true and queue_ only
// shrinks; stop is requested on the workers only after stopping_ is set.
// Memory ordering: submit() hands the task over under mutex_; the packaged_task's shared state
// publishes its result to the future; joining in shutdown publishes everything the tasks did.
// Memory ordering: request_stop() wakes a worker blocked in the stop_token-aware wait (the
// standard makes that wake-up race-free); the worker then drains the queue under mutex_.
class thread_pool {
 public:
  // Starts thread_count workers. Throws std::invalid_argument if thread_count is 0.
  explicit thread_pool(std::size_t thread_count) {
    if (thread_count == 0) throw std::invalid_argument("thread_pool: thread_count must be at least 1");
    workers_.reserve(thread_count);
    for (std::size_t i = 0; i < thread_count; ++i) {
      workers_.emplace_back([this](std::stop_token stop) { work(stop); });
    }
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() { shutdown(); }

  // Queues f(args...) and returns the future of its result (see the reference for details).
  template <class F, class... Args>
  auto submit(F&& f, Args&&... args) -> std::future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
    return enqueue(std::forward<F>(f), nullptr, std::forward<Args>(args)...);
  }

  // Results of f(input) in input order; rethrows the first failing input's exception.
  template <class F, class T>
  auto map(F f, const std::vector<T>& inputs) -> std::vector<std::invoke_result_t<F, T>> {
    std::vector<std::future<std::invoke_result_t<F, T>>> futures;
    futures.reserve(inputs.size());
    for (const auto& input : inputs) futures.push_back(submit(f, input));
    std::vector<std::invoke_result_t<F, T>> results;
    results.reserve(inputs.size());
    for (auto& future : futures) results.push_back(future.get());
    return results;
  }

  // Calls on_done(index, ready future) on this thread for each input, in completion order.
  template <class F, class T, class OnDone>
  void as_completed(F f, const std::vector<T>& inputs, OnDone on_done) {
    struct board {
      std::counting_semaphore<> finished{0};  // one release per finished task
      std::mutex mutex;
      std::vector<std::size_t> order;  // guarded by mutex; indices in completion order
    };
    auto shared = std::make_shared<board>();
    shared->order.reserve(inputs.size());
    std::vector<std::future<std::invoke_result_t<F, T>>> futures;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      futures.push_back(enqueue(f, [shared, i] {
        {
          std::lock_guard lock(shared->mutex);
          shared->order.push_back(i);
        }
        shared->finished.release();
      }, inputs[i]));
    }
    for (std::size_t yielded = 0; yielded < inputs.size(); ++yielded) {
      shared->finished.acquire();
      std::size_t index = 0;
      {
        std::lock_guard lock(shared->mutex);
        index = shared->order[yielded];
      }
      on_done(index, std::move(futures[index]));
    }
  }

  // Stops accepting tasks, lets the workers drain the queue, joins them.
  void shutdown() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    stop_and_join();
  }

  // Stops accepting tasks, cancels the queued ones, lets running ones finish, joins.
  std::size_t shutdown_now() {
    std::deque<entry> discarded;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      discarded.swap(queue_);
    }
    for (auto& task : discarded) task(true);
    stop_and_join();
    return discarded.size();
  }

  // The number of worker threads, as given to the constructor.
  std::size_t thread_count() const { return workers_.size(); }

 private:
  // Runs the task (false) or cancels it (true); either way its future becomes ready.
  using entry = std::function<void(bool cancelled)>;

  template <class F, class... Args>
  auto enqueue(F&& f, std::function<void()> on_finished, Args&&... args) {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    auto task = std::make_shared<std::packaged_task<R(bool)>>(
        [f = std::forward<F>(f), ... args = std::forward<Args>(args)](bool cancelled) mutable -> R {
          if (cancelled) throw task_cancelled();
          return std::invoke(std::move(f), std::move(args)...);
        });
    auto future = task->get_future();
    {
      std::lock_guard lock(mutex_);
      if (stopping_) throw std::runtime_error("thread_pool: submit after shutdown");
      queue_.emplace_back([task, done = std::move(on_finished)](bool cancelled) {
        (*task)(cancelled);
        if (done) done();
      });
    }
    work_available_.notify_one();
    return future;
  }

  void work(std::stop_token stop) {
    for (;;) {
      entry task;
      {
        std::unique_lock lock(mutex_);
        // False only when stop was requested and the queue is empty: drained, time to go.
        if (!work_available_.wait(lock, stop, [&] { return !queue_.empty(); })) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task(false);
    }
  }

  void stop_and_join() {
    std::lock_guard lock(join_mutex_);
    for (auto& worker : workers_) worker.request_stop();
    for (auto& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
  }

  std::mutex mutex_;
  std::deque<entry> queue_;                     // guarded by mutex_
  bool stopping_ = false;                       // guarded by mutex_
  std::condition_variable_any work_available_;  // workers wait here for a task (or a stop request)
  std::mutex join_mutex_;
  std::vector<std::jthread> workers_;  // fixed after construction; joined under join_mutex_
};

}  // namespace wb
