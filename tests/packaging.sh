#!/usr/bin/env bash
# Packaging test: weft as others consume it.
#   tests/packaging.sh [BUILD_DIR]      (default build/test; works in BUILD_DIR/packaging)
# 1. The header list (tools/headers.txt) names every header at the top of
#    the repository; `make dist` builds dist/weft.h, which compiles alone (C
#    and C++), twice, and mixed with the separate headers.
# 2. `make install` into a temporary prefix (and into a DESTDIR); the
#    consumer in tests/consumer/ built and run with pkg-config (plain make),
#    CMake find_package(weft), CMake add_subdirectory and FetchContent from
#    this checkout (no network), Meson dependency('weft') when meson can be
#    had (a visible SKIP line otherwise), and find_package against a
#    `cmake --install` of CMakeLists.txt; then `make uninstall` leaves no file.
# 3. Every tests/test_*.c once against dist/weft.h alone (gcc, ASan+UBSan):
#    each header name is a one-line stub including weft.h.
# As root it apt-get installs what a fresh Debian lacks (cmake, pkg-config,
# meson, ninja-build). Ends with "N passed, N failed"; exits non-zero on a
# failure.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
B=${1:-build/test}
mkdir -p "$B"
B=$(cd "$B" && pwd)/packaging
rm -rf "$B"
mkdir -p "$B"
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
fail() { f=$((f + 1)); echo "FAIL $1"; [ $# -gt 1 ] && [ -f "$2" ] && sed 's/^/    /' "$2" | tail -n 25; }
skip() { echo "SKIP $1"; }
finish() { echo; echo "$p passed, $f failed"; [ $f = 0 ]; exit $?; }
# step NAME LOG CMD...: run CMD niced, output to LOG; ok or fail
step() {
  local name=$1 log=$2; shift 2
  if nice "$@" >"$log" 2>&1; then ok "$name"; return 0; fi
  fail "$name" "$log"; return 1
}
. tests/need.sh
# runs NAME BINARY: the consumer runs and prints its line
runs() {
  local out
  if out=$("$2" 2>&1) && [ "$out" = "weft consumer: sum 6" ]; then ok "$1 runs"
  else echo "$out" >"$B/run.log"; fail "$1 runs" "$B/run.log"; fi
}

need cc gcc || { fail "no C compiler"; finish; }
need python3 python3 || { fail "python3 missing (tools/amalgamate.py): apt-get install python3"; finish; }
need pkg-config pkg-config || fail "pkg-config missing: apt-get install pkg-config"
need cmake cmake || fail "cmake missing: apt-get install cmake"
VERSION=$(cat tools/version.txt)
HEADERS=$(make -s print-headers)

# ---- 1. the list, and dist/weft.h --------------------------------------------
listed=$(sed 's/#.*//' tools/headers.txt | tr -s ' \t' '\n\n' | grep -v '^$')
for h in *.h; do
  if echo "$listed" | grep -qx "$h"; then :; else
    echo "$h exists at the top but is not in tools/headers.txt" >"$B/list.log"
    fail "$h is listed in tools/headers.txt" "$B/list.log"
  fi
done
ok "tools/headers.txt lists every top-level header ($(echo $HEADERS))"

step "make dist" "$B/dist.log" make -s dist || finish
W="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror"
grep -q "^ \*   EXEC_BUDGET " dist/weft.h && grep -q "WEFT_VERSION \"$VERSION\"" dist/weft.h &&
  ok "dist/weft.h documents the version and the options" || fail "dist/weft.h banner lacks the version or the options"
bad=$(grep -nE '^\s*#\s*include\s*"' dist/weft.h)
[ -z "$bad" ] && ok "dist/weft.h has no quoted include left" ||
  { echo "$bad" >"$B/inc.log"; fail "dist/weft.h has no quoted include left" "$B/inc.log"; }
printf '#include "weft.h"\n#include "weft.h"\nint main(void) { return 0; }\n' >"$B/twice.c"
step "dist/weft.h alone and twice (gcc -std=c11, no -D_GNU_SOURCE)" "$B/alone.log" \
  gcc -std=c11 -Wall -Wextra -Wpedantic -Werror -Idist "$B/twice.c" -o "$B/twice" -pthread
command -v clang >/dev/null && step "dist/weft.h alone (clang)" "$B/alone_clang.log" \
  clang $W -Idist -fsyntax-only "$B/twice.c"
command -v g++ >/dev/null && step "dist/weft.h from C++ (g++ -std=c++11)" "$B/cxx.log" \
  g++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -Idist -fsyntax-only -x c++ "$B/twice.c"
printf '#include "exec.h"\n#include "weft.h"\n#include "sync.h"\nint main(void) { return 0; }\n' >"$B/mixed.c"
step "dist/weft.h mixed with the separate headers" "$B/mixed.log" \
  gcc $W -I. -Idist -fsyntax-only "$B/mixed.c"

# ---- 2. install, consume, uninstall ----------------------------------------------
P=$B/prefix
if step "make install PREFIX=$P" "$B/install.log" make -s install PREFIX="$P"; then
  miss=
  for h in $HEADERS; do cmp -s "$h" "$P/include/weft/$h" || miss="$miss $h"; done
  for x in include/weft.h lib/pkgconfig/weft.pc lib/cmake/weft/weftConfig.cmake lib/cmake/weft/weftConfigVersion.cmake; do
    [ -f "$P/$x" ] || miss="$miss $x"
  done
  [ -z "$miss" ] && ok "install put every file in place" || { echo "missing or different:$miss" >"$B/m.log"; fail "install put every file in place" "$B/m.log"; }
fi
step "make install DESTDIR=$B/stage PREFIX=/usr/local" "$B/destdir.log" make -s install DESTDIR="$B/stage" PREFIX=/usr/local &&
  { [ -f "$B/stage/usr/local/include/weft/exec.h" ] && grep -q '^prefix=/usr/local$' "$B/stage/usr/local/lib/pkgconfig/weft.pc" &&
    ok "DESTDIR stages under DESTDIR, the .pc names the real prefix" || fail "DESTDIR staging"; }

if command -v pkg-config >/dev/null; then
  export PKG_CONFIG_PATH=$P/lib/pkgconfig
  v=$(pkg-config --modversion weft 2>&1)
  [ "$v" = "$VERSION" ] && ok "pkg-config --modversion weft = $VERSION" || { echo "$v" >"$B/pcv.log"; fail "pkg-config finds weft $VERSION" "$B/pcv.log"; }
  mkdir -p "$B/pc"
  step "consumer with pkg-config (make, <weft/exec.h> and <weft.h>)" "$B/pc.log" \
    make -C tests/consumer B="$B/pc" CC=gcc && { runs "pkg-config consumer" "$B/pc/app"; runs "pkg-config single-header consumer" "$B/pc/app_single"; }
  unset PKG_CONFIG_PATH
fi

if command -v cmake >/dev/null; then
  # cmake_consumer NAME DIR ARGS...: configure, build, run app (and app_single)
  cmake_consumer() {
    local name=$1 d=$2; shift 2
    step "consumer with CMake $name: configure" "$d.log" cmake -S tests/consumer -B "$d" "$@" &&
    step "consumer with CMake $name: build" "$d.build.log" cmake --build "$d" &&
    { runs "CMake $name consumer" "$d/app"; [ ! -x "$d/app_single" ] || runs "CMake $name single-header consumer" "$d/app_single"; }
  }
  cmake_consumer "find_package" "$B/cm_package" -DWEFT_MODE=package -DCMAKE_PREFIX_PATH="$P"
  cmake_consumer "add_subdirectory" "$B/cm_subdir" -DWEFT_MODE=subdirectory -DWEFT_SOURCE_DIR="$ROOT"
  cmake_consumer "FetchContent (local SOURCE_DIR)" "$B/cm_fetch" -DWEFT_MODE=fetch -DWEFT_SOURCE_DIR="$ROOT" \
    -DFETCHCONTENT_FULLY_DISCONNECTED=ON
  # find_package(weft 9.0) must refuse this version, and EXACT accept ours
  mkdir -p "$B/cm_ver2"
  printf 'cmake_minimum_required(VERSION 3.14)\nproject(v C)\nfind_package(weft 9.0 QUIET)\nif(weft_FOUND)\n  message(FATAL_ERROR "weft 9.0 found")\nendif()\nfind_package(weft %s EXACT REQUIRED)\n' "$VERSION" >"$B/cm_ver2/CMakeLists.txt"
  step "find_package: 9.0 refused, $VERSION EXACT accepted" "$B/cm_ver2.log" cmake -S "$B/cm_ver2" -B "$B/cm_ver2/b" -DCMAKE_PREFIX_PATH="$P"

  # CMakeLists.txt's own install rules, then find_package against them
  if step "cmake --install of CMakeLists.txt" "$B/cm_inst.log" \
       sh -c "cmake -S '$ROOT' -B '$B/cm_top' -DCMAKE_INSTALL_PREFIX='$B/cprefix' && cmake --build '$B/cm_top' && cmake --install '$B/cm_top'"; then
    d=$(diff -r "$P/include" "$B/cprefix/include" 2>&1)
    [ -z "$d" ] && ok "cmake --install and make install give the same headers" || { echo "$d" | head -n 20 >"$B/d.log"; fail "cmake --install and make install give the same headers" "$B/d.log"; }
    cmake_consumer "find_package (cmake --install)" "$B/cm_package2" -DWEFT_MODE=package -DCMAKE_PREFIX_PATH="$B/cprefix"
    if command -v pkg-config >/dev/null; then
      c=$(PKG_CONFIG_PATH=$B/cprefix/lib/pkgconfig pkg-config --cflags weft)
      set -- $c
      [ $# = 1 ] && [ "$(cd "${1#-I}" 2>/dev/null && pwd)" = "$B/cprefix/include" ] && ok "cmake --install's weft.pc points at its prefix" ||
        { echo "cflags: $c" >"$B/c.log"; fail "cmake --install's weft.pc points at its prefix" "$B/c.log"; }
    fi
  fi
fi

if need meson meson && need ninja ninja-build; then
  step "consumer with Meson dependency('weft'): setup" "$B/meson.log" \
    env PKG_CONFIG_PATH="$P/lib/pkgconfig" meson setup "$B/meson" tests/consumer &&
  step "consumer with Meson: build" "$B/meson.build.log" ninja -C "$B/meson" &&
  runs "Meson consumer" "$B/meson/app"
else
  skip "Meson consumer: meson or ninja missing (apt-get install meson ninja-build)"
fi

# uninstall: nothing of weft's is left (the generic include/ and lib/ may stay)
# prefix_empty NAME DIR: no file, link or weft directory left under DIR
prefix_empty() {
  local left
  left=$(cd "$2" && find . -mindepth 1 ! -path ./include ! -path ./lib ! -path ./usr ! -path ./usr/local \
         ! -path ./usr/local/include ! -path ./usr/local/lib | sort)
  [ -z "$left" ] && ok "$1 leaves the prefix empty" || { echo "$left" >"$B/left.log"; fail "$1 leaves the prefix empty" "$B/left.log"; }
}
step "make uninstall PREFIX=$P" "$B/uninstall.log" make -s uninstall PREFIX="$P" && prefix_empty "make uninstall" "$P"
step "make uninstall DESTDIR=$B/stage" "$B/uninstall2.log" make -s uninstall DESTDIR="$B/stage" PREFIX=/usr/local &&
  prefix_empty "make uninstall with DESTDIR" "$B/stage"

# ---- 3. the test suite against dist/weft.h ---------------------------------------
S=$B/single
mkdir -p "$S/tests"
cp dist/weft.h "$S/"
for h in $HEADERS; do printf '#include "weft.h" /* %s: the single header */\n' "$h" >"$S/$h"; done
cp tests/*.c tests/*.h "$S/tests/"
SAN="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
# built from inside $S as tests/test_x.c, as tests/run.sh does (some tests
# look for __FILE__ in their output)
for src in "$S"/tests/test_*.c; do
  t=$(basename "$src" .c)
  if ! (cd "$S" && nice gcc $W $SAN "tests/$t.c" -o "$t" -lpthread) >"$S/$t.build" 2>&1; then
    fail "$t builds against dist/weft.h" "$S/$t.build"; continue
  fi
  # the stubs are what it included: weft.h, none of the repository's headers
  deps=$(cd "$S" && gcc $W -MM "tests/$t.c" 2>&1 | tr ' \\' '\n\n' | grep '\.h$')
  if echo "$deps" | grep -q '^/' || ! echo "$deps" | grep -q 'weft\.h$'; then
    echo "$deps" >"$S/$t.deps"; fail "$t used only dist/weft.h" "$S/$t.deps"; continue
  fi
  (cd "$S" && nice "./$t") >"$S/$t.log" 2>&1
  rc=$? line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$S/$t.log" | tail -n 1)
  if [ -n "$line" ]; then
    tp=$(echo "$line" | cut -d' ' -f1) tf=$(echo "$line" | cut -d' ' -f3)
    p=$((p + tp)); f=$((f + tf))
    echo "   $t against dist/weft.h: $line"
    [ "$tf" = 0 ] || grep -E '^(FAIL|    )' "$S/$t.log" | head -n 20
    [ $rc = 0 ] || [ "$tf" != 0 ] || fail "$t against dist/weft.h (exit $rc)" "$S/$t.log"
  else
    fail "$t against dist/weft.h (exit $rc, no summary)" "$S/$t.log"
  fi
done

finish
