// A chunked parallel map over a vector, like Python's multiprocessing Pool.map and
// Pool.imap_unordered, with threads instead of processes.
// Background and interview questions: notes/16_parallel_map.md
#pragma once

#include <cstddef>
#include <type_traits>
#include <vector>

#include "workbook_todo.hpp"

namespace wb {

// Returns { f(inputs[0]), f(inputs[1]), ... } in input order, computed on up to `threads` new
// threads. Work is handed out in chunks of `chunk_size` consecutive inputs (the last chunk may be
// shorter); a thread that finishes a chunk takes the next unclaimed one, and processes each chunk
// in input order. f is called exactly once per input, concurrently from several threads, so it
// must be safe to call that way; the result type must be move-constructible.
// If f throws, no further input is started (calls already running finish), every thread is
// joined, and the first exception is rethrown here. No thread started by this call outlives it.
// threads == 0 or chunk_size == 0 throws std::invalid_argument.
template <class T, class F>
auto parallel_map(const std::vector<T>& inputs, F f, std::size_t threads, std::size_t chunk_size)
    -> std::vector<std::invoke_result_t<F&, const T&>> {
  // TODO: validate the arguments. Make one result slot per input (std::optional<R>, so R need
  // not be default-constructible) and write result i into slot i: no two threads share a slot,
  // so the slots need no lock, and the order is right by construction.
  // TODO: the shared state: an atomic "next unclaimed index" (claim a chunk with ONE fetch_add),
  // a stop flag, and the first exception (an std::exception_ptr under a mutex).
  // TODO: start the workers (std::jthread joins itself, also when an exception leaves the scope);
  // each loops: stop? claim a chunk; past the end? done; else process it in order, checking the
  // stop flag before each input; catch f's exception, keep the first, raise the stop flag.
  // TODO: after the join, rethrow the kept exception, or move the results out of the slots.
  WB_TODO("parallel_map", inputs, f, threads, chunk_size);
}

// Like parallel_map, but hands each result to sink(index, result) as soon as it is ready, in the
// order the results complete (not input order), like Python's imap_unordered. sink is called on
// the calling thread only, one call at a time, while the workers go on computing. If f throws,
// nothing more is started, results not yet delivered may be dropped, and the exception is
// rethrown after every thread is joined. If sink throws, the workers stop the same way and the
// sink's exception propagates. Arguments as for parallel_map.
template <class T, class F, class Sink>
void parallel_map_unordered(const std::vector<T>& inputs, F f, std::size_t threads,
                            std::size_t chunk_size, Sink sink) {
  // TODO: the same workers and chunks as parallel_map, but each finished result goes into a
  // queue of (index, result) pairs under a mutex, with a condition variable to wake the caller.
  // The caller (this thread) waits, takes what is ready, and calls sink with no lock held,
  // until every input is delivered or f has thrown (a flag in the same queue state, set and
  // notified under the mutex: else the caller may sleep through it).
  // TODO: if sink throws, raise the stop flag BEFORE the workers are joined.
  WB_TODO("parallel_map_unordered", inputs, f, threads, chunk_size, sink);
}

}  // namespace wb
