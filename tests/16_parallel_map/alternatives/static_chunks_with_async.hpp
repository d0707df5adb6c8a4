// ALTERNATIVE: static scheduling with std::async instead of dynamic chunk claiming on jthreads: task t owns chunks t, t + threads, t + 2 * threads, ... decided up front (no shared counter), failures travel through the futures, and the unordered variant polls its queue with a timed wait.
// A chunked parallel map over a vector, like Python's multiprocessing Pool.map and
// Pool.imap_unordered, with threads instead of processes.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace wb {

namespace detail {

// Runs process(i) for every i in [0, n) on up to `threads` std::async tasks. Chunk k (indices
// [k * chunk_size, (k + 1) * chunk_size) clipped to n) belongs to task k % tasks: a round-robin
// deal made before anything runs. Every task checks `stop` before each index and raises it when
// process() throws. Waits for every task (also when while_running() throws) and rethrows the
// first failure, in task order.
// Memory ordering: future::get() makes everything a task did visible to the caller.
template <class Process, class WhileRunning>
void run_static_chunks(std::size_t n, std::size_t threads, std::size_t chunk_size, Process process,
                       WhileRunning while_running) {
  if (threads == 0) throw std::invalid_argument("parallel_map: threads must be at least 1");
  if (chunk_size == 0) throw std::invalid_argument("parallel_map: chunk_size must be at least 1");
  const std::size_t chunks = (n + chunk_size - 1) / chunk_size;
  const std::size_t tasks = std::min(threads, chunks);
  std::atomic<bool> stop{false};  // relaxed: a hint to stop early; results go through get()
  std::vector<std::future<void>> futures;
  futures.reserve(tasks);
  const auto wait_all = [&] {
    std::exception_ptr first;
    for (auto& future : futures) {
      try {
        future.get();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    return first;
  };
  try {
    for (std::size_t t = 0; t < tasks; ++t) {
      futures.push_back(std::async(std::launch::async, [&, t] {
        for (std::size_t chunk = t; chunk < chunks; chunk += tasks) {
          const std::size_t end = std::min(n, (chunk + 1) * chunk_size);
          for (std::size_t i = chunk * chunk_size; i < end; ++i) {
            if (stop.load(std::memory_order_relaxed)) return;
            try {
              process(i);
            } catch (...) {
              stop.store(true, std::memory_order_relaxed);
              throw;  // into the future
            }
          }
        }
      }));
    }
    while_running();
  } catch (...) {
    stop.store(true, std::memory_order_relaxed);
    wait_all();
    throw;
  }
  if (auto error = wait_all()) std::rethrow_exception(error);
}

}  // namespace detail

// Returns { f(inputs[0]), f(inputs[1]), ... } in input order, computed on up to `threads` new
// threads. Work is handed out in chunks of `chunk_size` consecutive inputs (the last chunk may be
// shorter); each chunk is processed by one thread, in input order. f is called exactly once per
// input, concurrently from several threads. If f throws, no further input is started, every
// thread is joined, and an exception of f is rethrown here. threads == 0 or chunk_size == 0
// throws std::invalid_argument.
template <class T, class F>
auto parallel_map(const std::vector<T>& inputs, F f, std::size_t threads, std::size_t chunk_size)
    -> std::vector<std::invoke_result_t<F&, const T&>> {
  using R = std::invoke_result_t<F&, const T&>;
  std::vector<std::optional<R>> slots(inputs.size());
  detail::run_static_chunks(inputs.size(), threads, chunk_size,
                            [&](std::size_t i) { slots[i].emplace(std::invoke(f, inputs[i])); }, [] {});
  std::vector<R> results;
  results.reserve(slots.size());
  for (auto& slot : slots) results.push_back(std::move(*slot));
  return results;
}

// Like parallel_map, but hands each result to sink(index, result) on the calling thread as soon
// as it is ready, in completion order. If f or sink throws, the work stops and the exception
// propagates after every thread is joined.
template <class T, class F, class Sink>
void parallel_map_unordered(const std::vector<T>& inputs, F f, std::size_t threads,
                            std::size_t chunk_size, Sink sink) {
  using R = std::invoke_result_t<F&, const T&>;
  std::mutex mutex;
  std::condition_variable ready_cv;
  std::deque<std::pair<std::size_t, R>> ready;  // guarded by mutex
  bool failed = false;                          // guarded by mutex
  detail::run_static_chunks(inputs.size(), threads, chunk_size, [&](std::size_t i) {
    try {
      R result = std::invoke(f, inputs[i]);
      std::lock_guard lock(mutex);
      ready.emplace_back(i, std::move(result));
      ready_cv.notify_one();
    } catch (...) {
      std::lock_guard lock(mutex);
      failed = true;
      ready_cv.notify_one();
      throw;
    }
  }, [&] {
    for (std::size_t delivered = 0; delivered < inputs.size(); ++delivered) {
      std::unique_lock lock(mutex);
      while (ready.empty() && !failed) ready_cv.wait_for(lock, std::chrono::milliseconds(50));
      if (failed) return;
      auto [index, result] = std::move(ready.front());
      ready.pop_front();
      lock.unlock();
      sink(index, std::move(result));
    }
  });
}

}  // namespace wb
