#!/usr/bin/env bash
# Runs the learner's workflow on the untouched stubs and checks that it fails the right way:
# every topic builds, and every test of every topic fails, each in under a second.
# A test that passes on a stub checks nothing the learner writes.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
cmake --workflow --preset exercises 2>&1 | tee "$log" | grep -E "^ *[0-9]+/[0-9]+ Test|tests passed|Errors while"
status=0
# Lines look like: " 3/61 Test  #3: topic.Suite.Name ....***Failed    0.07 sec"
total=$(grep -cE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: " "$log")
while IFS= read -r line; do
  name=$(sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+) .*/\1/' <<<"$line")
  seconds=$(sed -E 's/.* ([0-9.]+) sec$/\1/' <<<"$line")
  case "$name" in
    *.build)
      grep -q "Passed" <<<"$line" || { echo "BREACH: $name: the stub does not compile"; status=1; } ;;
    harness.*) ;;
    *)
      if grep -q "Passed" <<<"$line"; then echo "BREACH: $name passes on the untouched stub"; status=1; fi
      if awk -v s="$seconds" 'BEGIN { exit !(s >= 1.0) }'; then
        echo "BREACH: $name took $seconds s to fail on the stub (must be under 1 s)"; status=1
      fi ;;
  esac
done < <(grep -E "^ *[0-9]+/[0-9]+ Test +#[0-9]+: " "$log")
if ((total == 0)); then echo "BREACH: no test ran"; status=1; fi
failed=$(grep -cE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(Failed|Timeout|Not Run|Exception)" "$log")
echo "check-exercises-fail: $failed of $total tests failed on the stubs (the topic builds and harness tests pass)"
rm -f "$log"
exit $status
