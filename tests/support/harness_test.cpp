// Tests of the test harness itself: the launcher, the watchdog, the TSan hook and the
// condition-variable perturbation. The DISABLED_ cases misbehave on purpose; CMake runs them
// through the launcher and checks that the launcher explains what happened.
#include <sys/personality.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <latch>
#include <thread>

#include "workbook_test.hpp"

using namespace std::chrono_literals;

TEST(Launcher, RunsTestsWithAddressRandomizationOff) {
  // Given: this process was started by workbook_run (as every test is)
  // When
  const int persona = personality(0xffffffff);  // 0xffffffff: query without changing
  // Then
  EXPECT_NE(persona & ADDR_NO_RANDOMIZE, 0)
      << "the launcher must start tests like `setarch -R` does, or ThreadSanitizer dies at "
         "start-up on kernels with vm.mmap_rnd_bits above 28";
}

TEST(Perturbation, InjectsSpuriousWakeupsIntoConditionVariableWait) {
  // Given: a waiter that waits for rounds 1..100 and counts the times wait() returned while
  // its round had not come yet
  constexpr int kRounds = 100;
  std::mutex mutex;
  std::condition_variable advanced;
  int round = 0;  // guarded by mutex
  int spurious = 0;
  auto waiter = wb::test::call_in_background([&] {
    std::unique_lock lock(mutex);
    for (int wanted = 1; wanted <= kRounds; ++wanted) {
      while (round < wanted) {
        advanced.wait(lock);
        if (round < wanted) ++spurious;
      }
    }
  }, "a waiter");
  // When: the rounds advance slowly, one notify each
  for (int next = 1; next <= kRounds; ++next) {
    std::this_thread::sleep_for(200us);
    {
      std::lock_guard lock(mutex);
      round = next;
    }
    advanced.notify_one();
  }
  waiter.get();
  // Then: some waits returned spuriously (1 in 4 do, unless WB_PERTURB=0; none in 100 rounds
  // has a probability of (3/4)^100)
  EXPECT_GT(spurious, 0) << "the perturbation in perturb_condition_variable.cpp is not in force";
}

TEST(Demo, DISABLED_HangsForever) {
  std::mutex mutex;
  mutex.lock();
  mutex.lock();  // deadlocks on purpose: the launcher must kill it and say why
}

TEST(Demo, DISABLED_HungCallIsReportedInWords) {
  std::latch never(1);
  auto call = wb::test::call_in_background([&] { never.wait(); }, "a call that waits for a latch nobody counts down");
  call.get(200ms);
}

int racy_value = 0;
TEST(Demo, DISABLED_DataRaceFailsTheTest) {
  wb::test::run_concurrently(2, [](int) {
    for (int i = 0; i < 1000; ++i) racy_value = racy_value + 1;
  }, "two racing threads");
}

TEST(Demo, DISABLED_LockOrderInversionFailsTheTest) {
  // One thread, two mutexes, taken in both orders one after the other: it never deadlocks here,
  // but TSan's lock-order detector sees the cycle that two threads could close.
  std::mutex first;
  std::mutex second;
  {
    std::lock_guard a(first);
    std::lock_guard b(second);
  }
  {
    std::lock_guard b(second);
    std::lock_guard a(first);
  }
}
