#!/usr/bin/env bash
# coro.h's footprint knobs (issue #14): the tests again under each, the
# sizes they give, the cross build for Cortex-M0+, and what must not compile.
#
#   bash tests/small_knobs.sh BUILD_DIR      (default build/test/small_knobs)
#
#   1. tests/test_coro.c, test_future.c, test_asyncfn.c and test_select_keep.c
#      with gcc and clang under ASan/UBSan, in the smallest configuration
#      (-DCORO_PC_T=uint16_t -DCORO_RC_T=int16_t -DCORO_NO_TRACE) and with
#      -DCORO_PC_T=uint8_t; test_coro.c and test_future.c also with
#      -DCORO_FULL_PATH and with the labels backend and no trace. Each
#      test binary's own "N passed, N failed" is added in.
#   2. sizeof(coro_t) and sizeof(future_t) on this host, by default and in
#      the smallest configuration (printed).
#   3. A program awaiting a child, cross-built with arm-none-eabi-gcc
#      -mcpu=cortex-m0plus -mthumb -Os: coro_t is 4 bytes in the smallest
#      configuration (a _Static_assert), misuse reports pull in no stdio
#      (no printf/fprintf/puts/abort referenced), the default records the
#      base name ("knob_arm.c:N", no directory), and CORO_NO_TRACE leaves no
#      "file:line" string in the object. Sizes printed (arm-none-eabi-size).
#   4. Resume points and CORO_PC_T: 254 suspension points in one body fit
#      uint8_t (and run), 255 do not compile, saying "resume point does not
#      fit CORO_PC_T" (C11 and C99 forms, gcc, clang and g++); the __LINE__
#      fallback (no __COUNTER__) numbers from ASYNC_BEGIN's line as well.
#
# The last line is "N passed, N failed"; the exit status is non-zero on any
# failure.
set -u
cd "$(dirname "$0")/.."
B=${1:-build/test/small_knobs}
mkdir -p "$B"
export LC_ALL=C
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
fail() { f=$((f + 1)); echo "FAIL $1"; [ $# -gt 1 ] && [ -f "$2" ] && sed 's/^/    /' "$2" | tail -n 30; }

WARN="-std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Wpedantic -Werror"
SAN="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1

SMALL="-DCORO_PC_T=uint16_t -DCORO_RC_T=int16_t -DCORO_NO_TRACE"
TINY="-DCORO_PC_T=uint8_t"

# run_test NAME CC FLAGS... SRC: build, run, add the binary's counts in.
run_test() {
  local name=$1 cc=$2; shift 2
  local extra=; [ "$cc" = gcc ] && extra=-Wjump-misses-init
  # shellcheck disable=SC2086
  if ! "$cc" $WARN $extra $SAN "$@" -o "$B/$name" -lpthread >"$B/$name.build" 2>&1; then
    fail "build $name" "$B/$name.build"; return
  fi
  "$B/$name" >"$B/$name.log" 2>&1
  local rc=$? line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$B/$name.log" | tail -n 1)
  grep -E '^(FAIL|    )' "$B/$name.log" | head -n 20
  if [ -z "$line" ]; then fail "$name (exit $rc, no summary)" "$B/$name.log"; return; fi
  p=$((p + $(echo "$line" | cut -d' ' -f1)))
  f=$((f + $(echo "$line" | cut -d' ' -f3)))
  echo "   $name: $line"
  if [ $rc -ne 0 ] && [ "$(echo "$line" | cut -d' ' -f3)" = 0 ]; then fail "$name (exit $rc)" "$B/$name.log"; fi
}

# ---- 1. the tests under the knobs ------------------------------------------
for cc in gcc clang; do
  for t in coro future asyncfn select_keep; do
    run_test "${t}_small_$cc" $cc $SMALL "tests/test_$t.c"
    run_test "${t}_u8_$cc" $cc $TINY "tests/test_$t.c"
  done
  for t in coro future; do
    run_test "${t}_fullpath_$cc" $cc -DCORO_FULL_PATH "tests/test_$t.c"
    run_test "${t}_labels_notrace_$cc" $cc -DCORO_USE_LABELS=1 -DCORO_NO_TRACE -DCORO_RC_T=int16_t "tests/test_$t.c"
  done
done

# ---- 2. sizes on this host -------------------------------------------------
cat >"$B/sizes.c" <<'EOF'
#include <stdio.h>
#include "future.h"
int main(void) {
    printf("%u %u\n", (unsigned)sizeof(coro_t), (unsigned)sizeof(future_t));
    return 0;
}
EOF
for cfg in default small; do
  flags=; [ $cfg = small ] && flags=$SMALL
  # shellcheck disable=SC2086
  if gcc $WARN $flags -I. "$B/sizes.c" -o "$B/sizes_$cfg" >"$B/sizes.log" 2>&1 &&
     read -r c fu < <("$B/sizes_$cfg"); then
    echo "   host ($(getconf LONG_BIT)-bit), $cfg: sizeof(coro_t) = $c, sizeof(future_t) = $fu"
    if [ $cfg = small ] && [ "$c" != 4 ]; then fail "host coro_t is 4 bytes in the smallest configuration (got $c)"
    else ok "host sizes, $cfg configuration"; fi
  else fail "host sizes, $cfg configuration" "$B/sizes.log"; fi
done

# ---- 3. Cortex-M0+ ---------------------------------------------------------
if command -v arm-none-eabi-gcc >/dev/null 2>&1; then
  cat >"$B/knob_arm.c" <<'EOF'
/* One async fn awaiting a child (coro + future), as on a microcontroller. */
#include "future.h"
typedef struct { future_t fut; future_yield_t y; int n; } one_t;
coro_poll_t one_poll(future_t *self, future_cx_t *cx);
coro_poll_t one_poll(future_t *self, future_cx_t *cx) {
    one_t *f = (one_t *)(void *)self;
    ASYNC_BEGIN(f);
    future_yield_init(&f->y);
    AWAIT(cx, &f->y);
    f->n++;
    ASYNC_END();
}
#ifdef SMALLEST
_Static_assert(sizeof(coro_t) == 4, "coro_t is 4 bytes in the smallest configuration");
_Static_assert(sizeof(future_t) == 24, "future_t is 24 bytes in the smallest configuration");
#else
_Static_assert(sizeof(coro_t) == 12, "coro_t is 12 bytes by default on 32-bit");
#endif
/* Sizes read back with nm -S. */
char coro_size[sizeof(coro_t)], future_size[sizeof(future_t)];
EOF
  ARM="arm-none-eabi-gcc -std=c11 -Wall -Wextra -Wpedantic -Werror -mcpu=cortex-m0plus -mthumb -Os -I."
  for cfg in default smallest; do
    flags=; [ $cfg = smallest ] && flags="-DSMALLEST $SMALL"
    o="$B/knob_arm_$cfg.o"
    # shellcheck disable=SC2086
    if ! $ARM $flags -c "$B/knob_arm.c" -o "$o" >"$B/arm.log" 2>&1; then
      fail "arm-none-eabi build, $cfg (sizes asserted)" "$B/arm.log"; continue
    fi
    ok "arm-none-eabi build, $cfg configuration (sizes asserted)"
    cs=$((0x$(arm-none-eabi-nm -S "$o" | awk '$4 == "coro_size" {print $2}')))
    fs=$((0x$(arm-none-eabi-nm -S "$o" | awk '$4 == "future_size" {print $2}')))
    text=$(arm-none-eabi-size "$o" | awk 'NR == 2 {print $1}')
    echo "   cortex-m0plus, $cfg: sizeof(coro_t) = $cs, sizeof(future_t) = $fs, text $text B"
    if arm-none-eabi-nm "$o" | grep -Eq ' U .*(printf|puts|fputs|fwrite|abort|fflush)'; then
      fail "arm-none-eabi, $cfg: misuse pulls in stdio"; arm-none-eabi-nm "$o" | grep ' U ' | sed 's/^/    /'
    else ok "arm-none-eabi, $cfg: no stdio, no abort referenced"; fi
    n=$(arm-none-eabi-strings -a "$o" | grep -c 'knob_arm\.c:[0-9]')
    if [ $cfg = smallest ]; then
      if [ "$n" = 0 ]; then ok "arm-none-eabi, CORO_NO_TRACE: no \"file:line\" string"
      else fail "arm-none-eabi, CORO_NO_TRACE: $n \"file:line\" strings left"; fi
    else
      if [ "$n" -gt 0 ] && ! arm-none-eabi-strings -a "$o" | grep -q '/knob_arm\.c:'; then
        ok "arm-none-eabi, default: \"knob_arm.c:N\" recorded by base name"
      else fail "arm-none-eabi, default: wanted \"knob_arm.c:N\" without a directory"
        arm-none-eabi-strings -a "$o" | grep 'knob_arm' | sed 's/^/    /'; fi
    fi
  done
else
  echo "SKIP Cortex-M0+: no arm-none-eabi-gcc"
fi

# ---- 4. resume points that do (not) fit CORO_PC_T --------------------------
# many_N.c: one body with N suspension points (and a run that counts them).
many() {
  local n=$1 src="$B/many_$1.c" i
  {
    echo '#include <stdint.h>'
    echo '#include "coro.h"'
    echo 'typedef struct { coro_t co; int n; } many_t;'
    echo 'static coro_poll_t many_run(many_t *f) {'
    echo '    ASYNC_BEGIN(f);'
    for ((i = 0; i < n; i++)); do echo '    YIELD(); f->n++;'; done
    echo '    ASYNC_END();'
    echo '}'
    echo 'int main(void) {'
    echo '    many_t f = {CORO_INIT, 0};'
    echo '    int pend = 0;'
    echo '    while (many_run(&f) == CORO_PENDING) pend++;'
    echo "    return !(pend == $n && f.n == $n && coro_done(&f.co));"
    echo '}'
  } >"$src"
}
many 254
many 255
MSG="resume point does not fit CORO_PC_T"
for cc in gcc clang; do
  if $cc $WARN -DCORO_PC_T=uint8_t -I. "$B/many_254.c" -o "$B/many_254_$cc" >"$B/many.log" 2>&1 &&
     "$B/many_254_$cc"; then ok "254 points in one body fit uint8_t and run ($cc)"
  else fail "254 points in one body fit uint8_t and run ($cc)" "$B/many.log"; fi
  for std in c11 c99; do
    if $cc ${WARN/-std=c11/-std=$std} -DCORO_PC_T=uint8_t -I. -fsyntax-only "$B/many_255.c" >"$B/many.log" 2>&1; then
      fail "255 points compiled with uint8_t ($cc -std=$std), and must not"
    elif grep -q "$MSG\|coro_resume_point_does_not_fit_CORO_PC_T" "$B/many.log"; then
      ok "255 points refused with uint8_t ($cc -std=$std): $(grep -o "$MSG\|coro_resume_point_does_not_fit_CORO_PC_T" "$B/many.log" | head -n 1)"
    else fail "255 points refused with uint8_t ($cc -std=$std), but not saying why" "$B/many.log"; fi
  done
  # int: the same body is fine.
  if $cc $WARN -I. "$B/many_255.c" -o "$B/many_255_$cc" >"$B/many.log" 2>&1 && "$B/many_255_$cc"
  then ok "255 points run with the default int ($cc)"; else fail "255 points with int ($cc)" "$B/many.log"; fi
done
if command -v g++ >/dev/null 2>&1; then
  if g++ -std=c++11 -Wall -Wextra -Werror -DCORO_PC_T=uint8_t -I. -fsyntax-only -x c++ "$B/many_255.c" >"$B/many.log" 2>&1; then
    fail "255 points compiled with uint8_t (g++), and must not"
  elif grep -q "$MSG" "$B/many.log"; then ok "255 points refused with uint8_t (g++): $MSG"
  else fail "255 points refused with uint8_t (g++), but not saying why" "$B/many.log"; fi
fi
# The __LINE__ fallback: labels count lines from ASYNC_BEGIN's.
cat >"$B/lines.c" <<'EOF'
#include <stdint.h>
#include "coro.h"
typedef struct { coro_t co; int n; } lines_t;
static coro_poll_t lines_run(lines_t *f) {
    ASYNC_BEGIN(f); YIELD(); f->n++;
    YIELD(); f->n++;
#ifdef FAR
#line 400
#endif
    YIELD(); f->n++;
    ASYNC_END();
}
int main(void) {
    lines_t f = {CORO_INIT, 0};
    int pend = 0;
    while (lines_run(&f) == CORO_PENDING) pend++;
    return !(pend == 3 && f.n == 3 && coro_done(&f.co));
}
EOF
for cc in gcc clang; do
  # gcc always warns that __COUNTER__ is undefined, and no flag silences it:
  # there the other warnings must be looked for in the log instead.
  nb="-U__COUNTER__ -Wno-builtin-macro-redefined"; [ $cc = gcc ] && nb="-U__COUNTER__ -Wno-error"
  if $cc $WARN $nb -DCORO_PC_T=uint8_t -I. "$B/lines.c" -o "$B/lines_$cc" >"$B/lines.log" 2>&1 &&
     ! grep -v '__COUNTER__' "$B/lines.log" | grep -q 'warning:' && "$B/lines_$cc"
  then ok "__LINE__ fallback, uint8_t: counted from ASYNC_BEGIN's line, runs ($cc)"
  else fail "__LINE__ fallback, uint8_t ($cc)" "$B/lines.log"; fi
  if $cc $WARN $nb -DCORO_PC_T=uint8_t -DFAR -I. -fsyntax-only "$B/lines.c" >"$B/lines.log" 2>&1; then
    fail "__LINE__ fallback: a point 400 lines down compiled with uint8_t ($cc), and must not"
  elif grep -q "$MSG" "$B/lines.log"; then ok "__LINE__ fallback: a point 400 lines down refused with uint8_t ($cc)"
  else fail "__LINE__ fallback: refused, but not saying why ($cc)" "$B/lines.log"; fi
done

# A body handed to a macro whose own text opens it: the argument's
# points are numbered (prescan) before the macro's ASYNC_BEGIN takes its
# base. Without CORO_PC_T nothing is numbered from ASYNC_BEGIN, so it
# runs; with it, the build must say what went wrong, not "does not fit".
cat >"$B/argbody.c" <<'EOF'
#include <stdint.h>
#include "coro.h"
typedef struct { coro_t co; int n; } arg_t;
#define BODY_OF(f, stmts) ASYNC_BEGIN(f); stmts ASYNC_END();
static coro_poll_t arg_run(arg_t *f) {
    BODY_OF(f, YIELD(); f->n++; YIELD(); f->n++;)
}
int main(void) {
    arg_t f = {CORO_INIT, 0};
    int pend = 0;
    while (arg_run(&f) == CORO_PENDING) pend++;
    return !(pend == 2 && f.n == 2 && coro_done(&f.co));
}
EOF
OMSG="numbered before its ASYNC_BEGIN"
for cc in gcc clang; do
  if $cc $WARN -I. "$B/argbody.c" -o "$B/argbody_$cc" >"$B/argbody.log" 2>&1 && "$B/argbody_$cc"
  then ok "a body in a macro argument runs with the default int ($cc)"
  else fail "a body in a macro argument, default int ($cc)" "$B/argbody.log"; fi
  for std in c11 c99; do
    if $cc ${WARN/-std=c11/-std=$std} -DCORO_PC_T=uint16_t -I. -fsyntax-only "$B/argbody.c" >"$B/argbody.log" 2>&1; then
      fail "a body in a macro argument compiled with uint16_t ($cc -std=$std), and must not"
    elif grep -q "$OMSG\|coro_point_numbered_before_its_ASYNC_BEGIN" "$B/argbody.log"; then
      ok "a body in a macro argument refused with uint16_t ($cc -std=$std), saying why"
    else fail "a body in a macro argument refused ($cc -std=$std), but not saying why" "$B/argbody.log"; fi
  done
done

# C++98 -Wpedantic: no fit check without CORO_PC_T, and none that needs
# long long with it.
if command -v g++ >/dev/null 2>&1; then
  for k in "" "-DCORO_PC_T=uint16_t"; do
    if g++ -std=c++98 -Wall -Wextra -Wpedantic -Werror $k -I. -x c++ "$B/lines.c" -o "$B/lines_cxx98" >"$B/cxx98.log" 2>&1 &&
       "$B/lines_cxx98"
    then ok "C++98 -Wpedantic ${k:-(default knobs)}"
    else fail "C++98 -Wpedantic ${k:-(default knobs)}" "$B/cxx98.log"; fi
  done
fi

# CORO_RC_T: a signed type of 16 bits or more, or the build stops.
for t in int16_t int32_t uint16_t int8_t; do
  if printf '#include <stdint.h>\n#include "coro.h"\n' |
     gcc $WARN -DCORO_RC_T=$t -I. -fsyntax-only -x c - >"$B/rc.log" 2>&1; then got=builds; else got=refused; fi
  case $t in int16_t|int32_t) want=builds ;; *) want=refused ;; esac
  if [ $got = $want ]; then ok "CORO_RC_T=$t $got"
  else fail "CORO_RC_T=$t $got, should be $want" "$B/rc.log"; fi
done

echo
echo "$p passed, $f failed"
[ "$f" = 0 ]
