// ALTERNATIVE: no long-lived workers and no task messages: one short-lived child per input (at most `workers` alive at once) reads its input from the copy-on-write memory fork gave it and sends back only its result, through a one-way pipe; the counter is a plain int64 guarded by a PTHREAD_PROCESS_SHARED mutex in the mapping.
// Python's multiprocessing in C++ terms: a pool of forked worker processes, and a counter in
// memory shared between processes.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
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

// process_map(inputs, fn, workers): like multiprocessing.Pool(workers, maxtasksperchild=1).
// Forks one child per input, at most `workers` at a time; the child computes fn(inputs[i]) on
// its copy-on-write view of `inputs`, writes the sizeof(R) bytes of the result to its pipe and
// _exits. The parent knows which input each child has, so the wire carries only the result.
// A child that dies before its last byte arrived fails only its own input; the result is in
// input order. Crash containment is per input by construction; the price is one fork per input.
// Throws std::invalid_argument if workers < 1. Call it from a single-threaded process.
// Every child is reaped and every pipe end closed before it returns or throws.
template <class T, class F>
auto process_map(const std::vector<T>& inputs, F fn, int workers)
    -> std::vector<process_result<std::invoke_result_t<F&, const T&>>> {
  using R = std::invoke_result_t<F&, const T&>;
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_copyable_v<R>);
  static_assert(std::is_default_constructible_v<R>);
  if (workers < 1) throw std::invalid_argument("process_map: workers must be at least 1");

  struct child {
    pid_t pid;
    int fd;             // read end of its pipe
    std::size_t index;  // the input it computes
    std::size_t received;
  };
  std::vector<process_result<R>> results(inputs.size());
  std::vector<std::vector<char>> bytes(inputs.size());
  std::vector<child> running;
  struct cleanup {
    std::vector<child>& running;
    ~cleanup() {
      for (auto& c : running) {
        ::close(c.fd);
        ::kill(c.pid, SIGKILL);
        while (::waitpid(c.pid, nullptr, 0) < 0 && errno == EINTR) {
        }
      }
    }
  } guard{running};

  auto launch = [&](std::size_t index) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    std::fflush(nullptr);  // else a child flushing on its way out repeats pending output
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int error = errno;
      ::close(ends[0]);
      ::close(ends[1]);
      throw std::system_error(error, std::generic_category(), "fork");
    }
    if (pid == 0) {
      ::close(ends[0]);
      for (const auto& c : running) ::close(c.fd);
      try {
        const R out = fn(inputs[index]);
        const char* data = reinterpret_cast<const char*>(&out);
        std::size_t left = sizeof(R);
        while (left > 0) {
          const ssize_t n = ::write(ends[1], data, left);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) ::_exit(1);
          data += n;
          left -= static_cast<std::size_t>(n);
        }
        ::_exit(0);
      } catch (...) {
        ::_exit(1);
      }
    }
    ::close(ends[1]);
    bytes[index].resize(sizeof(R));
    running.push_back(child{pid, ends[0], index, 0});
  };

  std::size_t next = 0;
  std::vector<pollfd> fds;
  while (next < inputs.size() || !running.empty()) {
    while (next < inputs.size() && running.size() < static_cast<std::size_t>(workers)) launch(next++);
    fds.clear();
    for (const auto& c : running) fds.push_back(pollfd{c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    for (std::size_t i = fds.size(); i-- > 0;) {  // backwards: finished children are erased
      if (fds[i].revents == 0) continue;
      child& c = running[i];
      std::vector<char>& buffer = bytes[c.index];
      const ssize_t n = ::read(c.fd, buffer.data() + c.received, buffer.size() - c.received);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        c.received += static_cast<std::size_t>(n);
        continue;
      }
      // End-of-file: the child has finished or died. Reap it and judge by what arrived.
      ::close(c.fd);
      int status = 0;
      while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
      }
      auto& result = results[c.index];
      if (c.received == sizeof(R) && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        R value;
        std::memcpy(&value, buffer.data(), sizeof(R));
        result.value = value;
      } else if (WIFSIGNALED(status)) {
        result.error = "worker crashed with signal " + std::to_string(WTERMSIG(status));
      } else {
        result.error = "worker exited with status " + std::to_string(WEXITSTATUS(status)) +
                       " before sending its result";
      }
      std::vector<char>().swap(buffer);
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  return results;
}

// shared_counter: multiprocessing.Value('q', 0) with its lock. A plain 64-bit count and a
// pthread mutex made PTHREAD_PROCESS_SHARED, both in one anonymous MAP_SHARED mapping created
// before fork. (A std::mutex cannot be told it is shared between processes.)
// Thread and process safety: increment() and value() may be called from any thread of any
// process that inherited the mapping. A process that dies while holding the mutex would leave
// it locked for ever; PTHREAD_MUTEX_ROBUST would let the next locker notice (not needed here:
// nothing can fail between lock and unlock).
// Memory ordering: the mutex's unlock in one process happens-before its next lock in another.
class shared_counter {
 public:
  shared_counter() {
    void* memory = ::mmap(nullptr, sizeof(shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "shared_counter: mmap");
    shared_ = new (memory) shared;
    pthread_mutexattr_t attributes;
    ::pthread_mutexattr_init(&attributes);
    ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    ::pthread_mutex_init(&shared_->mutex, &attributes);
    ::pthread_mutexattr_destroy(&attributes);
  }
  shared_counter(const shared_counter&) = delete;
  shared_counter& operator=(const shared_counter&) = delete;
  ~shared_counter() {
    ::pthread_mutex_destroy(&shared_->mutex);
    ::munmap(shared_, sizeof(shared));
  }

  void increment() {
    ::pthread_mutex_lock(&shared_->mutex);
    ++shared_->count;  // guarded by shared_->mutex
    ::pthread_mutex_unlock(&shared_->mutex);
  }

  std::int64_t value() const {
    ::pthread_mutex_lock(&shared_->mutex);
    const std::int64_t count = shared_->count;
    ::pthread_mutex_unlock(&shared_->mutex);
    return count;
  }

 private:
  struct shared {
    pthread_mutex_t mutex;
    std::int64_t count = 0;  // guarded by mutex
  };
  shared* shared_;
};

}  // namespace wb
