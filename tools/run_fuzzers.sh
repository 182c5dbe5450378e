#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ with clang++ (address and
# undefined-behaviour sanitizers on) and runs each for a bounded time over a
# working copy of its committed seed corpus.
#
#   tools/run_fuzzers.sh [SECONDS]    # default 60 seconds per target
#   tools/run_fuzzers.sh --build-only # just build the targets
#   tools/run_fuzzers.sh --seeds      # regenerate tests/fuzz/corpus/ (make_seeds.cpp)
#
# Exits non-zero if a target crashes, leaks, times out, runs out of memory or
# violates one of its checks; the reproducer's path and the command that replays
# it are printed. Everything goes to build-fuzz/ (ignored by git):
#   build-fuzz/<target>             the fuzzer binaries
#   build-fuzz/corpus/<target>/     working corpus (seeds + what the fuzzer found; kept between runs)
#   build-fuzz/artifacts/<target>/  reproducers (crash-*, leak-*, timeout-*, oom-*)
#   build-fuzz/logs/<target>.log    the full libFuzzer output of the last run
# Seeds come from tests/fuzz/corpus/<target>/, the dictionary from
# tests/fuzz/<target>.dict or else tests/fuzz/keel.dict.
#
# Environment:
#   CXX=clang++         the compiler (must be clang, with its libFuzzer runtime)
#   KEEL_FUZZ_DIR=...   output directory instead of build-fuzz/
#   FUZZ_TARGETS="..."  which targets (default: every tests/fuzz/*_fuzz.cpp)
#   FUZZ_TIMEOUT=25     seconds one input may take before it counts as a timeout
#   FUZZ_KEEP_GOING=1   do not stop at the first finding (libFuzzer fork mode)
#   FUZZ_JOBS=N         compile and fuzz N targets at a time (default: nproc);
#                       each target still gets SECONDS of its own
#   KEEL_FUZZ_CXXFLAGS=...  extra compiler flags for the targets
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${KEEL_FUZZ_DIR:-$root/build-fuzz}
cxx=${CXX:-clang++}
timeout_s=${FUZZ_TIMEOUT:-25}
mode=run
seconds=60
case "${1:-}" in
  "") ;;
  --build-only) mode=build ;;
  --seeds) mode=seeds ;;
  -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *)
    if [[ "$1" =~ ^[0-9]+$ && "$1" -gt 0 ]]; then seconds=$1
    else echo "usage: $0 [SECONDS | --build-only | --seeds]" >&2; exit 2; fi ;;
esac

die() { echo "run_fuzzers: $*" >&2; exit 2; }

# --- toolchain checks -------------------------------------------------------
command -v "$cxx" >/dev/null 2>&1 ||
  die "$cxx not found. On Debian 12: sudo apt-get install clang libclang-rt-14-dev"
"$cxx" --version 2>/dev/null | grep -qi clang ||
  die "$cxx is not clang (libFuzzer needs clang). Install clang (sudo apt-get install clang libclang-rt-14-dev) or set CXX=clang++"
clang_major=$("$cxx" --version | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n1)
clang_major=${clang_major:-14}

mkdir -p "$out"
probe=$(mktemp -d "${TMPDIR:-/tmp}/keel-fuzz-probe.XXXXXX")
trap 'rm -rf "$probe"' EXIT
printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
  'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' > "$probe/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" 2>"$probe/err"; then
  sed 's/^/    /' "$probe/err" | head -n 5 >&2
  die "$cxx cannot link -fsanitize=fuzzer,address,undefined: the compiler-rt runtime is missing.
    On Debian 12: sudo apt-get install libclang-rt-${clang_major}-dev"
