#!/usr/bin/env bash
# Run each example and check what it prints. Usage: examples.sh BUILD_DIR
set -u
B=${1:-build/test}
p=0 f=0
check() { # check NAME PATTERN: the example's output matches the ERE
  if grep -Eq "$2" "$B/ex_$1.out"; then p=$((p + 1)); echo "ok   $1: /$2/"
  else f=$((f + 1)); echo "FAIL $1: /$2/"; sed 's/^/    /' "$B/ex_$1.out"; fi
}
for n in fetch_all seq_vs_join select retry superloop pipeline workers blocking spawn_n fetch_by_name proc; do
  [ -x "$B/ex_${n}_gcc" ] && "$B/ex_${n}_gcc" >"$B/ex_$n.out" 2>&1
done
check fetch_all '^prices: OK$'
# Wall-clock figures: never early, and late by less than 100 ms, which a
# loaded machine still meets (a sleeping process is woken promptly); the
# lesson (join ~ the longest, sequential ~ the sum) is what is checked.
check fetch_all '^elapsed: 2[0-9][0-9] ms$'
check seq_vs_join '^sequential: (4[5-9]|5[0-4])[0-9] ms$'
check seq_vs_join '^join: 2[0-9][0-9] ms$'
check select '^  primary cancelled$'
check select 'winner: backup; timers still registered: 0'
check select 'winner: timeout; timers still registered: 0'
check retry '^result: success$'
check retry 'attempt 4: Connection timed out'
check superloop '^all done at 1601 ms$'
check pipeline '^producer waited for room 7 times'
check workers '^elapsed: 64 ms$'
check blocking 'hint: .*spawn_blocking|blocking'
check blocking '^spawn_blocking: worst lateness [0-9]{1,2} ms$' # under 100 ms, loaded or not
# N tasks collected in finish order (paused clock: exact times); job 3's
# error comes out through join_next like any result.
check spawn_n '^  10 ms  job 0 finished: 0$'
check spawn_n '^  20 ms  job 3 failed: Input/output error$'
check spawn_n '^  50 ms  job 2 finished: 4$'
check spawn_n '^5 jobs: 4 ok, 1 failed$'
check spawn_n '^elapsed: 50 ms \(one after another: 150 ms\)$'
# By name over loopback: resolved, connected (happy eyeballs), three
# request lines answered through the buffered reader, a clean end.
check fetch_by_name '^connected to localhost \((127\.0\.0\.1|::1)\)$'
check fetch_by_name '^ADD 40 2 -> = 42$'
check fetch_by_name '^server: 3 requests, client closed cleanly$'
# A child's lines streamed, then the child killed at the deadline and
# reaped.
check proc '^child says: line 3$'
check proc '^deadline: killing the child$'
check proc '^child ended by signal 9$'
# Every example that ends by itself runs clean under valgrind: no invalid
# access, no uninitialised value, no leak (the servers are checked by
# their own tests).
if command -v valgrind >/dev/null 2>&1; then
  for n in fetch_all seq_vs_join select retry superloop pipeline workers blocking spawn_n fetch_by_name proc; do
    [ -x "$B/ex_${n}_gcc" ] || continue
    if valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 \
         "$B/ex_${n}_gcc" >"$B/ex_$n.vg" 2>&1
    then p=$((p + 1)); echo "ok   $n under valgrind"
    else f=$((f + 1)); echo "FAIL $n under valgrind"; grep '^==' "$B/ex_$n.vg" | head -n 20 | sed 's/^/    /'; fi
  done
fi
# The README's C code is taken from the examples: every line of every C
# block must stand in some examples/*.c (or examples/mcu/*.[ch]), so the
# README always compiles.
readme_ok=1
awk '/^```c$/ {inblock=1; next} /^```$/ {inblock=0} inblock' README.md >"$B/readme_code.txt"
while IFS= read -r line; do
  [ -z "${line// }" ] && continue
  grep -qFx -- "$line" examples/*.c examples/mcu/*.[ch] || { echo "    README line not in examples/: $line"; readme_ok=0; }
done <"$B/readme_code.txt"
if [ $readme_ok = 1 ] && [ -s "$B/readme_code.txt" ]; then p=$((p + 1)); echo "ok   README code comes from examples/"
else f=$((f + 1)); echo "FAIL README code comes from examples/"; fi
# The README's lines-against-tokio table is bench/lines.sh's, today.
if bash bench/lines.sh >"$B/lines.md" 2>&1 &&
   diff <(grep '^| ' "$B/lines.md") <(awk '/^## As short as Rust/{on=1} /^## Performance/{on=0} on && /^\| /' README.md) >"$B/lines.diff"
then p=$((p + 1)); echo "ok   README's lines table matches bench/lines.sh"
else f=$((f + 1)); echo "FAIL README's lines table differs from bench/lines.sh:"; sed 's/^/    /' "$B/lines.diff"; fi
echo "$p passed, $f failed"
[ $f = 0 ]
