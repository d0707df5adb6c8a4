// workbook_run: runs one test process for ctest, and turns what can go wrong into words.
//
//   workbook_run [--timeout S] -- <suite> --gtest_filter=Suite.Name
//       Runs one test. Passes when the process exits 0 having run exactly that one test.
//       A test still running after S seconds is killed and reported as probably deadlocked.
//   workbook_run --expect-caught [--timeout S] [--what FILE] -- <suite>
//       Mutant mode: runs every test of the suite, one process each, and passes as soon as one
//       fails (the wrong answer was caught). Fails, quoting FILE's "// BUG:" line, if all pass.
//   workbook_run --expect-all-pass [--timeout S] [--what FILE] -- <suite>
//       Alternative mode: runs every test of the suite, one process each, and passes only if
//       all pass (a correct answer written another way must be accepted). Fails at the first
//       failing test, quoting FILE's "// ALTERNATIVE:" line and that test's output.
//
// Every child runs with address-space randomization off (personality ADDR_NO_RANDOMIZE, as
// `setarch -R` does). ThreadSanitizer in g++ 12 and clang 14 dies at start-up ("unexpected
// memory mapping") on kernels with vm.mmap_rnd_bits above 28, such as Ubuntu 24.04's; tests do
// not need randomization, and no root is needed to turn it off for our own children. Set
// WB_KEEP_ASLR=1 to keep it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct outcome {
  bool timed_out = false;
  int exit_code = -1;   // valid when !timed_out and signal == 0
  int signal = 0;       // the signal that ended the child, if any
  std::string output;   // stdout and stderr, interleaved as written
};

bool keep_aslr() {
  const char* env = std::getenv("WB_KEEP_ASLR");
  return env != nullptr && env[0] == '1';
}

// Runs argv with a deadline; echoes its output live when `echo` is set.
outcome run(const std::vector<std::string>& args, int timeout_seconds, bool echo) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("workbook_run: pipe");
    std::exit(2);
  }
  const pid_t child = fork();
  if (child < 0) {
    std::perror("workbook_run: fork");
    std::exit(2);
  }
  if (child == 0) {
    setpgid(0, 0);  // its own process group: a timeout kills every process it started
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    if (!keep_aslr()) personality(ADDR_NO_RANDOMIZE);
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "workbook_run: cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(child, child);
  close(fds[1]);

  outcome result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-child, SIGKILL);
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // the deadline check above ends the loop
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of output: the child (and anything it started) closed the pipe
    result.output.append(buffer, static_cast<std::size_t>(n));
    if (echo) {
      std::fwrite(buffer, 1, static_cast<std::size_t>(n), stdout);
      std::fflush(stdout);
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!result.timed_out) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  }
  return result;
}

bool contains(const std::string& text, const char* needle) { return text.find(needle) != std::string::npos; }

// One sentence on why a test process failed.
std::string diagnose(const outcome& r, int timeout_seconds) {
  if (r.timed_out) {
    return "This test TIMED OUT after " + std::to_string(timeout_seconds) +
           " s and was killed. It probably deadlocked, or a thread waits for a wake-up that "
           "never comes (a missing notify, notify_one where several must wake, a state change "
           "outside the mutex).";
  }
  if (contains(r.output, "not implemented yet")) return "The exercise is not implemented yet (the message above names the member).";
  if (contains(r.output, "unexpected memory mapping")) {
    return "ThreadSanitizer could not start: this kernel randomizes addresses more than it "
           "supports. Unset WB_KEEP_ASLR, or run under `setarch -R`.";
  }
  if (r.exit_code == 66 || contains(r.output, "WARNING: ThreadSanitizer")) {
    return "ThreadSanitizer found a data race or a lock-order problem (its report is above).";
  }
  if (r.signal != 0) return std::string("The test process crashed: ") + strsignal(r.signal) + " (an uncaught exception in a thread, or memory misuse).";
  if (r.exit_code == 0) return "The process ran no test: its --gtest_filter matched nothing (was the test renamed?).";
  return "This test failed (exit code " + std::to_string(r.exit_code) + "): the messages above say why.";
}

