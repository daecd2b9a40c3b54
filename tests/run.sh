#!/usr/bin/env bash
# The whole test matrix. Every step counts as a test: a build that fails
# counts as failed, and each test binary's own "N passed, N failed" line is
# added in. The last line is the total, in that same form.
#
#   bash tests/run.sh            everything (make test): about 9 minutes on an
#                                idle 2-core machine, 50 with two CPU-bound
#                                processes beside it
#   QUICK=1 bash tests/run.sh    the edit loop (make test-quick): every test
#                                under gcc + ASan/UBSan, and the examples
set -u
QUICK=${QUICK:-}
cd "$(dirname "$0")/.."
B=build/test
mkdir -p "$B"
passed=0 failed=0

. tests/need.sh
need gcc gcc; need clang clang; need g++ g++; need valgrind valgrind

ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$2" ] && sed 's/^/    /' "$2" | tail -n 30; }

# run NAME CMD...: run a test binary, add its own counts in.
run() {
  local name=$1; shift
  local log="$B/$name.log"
  echo "== $name"
  "$@" >"$log" 2>&1
  local rc=$? line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  grep -E '^(FAIL|    )' "$log" | head -n 40
  if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
    failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
    echo "   $line"
    if [ $rc -ne 0 ] && [ "$(echo "$line" | cut -d' ' -f3)" = 0 ]; then fail "$name (exit $rc)" "$log"; fi
  else
    fail "$name (exit $rc, no summary)" "$log"
  fi
}

# build NAME CC FLAGS... SRC: compile one test binary; a failed build fails.
build() {
  local name=$1 cc=$2; shift 2
  if "$cc" "$@" -o "$B/$name" -lpthread >"$B/$name.build" 2>&1; then return 0; fi
  fail "build $name" "$B/$name.build"; return 1
}

WARN="-std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Wpedantic -Werror"
SAN="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1

tests=$(ls tests/test_*.c | sed 's|tests/test_||; s|\.c$||')

# 1. Every test, gcc and clang, under AddressSanitizer + UBSan.
for t in $tests; do
  build "${t}_gcc_asan" gcc $WARN -Wjump-misses-init $SAN "tests/test_$t.c" && run "${t}_gcc_asan" "$B/${t}_gcc_asan"
  build "${t}_clang_asan" clang $WARN $SAN "tests/test_$t.c" && run "${t}_clang_asan" "$B/${t}_clang_asan"
done

