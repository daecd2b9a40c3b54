#!/usr/bin/env bash
# The microcontroller build: every program in examples/mcu/ cross-built
# with arm-none-eabi-gcc + newlib-nano for Cortex-M0+ and Cortex-M4, run on
# qemu-system-arm's MPS2 boards, its output checked; then the size table
# of the Cortex-M0+ build, and the targets of issue #14.
#   tests/mcu.sh [BUILD_DIR]     (default build/test/mcu)
#
#   Programs   examples/mcu/{await,join,tasks,isr_wake}.c on board.c
#              (vector table, reset, SysTick, semihosting) and mps2.ld.
#              Each one's expected output is the "Expected output:" block
#              of its opening comment, compared line for line; its exit
#              status must be 0.
#   Builds     -mcpu=cortex-m0plus (ARMv6-M) and -mcpu=cortex-m4 (ARMv7E-M),
#              -mthumb -mfloat-abi=soft -Os -ffunction-sections
#              -fdata-sections, -std=c11 -Wall -Wextra -Wpedantic -Werror,
#              linked with -nostartfiles --specs=nano.specs -Wl,--gc-sections.
#              Each twice: "size" (NDEBUG + the small-footprint knobs) and
#              "checked" (the same knobs, asserts and misuse reports on:
#              a reported misuse traps, and the run fails).
#   Runs       the M0+ build on mps2-an385 (a Cortex-M3: ARMv6-M is a
#              subset of ARMv7-M), the M4 build on mps2-an386, under
#              `timeout 20`, with -icount shift=0,sleep=off: virtual time
#              follows the instruction count and skips ahead while the core
#              sleeps in WFI, so every tick in the output is exact and a
#              run takes well under a second. The M3 would also run ARMv7-M
#              instructions, so each M0+ image is first checked to hold
#              only ARMv6-M ones (objdump: no 32-bit encoding but bl, dmb,
#              dsb, isb, mrs, msr).
#   Knobs      CORO_PC_T=uint16_t CORO_RC_T=int16_t CORO_NO_TRACE
#              EXEC_TICK_TIME (time in the SysTick's 32-bit wrapping ticks)
#              EXEC_STATS=0 (no executor counters)
#              TIMER_LEVELS=1 (no wheel: a sorted list) TIMER_ENTRY_SEQ=0,
#              each one only if a header tests for it (#ifndef / #ifdef /
#              defined()), so the build works before and after the knobs
#              exist; the ones in use are printed. (Before tick time and
#              the list: TIMER_LEVELS=3 TIMER_SLOTS=8 TIMER_TICK_SHIFT=20,
#              tasks.c 5,176 B of text and 1,068 B of RAM; then 3,372
#              and 780 with three tasks, before EXEC_STATS=0 and the
#              issue's two.)
#   Sizes      text / data / bss of each linked program minus the same
#              board's empty program (examples/mcu/baseline.c): the
#              program's code and the library's, and any libc or libgcc
#              helper the program alone pulls in; the board, the startup
#              and memcpy / memset / 32-bit division are in the baseline.
#              Stack peak: the deepest the stack went (the reset handler
#              paints free RAM, the exit finds the first word touched).
#              Struct sizes are sizeof on the target (read from symbols).
#              Then each program's largest symbols beyond the baseline:
#              where the bytes go, for whoever chases a target.
#   Sizes      each size has a ceiling, today's size plus a margin: a
#              build over it is a FAIL line (the footprint grew: find out
#              why before raising it). The issue's goals (Cortex-M0+ -Os
#              -mthumb: await <= 400 B text, join <= 800 B, tasks <=
#              2048 B, tasks' RAM <= 512 B, coro_t <= 4 B, future_t <=
#              16 B) are printed beside it, met or not, and not counted.
#
# Tools: gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm
# (Debian). As root they are installed when missing; otherwise the script
# prints the command and SKIPs (not a failure). Never gcc-multilib: it
# Conflicts with Debian's cross compilers (see tests/matrix.sh).
# Time: 23 s with both cores loaded by other builds (8 s of CPU).
# The last line is "N passed, N failed"; the exit status is non-zero on
# any failure.
set -u
cd "$(dirname "$0")/.."
B=${1:-build/test/mcu}
M=examples/mcu
PROGS="await join tasks isr_wake"
TIMEOUT=${MCU_TIMEOUT:-20}
mkdir -p "$B"
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
fail() { f=$((f + 1)); echo "FAIL $1"; [ $# -gt 1 ] && [ -f "$2" ] && sed 's/^/    /' "$2" | tail -n 30; }
finish() { echo; echo "$p passed, $f failed"; [ $f = 0 ]; exit $?; }

# ---- tools ------------------------------------------------------------------
PKGS="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
missing() {
  local m=
  command -v arm-none-eabi-gcc >/dev/null 2>&1 || m="$m arm-none-eabi-gcc"
  if command -v arm-none-eabi-gcc >/dev/null 2>&1; then
    [ -f "$(arm-none-eabi-gcc -print-file-name=nano.specs)" ] || m="$m newlib-nano"
  fi
  command -v qemu-system-arm >/dev/null 2>&1 || m="$m qemu-system-arm"
  echo "$m"
}
miss=$(missing)
if [ -n "$miss" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  # As tests/matrix.sh: wait for another apt's lock, never remove a
  # package to make room (a conflict is a SKIP, not a broken machine).
  apt="apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3"
  echo "installing $PKGS ..."
  { $apt update -qq && DEBIAN_FRONTEND=noninteractive $apt install -y -qq \
      --no-install-recommends --no-remove $PKGS; } >"$B/apt.log" 2>&1
  miss=$(missing)
fi
if [ -n "$miss" ]; then
  [ -s "$B/apt.log" ] && echo "   (apt-get: $(grep -E '^(E|W):' "$B/apt.log" | tail -n 1))"
  echo "SKIP mcu: missing$miss: run  apt-get install -y $PKGS"
  finish
fi

# ---- the knobs the headers know -----------------------------------------------
# knob NAME[=VALUE]: use it if some header tests for NAME.
KNOBS=
knob() {
  local name=${1%%=*}
  if grep -Eq "^[[:space:]]*#[[:space:]]*(if|ifdef|ifndef|elif)\b.*\b$name\b" \
       coro.h future.h timer.h exec.h; then
    KNOBS="$KNOBS -D$1"
  else
    echo "   (knob $name: no header knows it yet, left out)"
  fi
}
for k in CORO_PC_T=uint16_t CORO_RC_T=int16_t CORO_NO_TRACE EXEC_TICK_TIME EXEC_STATS=0 \
         TIMER_LEVELS=1 TIMER_ENTRY_SEQ=0; do
  knob "$k"
done
echo "   knobs:${KNOBS:- none}"

# ---- building and running ------------------------------------------------------
WARN="-std=c11 -Wall -Wextra -Wpedantic -Werror"
COMMON="-mthumb -mfloat-abi=soft -Os -ffunction-sections -fdata-sections $WARN -I$M"
LINK="-nostartfiles --specs=nano.specs -Wl,--gc-sections -T $M/mps2.ld"
cpu_flags() { echo "-mcpu=$1"; }
# variant flags: size = NDEBUG + knobs + the stack report; checked = knobs
variant_flags() {
  case $1 in
    size) echo "-DNDEBUG $KNOBS -DBOARD_REPORT_STACK" ;;
    checked) echo "$KNOBS" ;;
  esac
}
board_for() { case $1 in cortex-m0plus) echo mps2-an385 ;; cortex-m4) echo mps2-an386 ;; esac; }

