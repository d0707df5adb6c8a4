// Tests for process_map and shared_counter: results in input order, each input computed once in
// a child process, crashes turned into errors (never hangs), no zombies and no leaked
// descriptors afterwards, results larger than a pipe's buffer, and a counter that several
// processes increment without losing updates.
//
// Why this suite starts no threads. fork() copies only the calling thread, and ThreadSanitizer
// supports fork only from a single-threaded process (after a multi-threaded fork it switches
// itself off in the child, which may also deadlock on a lock another thread held). So the test
// bodies fork from gtest's main thread and use no run_concurrently / call_in_background (they
// start threads). Hangs are bounded by a watchdog that is a timer signal instead of a thread:
// alarm() delivers SIGALRM to this process even while it is blocked in poll/read/waitpid, and
// the handler only write()s a prepared message and _exit()s (both async-signal-safe). Children
// run no gtest assertions: they report through shared memory or their exit status, then _exit.
#include "process_pool.hpp"

#include "workbook_test.hpp"

#include <dirent.h>
#include <sched.h>
#include <time.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using wb::process_map;
using wb::shared_counter;

// ---- a watchdog without threads -------------------------------------------------------------

char hang_message[1024];
std::size_t hang_message_size = 0;

extern "C" void on_hang(int) {
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, hang_message, hang_message_size);
  ::_exit(1);
}

// While alive, turns a hang of more than `seconds` into a failure that says what hung.
class watchdog {
 public:
  watchdog(const std::string& what, unsigned seconds = 25) {
    const std::string text = fmt::format(
        "\n*** TIMED OUT: {} did not finish within {} s.\n"
        "    It probably waits for an end-of-file that never comes: a worker died but the parent\n"
        "    still holds a copy of the worker's end of the pipe (or the socket), or the parent waits\n"
        "    for a result count instead of end-of-file, or a child was never told to exit.\n",
        what, seconds);
    hang_message_size = std::min(text.size(), sizeof hang_message);
    std::memcpy(hang_message, text.data(), hang_message_size);
    struct sigaction action {};
    action.sa_handler = on_hang;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGALRM, &action, nullptr);
    ::alarm(seconds);
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  ~watchdog() { ::alarm(0); }
};

// ---- shared memory the tests use to see what the children did -------------------------------

// An array of n atomics in an anonymous shared mapping, made before the children are forked.
template <class T>
class shared_array {
 public:
  explicit shared_array(std::size_t n) : size_(n) {
    void* memory = ::mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::runtime_error("test: mmap failed");
    data_ = static_cast<std::atomic<T>*>(memory);
    for (std::size_t i = 0; i < n; ++i) new (&data_[i]) std::atomic<T>(T{});
  }
  shared_array(const shared_array&) = delete;
  shared_array& operator=(const shared_array&) = delete;
  ~shared_array() { ::munmap(data_, bytes()); }
  std::atomic<T>& operator[](std::size_t i) const { return data_[i]; }

 private:
  std::size_t bytes() const { return size_ * sizeof(std::atomic<T>); }
  std::size_t size_;
  std::atomic<T>* data_;
};

// ---- what must be left behind: nothing -------------------------------------------------------

int open_descriptors() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory stream's own descriptor
}

// Checks that this process has no child left (none running, no zombie) and no descriptor more
// than `before`.
void expect_nothing_left_behind(int descriptors_before, const std::string& what) {
  errno = 0;
  int status = 0;
  const pid_t child = ::waitpid(-1, &status, WNOHANG);
  EXPECT_TRUE(child == -1 && errno == ECHILD) << fmt::format(
      "after {} returned, this process still had a child (waitpid(-1, WNOHANG) returned {}{}): every "
      "worker must be reaped with waitpid before process_map returns, or it stays a zombie.",
      what, child, child == 0 ? ", a child still running" : ", a zombie nobody waited for");
  while (::waitpid(-1, &status, WNOHANG) > 0) {
  }
  EXPECT_EQ(open_descriptors(), descriptors_before) << fmt::format(
      "after {} returned, the number of open file descriptors had changed: a pipe or socket end was "
      "not closed in the parent (close both ends of every channel, also those of dead workers).",
      what);
}

