#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite:
#
#   scripts/test.sh [meson test options, e.g. --suite unit or cli]
#
# Ends with a line "tests: N passed, N failed, N skipped".
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh"

status=0
meson test -C "$build" --print-errorlogs "$@" || status=$?

log="$build/meson-logs/testlog.json"
if [ -f "$log" ]; then
  passed=$(jq -s '[.[] | select(.result == "OK" or .result == "EXPECTEDFAIL")] | length' "$log")
  failed=$(jq -s '[.[] | select(.result == "FAIL" or .result == "ERROR" or .result == "TIMEOUT" or .result == "UNEXPECTEDPASS")] | length' "$log")
  skipped=$(jq -s '[.[] | select(.result == "SKIP")] | length' "$log")
  echo "tests: $passed passed, $failed failed, $skipped skipped"
  if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
    echo "test.sh: no test ran" >&2
    status=1
  fi
fi
exit "$status"
