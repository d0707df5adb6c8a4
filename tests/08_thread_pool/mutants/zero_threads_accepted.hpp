// BUG: the constructor accepts 0 threads: "an empty pool is still a pool"
// A fixed-size thread pool with futures, map, as_completed, and two kinds of shutdown.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
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

// thread_pool: `thread_count` worker threads that take tasks from one FIFO queue, like Python's
// concurrent.futures.ThreadPoolExecutor. submit() returns a std::future for the task's result or
// exception; tasks start in submission order and at most thread_count() run at once.
//
// Thread safety: submit, map, as_completed, shutdown and shutdown_now may be called from any
// thread, also from inside a task (except shutdown/shutdown_now: a task cannot join itself).
// Lifetime: the destructor is shutdown(): it runs every queued task, then joins. Keep whatever
// the tasks use alive until then.
// Invariants (whenever mutex_ is free): once stopping_ is true it stays true and queue_ only
// shrinks; a worker waits on work_available_ only while queue_ is empty and stopping_ is false.
// Memory ordering: everything done before submit() is visible to the task (mutex_ hands it
// over); everything the task did is visible after its future is ready (the promise's shared state).
// Memory ordering: shutdown() and shutdown_now() return after joining every worker, so all the
// tasks' effects are visible to the caller.
class thread_pool {
 public:
  // Starts thread_count workers. Throws std::invalid_argument if thread_count is 0.
  explicit thread_pool(std::size_t thread_count) {
    workers_.reserve(thread_count);
    for (std::size_t i = 0; i < thread_count; ++i) workers_.emplace_back([this] { work(); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() { shutdown(); }

  // Queues f(args...) (both decay-copied) and returns the future of its result; get() rethrows
  // what the task threw, or wb::task_cancelled if shutdown_now() discarded it. Throws
  // std::runtime_error if the pool is shut down.
  template <class F, class... Args>
  auto submit(F&& f, Args&&... args) -> std::future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
    return enqueue(std::forward<F>(f), {}, std::forward<Args>(args)...);
  }

  // Runs f(input) for every input on the pool; returns the results in input order (waiting for
  // all of them). If some f(input) threw, rethrows the exception of the first such input.
  // f must return a value (not void).
  template <class F, class T>
  auto map(F f, const std::vector<T>& inputs) -> std::vector<std::invoke_result_t<F, T>> {
    std::vector<std::future<std::invoke_result_t<F, T>>> futures;
    for (const auto& input : inputs) futures.push_back(submit(f, input));
    std::vector<std::invoke_result_t<F, T>> results;
    for (auto& future : futures) results.push_back(future.get());
    return results;
  }

  // Runs f(input) for every input on the pool and calls on_done(index, future) on this thread
  // once per input, in the order the tasks finish; each future is ready (get() returns the
  // result or rethrows). Returns after the last call. An exception from on_done ends the loop.
  template <class F, class T, class OnDone>
  void as_completed(F f, const std::vector<T>& inputs, OnDone on_done) {
    // The tasks report here after their promise is set; shared, so it outlives an early return.
    struct finish_line {
      std::mutex mutex;
      std::condition_variable changed;
      std::deque<std::size_t> finished;  // guarded by mutex
    };
    auto line = std::make_shared<finish_line>();
    std::vector<std::future<std::invoke_result_t<F, T>>> futures;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      futures.push_back(enqueue(f, [line, i] {
        std::lock_guard lock(line->mutex);
        line->finished.push_back(i);
        line->changed.notify_one();  // one waiter: the caller of as_completed
      }, inputs[i]));
    }
    for (std::size_t yielded = 0; yielded < inputs.size(); ++yielded) {
      std::unique_lock lock(line->mutex);
      line->changed.wait(lock, [&] { return !line->finished.empty(); });
      const std::size_t index = line->finished.front();
      line->finished.pop_front();
      lock.unlock();
      on_done(index, std::move(futures[index]));
    }
  }

  // Stops accepting tasks, lets the workers run every queued task, and joins them. Calling it
  // again does nothing more.
  void shutdown() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_available_.notify_all();  // every idle worker must see stopping_ (it was set under the lock)
    join_workers();
  }

  // Stops accepting tasks, discards the queued ones (their futures throw wb::task_cancelled),
  // lets the running ones finish, and joins. Returns the number of tasks discarded.
  std::size_t shutdown_now() {
    std::deque<std::unique_ptr<job>> discarded;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      discarded.swap(queue_);
    }
    work_available_.notify_all();
    for (auto& task : discarded) task->cancel();
    join_workers();
    return discarded.size();
  }

  // The number of worker threads, as given to the constructor.
  std::size_t thread_count() const { return workers_.size(); }

 private:
  // A queued task: run it, or cancel it; either way its future becomes ready.
  struct job {
    virtual ~job() = default;
    virtual void run() = 0;
    virtual void cancel() = 0;
  };

  template <class R, class Call>
  struct job_for final : job {
    job_for(Call c, std::function<void()> done) : call(std::move(c)), on_finished(std::move(done)) {}
    void run() override {
      try {
        if constexpr (std::is_void_v<R>) {
          call();
          promise.set_value();
        } else {
          promise.set_value(call());
        }
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
      if (on_finished) on_finished();
    }
    void cancel() override {
      promise.set_exception(std::make_exception_ptr(task_cancelled()));
      if (on_finished) on_finished();
    }
    Call call;
    std::function<void()> on_finished;  // as_completed's report, after the promise is set
    std::promise<R> promise;
  };

  template <class F, class... Args>
  auto enqueue(F&& f, std::function<void()> on_finished, Args&&... args) {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    auto call = [f = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable -> R {
      return std::invoke(std::move(f), std::move(args)...);  // runs once: the copies can move
    };
    auto task = std::make_unique<job_for<R, decltype(call)>>(std::move(call), std::move(on_finished));
    auto future = task->promise.get_future();
    {
      std::lock_guard lock(mutex_);
      if (stopping_) throw std::runtime_error("thread_pool: submit after shutdown");
      queue_.push_back(std::move(task));
    }
    work_available_.notify_one();  // one task: one worker (after unlocking: the pool outlives it)
    return future;
  }

  void work() {
    for (;;) {
      std::unique_ptr<job> task;
      {
        std::unique_lock lock(mutex_);
        while (!stopping_ && queue_.empty()) work_available_.wait(lock);
        if (queue_.empty()) return;  // stopping, and nothing left to run
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task->run();  // without the lock: other workers and submitters go on meanwhile
    }
  }

  void join_workers() {
    std::lock_guard lock(join_mutex_);  // two shutdowns at once must not join one thread twice
    for (auto& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
  }

  std::mutex mutex_;
  std::deque<std::unique_ptr<job>> queue_;  // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  std::condition_variable work_available_;  // workers wait here for a task (or stopping_)
  std::mutex join_mutex_;
  std::vector<std::thread> workers_;  // fixed after construction; joined under join_mutex_
};

}  // namespace wb
