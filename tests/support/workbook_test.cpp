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
// Part of TSan's public report API (both GCC's libtsan and Clang's runtime have it); weak, so
// a runtime without it leaves the pointer null and the neutral text is used.
int __tsan_get_report_data(void* report, const char** description, int* count, int* stack_count,
                           int* mop_count, int* loc_count, int* mutex_count, int* thread_count,
                           int* unique_tid_count, void** sleep_trace, unsigned long trace_size)
    __attribute__((weak));

void __tsan_on_report(void* report) {
  static const char data_race[] =
      "\n*** ThreadSanitizer stopped this test: a DATA RACE. Its report above names two accesses\n"
      "    to the same memory from different threads, at least one a write, with no happens-before\n"
      "    between them (no common mutex, no release/acquire atomic). That is undefined behaviour\n"
      "    even if the numbers come out right. Read the two stacks: the top frame of each in your\n"
      "    code is where the missing synchronization belongs.\n";
  static const char lock_order[] =
      "\n*** ThreadSanitizer stopped this test: a LOCK-ORDER INVERSION (a potential deadlock).\n"
      "    Two threads took the same mutexes in opposite orders; run at the wrong moment they\n"
      "    would wait for each other forever. Take them in one global order, or all at once\n"
      "    with std::scoped_lock.\n";
  static const char other[] =
      "\n*** ThreadSanitizer stopped this test. The first line of its report above says what it\n"
      "    found (e.g. \"unlock of an unlocked mutex\", \"use of a destroyed mutex\", \"signal-unsafe\n"
      "    call\"); the stacks below it show where.\n";
  static const char how_to_read[] =
      "    How to read a report: notes/README.md, section \"Reading a ThreadSanitizer report\".\n\n";
  const char* message = other;
  std::size_t length = sizeof other - 1;
  const char* description = nullptr;
  if (__tsan_get_report_data != nullptr) {
    int count = 0, stacks = 0, mops = 0, locs = 0, mutexes = 0, threads = 0, unique_tids = 0;
    void* sleep_trace = nullptr;
    __tsan_get_report_data(report, &description, &count, &stacks, &mops, &locs, &mutexes,
                           &threads, &unique_tids, &sleep_trace, 0);
  }
  if (description != nullptr && std::strcmp(description, "data-race") == 0) {
    message = data_race;
    length = sizeof data_race - 1;
  } else if (description != nullptr && std::strcmp(description, "lock-order-inversion") == 0) {
    message = lock_order;
    length = sizeof lock_order - 1;
  }
  [[maybe_unused]] auto written = ::write(2, message, length);
  written = ::write(2, how_to_read, sizeof how_to_read - 1);
}

}  // extern "C"
#endif