# The expected output: the indented lines of the "Expected output:" block
# in the program's opening comment.
expected() {
  awk '/Expected output:/ {on=1; next} on && /^ \*\/|^ \* *$/ && seen {exit}
       on && /^ \*     / {seen=1; sub(/^ \*     /, ""); print}' "$1"
}

# build DIR CPU VARIANT NAME SRC: compile SRC to DIR/NAME.o, link with the
# board into DIR/NAME.elf. 0 when both worked; the output in DIR/NAME.build.
build() {
  local d=$1 cpu=$2 v=$3 n=$4 src=$5 flags
  flags="$(cpu_flags "$cpu") $COMMON $(variant_flags "$v")"
  {
    [ -f "$d/board.o" ] || arm-none-eabi-gcc $flags -c $M/board.c -o "$d/board.o"
  } >"$d/$n.build" 2>&1 &&
  arm-none-eabi-gcc $flags -c "$src" -o "$d/$n.o" >>"$d/$n.build" 2>&1 &&
  arm-none-eabi-gcc $flags $LINK "$d/board.o" "$d/$n.o" -o "$d/$n.elf" >>"$d/$n.build" 2>&1
}

# run ELF BOARD OUT: run on the emulated board; the program's semihosting
# output goes to OUT (qemu's own messages to OUT.qemu); the exit status is
# the program's (124: timed out).
run() {
  timeout -k 5 "$TIMEOUT" qemu-system-arm -M "$2" -display none -monitor none -serial none \
    -chardev file,id=sh,path="$3" -semihosting-config enable=on,target=native,chardev=sh \
    -icount shift=0,align=off,sleep=off -kernel "$1" >"$3.qemu" 2>&1
}