std::int64_t slow_square(std::int64_t x) {
  std::int64_t spin = 0;
  for (int i = 0; i < 2000; ++i) spin += (x ^ i) & 1;  // a little CPU work per input
  return x * x + (spin >= 0 ? 0 : 1);
}

// CPU time this process has used (a child's own, after fork).
std::int64_t cpu_nanoseconds() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> values(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = i;
  return values;
}

}  // namespace

TEST(ProcessMap, ReturnsEveryResultInInputOrder) {
  // Given: 200 inputs whose results take different times, and 4 workers
  watchdog guard("process_map over 200 inputs with 4 workers");
  const auto inputs = iota(200);
  const int descriptors = open_descriptors();
  // When
  const auto results = process_map(inputs, [](std::int64_t x) {
    if (x % 7 == 0) ::usleep(200);  // some finish late, so completion order differs from input order
    return slow_square(x);
  }, 4);
  // Then
  ASSERT_EQ(results.size(), inputs.size()) << "process_map must return one result per input";
  std::vector<std::string> wrong;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (!r.ok() || *r.value != slow_square(inputs[i]) || !r.error.empty()) {
      wrong.push_back(fmt::format("results[{}] = {} (expected {})", i,
                                  r.ok() ? std::to_string(*r.value) : "error \"" + r.error + "\"", slow_square(inputs[i])));
    }
  }
  EXPECT_TRUE(wrong.empty()) << fmt::format(
      "{} of 200 results were wrong or out of place, e.g. {}. results[i] must be fn(inputs[i]): store "
      "each result at the index that came back with it, not in the order the workers finished.",
      wrong.size(), wrong.empty() ? "" : wrong.front());
  expect_nothing_left_behind(descriptors, "process_map over 200 inputs");
}

TEST(ProcessMap, ComputesEachInputExactlyOnceInSeveralChildProcesses) {
  // Given: shared memory where each call records itself, and 4 workers for 60 inputs
  watchdog guard("process_map over 60 inputs with 4 workers");
  constexpr std::size_t kInputs = 60;
  constexpr int kWorkers = 4;
  shared_array<int> calls(kInputs);
  shared_array<pid_t> pid_of(kInputs);
  shared_array<int> running(2);  // [0]: calls running now, [1]: the most at once
  const auto inputs = iota(kInputs);
  // When
  const auto results = process_map(inputs, [&](std::int64_t x) {
    const int now = running[0].fetch_add(1) + 1;
    int most = running[1].load();
    while (now > most && !running[1].compare_exchange_weak(most, now)) {
    }
    calls[static_cast<std::size_t>(x)].fetch_add(1);
    pid_of[static_cast<std::size_t>(x)].store(::getpid());
    ::usleep(1000);
    running[0].fetch_sub(1);
    return x + 1;
  }, kWorkers);
  // Then
  std::vector<std::string> problems;
  std::set<pid_t> pids;
  for (std::size_t i = 0; i < kInputs; ++i) {
    if (calls[i].load() != 1) problems.push_back(fmt::format("input {} was computed {} times", i, calls[i].load()));
    pids.insert(pid_of[i].load());
  }
  EXPECT_TRUE(problems.empty()) << fmt::format(
      "{}. Every input must go to exactly one worker exactly once: advance the next-input index when "
      "an input is sent, not when its result comes back.", problems.empty() ? "" : problems.front());
  EXPECT_EQ(pids.count(::getpid()), 0u) << "fn ran in the calling process itself: it must run in forked children";
  EXPECT_GE(pids.size(), 2u) << fmt::format(
      "all 60 inputs were computed by {} process(es): with 4 workers and slow inputs, several "
      "worker processes must share the work", pids.size());
  EXPECT_LE(running[1].load(), kWorkers) << fmt::format(
      "{} calls of fn ran at the same time with workers = {}: never run more worker processes "
      "than asked for", running[1].load(), kWorkers);
  for (std::size_t i = 0; i < kInputs; ++i) {
    ASSERT_TRUE(results[i].ok()) << fmt::format("input {} failed: {}", i, results[i].error);
    EXPECT_EQ(*results[i].value, static_cast<std::int64_t>(i) + 1);
  }
}

