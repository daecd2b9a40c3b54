#!/usr/bin/env bash
# timer.h's footprint knobs (issue #14): the wheel's tests again under each
# configuration, the sizes they give, and knobs that must not compile.
#
#   bash tests/wheel_knobs.sh BUILD_DIR      (default build/test/wheel_knobs)
#
#   1. tests/test_fuzz_wheel.c (the differential fuzzer), gcc and clang
#      under ASan/UBSan, in each configuration below; tests/test_timer.c
#      (the wheel, sleeps, timeouts, intervals, retry, on an executor with
#      the paused clock too) with clang in small, tiny and odd (run.sh runs
#      the default); with the list (whose absent slots test_timer.c reads),
#      tests/test_exec.c and tests/test_retry.c instead. FUZZ_STEPS (default 60000 here) steps a seed.
#        default     no -D: 9 levels x 64 slots, ticks of 2^10 ns
#        small       3 x 8, 2^20 ns, TIMER_ENTRY_SEQ 0: the microcontroller
#                    configuration (a round of 0.54 s)
#        tiny        2 x 4, 1 ns ticks: a round of 16 ns, so that nearly
#                    every timer is rounds ahead
#        bits        2 x 2, 1 ns ticks: one-bit digits, a round of 4 ns
#        odd         4 x 32, 2^5 ns: a round of 2^25 ns
#        full-noseq  9 x 64, 2^10 ns given with -D, TIMER_ENTRY_SEQ 0
#        list        TIMER_LEVELS 1: no wheel, the sorted list
#        list-small  the list, 2^20 ns, TIMER_ENTRY_SEQ 0
#        noclz       the search by halves (Cortex-M0+'s), default wheel
#      Each binary's own "N passed, N failed" is added in.
#      Tick time (TIMER_TICK_TIME / EXEC_TICK_TIME: 32-bit wrapping ticks):
#      tests/test_tick_wheel.c (its differential fuzzer) and
#      tests/test_bare.c -DEXEC_TICK_TIME (the bare executor), gcc and
#      clang, in each tick configuration:
#        tick        5 x 64 (tick time's default: a round of 2^30 ticks)
#        tick-small  3 x 8, TIMER_ENTRY_SEQ 0 (mcu.sh's: a round of 512)
#        tick-tiny   2 x 4 (a round of 16 ticks)
#        tick-bits   2 x 2, TIMER_NO_CLZ (a round of 4, the search by halves)
#        tick-list   the list, TIMER_ENTRY_SEQ 0, EXEC_STATS 0 (mcu.sh's)
#   2. timer.h alone, freestanding C99, in the small configuration (and
#      in tick time).
#      Then exec.h with sync.h on the bare backend in tick time, and
#      every header on epoll and on poll with EXEC_STATS 0.
#   3. Knobs that must not compile, each with its message: TIMER_SLOTS 12,
#      TIMER_LEVELS 0, TIMER_LEVELS 12 with 64 slots; in tick time: a
#      TIMER_TICK_SHIFT, levels over 31 bits; EXEC_TICK_TIME on a hosted
#      backend or with EXEC_STDIO, TIMER_TICK_TIME without EXEC_TICK_TIME
#      under exec.h, EXEC_STATS 0 with EXEC_METRICS.
#   4. Sizes: timer_wheel_t, timer_entry_t, timer_sleep_t, timer_tick32_t
#      on this host and cross-built for Cortex-M0+ (arm-none-eabi-gcc
#      -mcpu=cortex-m0plus -mthumb -Os; skipped without it), default and
#      small, printed; the small wheel is under 300 bytes there.
#
# Builds and runs two at a time. The last line is "N passed, N failed";
# the exit status is non-zero on any failure.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${1:-build/test/wheel_knobs}
mkdir -p "$B"
export LC_ALL=C
export FUZZ_STEPS=${FUZZ_STEPS:-60000}
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
fail() { f=$((f + 1)); echo "FAIL $1"; [ $# -gt 1 ] && [ -f "$2" ] && sed 's/^/    /' "$2" | tail -n 30; }

WARN="-std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Wpedantic -Werror"
SAN="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1

SMALL="-DTIMER_LEVELS=3 -DTIMER_SLOTS=8 -DTIMER_TICK_SHIFT=20 -DTIMER_ENTRY_SEQ=0"
configs="default small tiny bits odd full-noseq list list-small noclz"
tick_configs="tick tick-small tick-tiny tick-bits tick-list"
flags() {
  case $1 in
    default) echo "" ;;
    small) echo "$SMALL" ;;
    tiny) echo "-DTIMER_LEVELS=2 -DTIMER_SLOTS=4 -DTIMER_TICK_SHIFT=0" ;;
    bits) echo "-DTIMER_LEVELS=2 -DTIMER_SLOTS=2 -DTIMER_TICK_SHIFT=0" ;;
    odd) echo "-DTIMER_LEVELS=4 -DTIMER_SLOTS=32 -DTIMER_TICK_SHIFT=5" ;;
    full-noseq) echo "-DTIMER_LEVELS=9 -DTIMER_SLOTS=64 -DTIMER_TICK_SHIFT=10 -DTIMER_ENTRY_SEQ=0" ;;
    list) echo "-DTIMER_LEVELS=1" ;;
    list-small) echo "-DTIMER_LEVELS=1 -DTIMER_TICK_SHIFT=20 -DTIMER_ENTRY_SEQ=0" ;;
    noclz) echo "-DTIMER_NO_CLZ" ;; # the search by halves (Cortex-M0+'s), on the default wheel
    tick) echo "-DEXEC_TICK_TIME" ;;
    tick-small) echo "-DEXEC_TICK_TIME -DTIMER_LEVELS=3 -DTIMER_SLOTS=8 -DTIMER_ENTRY_SEQ=0" ;;
    tick-tiny) echo "-DEXEC_TICK_TIME -DTIMER_LEVELS=2 -DTIMER_SLOTS=4" ;;
    tick-bits) echo "-DEXEC_TICK_TIME -DTIMER_LEVELS=2 -DTIMER_SLOTS=2 -DTIMER_NO_CLZ" ;;
    tick-list) echo "-DEXEC_TICK_TIME -DTIMER_LEVELS=1 -DTIMER_ENTRY_SEQ=0 -DEXEC_STATS=0" ;;
  esac
}

