#!/usr/bin/env bash
# Builds every stub, solution and test with g++ and with clang, warnings as errors (no sanitizer,
# so it is quick). A stub must compile cleanly: the learner's first build should show their own
# warnings, not ours. The gallery (mutants and alternatives) is compiled with -Werror by the
# mutants presets themselves (they set WORKBOOK_WERROR): CI's g++ gallery build is its check;
# compiling its ~250 executables again here would double CI's longest step.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for compiler in g++ clang++; do
  for impl in exercises solutions; do
    dir="build/warnings-$compiler-$impl"
    mutants=OFF
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