TEST(ProcessMap, HandlesMoreWorkersThanInputsAndNoInputsAtAll) {
  // Given
  watchdog guard("process_map with 8 workers for 3 inputs");
  const int descriptors = open_descriptors();
  // When
  const auto few = process_map(std::vector<std::int64_t>{5, 6, 7}, [](std::int64_t x) { return -x; }, 8);
  const auto none = process_map(std::vector<std::int64_t>{}, [](std::int64_t x) { return x; }, 3);
  // Then
  ASSERT_EQ(few.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(few[i].ok()) << fmt::format("input {} failed: {}", i, few[i].error);
    EXPECT_EQ(*few[i].value, -static_cast<std::int64_t>(i + 5)) << "results must be in input order";
  }
  EXPECT_TRUE(none.empty()) << "no inputs, no results";
  expect_nothing_left_behind(descriptors, "process_map with more workers than inputs");
}

TEST(ProcessMap, RejectsFewerThanOneWorker) {
  // Given / When / Then
  const auto identity = [](std::int64_t x) { return x; };
  EXPECT_THROW(process_map(std::vector<std::int64_t>{1, 2}, identity, 0), std::invalid_argument)
      << "a pool of 0 workers can compute nothing: process_map must throw std::invalid_argument";
  EXPECT_THROW(process_map(std::vector<std::int64_t>{1, 2}, identity, -1), std::invalid_argument)
      << "a negative worker count must throw std::invalid_argument";
}

TEST(ProcessMap, ACrashingInputGetsAnErrorAndTheOthersStillSucceed) {
  // Given: fn aborts on input 13 of 40
  watchdog guard("process_map over 40 inputs where the worker computing input 13 aborts");
  const auto inputs = iota(40);
  const int descriptors = open_descriptors();
  // When
  const auto results = process_map(inputs, [](std::int64_t x) {
    if (x == 13) std::abort();
    return slow_square(x);
  }, 4);
  // Then
  ASSERT_EQ(results.size(), inputs.size());
  EXPECT_FALSE(results[13].ok()) << "the input whose worker aborted cannot have a value";
  EXPECT_NE(results[13].error.find("signal " + std::to_string(SIGABRT)), std::string::npos) << fmt::format(
      "the error for the aborted input was \"{}\": it must say the worker died by signal {} (SIGABRT); "
      "waitpid's status tells (WIFSIGNALED, WTERMSIG)", results[13].error, SIGABRT);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (i == 13) continue;
    EXPECT_TRUE(results[i].ok() && *results[i].value == slow_square(inputs[i])) << fmt::format(
        "input {} did not succeed (error \"{}\") although only input 13 crashes: one crash must fail "
        "only the input that worker was computing", i, results[i].error);
  }
  expect_nothing_left_behind(descriptors, "process_map with a crashing input");
}

