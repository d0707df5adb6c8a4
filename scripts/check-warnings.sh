#!/usr/bin/env bash
# Builds every stub, solution and test with g++ and with clang, and every mutant and alternative
# with clang, warnings as errors (no sanitizer, so it is quick). The g++ build of the gallery is
# the mutants preset's own (it sets WORKBOOK_WERROR), so CI does not compile it twice. A stub must
# compile cleanly: the learner's first build should show their own warnings, not ours.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for compiler in g++ clang++; do
  for impl in exercises solutions; do
    dir="build/warnings-$compiler-$impl"
    mutants=OFF
    [[ $impl == solutions && $compiler == clang++ ]] && mutants=ON
    if cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=$compiler -DWORKBOOK_IMPL=$impl \
         -DWORKBOOK_MUTANTS=$mutants -DWORKBOOK_SANITIZER=none -DWORKBOOK_WERROR=ON >/dev/null &&
       cmake --build "$dir" -- -k 0 >"$dir.log" 2>&1; then
      echo "check-warnings: $compiler, $impl (mutants $mutants): no warnings"
    else
      echo "BREACH: $compiler, $impl: warnings or errors:"
      grep -E "warning|error" "$dir.log" | head -20
      status=1
    fi
  done
done
exit $status