fi
printf '%s\n' '#include <msgpack.hpp>' '#include <nlohmann/json.hpp>' 'int main() { return 0; }' > "$probe/libs.cpp"
if ! "$cxx" -std=c++20 -fsyntax-only "$probe/libs.cpp" 2>"$probe/err"; then
  sed 's/^/    /' "$probe/err" | head -n 5 >&2
  die "msgpack-c or nlohmann-json headers not found.
    On Debian 12: sudo apt-get install libmsgpack-cxx-dev nlohmann-json3-dev libboost-dev"
fi

# --- build -----------------------------------------------------------------
flags=(-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -DMSGPACK_DEFAULT_API_VERSION=3 -I"$root" -Wall -Wextra -Wno-unused-parameter)
# Extra compiler flags, e.g. KEEL_FUZZ_CXXFLAGS=-fno-sanitize=float-cast-overflow to look past a known finding.
if [[ -n "${KEEL_FUZZ_CXXFLAGS:-}" ]]; then read -r -a extra <<<"$KEEL_FUZZ_CXXFLAGS"; flags+=("${extra[@]}"); fi
objflags=("${flags[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}")

if [[ $mode == seeds ]]; then
  "$cxx" -std=c++20 -O1 -I"$root" -DMSGPACK_DEFAULT_API_VERSION=3 "$root/tests/fuzz/make_seeds.cpp" \
    "$root/runtime/fabric/protocol.cpp" "$root/runtime/fabric/bundle.cpp" "$root/runtime/base/msgpack_in.cpp" "$root/runtime/base/msgpack_json.cpp" \
    "$root/runtime/base/utf8.cpp" "$root/runtime/base/hex.cpp" "$root/runtime/base/trace_ids.cpp" -o "$out/make_seeds"
  "$out/make_seeds" "$root/tests/fuzz/corpus"
  exit 0
