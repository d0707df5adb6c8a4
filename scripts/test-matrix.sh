#!/usr/bin/env bash
# Which tests catch which mutants. Runs every test of every mutant (one process each, through the
# launcher, like ctest) and prints, per topic, each test with the mutants it fails on. A test
# that fails on no mutant checks nothing a plausible wrong answer gets wrong: it needs a mutant,
# or it is redundant. Exits 1 if there is such a test.
#   scripts/test-matrix.sh [topic regex, e.g. barrier]      (after: cmake --workflow --preset mutants)
set -uo pipefail
cd "$(dirname "$0")/.."
only=${1:-.}
build=build/mutants
run=$build/tools/workbook_run
[[ -x $run ]] || { echo "build the mutants first: cmake --workflow --preset mutants"; exit 2; }
status=0

list_tests() {  # Suite.Name per line, without disabled tests
  setarch -R "$1" --gtest_list_tests | awk '/^[^ ]/ {suite = $1} /^  / {print suite $1}' | grep -v DISABLED_
}

for suite in "$build"/*_test; do
  topic=$(basename "$suite" _test)
  [[ $topic =~ $only ]] || continue
  mapfile -t tests < <(list_tests "$suite")
  declare -A caught=()
  for mutant in "$build"/"${topic}"_mutant_*; do
    bug=${mutant##*_mutant_}
    for test in "${tests[@]}"; do
      if ! "$run" --timeout 30 -- "$mutant" "--gtest_filter=$test" >/dev/null 2>&1; then
        caught[$test]+="$bug "
      fi
    done
  done
  echo "== $topic"
  for test in "${tests[@]}"; do
    if [[ -z ${caught[$test]:-} ]]; then
      printf '  %-70s CAUGHT NO MUTANT\n' "$test"
      status=1
    else
      printf '  %-70s %s\n' "$test" "${caught[$test]}"
    fi
  done
  unset caught
done
exit $status