TEST(ProcessMap, ReportsWorkersThatExitOrAreKilled) {
  // Given: one input ends its worker with _exit(3), another with SIGKILL
  watchdog guard("process_map over 12 inputs where two workers die");
  const int descriptors = open_descriptors();
  // When
  const auto results = process_map(iota(12), [](std::int64_t x) {
    if (x == 4) ::_exit(3);
    if (x == 9) ::raise(SIGKILL);
    return x;
  }, 3);
  // Then
  ASSERT_EQ(results.size(), 12u);
  EXPECT_FALSE(results[4].ok());
  EXPECT_NE(results[4].error.find("status 3"), std::string::npos) << fmt::format(
      "the error for the input whose worker called _exit(3) was \"{}\": it must name exit status 3",
      results[4].error);
  EXPECT_FALSE(results[9].ok());
  EXPECT_NE(results[9].error.find("signal " + std::to_string(SIGKILL)), std::string::npos) << fmt::format(
      "the error for the input whose worker was killed was \"{}\": it must name signal {}",
      results[9].error, SIGKILL);
  for (std::size_t i = 0; i < 12; ++i) {
    if (i == 4 || i == 9) continue;
    EXPECT_TRUE(results[i].ok()) << fmt::format("input {} failed: {}", i, results[i].error);
  }
  expect_nothing_left_behind(descriptors, "process_map with workers that exit or are killed");
}

TEST(ProcessMap, ReplacesDeadWorkersSoEveryOtherInputIsComputed) {
  // Given: 2 workers and 6 crashing inputs among 30: every worker dies, most of them early
  watchdog guard("process_map over 30 inputs where 6 crash, with 2 workers");
  const std::set<std::int64_t> crashing{0, 1, 2, 3, 10, 20};
  // When
  const auto results = process_map(iota(30), [&](std::int64_t x) {
    if (crashing.count(x) != 0) std::abort();
    return 2 * x;
  }, 2);
  // Then
  ASSERT_EQ(results.size(), 30u);
  for (std::size_t i = 0; i < 30; ++i) {
    const bool crashes = crashing.count(static_cast<std::int64_t>(i)) != 0;
    if (crashes) {
      EXPECT_TRUE(!results[i].ok() && !results[i].error.empty())
          << fmt::format("input {} crashes its worker: it must have an error and no value", i);
    } else {
      EXPECT_TRUE(results[i].ok() && *results[i].value == 2 * static_cast<std::int64_t>(i)) << fmt::format(
          "input {} was not computed (error \"{}\"): when a worker dies and inputs remain, fork a "
          "replacement, or a pool whose workers all crashed leaves the rest undone", i, results[i].error);
    }
  }
}

TEST(ProcessMap, ReassemblesResultsLargerThanAPipeBuffer) {
  // Given: results of 512 KiB each, more than a pipe (64 KiB) or a socket buffer (about 200 KiB)
  // holds, so the sender blocks part-way and no single read can return a whole one
  watchdog guard("process_map with 512 KiB results");
  using big = std::array<std::int64_t, 65536>;
  const int descriptors = open_descriptors();
  // When
  const auto results = process_map(iota(4), [](std::int64_t x) {
    big out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = x * 100000 + static_cast<std::int64_t>(i);
    return out;
  }, 2);
  // Then
  ASSERT_EQ(results.size(), 4u);
  for (std::size_t k = 0; k < results.size(); ++k) {
    ASSERT_TRUE(results[k].ok()) << fmt::format("input {} failed: {}", k, results[k].error);
    const big& r = *results[k].value;
    std::size_t bad = 0;
    while (bad < r.size() && r[bad] == static_cast<std::int64_t>(k) * 100000 + static_cast<std::int64_t>(bad)) ++bad;
    EXPECT_EQ(bad, r.size()) << fmt::format(
        "result {} is corrupt from element {} on: a read() on a pipe or socket may return fewer bytes "
        "than asked for; keep reading until the whole record has arrived", k, bad);
  }
  expect_nothing_left_behind(descriptors, "process_map with large results");
}

TEST(ProcessMap, CarriesTriviallyCopyableStructsBothWays) {
  // Given
  watchdog guard("process_map over structs");
  struct point {
    std::int32_t x;
    double y;
  };
  struct summary {
    double sum;
    char sign;
  };
  const std::vector<point> inputs{{1, 0.5}, {-4, 1.25}, {7, -9.0}};
  // When
  const auto results = process_map(inputs, [](const point& p) {
    return summary{p.x + p.y, p.x + p.y < 0 ? '-' : '+'};
  }, 2);
  // Then
  ASSERT_EQ(results.size(), 3u);
  const std::array<double, 3> sums{1.5, -2.75, -2.0};
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error;
    EXPECT_EQ(results[i].value->sum, sums[i]);
    EXPECT_EQ(results[i].value->sign, sums[i] < 0 ? '-' : '+');
  }
}

