// The parts of the test support that live in the test executable itself: the hung-test exit,
// ThreadSanitizer's options and its report hook. Linked into every suite as an object library,
// so the weak TSan hooks below are always the ones in force.
#include "workbook_test.hpp"

#include <unistd.h>

#include <cstring>

namespace wb::test {

void fail_hung(std::string_view what, milliseconds limit) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test = info ? fmt::format("{}.{}", info->test_suite_name(), info->name()) : "?";
  std::fprintf(stderr,
               "\n*** %s: TIMED OUT: %.*s did not finish within %lld ms.\n"
               "    It probably deadlocked, or a thread is waiting for a wake-up that never comes:\n"
               "    a missing notify, notify_one where several threads must wake, a state change\n"
               "    made outside the mutex, or a wait whose condition can never become true.\n",
               test.c_str(), static_cast<int>(what.size()), what.data(),
               static_cast<long long>(limit.count()));
  std::fflush(stderr);
  std::fflush(stdout);
  std::_Exit(1);  // threads are blocked for good: nothing can be joined or destroyed cleanly
}

}  // namespace wb::test

#if defined(__SANITIZE_THREAD__)
#define WB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WB_TSAN 1
#endif
#endif

#ifdef WB_TSAN
extern "C" {

// Options baked into every test binary; TSAN_OPTIONS in the environment still overrides them.
// halt_on_error: the first report ends the test, so it is blamed on the test that caused it.
const char* __tsan_default_options() {
  return "halt_on_error=1:second_deadlock_stack=1:history_size=4";
}

// Called by TSan after it printed a report and before it halts: add a sentence in plain words.
// Only async-signal-safe calls here (TSan holds its own locks at this point).
void __tsan_on_report(const void* /*report*/) {
  static const char message[] =
      "\n*** ThreadSanitizer stopped this test. Its report above names two accesses to the same\n"
      "    memory from different threads, at least one a write, with no happens-before between\n"
      "    them (no common mutex, no release/acquire atomic). That is a data race: undefined\n"
      "    behaviour even if the numbers come out right. Read the two stacks: the top frame of\n"
      "    each in your code is where the missing synchronization belongs.\n"
      "    How to read a report: notes/README.md, section \"Reading a ThreadSanitizer report\".\n\n";
  [[maybe_unused]] auto written = ::write(2, message, sizeof message - 1);
}

}  // extern "C"
#endif
