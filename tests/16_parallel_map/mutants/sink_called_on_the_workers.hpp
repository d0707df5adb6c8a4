// BUG: the workers call the sink themselves, under the queue's mutex, as each result is ready: completion order and one call at a time, but on the workers' threads instead of the caller's
// A chunked parallel map over a vector, like Python's multiprocessing Pool.map and
// Pool.imap_unordered, with threads instead of processes.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace wb {

namespace detail {

// The shared part of both maps: `threads` workers claim chunks of `chunk_size` consecutive
// indices of [0, n) from one atomic counter (a worker that finishes early claims more: dynamic
// load balancing) and call process(i) for each index of a chunk, in order. The first exception
// from process() is kept and stops all work: no worker starts another index after it.
//
// Thread safety: run() is called once, from one thread; process() is called concurrently from
// the workers, for distinct indices. run() joins every worker before it returns or throws.
// Memory ordering: next_ is a plain counter (relaxed: it only hands out distinct ranges; the
// results are published by the join or by the caller's mutex); stopped_ is a relaxed hint, and
// the exception itself is handed over under error_mutex_ and read after the join.
class chunked_workers {
 public:
  chunked_workers(std::size_t n, std::size_t threads, std::size_t chunk_size)
      : n_(n), threads_(threads), chunk_size_(chunk_size) {
    if (threads == 0) throw std::invalid_argument("parallel_map: threads must be at least 1");
    if (chunk_size == 0) throw std::invalid_argument("parallel_map: chunk_size must be at least 1");
  }

  // Starts the workers, calls while_running() on this thread, joins the workers (also when
  // while_running() throws), then rethrows the first exception of process(), if any.
  template <class Process, class WhileRunning>
  void run(Process process, WhileRunning while_running) {
    const std::size_t chunks = n_ / chunk_size_ + (n_ % chunk_size_ != 0);
    {
      std::vector<std::jthread> workers;  // declared after the state they use: joined first
      const std::size_t count = std::min(threads_, chunks);  // no idle threads
      workers.reserve(count);
      try {
        for (std::size_t t = 0; t < count; ++t) workers.emplace_back([&] { work(process); });
        while_running();
      } catch (...) {
        stopped_.store(true, std::memory_order_relaxed);
        throw;  // the jthreads join as the exception leaves this block
      }
    }
    if (first_error_) std::rethrow_exception(first_error_);
  }

 private:
  bool stopped() const { return stopped_.load(std::memory_order_relaxed); }

  template <class Process>
  void work(Process& process) {
    while (!stopped()) {
      const std::size_t begin = next_.fetch_add(chunk_size_, std::memory_order_relaxed);
      if (begin >= n_) return;
      const std::size_t end = n_ - begin <= chunk_size_ ? n_ : begin + chunk_size_;  // no overflow
      for (std::size_t i = begin; i < end && !stopped(); ++i) {
        try {
          process(i);
        } catch (...) {
          std::lock_guard lock(error_mutex_);
          if (!first_error_) first_error_ = std::current_exception();
          stopped_.store(true, std::memory_order_relaxed);
          return;
        }
      }
    }
  }

  const std::size_t n_;
  const std::size_t threads_;
  const std::size_t chunk_size_;
  std::atomic<std::size_t> next_{0};   // the first index not yet handed out (may overshoot n_)
  std::atomic<bool> stopped_{false};
  std::mutex error_mutex_;
  std::exception_ptr first_error_;     // guarded by error_mutex_; read by run() after the join
};

}  // namespace detail

// Returns { f(inputs[0]), f(inputs[1]), ... } in input order, computed on up to `threads` new
// threads. Work is handed out in chunks of `chunk_size` consecutive inputs (the last chunk may be
// shorter); a thread that finishes a chunk takes the next unclaimed one, and processes each chunk
// in input order. f is called exactly once per input, concurrently from several threads, so it
// must be safe to call that way; the result type must be move-constructible.
// If f throws, no further input is started (calls already running finish), every thread is
// joined, and the first exception is rethrown here. No thread started by this call outlives it.
// threads == 0 or chunk_size == 0 throws std::invalid_argument.
// Memory ordering: everything f did for an input happens before parallel_map returns (the
// threads are joined), so the caller sees every result and every side effect of f.
template <class T, class F>
auto parallel_map(const std::vector<T>& inputs, F f, std::size_t threads, std::size_t chunk_size)
    -> std::vector<std::invoke_result_t<F&, const T&>> {
  using R = std::invoke_result_t<F&, const T&>;
  detail::chunked_workers workers(inputs.size(), threads, chunk_size);
  std::vector<std::optional<R>> slots(inputs.size());  // one slot per input: no two writers share one
  workers.run([&](std::size_t i) { slots[i].emplace(std::invoke(f, inputs[i])); }, [] {});
  std::vector<R> results;
  results.reserve(slots.size());
  for (auto& slot : slots) results.push_back(std::move(*slot));
  return results;
}

// Like parallel_map, but hands each result to sink(index, result) as soon as it is ready, in the
// order the results complete (not input order), like Python's imap_unordered. sink is called on
// the calling thread only, one call at a time, while the workers go on computing. If f throws,
// nothing more is started, results not yet delivered may be dropped, and the exception is
// rethrown after every thread is joined. If sink throws, the workers stop the same way and the
// sink's exception propagates. Arguments as for parallel_map.
// Memory ordering: everything f did for an input happens before sink receives its result (the
// hand-over goes through ready_mutex).
template <class T, class F, class Sink>
void parallel_map_unordered(const std::vector<T>& inputs, F f, std::size_t threads,
                            std::size_t chunk_size, Sink sink) {
  using R = std::invoke_result_t<F&, const T&>;
  detail::chunked_workers workers(inputs.size(), threads, chunk_size);
  std::mutex ready_mutex;
  std::condition_variable ready_or_done;
  std::vector<std::pair<std::size_t, R>> ready;  // guarded by ready_mutex
  bool failed = false;                           // f threw; guarded by ready_mutex
  const auto process = [&](std::size_t i) {
    try {
      R result = std::invoke(f, inputs[i]);
      std::lock_guard lock(ready_mutex);
      sink(i, std::move(result));
      ready.emplace_back(i, R{});  // counted as delivered
      ready_or_done.notify_one();  // under the lock: the caller may leave (and destroy it) at once
    } catch (...) {
      std::lock_guard lock(ready_mutex);
      failed = true;
      ready_or_done.notify_one();
      throw;  // to chunked_workers, which keeps it and stops the others
    }
  };
  const auto deliver = [&] {
    std::size_t delivered = 0;
    std::vector<std::pair<std::size_t, R>> batch;
    while (delivered < inputs.size()) {
      {
        std::unique_lock lock(ready_mutex);
        ready_or_done.wait(lock, [&] { return !ready.empty() || failed; });
        if (failed) return;  // run() joins the workers and rethrows f's exception
        batch.swap(ready);
      }
      // (the workers already called sink)
      delivered += batch.size();
      batch.clear();
    }
  };
  workers.run(process, deliver);
}

}  // namespace wb
