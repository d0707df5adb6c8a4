#!/usr/bin/env bash
# The repeated checks that are too long for every CI run: the solutions N times with g++ and
# with clang, and the gallery N times. Prints a table: per topic, the rounds in which all its
# tests passed (the "harness" row is the launcher's own self-tests); per mutant, the rounds in
# which some test caught it; per alternative (a correct answer written another way), the rounds
# in which every test passed. Anything below N/N is a
# defect (a flaky test, a hole in the tests, or a test that checks more than the contract).
#   scripts/repeat.sh [N=20] [label regex to restrict to some topics]
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
only=${2:-}
filter=()
[[ -n "$only" ]] && filter=(-L "$only")
declare -A solution_passes gallery_ok
topics=()
mutants=()
status=0

list_tests() {  # the test names of a preset, one a line
  ctest --preset "$1" -N "${@:2}" | sed -nE 's/^ *Test +#[0-9]+: (.*)$/\1/p'
}

for preset in solutions solutions-clang; do
  cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset" >/dev/null || { echo "cannot build $preset"; exit 1; }
  mapfile -t names < <(list_tests "$preset" "${filter[@]}")
  for name in "${names[@]}"; do
    topic=${name%%.*}
    [[ -n "${solution_passes[$preset/$topic]+x}" ]] || { solution_passes[$preset/$topic]=0; [[ $preset == solutions ]] && topics+=("$topic"); }
  done
  for ((i = 1; i <= rounds; i++)); do
    ctest --preset "$preset" "${filter[@]}" >/dev/null 2>&1
    failed=$(cat "build/$preset/Testing/Temporary/LastTestsFailed.log" 2>/dev/null || true)
    for topic in "${topics[@]}"; do
      grep -q ":$topic\." <<<"$failed" || solution_passes[$preset/$topic]=$((solution_passes[$preset/$topic] + 1))
    done
    rm -f "build/$preset/Testing/Temporary/LastTestsFailed.log"
    echo "  $preset round $i/$rounds done" >&2
  done
done

cmake --preset mutants >/dev/null && cmake --build --preset mutants >/dev/null || { echo "cannot build the mutants"; exit 1; }
mapfile -t mutants < <(list_tests mutants "${filter[@]}")
for m in "${mutants[@]}"; do gallery_ok[$m]=0; done
for ((i = 1; i <= rounds; i++)); do
  ctest --preset mutants "${filter[@]}" >/dev/null 2>&1
  failed=$(cat build/mutants/Testing/Temporary/LastTestsFailed.log 2>/dev/null || true)
  for m in "${mutants[@]}"; do
    grep -qx "[0-9]*:$m" <<<"$failed" || gallery_ok[$m]=$((gallery_ok[$m] + 1))
  done
  rm -f build/mutants/Testing/Temporary/LastTestsFailed.log
  echo "  gallery round $i/$rounds done" >&2
done

printf '\n%-22s %-16s %-16s %s\n' "topic" "solutions g++" "solutions clang" "mutants caught / alternatives passed (rounds of $rounds)"
for topic in "${topics[@]}"; do
  g=${solution_passes[solutions/$topic]:-0}
  c=${solution_passes[solutions-clang/$topic]:-0}
  caught=""
  for m in "${mutants[@]}"; do
    [[ $m == mutant.$topic.* ]] || continue
    caught+="${m#mutant.$topic.} ${gallery_ok[$m]}/$rounds, "
    ((gallery_ok[$m] == rounds)) || status=1
  done
  for m in "${mutants[@]}"; do
    [[ $m == alternative.$topic.* ]] || continue
    caught+="[alternative] ${m#alternative.$topic.} ${gallery_ok[$m]}/$rounds, "
    ((gallery_ok[$m] == rounds)) || status=1
  done
  printf '%-22s %-16s %-16s %s\n' "$topic" "$g/$rounds" "$c/$rounds" "${caught%, }"
  ((g == rounds && c == rounds)) || status=1
done
exit $status
