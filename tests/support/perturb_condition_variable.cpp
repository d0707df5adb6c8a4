// Widens the windows that lost wake-ups hide in, from the test's side, without touching the
// code under test.
//
// libstdc++ defines std::condition_variable::wait(std::unique_lock<std::mutex>&) out of line, in
// libstdc++.so. This file defines the same symbol in the test executable, which the dynamic
// linker prefers, and forwards to the real one after a random perturbation:
//  * a spurious wake-up (allowed by the standard): unlock, yield, relock, return. Code that
//    waits with `if` instead of `while` (or without a predicate) acts on a false condition.
//  * a short pause *while still holding the lock* before blocking. Correct code cannot change
//    the condition during the pause (it needs the lock to do so); code that changes it without
//    the lock and notifies in that window loses the wake-up and hangs, and the test says so.
// The timed waits (wait_for, wait_until) are inline in the headers and are not perturbed.
// Set WB_PERTURB=0 in the environment to turn this off.
#include <dlfcn.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

namespace {

using real_wait_fn = void (*)(std::condition_variable*, std::unique_lock<std::mutex>&);
constexpr const char* wait_symbol = "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE";

real_wait_fn real_wait() {
  static const real_wait_fn fn = reinterpret_cast<real_wait_fn>(dlsym(RTLD_NEXT, wait_symbol));
  if (fn == nullptr) std::abort();
  return fn;
}

bool perturbing() {
  static const bool on = [] {
    const char* env = std::getenv("WB_PERTURB");
    return env == nullptr || env[0] != '0';
  }();
  return on;
}

unsigned roll() {
  thread_local std::minstd_rand engine(static_cast<unsigned>(
      std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
      static_cast<std::size_t>(std::chrono::steady_clock::now().time_since_epoch().count())));
  return static_cast<unsigned>(engine()) % 8;
}

}  // namespace

// The definition the executable's calls bind to (asm label: the exact mangled name).
extern "C" void workbook_perturbed_wait(std::condition_variable* cv, std::unique_lock<std::mutex>& lock) __asm__(
    "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE");

extern "C" void workbook_perturbed_wait(std::condition_variable* cv, std::unique_lock<std::mutex>& lock) {
  if (perturbing()) {
    const unsigned dice = roll();
    if (dice < 2) {  // 1 in 4: spurious wake-up
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
      return;
    }
    if (dice < 4) {  // 1 in 4: hold the lock a little longer before blocking
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  }
  real_wait()(cv, lock);
}
