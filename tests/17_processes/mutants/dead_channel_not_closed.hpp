// BUG: the channel of a worker that is gone is forgotten, not closed: "the worker is dead, so its socket is gone too"
// Python's multiprocessing in C++ terms: a pool of forked worker processes, and a counter in
// memory shared between processes.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace wb {

// What one input of process_map() produced: a value, or the reason there is none.
template <class R>
struct process_result {
  std::optional<R> value;  // set when the worker sent its result back
  std::string error;       // empty on success; else e.g. "worker crashed with signal 6"
  bool ok() const { return value.has_value(); }
};

namespace detail {

// Writes all of [data, data + size); false if the peer is gone. MSG_NOSIGNAL: a dead peer gives
// EPIPE instead of a SIGPIPE that would kill this process.
inline bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Reads exactly `size` bytes, however many reads that takes; false on end-of-file or error.
inline bool recv_all(int fd, char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::recv(fd, data, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Waits for `pid` (retrying on EINTR) and says how it ended, for an input it did not answer.
inline std::string reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) return "worker crashed with signal " + std::to_string(WTERMSIG(status));
  return "worker exited with status " + std::to_string(WEXITSTATUS(status)) + " before sending its result";
}

// The parent's view of one worker process.
struct worker {
  pid_t pid = -1;
  int fd = -1;                      // the parent's end of the socketpair
  std::optional<std::size_t> task;  // the input it is computing
  std::size_t received = 0;         // bytes of its result read so far
  std::vector<char> buffer;         // the result being received
};

}  // namespace detail

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
// Memory ordering: processes share no memory here; a result is visible to the parent once its
// last byte has been read from the socket.
template <class T, class F>
auto process_map(const std::vector<T>& inputs, F fn, int workers)
    -> std::vector<process_result<std::invoke_result_t<F&, const T&>>> {
  using R = std::invoke_result_t<F&, const T&>;
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_copyable_v<R>,
                "process_map sends raw bytes: inputs and results must be trivially copyable");
  static_assert(std::is_default_constructible_v<T> && std::is_default_constructible_v<R>);
  if (workers < 1) throw std::invalid_argument("process_map: workers must be at least 1");

  constexpr std::size_t task_size = sizeof(std::uint64_t) + sizeof(T);
  constexpr std::size_t result_size = sizeof(std::uint64_t) + sizeof(R);
  using worker = detail::worker;
  std::vector<process_result<R>> results(inputs.size());
  std::vector<worker> pool(std::min(inputs.size(), static_cast<std::size_t>(workers)));
  for (auto& w : pool) w.buffer.resize(result_size);
  // Allocated before any fork, so a child needs no malloc of its own.
  std::vector<char> task_buffer(task_size), reply_buffer(result_size);

  // Whatever happens (an exception included), no child and no descriptor outlives the call.
  struct cleanup {
    std::vector<worker>& pool;
    ~cleanup() {
      for (auto& w : pool) {
        if (w.fd >= 0) ::close(w.fd);
        if (w.pid > 0) {
          ::kill(w.pid, SIGKILL);
          detail::reap(w.pid);
        }
      }
    }
  } guard{pool};

  auto serve = [&](int fd) {  // the child's whole life: tasks in, results out, then _exit
    try {
      while (detail::recv_all(fd, task_buffer.data(), task_size)) {
        T input;
        std::memcpy(&input, task_buffer.data() + sizeof(std::uint64_t), sizeof(T));
        const R output = fn(input);
        std::memcpy(reply_buffer.data(), task_buffer.data(), sizeof(std::uint64_t));
        std::memcpy(reply_buffer.data() + sizeof(std::uint64_t), &output, sizeof(R));
        if (!detail::send_all(fd, reply_buffer.data(), result_size)) ::_exit(1);
      }
      ::_exit(0);  // end-of-file: no more work. _exit, not exit: no atexit handlers, no flushing
    } catch (...) {  // the parent's stdio buffers and test framework must not run twice
      ::_exit(1);
    }
  };
  std::size_t next = 0;
  auto dispatch = [&](worker& w) {  // the next input, or end-of-file when there is none
    if (next == inputs.size()) {
      ::shutdown(w.fd, SHUT_WR);
      return;
    }
    const std::uint64_t index = next++;
    std::memcpy(task_buffer.data(), &index, sizeof index);
    std::memcpy(task_buffer.data() + sizeof index, &inputs[index], sizeof(T));
    w.task = index;
    w.received = 0;
    detail::send_all(w.fd, task_buffer.data(), task_size);  // a dead worker shows up as EOF
  };
  auto spawn = [&](worker& w) {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
      throw std::system_error(errno, std::generic_category(), "process_map: socketpair");
    }
    std::fflush(nullptr);  // else a child flushing on its way out repeats pending output
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int error = errno;
      ::close(ends[0]);
      ::close(ends[1]);
      throw std::system_error(error, std::generic_category(), "process_map: fork");
    }
    if (pid == 0) {
      ::close(ends[0]);
      for (const auto& other : pool) {  // siblings' channels are not this child's business
        if (other.fd >= 0) ::close(other.fd);
      }
      serve(ends[1]);
    }
    ::close(ends[1]);  // else the worker's death could never show up as end-of-file here
    w.pid = pid;
    w.fd = ends[0];
    dispatch(w);
  };

  for (auto& w : pool) spawn(w);
  std::vector<pollfd> fds;
  std::vector<worker*> owners;
  for (;;) {
    fds.clear();
    owners.clear();
    for (auto& w : pool) {
      if (w.fd < 0) continue;
      fds.push_back(pollfd{w.fd, POLLIN, 0});
      owners.push_back(&w);
    }
    if (fds.empty()) break;
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "process_map: poll");
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      worker& w = *owners[i];
      const ssize_t n = ::recv(w.fd, w.buffer.data() + w.received, result_size - w.received, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        w.received += static_cast<std::size_t>(n);
        if (w.received < result_size) continue;  // a partial result: wait for the rest
        std::uint64_t index = 0;
        std::memcpy(&index, w.buffer.data(), sizeof index);
        if (w.task && index == *w.task) {
          R value;
          std::memcpy(&value, w.buffer.data() + sizeof index, sizeof(R));
          results[index].value = value;
          w.task.reset();
          dispatch(w);
          continue;
        }
        ::kill(w.pid, SIGKILL);  // a result for an input it was not given: treat it as dead
      }
      // End-of-file (or an error): the worker is gone. Reap it, fail its input, replace it.
      w.fd = -1;
      const std::string how = detail::reap(w.pid);
      w.pid = -1;
      if (w.task) results[*w.task].error = how;
      w.task.reset();
      if (next < inputs.size()) spawn(w);
    }
  }
  return results;
}