TEST(SharedCounter, StartsAtZeroAndCountsIncrementsInThisProcess) {
  // Given
  shared_counter counter;
  EXPECT_EQ(counter.value(), 0) << "a new counter must start at 0";
  // When
  for (int i = 0; i < 5; ++i) counter.increment();
  // Then
  EXPECT_EQ(counter.value(), 5);
}

TEST(SharedCounter, CountsEveryIncrementOfFourChildProcesses) {
  // Given: a counter created before fork, and 4 children that each increment it in 4 rounds of
  // 25 ms of their own CPU time, all starting each round together, and record how many
  // increments they made. (A fixed 4 x 20000 let each child finish inside one time slice on a
  // busy machine: nothing overlapped and a lost update could not happen. 400 ms of CPU in all,
  // restarted together four times, spans many preemptions in the middle of an increment.)
  watchdog guard("4 child processes incrementing a shared counter");
  constexpr int kChildren = 4;
  constexpr int kRounds = 4;
  constexpr std::int64_t kCpuNanosecondsPerRound = 25'000'000;
  shared_counter counter;
  shared_array<int> rounds_started(kChildren);  // a start gate per round
  shared_array<std::int64_t> made(kChildren);   // increments each child made
  // When
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) {  // the child: no gtest here, only the work and _exit
      std::int64_t n = 0;
      for (int round = 1; round <= kRounds; ++round) {
        rounds_started[static_cast<std::size_t>(c)].store(round);
        for (std::size_t other = 0; other < kChildren; ++other) {
          while (rounds_started[other].load() < round) ::sched_yield();
        }
        const std::int64_t start = cpu_nanoseconds();
        do {
          for (int i = 0; i < 1000; ++i) {
            counter.increment();
            asm volatile("" ::: "memory");  // one increment at a time, as separate calls would be
          }
          n += 1000;
        } while (cpu_nanoseconds() - start < kCpuNanosecondsPerRound);
      }
      made[static_cast<std::size_t>(c)].store(n);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a child incrementing the counter crashed";
  }
  // Then
  std::int64_t expected = 0;
  for (std::size_t c = 0; c < kChildren; ++c) expected += made[c].load();
  EXPECT_EQ(counter.value(), expected) << fmt::format(
      "4 processes made {} increments in all, but the counter shows {}. {}", expected, counter.value(),
      counter.value() == 0
          ? "The children's increments vanished: the count lives in private (copy-on-write) memory. "
            "It must be in a MAP_SHARED mapping made before fork."
          : "Increments were lost: ++ on shared memory is a load, an add and a store, and two "
            "processes interleave them. Use a lock-free std::atomic in the mapping (fetch_add), or a "
            "pthread mutex made PTHREAD_PROCESS_SHARED. (ThreadSanitizer cannot see other processes.)");
}

TEST(SharedCounter, CountsIncrementsMadeByProcessMapWorkers) {
  // Given: a counter created before process_map forks its workers
  watchdog guard("process_map whose workers increment a shared counter");
  shared_counter counter;
  // When: each of 50 inputs increments it once in some worker, and the parent adds one more
  const auto results = process_map(iota(50), [&](std::int64_t x) {
    counter.increment();
    return x;
  }, 4);
  counter.increment();
  // Then
  EXPECT_EQ(results.size(), 50u);
  EXPECT_EQ(counter.value(), 51) << fmt::format(
      "the counter shows {} after 50 increments in workers and one in the parent: {}", counter.value(),
      counter.value() == 1 ? "the workers' increments went to their private copies (use MAP_SHARED)"
                           : "increments were lost or counted twice");
}