fi

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for f in "$root"/tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
[[ ${#targets[@]} -gt 0 ]] || die "no fuzz targets found in tests/fuzz/"

mkdir -p "$out/obj" "$out/logs"
echo "== building ${targets[*]} with $("$cxx" --version | head -n1)"
# The code under test, compiled once with coverage instrumentation and sanitizers.
# Every target gets a core of its own: compiles and fuzzing runs go
# FUZZ_JOBS at a time, which halves the wall time on 2 cores.
jobs_max=${FUZZ_JOBS:-$(nproc)}
[[ "$jobs_max" =~ ^[1-9][0-9]*$ ]] || die "FUZZ_JOBS must be a positive number, got '$jobs_max'"
pids=()
throttle() { while (( $(jobs -rp | wc -l) >= jobs_max )); do wait -n || true; done; }
# Waits for every started job; fails with the first compile error seen.
wait_all() {
  local pid bad=0
  for pid in "${pids[@]}"; do wait "$pid" || bad=1; done
  pids=()
  [[ $bad -eq 0 ]] || die "compiling the fuzz targets failed (see the compiler output above)"
}
objs=()
for src in runtime/fabric/protocol.cpp runtime/fabric/bundle.cpp runtime/base/msgpack_in.cpp runtime/base/msgpack_json.cpp runtime/fabric/fabric_messages.cpp runtime/base/utf8.cpp \
           runtime/base/hex.cpp runtime/base/trace_ids.cpp runtime/base/duration.cpp; do
  obj="$out/obj/$(basename "$src" .cpp).o"
  throttle
  "$cxx" "${objflags[@]}" -c "$root/$src" -o "$obj" & pids+=($!)
  objs+=("$obj")
done
wait_all
for t in "${targets[@]}"; do
  [[ -f "$root/tests/fuzz/$t.cpp" ]] || die "no such target: tests/fuzz/$t.cpp"
  throttle
  "$cxx" "${flags[@]}" "$root/tests/fuzz/$t.cpp" "${objs[@]}" -lsodium -lssl -lcrypto -o "$out/$t" & pids+=($!)
done
wait_all
[[ $mode == build ]] && { echo "== built into $out"; exit 0; }

# --- run -------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One target's run; its report goes to stdout (captured per target by the
# caller) and its summary line to logs/<target>.summary. Fails on a finding.
fuzz_one() {
  local t=$1
  corpus="$out/corpus/$t"
  artifacts="$out/artifacts/$t"
  log="$out/logs/$t.log"
  mkdir -p "$corpus" "$artifacts"
  if [[ -d "$root/tests/fuzz/corpus/$t" ]]; then cp -f "$root/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true; fi
  stamp="$probe/stamp-$t"
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -max_len=1100000 -timeout="$timeout_s"
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  if [[ -f "$root/tests/fuzz/$t.dict" ]]; then args+=(-dict="$root/tests/fuzz/$t.dict")
  elif [[ -f "$root/tests/fuzz/keel.dict" ]]; then args+=(-dict="$root/tests/fuzz/keel.dict"); fi
  if [[ "${FUZZ_KEEP_GOING:-0}" == 1 ]]; then
    args+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  fi
  echo "== $t: ${seconds}s over $corpus ($(find "$corpus" -type f | wc -l) inputs)"
  set +e
  (cd "$out" && "./$t" "${args[@]}" "$corpus") >"$log" 2>&1
  rc=$?
  set -e
  # Stats: the last status line, plus the final stats block.
  last=$(grep -E '^#[0-9]+' "$log" | tail -n1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' <<<"$last" | tail -n1 || true)
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" | tail -n1 || true)
  echo "   $last"
  findings=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
                   -o -name 'oom-*' \) -newer "$stamp" | sort)
  slow=$(find "$artifacts" -maxdepth 1 -type f -name 'slow-unit-*' -newer "$stamp" | wc -l)
  status=ok
  if [[ -n "$findings" || $rc -ne 0 ]]; then
    status=FAILED
    echo "!! $t: libFuzzer exit code $rc; log: $log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|\*\*\* fuzz property|\*\*\* |.*runtime error:|ALARM|.*deadly signal|INFO: a leak)' "$log" |
      sort -u | head -n 12 | sed 's/^/   /'
    if [[ -n "$findings" ]]; then
      while read -r a; do
        echo "   reproducer: $a"
        echo "   replay:     $out/$t $a"
        # What it is, from a replay (fork mode keeps the details in per-job logs).
        "$out/$t" "$a" 2>&1 | grep -E '^\*\*\* (fuzz|in )|runtime error:|^==[0-9]+==ERROR|^SUMMARY' |
          head -n 4 | cut -c1-400 | sed 's/^/     | /' || true
      done <<<"$findings"
    fi
  fi
  [[ $slow -gt 0 ]] && echo "   note: $slow slow input(s) saved as $artifacts/slow-unit-* (not a failure)"
  printf '%-22s %-6s execs %-10s exec/s %-7s %-18s %-16s peak rss %s MB\n' \
    "$t" "$status" "${execs:-?}" "${eps:-?}" "${cov:-cov: ?}" "${corp:-corp: ?}" "${rss:-?}" >"$out/logs/$t.summary"
  [[ $status == ok ]]
}

for t in "${targets[@]}"; do touch "$probe/stamp-$t"; done
sleep 1  # so artifacts of this run are strictly newer than the stamps
pids=()
for t in "${targets[@]}"; do
  throttle
  fuzz_one "$t" >"$out/logs/$t.report" 2>&1 & pids+=($!)
done
failed=0
summary=()
for k in "${!targets[@]}"; do
  wait "${pids[$k]}" || failed=1
  cat "$out/logs/${targets[$k]}.report"
  summary+=("$(cat "$out/logs/${targets[$k]}.summary" 2>/dev/null || echo "${targets[$k]} FAILED (no summary)")")
done

echo
echo "== summary (${seconds}s per target)"
printf '   %s\n' "${summary[@]}"
if [[ $failed -ne 0 ]]; then
  echo "== FAILED: see the reproducers above; full logs in $out/logs/"
  exit 1
fi
echo "== no findings"
