#!/usr/bin/env bash
# EXEC_MAIN: a program whose main is `EXEC_MAIN(app, ...)` exits 0 when
# the future succeeds, and 1 with the error printed by name when it fails.
# Usage: it_main.sh BUILD_DIR
set -u
B=${1:-build/test}
mkdir -p "$B"
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
bad()  { f=$((f + 1)); echo "FAIL $1"; }
cat >"$B/exec_main.c" <<'C'
#include "exec.h"
ASYNC_FN(app, int argc; char **argv; timer_sleep_t nap;) {
    ASYNC_BEGIN(f);
    timer_sleep_init(&f->nap, TIMER_MS);
    AWAIT(cx, &f->nap);
    printf("argc %d\n", f->argc);
    ASYNC_RETURN(f->argc > 1 ? -ECONNREFUSED : 0);
    ASYNC_END();
}
EXEC_MAIN(app, .argc = argc, .argv = argv)
C
for cc in gcc clang; do
  if ! $cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror -O1 -I. "$B/exec_main.c" \
       -o "$B/exec_main_$cc" -lpthread >"$B/exec_main.build.log" 2>&1; then
    bad "EXEC_MAIN builds ($cc)"; sed 's/^/    /' "$B/exec_main.build.log"; continue
  fi
  ok "EXEC_MAIN builds ($cc)"
  out=$("$B/exec_main_$cc" 2>&1); rc=$?
  if [ $rc = 0 ] && [ "$out" = "argc 1" ]; then ok "success: exit 0, the future's output ($cc)"
  else bad "success: exit $rc, output: $out ($cc)"; fi
  out=$("$B/exec_main_$cc" x 2>&1); rc=$?
  if [ $rc = 1 ] && echo "$out" | grep -q "exec_main_$cc: error: Connection refused (ECONNREFUSED)"; then
    ok "failure: exit 1, the error by name ($cc)"
  else bad "failure: exit $rc, output: $out ($cc)"; fi
done
if command -v valgrind >/dev/null 2>&1 && [ -x "$B/exec_main_gcc" ]; then
  if valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 "$B/exec_main_gcc" x >/dev/null 2>&1
     [ $? = 1 ]; then ok "EXEC_MAIN under valgrind: no error, no leak"
  else bad "EXEC_MAIN under valgrind"; fi
fi
echo "$p passed, $f failed"
[ $f = 0 ]