# job NAME CC SRC CONFIG: build and run one test binary into $B/NAME.log,
# its status into $B/NAME.rc (run in the background).
job() {
  local name=$1 cc=$2 src=$3 cfg=$4 extra=
  [ "$cc" = gcc ] && extra=-Wjump-misses-init
  # shellcheck disable=SC2046,SC2086
  if ! $cc $WARN $extra $SAN $(flags "$cfg") "$src" -o "$B/$name" -lpthread >"$B/$name.log" 2>&1; then
    echo build >"$B/$name.rc"; return
  fi
  timeout 300 "$B/$name" >"$B/$name.log" 2>&1
  echo $? >"$B/$name.rc"
}

# 1. The tests, two at a time.
names=()
for cfg in $configs; do
  for cc in gcc clang; do names+=("fuzz_wheel_${cfg}_$cc:$cc:tests/test_fuzz_wheel.c:$cfg"); done
  case $cfg in small | tiny | odd) names+=("timer_${cfg}_clang:clang:tests/test_timer.c:$cfg") ;; esac
  case $cfg in list) names+=("exec_${cfg}_clang:clang:tests/test_exec.c:$cfg" "retry_${cfg}_clang:clang:tests/test_retry.c:$cfg") ;; esac
done
for cfg in $tick_configs; do
  for cc in gcc clang; do
    names+=("tick_wheel_${cfg}_$cc:$cc:tests/test_tick_wheel.c:$cfg")
    names+=("bare_${cfg}_$cc:$cc:tests/test_bare.c:$cfg")
  done
done
jobs_max=$(nproc 2>/dev/null || echo 2)
[ "$jobs_max" -gt 2 ] && jobs_max=2
for n in "${names[@]}"; do
  IFS=: read -r name cc src cfg <<<"$n"
  rm -f "$B/$name.rc"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n 2>/dev/null || sleep 0.1; done
  job "$name" "$cc" "$src" "$cfg" &
