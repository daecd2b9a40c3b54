#!/usr/bin/env bash
# Snippets that must NOT compile: FUTURE_OF's compile-time check at work.
#
#   bash tests/compile_fail.sh [BUILD_DIR]     (default build/test/compile_fail)
#
# Each tests/compile_fail/*.c is compiled with gcc and with clang, -std=c11
# -Wall -Wextra -Wpedantic -Werror (and, with gcc, -Wjump-misses-init). A
# snippet says in its opening comment what the compiler must say:
#     * expect-gcc: has no member named 'fut'
#     * expect-clang: no member named 'fut' in 'struct plain'
#     * flags: -DCORO_USE_LABELS=1          (optional: extra flags)
# and marks each line that is a mistake with /* error */. A snippet passes
# with a compiler when the build fails, the output holds the expected text,
# and every marked line is named in it (file:line:), so one snippet may
# hold several mistakes, each of which must be caught on its own.
#
# ok_*.c are the controls: the same calls done right (&x and &x.fut of real
# futures). They must build warning-free at -O0 and -O2 and run to exit 0:
# a check that refused good code would be no check.
#
# Each snippet and compiler is one test; the last line is
# "N passed, N failed" and the exit status is non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
B=${1:-build/test/compile_fail}
mkdir -p "$B"
export LC_ALL=C # plain ASCII quotes in gcc's messages
FLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror"
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
fail() { f=$((f + 1)); echo "FAIL $1"; [ $# -gt 1 ] && [ -f "$2" ] && sed 's/^/    /' "$2" | head -n 30; }

for src in tests/compile_fail/*.c; do
  n=$(basename "$src" .c)
  extra=$(sed -n 's/^ \* flags: //p' "$src")
  for cc in gcc clang; do
    if ! command -v "$cc" >/dev/null; then echo "SKIP $n ($cc): no $cc"; continue; fi
    ccflags=$FLAGS
    if [ "$cc" = gcc ]; then ccflags="$ccflags -Wjump-misses-init -fmax-errors=0"
    else ccflags="$ccflags -ferror-limit=0"; fi
    log="$B/$n.$cc.log"
    case $n in
    ok_*)
      good=1
      for O in -O0 -O2; do
        # shellcheck disable=SC2086
        if ! $cc $ccflags $extra $O "$src" -o "$B/$n.$cc" -lpthread >"$log" 2>&1; then
          good=0; fail "$n builds ($cc $O)" "$log"; break
        fi
        if ! "$B/$n.$cc" >>"$log" 2>&1; then
          good=0; fail "$n runs to exit 0 ($cc $O)" "$log"; break
        fi
      done
      [ $good = 1 ] && ok "$n builds warning-free and runs ($cc -O0, -O2)"
      continue ;;
    esac
    want=$(sed -n "s/^ \\* expect-$cc: //p" "$src")
    if [ -z "$want" ]; then fail "$n: no 'expect-$cc:' line"; continue; fi
    # shellcheck disable=SC2086
    if $cc $ccflags $extra -fsyntax-only "$src" >"$log" 2>&1; then
      fail "$n compiled with $cc, and must not" "$log"; continue
    fi
    if ! grep -qF -- "$want" "$log"; then
      fail "$n ($cc): the error does not say \"$want\"" "$log"; continue
    fi
    missed=
    for line in $(grep -n '/\* error \*/' "$src" | cut -d: -f1); do
      grep -qF -- "$src:$line:" "$log" || missed="$missed $line"
    done
    if [ -n "$missed" ]; then fail "$n ($cc): no error for line(s)$missed" "$log"; continue; fi
    ok "$n does not compile ($cc: $want)"
  done
done

echo
echo "$p passed, $f failed"
[ "$f" = 0 ]
