#!/usr/bin/env bash
# Fuzzing examples/mini_redis.c with libFuzzer (clang, ASan + UBSan):
#   tests/fuzz_redis.sh [SECONDS]      (default 30 per harness)
# Builds each tests/fuzz/fuzz_*.c into build/test/ and runs it for SECONDS
# from its seed corpus tests/fuzz/corpus/<harness>/ (new inputs go to
# build/test/<harness>_corpus/, a crash to build/test/<harness>-crash-*).
# The harnesses drive the server's own bytes-in / replies-out step in
# chunked reads and check the replies against oracles; see their comments.
# One pass per harness that ran clean. Without clang's fuzzer runtime a
# harness is skipped with a visible SKIP line (as root, libclang-rt-14-dev
# is installed first). Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
SECS=${1:-30}
B=build/test
mkdir -p "$B"
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
fail() { f=$((f + 1)); echo "FAIL $1"; [ $# -gt 1 ] && echo "$2" | sed 's/^/    /' | tail -n 30; }
finish() { echo "$p passed, $f failed"; [ $f = 0 ]; exit $?; }
case "$SECS" in ''|*[!0-9]*) echo "usage: $0 [SECONDS]"; exit 2;; esac

FLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-function -Werror
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
have_runtime() {
  command -v clang >/dev/null 2>&1 &&
    echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' |
    clang -x c - -fsanitize=fuzzer -o "$B/fuzz_probe" >/dev/null 2>&1
}
if ! have_runtime && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing clang libclang-rt-14-dev ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev) >/dev/null 2>&1
fi
runtime=1; have_runtime || runtime=0
rm -f "$B/fuzz_probe"

for src in tests/fuzz/fuzz_*.c; do
  h=$(basename "$src" .c)
  if [ $runtime = 0 ]; then
    echo "SKIP $h: clang's libFuzzer runtime is missing (apt-get install -y clang libclang-rt-14-dev)"
    continue
  fi
  # shellcheck disable=SC2086
  if ! nice clang $FLAGS "$src" -o "$B/$h" >"$B/$h.build.log" 2>&1; then
    fail "$h builds" "$(cat "$B/$h.build.log")"; continue
  fi
  dict=; [ -f "tests/fuzz/${h#fuzz_}.dict" ] && dict=-dict=tests/fuzz/${h#fuzz_}.dict
  rm -rf "$B/${h}_corpus"; mkdir -p "$B/${h}_corpus"
  rm -f "$B/$h"-crash-* "$B/$h"-leak-* "$B/$h"-timeout-* "$B/$h"-oom-*
  t0=$(date +%s)
  nice "$B/$h" -max_total_time="$SECS" -max_len=4096 -timeout=20 -rss_limit_mb=2560 \
       -print_final_stats=1 -artifact_prefix="$B/$h-" $dict \
       "$B/${h}_corpus" "tests/fuzz/corpus/$h" >"$B/$h.log" 2>&1
  rc=$?
  t1=$(date +%s)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/$h.log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$B/$h.log" | tail -n 1)
  if [ $rc = 0 ]; then
    ok "$h: ${runs:-?} inputs in $((t1 - t0)) s, clean ($cov)"
  else
    fail "$h (exit $rc; log $B/$h.log)" \
         "$(grep -E -A14 'ORACLE|ERROR: |runtime error' "$B/$h.log" | head -n 24; ls "$B/$h"-crash-* "$B/$h"-timeout-* "$B/$h"-oom-* "$B/$h"-leak-* 2>/dev/null)"
  fi
done
finish