# v6m_only ELF: does the image hold only ARMv6-M instructions? The M0+
# build runs on a Cortex-M3, which would run ARMv7-M ones too: so look.
# Thumb's 32-bit encodings allowed on ARMv6-M: bl, dmb, dsb, isb, mrs, msr.
v6m_only() {
  arm-none-eabi-objdump -d "$1" | awk -F'\t' '
    NF >= 3 { n = split($2, w, " "); if (n == 2 && length(w[1]) == 4 && length(w[2]) == 4) {
      split($3, op, " "); if (op[1] !~ /^(bl|dmb|dsb|isb|mrs|msr)$/) { print; bad = 1 } } }
    END { exit bad }'
}

boards=$(qemu-system-arm -M help 2>/dev/null)
for cpu in cortex-m0plus cortex-m4; do
  board=$(board_for $cpu)
  runnable=1
  if ! printf '%s\n' "$boards" | grep -q "^$board "; then
    echo "SKIP runs on $board: this qemu-system-arm has no such board (builds still checked)"
    runnable=0
  fi
  for v in size checked; do
    d="$B/$cpu-$v"
    rm -rf "$d"; mkdir -p "$d"
    echo "== $cpu $v"
    if build "$d" $cpu $v baseline $M/baseline.c; then :
    else fail "$cpu $v: the board's empty program does not build" "$d/baseline.build"; continue; fi
    for n in $PROGS; do
      what="$n ($cpu, $v)"
      if ! build "$d" $cpu $v "$n" "$M/$n.c"; then
        fail "$what: build" "$d/$n.build"; continue
      fi
      if [ $cpu = cortex-m0plus ]; then
        if v6m_only "$d/$n.elf" >"$d/$n.v6m"; then ok "$what: ARMv6-M instructions only"
        else fail "$what: instructions an ARMv6-M core lacks" "$d/$n.v6m"; fi
      fi
      [ $runnable = 1 ] || { ok "$what builds (not run)"; continue; }
      run "$d/$n.elf" "$board" "$d/$n.out"
      rc=$?
      expected "$M/$n.c" >"$d/$n.expected"
      grep -v '^\[stack [0-9]* B\]$' "$d/$n.out" 2>/dev/null >"$d/$n.got"
      if [ $rc = 0 ] && [ -s "$d/$n.expected" ] && diff "$d/$n.expected" "$d/$n.got" >"$d/$n.diff"; then
        ok "$what"
      else
        [ $rc = 124 ] && echo "(timed out after ${TIMEOUT}s)" >>"$d/$n.diff"
        [ -s "$d/$n.expected" ] || echo "(no Expected output: block in $M/$n.c)" >>"$d/$n.diff"
        cat "$d/$n.out.qemu" >>"$d/$n.diff" 2>/dev/null
        fail "$what: exit $rc, output differs (< expected, > got)" "$d/$n.diff"
      fi
    done
  done
done

# ---- sizes (Cortex-M0+, the size build) ----------------------------------------------
d="$B/cortex-m0plus-size"
# size ELF: "text data bss" of a linked image
size_of() { arm-none-eabi-size "$1" | awk 'NR == 2 {print $1, $2, $3}'; }
stack_of() { sed -n 's/^\[stack \([0-9]*\) B\]$/\1/p' "$1" 2>/dev/null | tail -n 1; }
echo
echo "== sizes: Cortex-M0+ (-mcpu=cortex-m0plus -mthumb -Os), NDEBUG, knobs:${KNOBS:- none}"
if [ ! -f "$d/baseline.elf" ]; then
  fail "sizes: no baseline build"; finish