done
wait
for n in "${names[@]}"; do
  IFS=: read -r name cc src cfg <<<"$n"
  rc=$(cat "$B/$name.rc" 2>/dev/null || echo lost)
  echo "== $name ($(flags "$cfg" | sed 's/-DTIMER_//g; s/^$/default/'))"
  grep -E '^ok: |^    a round' "$B/$name.log" | head -n 4
  if [ "$rc" = build ]; then fail "build $name" "$B/$name.log"; continue; fi
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$B/$name.log" | tail -n 1)
  grep -E '^(FAIL|    tests)' "$B/$name.log" | head -n 20
  if [ -n "$line" ]; then
    p=$((p + $(echo "$line" | cut -d' ' -f1)))
    f=$((f + $(echo "$line" | cut -d' ' -f3)))
    echo "   $line"
    if [ "$rc" != 0 ] && [ "$(echo "$line" | cut -d' ' -f3)" = 0 ]; then fail "$name (exit $rc)" "$B/$name.log"; fi
  else
    fail "$name (exit $rc, no summary)" "$B/$name.log"
  fi
done

# 2. Freestanding, small.
echo "== freestanding"
for cc in gcc clang; do
  # shellcheck disable=SC2086
  if printf '#include "timer.h"\n' | $cc -std=c99 -ffreestanding -nostdlib -Wall -Wextra -Wpedantic -Werror $SMALL \
       -fsyntax-only -I. -x c - >"$B/free_$cc.log" 2>&1
  then ok "timer.h freestanding C99, small wheel ($cc)"; else fail "timer.h freestanding, small ($cc)" "$B/free_$cc.log"; fi
  # shellcheck disable=SC2086
  if printf '#include "timer.h"\n' | $cc -std=c99 -ffreestanding -nostdlib -Wall -Wextra -Wpedantic -Werror \
       -DTIMER_TICK_TIME -DTIMER_LEVELS=3 -DTIMER_SLOTS=8 -fsyntax-only -I. -x c - >"$B/free_$cc.log" 2>&1
  then ok "timer.h freestanding C99, tick time ($cc)"; else fail "timer.h freestanding, tick time ($cc)" "$B/free_$cc.log"; fi
  # every header a bare-metal program may use, in tick time (no TIMER_MS there)
  if printf '#define EXEC_BACKEND_BARE 1\n#define EXEC_TICK_TIME 1\n#include "exec.h"\n#include "sync.h"\n' |
       $cc -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I. -x c - >"$B/tick_sync_$cc.log" 2>&1
  then ok "exec.h + sync.h on the bare backend in tick time ($cc)"
  else fail "exec.h + sync.h on the bare backend in tick time ($cc)" "$B/tick_sync_$cc.log"; fi
  # EXEC_STATS 0 on the hosted backends: every header still builds
  for be in EPOLL POLL; do
    if printf '#define EXEC_BACKEND_%s 1\n#include "exec.h"\n#include "io.h"\n#include "sync.h"\n#include "blocking.h"\n#include "fs.h"\n#include "proc.h"\n' "$be" |
         $cc -std=c11 -D_GNU_SOURCE -DEXEC_STATS=0 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I. -x c - >"$B/nostats_$cc.log" 2>&1
    then ok "every header with EXEC_STATS 0 on $be ($cc)"
    else fail "every header with EXEC_STATS 0 on $be ($cc)" "$B/nostats_$cc.log"; fi
  done
done

