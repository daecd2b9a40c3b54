#!/usr/bin/env bash
# The one coroutine mistake no run-time check can see: a local assigned
# before a suspension point and read after it (locals do not survive a
# suspension; the value must live in the frame). coro.h says the compilers
# see it under the flags it recommends; this checks that they do.
#
#   bash tests/warn_locals.sh [BUILD_DIR]     (default build/test/warn_locals)
#
#   bug_await.c  a future: n = ...; AWAIT(...); read n
#   bug_yield.c  coro.h alone: n = ...; YIELD(); read n
#       must warn, naming the line of the read, with
#         gcc -Wall -Wextra -Og and -O2     (-Wmaybe-uninitialized)
#         clang -Wall -Wextra -O0 and -O2   (-Wsometimes-uninitialized or
#                                            -Wuninitialized)
#   jump_init.c  int n = ...; declared with an initializer before AWAIT
#       must warn with gcc -Wjump-misses-init (at -O0 too), naming n
#   good.c       the same code done right (the value kept in the frame, a
#                local used only between two suspensions): no warning
#                under any of those flag sets, -Werror
# Noted, not counted: gcc -Wall -Wextra at -O0 says nothing about
# bug_await.c (-Wmaybe-uninitialized needs the optimiser), which is why the
# headers recommend -Og or higher.
#
# Each check is one test; the last line is "N passed, N failed" and the
# exit status is non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
B=${1:-build/test/warn_locals}
mkdir -p "$B"
export LC_ALL=C
W="-std=c11 -D_GNU_SOURCE -Wall -Wextra -I$ROOT"
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
fail() { f=$((f + 1)); echo "FAIL $1"; [ $# -gt 1 ] && [ -f "$2" ] && sed 's/^/    /' "$2" | head -n 30; }

cat >"$B/bug_await.c" <<'EOF'
#include "exec.h"

typedef struct {
    future_t fut;
    timer_sleep_t nap;
    int x, y;
} frame_t;

static coro_poll_t frame_poll(future_t *self, future_cx_t *cx) {
    frame_t *f = (frame_t *)self;
    int n;
    ASYNC_BEGIN(f);
    n = f->x * 2;
    timer_sleep_init(&f->nap, TIMER_MS);
    AWAIT(cx, &f->nap);
    f->y = n; /* read */
    ASYNC_END();
}

int main(void) {
    static exec_t ex;
    static frame_t f;
    if (exec_init(&ex)) return 1;
    future_init(&f.fut, frame_poll, 0);
    f.x = 21;
    exec_block_on(&ex, &f);
    exec_destroy(&ex);
    return f.y != 42;
}
EOF

cat >"$B/bug_yield.c" <<'EOF'
#include "coro.h"

typedef struct {
    coro_t co;
    int x, y;
} frame_t;

coro_poll_t frame_run(frame_t *f); /* not static: checked on its own, not only inlined */
coro_poll_t frame_run(frame_t *f) {
    int n;
    ASYNC_BEGIN(f);
    n = f->x * 2;
    YIELD();
    f->y = n; /* read */
    ASYNC_END();
}

int main(void) {
    frame_t f = {CORO_INIT, 21, 0};
    while (frame_run(&f) == CORO_PENDING) {
    }
    return f.y != 42;
}
EOF

cat >"$B/jump_init.c" <<'EOF'
#include "exec.h"

typedef struct {
    future_t fut;
    timer_sleep_t nap;
    int x, y;
} frame_t;

static coro_poll_t frame_poll(future_t *self, future_cx_t *cx) {
    frame_t *f = (frame_t *)self;
    ASYNC_BEGIN(f);
    int n = f->x * 2; /* declared */
    timer_sleep_init(&f->nap, TIMER_MS);
    AWAIT(cx, &f->nap);
    f->y = n;
    ASYNC_END();
}

int main(void) {
    static exec_t ex;
    static frame_t f;
    if (exec_init(&ex)) return 1;
    future_init(&f.fut, frame_poll, 0);
    f.x = 21;
    exec_block_on(&ex, &f);
    exec_destroy(&ex);
    return f.y != 42;
}
EOF

cat >"$B/good.c" <<'EOF'
#include "exec.h"

typedef struct {
    future_t fut;
    timer_sleep_t nap;
    int x, y, n, sum;
} frame_t;

static coro_poll_t frame_poll(future_t *self, future_cx_t *cx) {
    frame_t *f = (frame_t *)self;
    int i; /* used only between two suspensions: fine */
    ASYNC_BEGIN(f);
    f->n = f->x * 2; /* what must survive lives in the frame */
    timer_sleep_init(&f->nap, TIMER_MS);
    AWAIT(cx, &f->nap);
    f->y = f->n;
    for (i = 0; i < 4; i++) f->sum += i;
    YIELD_NOW(cx);
    for (i = 0; i < 4; i++) f->sum += i;
    ASYNC_END();
}

int main(void) {
    static exec_t ex;
    static frame_t f;
    if (exec_init(&ex)) return 1;
    exec_clock_pause(&ex);
    future_init(&f.fut, frame_poll, 0);
    f.x = 21;
    exec_block_on(&ex, &f);
    exec_destroy(&ex);
    return f.y != 42 || f.sum != 12;
}
EOF

# line N of file F that holds the marker M
line_of() { grep -n -- "$2" "$B/$1" | head -n 1 | cut -d: -f1; }

# warns NAME CC "FLAGS" REGEX MARKER: compiling NAME with CC FLAGS warns
# (REGEX) and the output names the marked line.
warns() {
  local name=$1 cc=$2 flags=$3 re=$4 mark=$5 log line
  log="$B/${name%.c}.$cc${flags// /}.log"
  line=$(line_of "$name" "$mark")
  # shellcheck disable=SC2086
  $cc $W $flags -c "$B/$name" -o "$B/${name%.c}.o" >"$log" 2>&1
  if grep -qE -- "$re" "$log" && grep -qF -- "$name:$line:" "$log"; then
    ok "$name warns with $cc $flags (line $line)"
  else
    fail "$name does not warn with $cc $flags: wanted /$re/ at $name:$line" "$log"
  fi
}

for src in bug_await.c bug_yield.c; do
  for O in -Og -O2; do
    warns $src gcc "$O" "'n' (may be|is) used uninitialized.*-W(maybe-)?uninitialized" '/\* read \*/'
  done
  for O in -O0 -O2; do
    warns $src clang "$O" "variable 'n' is (sometimes )?(used )?uninitialized.*-W(sometimes-)?uninitialized" '/\* read \*/'
  done
done

warns jump_init.c gcc "-O0 -Wjump-misses-init" "switch jumps over variable initialization" '/\* declared \*/'
log="$B/jump_init.gcc-O0-Wjump-misses-init.log"
if grep -q "warning: switch jumps over variable initialization" "$log" && grep -qF "'n' declared here" "$log"; then
  ok "jump_init.c: gcc names the local ('n' declared here)"
else
  fail "jump_init.c: gcc does not name the local" "$log"
fi

for cfg in "gcc -O0 -Wjump-misses-init" "gcc -Og -Wjump-misses-init" "gcc -O2 -Wjump-misses-init" \
           "clang -O0" "clang -O2"; do
  set -- $cfg
  cc=$1; shift
  log="$B/good.$cc$(echo "$*" | tr -d ' ').log"
  # shellcheck disable=SC2086
  if $cc $W -Wpedantic -Werror "$@" "$B/good.c" -o "$B/good" -lpthread >"$log" 2>&1 && "$B/good" >>"$log" 2>&1
  then ok "good.c: no warning with $cfg, and it runs"
  else fail "good.c warns (or fails) with $cfg" "$log"; fi
done

# The note: what gcc says at -O0.
gcc $W -O0 -c "$B/bug_await.c" -o "$B/bug_await.o" >"$B/bug_await.gcc-O0.log" 2>&1
if grep -q "uninitialized" "$B/bug_await.gcc-O0.log"; then
  echo "note: gcc -O0 now warns about bug_await.c too"
else
  echo "note: gcc -Wall -Wextra -O0 says nothing about bug_await.c (-Wmaybe-uninitialized needs -Og or higher)"
fi

echo
echo "$p passed, $f failed"
[ "$f" = 0 ]