fi
read -r bt bd bb <<<"$(size_of "$d/baseline.elf")"
declare -A TEXT RAM
{
  echo "| program | text | data | bss | RAM (data + bss) | stack peak |"
  echo "|---|--:|--:|--:|--:|--:|"
  for n in $PROGS; do
    if [ ! -f "$d/$n.elf" ]; then echo "| \`$n.c\` | (did not build) | | | | |"; continue; fi
    read -r t dd bs <<<"$(size_of "$d/$n.elf")"
    TEXT[$n]=$((t - bt)) RAM[$n]=$((dd - bd + bs - bb))
    echo "| \`$n.c\` | ${TEXT[$n]} | $((dd - bd)) | $((bs - bb)) | ${RAM[$n]} | $(stack_of "$d/$n.out") |"
  done
} >"$B/sizes.md"
echo "text, data, bss in bytes: each program linked with the board, minus the board's"
echo "empty program ($bt B text, $bd B data, $bb B bss: vector table, reset, SysTick,"
echo "semihosting, memcpy, memset, 32-bit division); stack peak: the deepest the"
echo "stack went in the run, interrupt frames included."
echo
cat "$B/sizes.md"

# sizeof on the target, read from the sizes of arrays of that many bytes.
cat >"$d/structs.c" <<'EOF'
#define EXEC_BACKEND_BARE 1
#include "exec.h"
#define S(t) char sizeof_##t[sizeof(t)];
S(coro_t) S(future_t) S(future_waker_t) S(timer_entry_t) S(timer_sleep_t) S(timer_wheel_t)
S(exec_t) S(exec_task_t) S(exec_join_t) S(exec_remote_t)
EOF
if arm-none-eabi-gcc $(cpu_flags cortex-m0plus) $COMMON $(variant_flags size) -I. -c "$d/structs.c" \
     -o "$d/structs.o" >"$d/structs.build" 2>&1; then
  echo
  echo "| struct (Cortex-M0+, knobs as above) | bytes |"
  echo "|---|--:|"
  arm-none-eabi-nm -S "$d/structs.o" | while read -r _ hex _ name; do
    case $name in sizeof_*) echo "| \`${name#sizeof_}\` | $((16#$hex)) |" ;; esac
  done | tee "$d/structs.md"
else
  fail "struct sizes: structs.c does not build" "$d/structs.build"
fi

# Where each program's text goes: its largest functions and objects
# beyond the baseline's (for whoever chases a target).
echo
echo "largest symbols beyond the baseline (bytes, type, name):"
# A symbol counts when the baseline has none of that name and size.
syms() { arm-none-eabi-nm -S "$1" | awk 'NF == 4 {print $4 ":" $2, $3}' | LC_ALL=C sort; }
syms "$d/baseline.elf" >"$d/baseline.syms"
for n in $PROGS; do
  [ -f "$d/$n.elf" ] || continue
  line=
  while read -r key type; do
    line="$line $((16#${key##*:})) $type ${key%:*},"
  done < <(syms "$d/$n.elf" | LC_ALL=C join -v 1 - "$d/baseline.syms" |
           awk '{split($1, k, ":"); print k[2], $0}' | LC_ALL=C sort -r | head -n 12 | cut -d' ' -f2-)
  printf '  %-9s%s\n' "$n:" "${line%,}"
done

# ---- the targets --------------------------------------------------------------
echo
target() { # target WHAT VALUE CEILING GOAL
  local goal
  if [ -z "$2" ]; then fail "size $1: not measured (did not build)"; return; fi
  if [ "$2" -le "$4" ]; then goal="goal $4 B: met"; else goal="goal $4 B: not yet, $(($2 - $4)) B over"; fi
  if [ "$2" -le "$3" ]; then ok "size $1: $2 B <= ceiling $3 B ($goal)"
  else fail "size $1: $2 B > ceiling $3 B, it grew ($goal)"; fi
}
target "await.c text" "${TEXT[await]:-}" 730 400
target "join.c text (+ JOIN + SELECT)" "${TEXT[join]:-}" 1020 800
target "tasks.c text (executor + 2 sleeping tasks)" "${TEXT[tasks]:-}" 3150 2048
target "tasks.c RAM (data + bss, executor and wheel included)" "${RAM[tasks]:-}" 530 512
st() { awk -v t="$1" -F' *\\| *' '$2 == "`" t "`" {print $3}' "$d/structs.md" 2>/dev/null; }
target "sizeof(coro_t)" "$(st coro_t)" 4 4
target "sizeof(future_t)" "$(st future_t)" 24 16

finish
