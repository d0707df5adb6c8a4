// Python's multiprocessing in C++ terms: a pool of forked worker processes, and a counter in
// memory shared between processes.
// Background and interview questions: notes/17_processes.md
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "workbook_todo.hpp"

namespace wb {

// What one input of process_map() produced: a value, or the reason there is none.
template <class R>
struct process_result {
  std::optional<R> value;  // set when the worker sent its result back
  std::string error;       // empty on success; else e.g. "worker crashed with signal 6"
  bool ok() const { return value.has_value(); }
};

// process_map(inputs, fn, workers): multiprocessing.Pool(workers).map(fn, inputs). Runs fn on
// every input in up to `workers` forked child processes and returns one process_result per
// input, in input order. A worker that dies (abort, a signal, _exit) turns into an error for
// the input it was computing, never a hang; a fresh worker replaces it and the others go on.
// Throws std::invalid_argument if workers < 1.
//
// Wire format: one AF_UNIX stream socketpair per worker (a two-way pipe). A task is 8 bytes of
// input index (std::uint64_t, host byte order) followed by the sizeof(T) bytes of the input;
// a result is the same index followed by the sizeof(R) bytes of fn's return value. Parent and
// child are the same binary on the same machine, so raw object bytes are a valid encoding;
// that is why T and R must be trivially copyable (no pointers into the sender's memory).
// Records may be larger than the socket buffer: both sides loop until a record is complete.
// End-of-file is the protocol's other word: the parent shuts its side down when it has no
// more work (the worker exits), and a worker's end-of-file means it is gone.
// The error text names how the worker ended: "worker crashed with signal N" (WTERMSIG) or
// "worker exited with status N before sending its result" (WEXITSTATUS).
//
// Thread safety: call it from a single-threaded process (see the note: fork copies only the
// calling thread). Children run fn and then _exit, never returning into the caller's stack.
// Every child is reaped and every descriptor closed before it returns or throws.
// Time: fn must return. A worker stuck for ever in fn keeps process_map waiting (as in Python);
// a crashed worker does not, because its end-of-file arrives as soon as it dies.
template <class T, class F>
auto process_map(const std::vector<T>& inputs, F fn, int workers)
    -> std::vector<process_result<std::invoke_result_t<F&, const T&>>> {
  // TODO: check workers; start min(workers, inputs.size()) workers, each with socketpair() and
  // fork(). In the child: close the parent's end (and the siblings' channels), then loop:
  // read a whole task record, compute fn, send a whole result record; _exit(0) on end-of-file.
  // In the parent: close the child's end (or its death never shows up as end-of-file), send
  // each worker one task, then poll() all channels (retry on EINTR): store each complete result
  // at its index and send that worker the next input, or shutdown(SHUT_WR) when none is left.
  // On end-of-file: close, waitpid (retry on EINTR), turn the status into the error of the
  // input it held, and fork a replacement if inputs remain. Use send(..., MSG_NOSIGNAL).
  WB_TODO("process_map", inputs, fn, workers);
}

// shared_counter: multiprocessing.Value('q', 0) without the lock. A 64-bit count in an anonymous
// MAP_SHARED mapping; create it BEFORE fork, and the parent and every child increment the same
// physical memory. (In ordinary memory each child would increment its own copy-on-write copy.)
//
// Thread and process safety: increment() and value() may be called at once from any thread of
// any process that inherited the mapping. They work across processes because the count is a
// lock-free std::atomic: lock-free atomics are address-free (the hardware instruction works on
// the physical memory, whatever the virtual address).
// Lifetime: each process unmaps its own view when its object is destroyed (a child that _exits
// destroys nothing; the kernel unmaps). Not copyable: a copy would unmap twice.
class shared_counter {
 public:
  // Maps one shared page; throws std::system_error if mmap fails.
  shared_counter() {
    // TODO: mmap(MAP_SHARED | MAP_ANONYMOUS) room for a std::atomic<std::int64_t>, and construct
    // it there with placement new.
    WB_TODO("shared_counter::shared_counter");
  }
  shared_counter(const shared_counter&) = delete;
  shared_counter& operator=(const shared_counter&) = delete;
  ~shared_counter() {
    // TODO: munmap the mapping (a destructor must not throw: no WB_TODO here).
  }

  // Adds 1, atomically with respect to every process sharing the counter.
  void increment() {
    // TODO: one atomic read-modify-write on the shared count.
    WB_TODO("shared_counter::increment");
  }

  // The count so far, as seen by this process.
  std::int64_t value() const {
    // TODO: load the shared count.
    WB_TODO("shared_counter::value");
  }

 private:
  // TODO: a pointer to the std::atomic<std::int64_t> in the shared mapping.
};

}  // namespace wb
