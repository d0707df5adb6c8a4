// The classic Python comparison, replayed in C++: the same jobs run sequentially, on threads and
// on forked processes, for a CPU-bound job and an IO-bound one. Prints each variant's time and
// its speedup over the sequential run. Why the CPU-bound row differs from Python's: see
// notes/python_to_cpp.md ("The GIL, and the benchmark").
//
//   cmake --workflow --preset bench        (or build/bench/benchmarks/speedup_benchmark)
//
// The IO-bound job is a sleep: a stand-in for a blocking call that waits on something else (a
// server, a disk) without using a CPU, as in the Python original. Real requests against a real
// server are topic 19's; their speedup follows the same rule.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kItems = 8;  // jobs per run; each variant uses one worker per job

// CPU-bound: counts the primes below `limit` by trial division (about 20 ms for 200000 on the
// 2-core CI machine).
std::uint64_t count_primes(std::uint64_t limit) {
  std::uint64_t count = 0;
  for (std::uint64_t n = 2; n < limit; ++n) {
    bool prime = true;
    for (std::uint64_t d = 2; d * d <= n; ++d) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    count += prime ? 1 : 0;
  }
  return count;
}

std::uint64_t cpu_job(int item) { return count_primes(200000 + static_cast<std::uint64_t>(item)); }

// IO-bound: waits 20 ms without using the CPU.
std::uint64_t io_job(int item) {
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return static_cast<std::uint64_t>(item);
}

using job = std::uint64_t (*)(int);

std::uint64_t run_sequential(job work) {
  std::uint64_t sum = 0;
  for (int i = 0; i < kItems; ++i) sum += work(i);
  return sum;
}

std::uint64_t run_threads(job work) {
  std::vector<std::uint64_t> results(kItems);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kItems; ++i) threads.emplace_back([&results, work, i] { results[i] = work(i); });
  }  // joined: each slot was written by its own thread
  std::uint64_t sum = 0;
  for (auto r : results) sum += r;
  return sum;
}

// One forked child per job; each writes its 8-byte result into its own pipe and exits.
std::uint64_t run_processes(job work) {
  struct child {
    pid_t pid;
    int read_end;
  };
  std::vector<child> children;
  for (int i = 0; i < kItems; ++i) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {  // the child: compute, write, leave without running the parent's destructors
      ::close(fds[0]);
      const std::uint64_t result = work(i);
      const bool written = ::write(fds[1], &result, sizeof result) == static_cast<ssize_t>(sizeof result);
      ::_exit(written ? 0 : 1);
    }
    ::close(fds[1]);
    children.push_back({pid, fds[0]});
  }
  std::uint64_t sum = 0;
  for (const auto& c : children) {
    std::uint64_t result = 0;
    const bool complete = ::read(c.read_end, &result, sizeof result) == static_cast<ssize_t>(sizeof result);
    ::close(c.read_end);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    if (!complete || !WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("a worker process failed");
    sum += result;
  }
  return sum;
}

template <class Runner>
void bench(benchmark::State& state, job work, Runner run) {
  const std::uint64_t expected = run_sequential(work);
  for (auto _ : state) {
    const std::uint64_t sum = run(work);
    if (sum != expected) state.SkipWithError("wrong result");
    benchmark::DoNotOptimize(sum);
  }
}

BENCHMARK_CAPTURE(bench, cpu/sequential, &cpu_job, &run_sequential)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bench, cpu/threads, &cpu_job, &run_threads)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bench, cpu/processes, &cpu_job, &run_processes)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bench, io/sequential, &io_job, &run_sequential)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bench, io/threads, &io_job, &run_threads)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bench, io/processes, &io_job, &run_processes)->UseRealTime()->Unit(benchmark::kMillisecond);

// The console report as usual, and each run's real time kept for the speedup table.
class speedup_reporter : public benchmark::ConsoleReporter {
 public:
  speedup_reporter() : ConsoleReporter(OO_Tabular) {}  // no colour codes: the output goes to logs

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.run_type == Run::RT_Iteration && !run.error_occurred) {
        real_ms_[run.benchmark_name()] = run.GetAdjustedRealTime();  // in the unit set above: ms
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // "bench/cpu/threads/real_time" -> its time, or 0 if it did not run.
  double time_of(const std::string& kind, const std::string& variant) const {
    const auto it = real_ms_.find("bench/" + kind + "/" + variant + "/real_time");
    return it == real_ms_.end() ? 0.0 : it->second;
  }

 private:
  std::map<std::string, double> real_ms_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  speedup_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf("\n%d jobs, one worker per job, on %u hardware threads. Speedup = sequential time / time.\n", kItems,
              std::thread::hardware_concurrency());
  std::printf("%-10s %12s %12s %12s\n", "job", "sequential", "threads", "processes");
  bool complete = true;
  for (const std::string kind : {"cpu", "io"}) {
    const double sequential = reporter.time_of(kind, "sequential");
    std::printf("%-10s", (kind + "-bound").c_str());
    for (const std::string variant : {"sequential", "threads", "processes"}) {
      const double t = reporter.time_of(kind, variant);
      if (t <= 0 || sequential <= 0) {
        std::printf(" %12s", "(not run)");
        complete = false;
      } else {
        std::printf(" %11.2fx", sequential / t);
      }
    }
    std::printf("\n");
  }
  return complete ? 0 : 1;
}