# 3. Knobs that must not compile.
echo "== bad knobs"
bad() {
  local what=$1 want=$2; shift 2
  if printf '#include "timer.h"\n' | gcc -std=c99 -fsyntax-only -I. "$@" -x c - >"$B/bad.log" 2>&1; then
    fail "$what compiled"
  elif grep -q "$want" "$B/bad.log"; then ok "$what does not compile: \"$want\""
  else fail "$what: no \"$want\"" "$B/bad.log"; fi
}
bad "TIMER_SLOTS 12" "power of two" -DTIMER_SLOTS=12
bad "TIMER_LEVELS 0" "1 or more" -DTIMER_LEVELS=0
bad "TIMER_LEVELS 12 of 64 slots" "more levels than" -DTIMER_LEVELS=12
bad "tick time with TIMER_TICK_SHIFT 20" "TIMER_TICK_SHIFT must be 0" -DTIMER_TICK_TIME -DTIMER_TICK_SHIFT=20
bad "tick time with 9 levels of 64" "31 bits or less" -DTIMER_TICK_TIME -DTIMER_LEVELS=9
# bad_exec WHAT WANT FLAGS...: exec.h must refuse them.
bad_exec() {
  local what=$1 want=$2; shift 2
  if printf '#include "exec.h"\n' | gcc -std=c11 -D_GNU_SOURCE -fsyntax-only -I. "$@" -x c - >"$B/bad.log" 2>&1; then
    fail "$what compiled"
  elif grep -q "$want" "$B/bad.log"; then ok "$what does not compile: \"$want\""
  else fail "$what: no \"$want\"" "$B/bad.log"; fi
}
bad_exec "EXEC_TICK_TIME on epoll" "for the bare backend" -DEXEC_TICK_TIME
bad_exec "EXEC_TICK_TIME on poll" "for the bare backend" -DEXEC_TICK_TIME -DEXEC_BACKEND_POLL
bad_exec "EXEC_TICK_TIME with EXEC_STDIO" "not with EXEC_METRICS or EXEC_STDIO" -DEXEC_TICK_TIME -DEXEC_BACKEND_BARE -DEXEC_STDIO
bad_exec "EXEC_TICK_TIME with EXEC_METRICS" "not with EXEC_METRICS or EXEC_STDIO" -DEXEC_TICK_TIME -DEXEC_BACKEND_BARE -DEXEC_METRICS=1
bad_exec "TIMER_TICK_TIME alone under exec.h" "go together" -DTIMER_TICK_TIME -DEXEC_BACKEND_BARE
bad_exec "EXEC_STATS 0 with EXEC_METRICS" "not with EXEC_METRICS" -DEXEC_STATS=0 -DEXEC_METRICS=1

# 4. Sizes.
echo "== sizes (bytes)"
cat >"$B/sizes.c" <<'EOF'
#include "timer.h"
char size_of_timer_wheel_t[sizeof(timer_wheel_t)];
char size_of_timer_entry_t[sizeof(timer_entry_t)];
char size_of_timer_sleep_t[sizeof(timer_sleep_t)];
char size_of_timer_tick32_t[sizeof(timer_tick32_t)];
#ifdef SMALL_GOAL
typedef char small_wheel_under_300_bytes[sizeof(timer_wheel_t) < 300 ? 1 : -1];
#endif
EOF
sizes() { # NM OBJ: "timer_wheel_t 232  timer_entry_t 24 ..."
  "$1" -S "$2" | grep size_of_ | sort -k4 | while read -r _ sz _ name; do
    printf '%s %d  ' "${name#size_of_}" $((16#$sz)); done
}
for cfg in default small list; do
  # shellcheck disable=SC2046,SC2086
  if gcc -std=c11 -D_GNU_SOURCE $(flags $cfg) -I. -c "$B/sizes.c" -o "$B/sizes_host.o" >"$B/sizes.log" 2>&1
  then echo "   host $cfg: $(sizes nm "$B/sizes_host.o")"; ok "sizes on this host ($cfg)"
  else fail "sizes on this host ($cfg)" "$B/sizes.log"; fi
  if command -v arm-none-eabi-gcc >/dev/null; then
    goal=; [ $cfg = small ] && goal=-DSMALL_GOAL
    # shellcheck disable=SC2046,SC2086
    if arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -Os -std=c99 -ffreestanding $(flags $cfg) $goal -I. \
         -c "$B/sizes.c" -o "$B/sizes_arm.o" >"$B/sizes.log" 2>&1
    then echo "   cortex-m0plus $cfg: $(sizes arm-none-eabi-nm "$B/sizes_arm.o")"
      ok "sizes on Cortex-M0+ ($cfg)${goal:+: the wheel is under 300 bytes}"
    else fail "sizes on Cortex-M0+ ($cfg)${goal:+: the wheel under 300 bytes}" "$B/sizes.log"; fi
  else
    echo "   (no arm-none-eabi-gcc: Cortex-M0+ sizes skipped)"
  fi
done

echo
echo "$p passed, $f failed"
[ "$f" = 0 ]