// shared_counter: multiprocessing.Value('q', 0) without the lock. A 64-bit count in an anonymous
// MAP_SHARED mapping; create it BEFORE fork, and the parent and every child increment the same
// physical memory. (In ordinary memory each child would increment its own copy-on-write copy.)
//
// Thread and process safety: increment() and value() may be called at once from any thread of
// any process that inherited the mapping. They work across processes because the count is a
// lock-free std::atomic: lock-free atomics are address-free (the hardware instruction works on
// the physical memory, whatever the virtual address), which the standard recommends
// ([atomics.lockfree]) and static_assert below checks.
// Lifetime: each process unmaps its own view when its object is destroyed (a child that _exits
// destroys nothing; the kernel unmaps). Not copyable: a copy would unmap twice.
// Memory ordering: relaxed. The count publishes no other data; the parent reads it after
// waitpid() has returned for the children, and a process's exit and its reaping order
// everything it did before the read.
class shared_counter {
 public:
  using atomic_type = std::atomic<std::int64_t>;
  static_assert(atomic_type::is_always_lock_free, "a counter shared between processes must be lock-free");

  // Maps one shared page; throws std::system_error if mmap fails.
  shared_counter() {
    void* memory = ::mmap(nullptr, sizeof(atomic_type), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "shared_counter: mmap");
    count_ = new (memory) atomic_type(0);
  }
  shared_counter(const shared_counter&) = delete;
  shared_counter& operator=(const shared_counter&) = delete;
  ~shared_counter() { ::munmap(count_, sizeof(atomic_type)); }

  // Adds 1, atomically with respect to every process sharing the counter.
  void increment() { count_->fetch_add(1, std::memory_order_relaxed); }

  // The count so far, as seen by this process.
  std::int64_t value() const { return count_->load(std::memory_order_relaxed); }

 private:
  atomic_type* count_;  // in the shared mapping; trivially destructible, so never destroyed
};

}  // namespace wb
