#!/usr/bin/env bash
# Shows that the tests run on kernels whose vm.mmap_rnd_bits is above 28 (Ubuntu 24.04 and
# others), where ThreadSanitizer from g++ 12 / clang 14 dies at start-up. Needs root to raise
# the setting for the duration of the check (it is restored on exit); without root it says so
# and exits 0. Usage: scripts/check-high-aslr.sh [build dir, default build/solutions]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/solutions}
knob=/proc/sys/vm/mmap_rnd_bits
if [[ $(id -u) -ne 0 ]] || ! old=$(cat "$knob" 2>/dev/null) || ! echo "$old" > "$knob" 2>/dev/null; then
  echo "check-high-aslr: skipped (needs root and a writable $knob)"
  exit 0
fi
trap 'echo "$old" > "$knob"' EXIT
echo 32 > "$knob"
echo "check-high-aslr: vm.mmap_rnd_bits raised from $old to $(cat "$knob")"
status=0
suite=$(ls "$build"/thread_safe_counter_test 2>/dev/null || true)
if [[ -n "$suite" ]]; then
  if "$suite" --gtest_filter='*StartsAtZero' >/dev/null 2>&1; then
    echo "check-high-aslr: note: a TSan binary started directly too (this kernel/runtime copes by itself)"
  else
    echo "check-high-aslr: as expected, a TSan test binary started directly dies at start-up here"
  fi
fi
if ctest --test-dir "$build" -L "harness|thread_safe_counter" -LE mutant -j2 >/dev/null 2>&1; then
  echo "check-high-aslr: the same tests pass through ctest (the launcher turns off randomization)"
else
  echo "BREACH: tests fail when vm.mmap_rnd_bits is 32:"
  ctest --test-dir "$build" -L "harness|thread_safe_counter" -LE mutant -j2 --output-on-failure | tail -30
  status=1
fi
exit $status