bool passed_one_test(const outcome& r) {
  return !r.timed_out && r.signal == 0 && r.exit_code == 0 && contains(r.output, "[  PASSED  ] 1 test.");
}

std::vector<std::string> list_tests(const std::string& suite, int timeout_seconds) {
  const outcome r = run({suite, "--gtest_list_tests"}, timeout_seconds, false);
  if (r.timed_out || r.exit_code != 0) {
    std::fprintf(stderr, "workbook_run: %s --gtest_list_tests failed:\n%s\n", suite.c_str(), r.output.c_str());
    std::exit(2);
  }
  std::vector<std::string> tests;
  std::string current_suite;
  std::size_t start = 0;
  while (start < r.output.size()) {
    std::size_t end = r.output.find('\n', start);
    if (end == std::string::npos) end = r.output.size();
    std::string line = r.output.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    if (line[0] != ' ') {
      current_suite = line.substr(0, line.find_first_of(" \t"));  // "Suite."
    } else {
      const auto first = line.find_first_not_of(' ');
      const auto name = line.substr(first, line.find_first_of(" \t", first) - first);
      // --gtest_list_tests lists disabled tests too; a filter naming one runs nothing.
      if (name.rfind("DISABLED_", 0) != 0 && current_suite.rfind("DISABLED_", 0) != 0) {
        tests.push_back(current_suite + name);
      }
    }
  }
  return tests;
}

std::string first_line_of(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line.empty() ? file : line;
}

std::string last_lines(const std::string& text, int count) {
  std::size_t pos = text.size();
  while (count-- > 0 && pos > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

int usage() {
  std::fprintf(stderr,
               "usage: workbook_run [--expect-caught | --expect-all-pass] [--timeout S] [--what FILE] -- <suite> [args...]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int timeout_seconds = 30;
  bool expect_caught = false;
  bool expect_all_pass = false;
  std::string what;
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      command.assign(argv + i + 1, argv + argc);
      break;
    }
    if (arg == "--timeout" && i + 1 < argc) {
      timeout_seconds = std::atoi(argv[++i]);
    } else if (arg == "--what" && i + 1 < argc) {
      what = argv[++i];
    } else if (arg == "--expect-caught") {
      expect_caught = true;
    } else if (arg == "--expect-all-pass") {
      expect_all_pass = true;
    } else {
      return usage();
    }
  }
  if (command.empty() || timeout_seconds <= 0 || (expect_caught && expect_all_pass)) return usage();

  if (!expect_caught && !expect_all_pass) {
    const outcome r = run(command, timeout_seconds, true);
    if (passed_one_test(r)) return 0;
    std::printf("\n*** workbook: %s\n", diagnose(r, timeout_seconds).c_str());
    return 1;
  }

  // Gallery modes: run the suite's tests one process each, up to the first that fails.
  const std::string file_says = first_line_of(what);
  const auto tests = list_tests(command[0], timeout_seconds);
  for (const auto& test : tests) {
    std::vector<std::string> one = command;
    one.push_back("--gtest_filter=" + test);
    const outcome r = run(one, timeout_seconds, false);
    if (passed_one_test(r)) continue;
    if (expect_caught) {
      std::printf("caught: %s\n  by %s: %s\n--- last lines of its output ---\n%s\n", file_says.c_str(),
                  test.c_str(), diagnose(r, timeout_seconds).c_str(), last_lines(r.output, 12).c_str());
      return 0;
    }
    std::printf("REJECTED: %s\n  by %s: %s\n  A correct answer written another way must pass: either this\n"
                "  alternative is wrong after all, or the test checks more than the contract.\n"
                "--- last lines of its output ---\n%s\n",
                file_says.c_str(), test.c_str(), diagnose(r, timeout_seconds).c_str(), last_lines(r.output, 30).c_str());
    return 1;
  }
  if (expect_caught) {
    std::printf("SURVIVED: %s\n  all %zu tests passed on this wrong answer: the tests have a hole.\n",
                file_says.c_str(), tests.size());
    return 1;
  }
  std::printf("accepted: %s\n  all %zu tests passed\n", file_says.c_str(), tests.size());
  return 0;
}
