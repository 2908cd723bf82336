#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer in their own build directory, then runs
# each one from its seed corpus:
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]      e.g. scripts/fuzz.sh 60 frame
#   scripts/fuzz.sh --runs N [HARNESS...]       CI: a fixed number of inputs
#
# With SECONDS (default 20) each harness explores at random for that long:
# the way to look for new bugs. With --runs, each harness tries N inputs
# from a fixed seed (FERRY_FUZZ_SEED, default 1) and its seed corpus
# alone: as many on a loaded machine as on a quiet one, and nearly the same
# ones each time (coverage feedback varies a little from run to run). The
# harnesses listed in `slow` below try a twentieth of N.
#
# Fails when a harness crashes, leaks, trips a sanitizer, or spends more
# than FERRY_FUZZ_TIMEOUT seconds (default 10) on one input. What made it
# fail is kept as $FERRY_FUZZ_BUILD_DIR/fuzz-out/<harness>/crash-* (or
# leak-*, timeout-*): replay it with `build-fuzz/tests/fuzz/fuzz-<harness> FILE`,
# and add it to the harness's seed corpus once fixed.
# New inputs the fuzzer found go to $FERRY_FUZZ_BUILD_DIR/fuzz-corpus/, never
# into the seed corpora in the tree.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_FUZZ_BUILD_DIR:-$root/build-fuzz}
timeout_s=${FERRY_FUZZ_TIMEOUT:-10}
runs=
seconds=20
if [ "${1:-}" = --runs ]; then
  runs=${2:-}
  shift 2 || true
  budget=$runs
else
  seconds=${1:-20}
  shift || true
  budget=$seconds
fi
case "$budget" in
  ''|*[!0-9]*) echo "fuzz.sh: the budget must be a number, not '$budget'" >&2; exit 2 ;;
esac
# Each input of these derives a key from a passphrase (account import) or
# makes an engine from a home folder on disk (config): about 500 a second
# under the sanitizers, where the others run tens of thousands.
slow=(account-import config)
if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz.sh: clang is missing (Debian packages clang and libclang-rt-14-dev)" >&2
  exit 1
fi

harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for dir in "$root"/tests/fuzz/corpus/*/; do
    harnesses+=("$(basename "$dir")")
  done
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -f "$build/build.ninja" ]; then
  # The library and plugins get coverage instrumentation, the harnesses
  # link libFuzzer (tests/fuzz/meson.build).
  if ! CC=clang CFLAGS="-fsanitize=fuzzer-no-link" \
       meson setup "$build" "$root" -Dfuzzing=true -Db_sanitize=address,undefined \
         -Db_lundef=false -Dintrospection=disabled >"$log" 2>&1; then
    cat "$log" >&2
    echo "fuzz.sh: meson setup failed" >&2
    exit 1
  fi
fi
targets=()
for name in "${harnesses[@]}"; do
  targets+=("tests/fuzz/fuzz-$name")
done
if ! ninja -C "$build" "${targets[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "fuzz.sh: the build failed" >&2
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export G_DEBUG=gc-friendly

failed=()
for name in "${harnesses[@]}"; do
  seeds="$root/tests/fuzz/corpus/$name"
  work="$build/fuzz-corpus/$name"
  out="$build/fuzz-out/$name"
  if [ -n "$runs" ]; then
    # the same inputs each time: a fixed seed, nothing found earlier
    work="$build/fuzz-runs/$name"
    rm -rf "$work"
    n=$runs
    for s in "${slow[@]}"; do
      [ "$s" = "$name" ] && n=$(( runs / 20 ))
    done
    # (at most 10 minutes each all the same, so a slow harness cannot eat CI)
    limit=(-runs="$n" -seed="${FERRY_FUZZ_SEED:-1}" -max_total_time=600)
    echo "fuzz.sh: $name for $n inputs"
  else
    limit=(-max_total_time="$seconds")
    echo "fuzz.sh: $name for ${seconds}s"
  fi
  mkdir -p "$work" "$out"
  if "$build/tests/fuzz/fuzz-$name" "${limit[@]}" -timeout="$timeout_s" \
       -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$out/" "$work" "$seeds" >"$out/log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$out/log" |
      sed "s/^/fuzz.sh: $name: /"
  else
    tail -n 60 "$out/log" >&2
    echo "fuzz.sh: $name FAILED (log: $out/log)" >&2
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
each="${seconds}s each"
[ -z "$runs" ] || each="their inputs"
echo "fuzz.sh: ${#harnesses[@]} harnesses ran $each, nothing found"