if [ -n "$QUICK" ]; then
  for e in examples/*.c; do
    n=$(basename "$e" .c)
    if gcc $WARN -Wjump-misses-init -O2 "$e" -o "$B/ex_${n}_gcc" -lpthread >"$B/ex.log" 2>&1
    then ok "example $n builds (gcc)"; else fail "example $n builds (gcc)" "$B/ex.log"; fi
  done
  echo; echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit
fi

# 2. The labels-as-values resume backend.
for t in coro future misuse owner asyncfn select_keep; do
  [ -f "tests/test_$t.c" ] || continue
  build "${t}_labels_gcc" gcc $WARN $SAN -DCORO_USE_LABELS=1 "tests/test_$t.c" && run "${t}_labels_gcc" "$B/${t}_labels_gcc"
  build "${t}_labels_clang" clang $WARN $SAN -DCORO_USE_LABELS=1 "tests/test_$t.c" && run "${t}_labels_clang" "$B/${t}_labels_clang"
done

# 3. Code with threads, under ThreadSanitizer.
for t in exec sync sync_rw sync_bcast sync_xchan token trace pool io regress fs_more metrics dns proc; do
  [ -f "tests/test_$t.c" ] || continue
  build "${t}_tsan" clang $WARN -O1 -fsanitize=thread "tests/test_$t.c" && run "${t}_tsan" env TSAN_OPTIONS=halt_on_error=1 "$B/${t}_tsan"
done

# 4. valgrind: no leak, no invalid access, on an unsanitized build.
for t in $tests; do
  build "${t}_vg" gcc $WARN -O1 -DCHECK_UNDER_VALGRIND "tests/test_$t.c" &&
    run "${t}_valgrind" valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 "$B/${t}_vg"
done

# 5. Each header compiles alone, warning-free; coro.h and future.h also
#    freestanding C99 without libc; every header from C++.
for h in *.h; do
  for cc in gcc clang; do
    std=c11; [ "$h" = coro.h ] || [ "$h" = future.h ] && std=c99
    if printf '#include "%s"\n' "$h" | $cc -std=$std -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I. -x c - >"$B/hdr.log" 2>&1
    then ok "$h alone ($cc -std=$std)"; else fail "$h alone ($cc -std=$std)" "$B/hdr.log"; fi
  done
done
# A header pulls in the same system headers with and without NDEBUG, so a
# file that builds in debug builds in release too.
for h in *.h; do
  a=$(printf '#include "%s"\n' "$h" | gcc -std=c11 -D_GNU_SOURCE -M -I. -x c - 2>&1 | tr ' \\' '\n\n' | grep -v '^$' | sort)
  b=$(printf '#include "%s"\n' "$h" | gcc -std=c11 -D_GNU_SOURCE -DNDEBUG -M -I. -x c - 2>&1 | tr ' \\' '\n\n' | grep -v '^$' | sort)
  if [ "$a" = "$b" ]; then ok "$h includes the same with NDEBUG"
  else fail "$h includes differ with NDEBUG"; diff <(echo "$a") <(echo "$b") | head -n 5; fi
done
for h in coro.h future.h timer.h; do
  for cc in gcc clang; do
    if printf '#include "%s"\n' "$h" | $cc -std=c99 -ffreestanding -nostdlib -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I. -x c - >"$B/hdr.log" 2>&1
    then ok "$h freestanding ($cc -std=c99)"; else fail "$h freestanding ($cc)" "$B/hdr.log"; fi
  done
done
for cxx in g++ clang++; do
  if $cxx -std=c++11 -Wall -Wextra -Wpedantic -Werror -I. tests/cxx_include.cc -o "$B/cxx_$cxx" -lpthread >"$B/cxx.log" 2>&1 &&
     "$B/cxx_$cxx" >>"$B/cxx.log" 2>&1
  then ok "every header from C++ ($cxx)"; else fail "every header from C++ ($cxx)" "$B/cxx.log"; fi
done

# 5b. What must not compile (AWAIT of a plain struct...), and the compile
#     line that catches locals lost across a suspension.
for s in compile_fail warn_locals; do
  [ -f "tests/$s.sh" ] && run "$s" bash "tests/$s.sh" "$B/$s"
done

# 6. The examples build warning-free with both compilers (the README's code
#    comes from them), and run.
for e in examples/*.c; do
  n=$(basename "$e" .c)
  for cc in gcc clang; do
    extra=; [ $cc = gcc ] && extra=-Wjump-misses-init
    if $cc $WARN $extra -O2 "$e" -o "$B/ex_${n}_$cc" -lpthread >"$B/ex.log" 2>&1
    then ok "example $n builds ($cc)"; else fail "example $n builds ($cc)" "$B/ex.log"; fi
  done
done
if [ -x tests/examples.sh ]; then run examples_run bash tests/examples.sh "$B"; fi

# 6b. One program of several files (tests/multi): a static copy of the
#     library per file (the default), and one shared copy with
#     WEFT_EXTERN_INLINE (main.c defines WEFT_IMPLEMENTATION).
for cc in gcc clang; do
  for O in -O0 -O2; do
    for X in "" -DWEFT_EXTERN_INLINE; do
      n="multi-file $cc $O ${X:-static}"
      if $cc $WARN $O $X tests/multi/*.c -o "$B/multi" -lpthread >"$B/multi.log" 2>&1 &&
         "$B/multi" >>"$B/multi.log" 2>&1 && grep -q '^sum 55$' "$B/multi.log"
      then ok "$n"; else fail "$n" "$B/multi.log"; fi
    done
  done
done

# 7. The reactor without epoll_pwait2: compiled out, and refused at run time
#    with EPERM by a seccomp filter (as some sandboxes do): the executor must
#    fall back to epoll_wait, never spin.
for t in exec io regress; do
  build "${t}_nopwait2" gcc $WARN $SAN -DEXEC_NO_EPOLL_PWAIT2 "tests/test_$t.c" &&
    run "${t}_nopwait2" "$B/${t}_nopwait2"
done
if gcc -O1 -Wall -Wextra -Werror tests/seccomp_eperm.c -o "$B/seccomp_eperm" >"$B/seccomp.log" 2>&1 &&
   "$B/seccomp_eperm" /bin/true >>"$B/seccomp.log" 2>&1; then
  for t in exec io regress; do
    [ -x "$B/${t}_gcc_asan" ] && run "${t}_seccomp_eperm" "$B/seccomp_eperm" "$B/${t}_gcc_asan"
  done
else
  echo "SKIP seccomp: this kernel or sandbox refuses a seccomp filter:"; sed 's/^/    /' "$B/seccomp.log"
fi

# 7a. EXEC_METRICS=1 (task ids, metrics, hooks, the timeline: an opt-in
#     that changes exec_task_t): the executor suites again with it on.
for t in exec cover_exec trace regress owner; do
  build "${t}_metrics" gcc $WARN $SAN -DEXEC_METRICS=1 "tests/test_$t.c" && run "${t}_metrics" "$B/${t}_metrics"
done

# 7b. The other backends. poll(2), as on macOS and the BSDs: the
#     executor, sync and io suites again (cover_exec, regress and owner
#     reach into epoll's fds), under ASan/UBSan and TSan. The bare backend
#     on the host is tests/test_bare.c (above, with every test); on real
#     Cortex-M code under qemu-system-arm it is tests/mcu.sh (below).
for t in exec sync sync_rw sync_bcast sync_xchan io cover_io net reader dns proc fs_more metrics stream pool trace token select_keep asyncfn future timer; do
  [ -f "tests/test_$t.c" ] || continue
  build "${t}_poll" gcc $WARN $SAN -DEXEC_BACKEND_POLL "tests/test_$t.c" && run "${t}_poll" "$B/${t}_poll"
done
for t in io cover_io net reader dns proc; do
  build "${t}_poll_clang" clang $WARN $SAN -DEXEC_BACKEND_POLL "tests/test_$t.c" && run "${t}_poll_clang" "$B/${t}_poll_clang"
done
# io.h's POSIX fallbacks (socket + fcntl, accept + fcntl, signals through
# a handler and a self-pipe instead of signalfd), forced on Linux with
# IO_PORTABLE, on both fd backends.
for t in io cover_io net reader dns proc; do
  for be in EPOLL POLL; do
    for cc in gcc clang; do
      build "${t}_portable_${be}_$cc" $cc $WARN $SAN -DIO_PORTABLE -DEXEC_BACKEND_$be "tests/test_$t.c" &&
        run "${t}_portable_${be}_$cc" "$B/${t}_portable_${be}_$cc"
    done
  done
done
# proc.h without pidfds: the SIGCHLD fallback on Linux.
build proc_nopidfd gcc $WARN $SAN -DPROC_NO_PIDFD tests/test_proc.c && run proc_nopidfd "$B/proc_nopidfd"
# proc.h with every spawn followed by 50 ms: short-lived children exit
# before the test's next step, on both backends and on the fallback, so a
# test that relies on a child still running fails every time.
for v in EXEC_BACKEND_EPOLL EXEC_BACKEND_POLL PROC_NO_PIDFD; do
  build "proc_settle_$v" gcc $WARN $SAN -DPROC_TEST_SETTLE "-D$v" tests/test_proc.c &&
    run "proc_settle_$v" "$B/proc_settle_$v"
done
build io_portable_poll_vg gcc $WARN -O1 -DCHECK_UNDER_VALGRIND -DIO_PORTABLE -DEXEC_BACKEND_POLL tests/test_io.c &&
  run io_portable_poll_valgrind valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 "$B/io_portable_poll_vg"
build io_portable_tsan clang $WARN -O1 -fsanitize=thread -DIO_PORTABLE tests/test_io.c &&
  run io_portable_tsan env TSAN_OPTIONS=halt_on_error=1 "$B/io_portable_tsan"
for t in exec pool io; do
  build "${t}_poll_tsan" clang $WARN -O1 -fsanitize=thread -DEXEC_BACKEND_POLL "tests/test_$t.c" &&
    run "${t}_poll_tsan" env TSAN_OPTIONS=halt_on_error=1 "$B/${t}_poll_tsan"
done
for b in EXEC_BACKEND_POLL EXEC_BACKEND_BARE; do
  for cc in gcc clang; do
    if printf '#define %s 1\n#include "exec.h"\n' "$b" | $cc -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I. -x c - >"$B/hdr.log" 2>&1
    then ok "exec.h alone with $b ($cc)"; else fail "exec.h alone with $b ($cc)" "$B/hdr.log"; fi
  done
done

# 7c. The footprint knobs (small resume points, no file:line, small
#     wheels) and the microcontroller build on emulated Cortex-M boards.
for s in small_knobs wheel_knobs mcu; do
  [ -f "tests/$s.sh" ] && run "$s" bash "tests/$s.sh" "$B/$s"
done
# The bare backend's optional stdio and malloc, for Cortex-M (mcu.sh
# installed the cross compiler).
if command -v arm-none-eabi-gcc >/dev/null 2>&1; then
  for o in "-DEXEC_STDIO -DEXEC_MALLOC" "-DEXEC_STDIO" "-DEXEC_MALLOC"; do
    if printf '#define EXEC_BACKEND_BARE 1\n#include "exec.h"\nvoid f(exec_t *ex);\nvoid f(exec_t *ex) { exec_run(ex); }\n' |
       arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -Os -std=c11 $o -Wall -Wextra -Wpedantic -Werror -c -o "$B/bare_opt.o" -I. -x c - >"$B/bare_opt.log" 2>&1
    then ok "exec.h bare with $o (arm-none-eabi)"; else fail "exec.h bare with $o (arm-none-eabi)" "$B/bare_opt.log"; fi
  done
fi

# 8. The build matrix: -O0/-O2/-O3/-Os on gcc and clang, 32-bit, aarch64 and
#    s390x (big-endian) under qemu-user, musl.
[ -f tests/matrix.sh ] && run matrix bash tests/matrix.sh "$B/matrix"

# 9. libFuzzer on mini_redis's RESP parser and command dispatch (30 s each;
#    `make fuzz` runs longer).
[ -f tests/fuzz_redis.sh ] && run fuzz_redis bash tests/fuzz_redis.sh "${FUZZ_SECONDS:-30}"

# 10. Coverage: every header at >= 95 % of lines and >= 90 % of branches
#     over all the tests (tests/coverage.sh; `make coverage` prints it).
echo "== coverage"
if bash tests/coverage.sh >"$B/coverage.log" 2>&1; then ok "coverage per header meets the goal"
else fail "coverage per header" "$B/coverage.log"; fi
sed -n '/^header/,/^total/p' "$B/coverage.log"

# 11. Packaging: make install / uninstall, a consumer built through
#     pkg-config, CMake (find_package, add_subdirectory, FetchContent) and
#     Meson, and every test against the single header dist/weft.h.
[ -f tests/packaging.sh ] && run packaging bash tests/packaging.sh "$B"

# 12. Integration scripts (real peers such as redis-cli): tests/it_*.sh BUILD_DIR,
#    each ending with its own "N passed, N failed" line.
for s in tests/it_*.sh; do
  [ -f "$s" ] || continue
  run "$(basename "$s" .sh)" bash "$s" "$B"
done

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
