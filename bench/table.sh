#!/usr/bin/env bash
# Merge the "name value" files of one bench run into a Markdown table.
# Usage: table.sh DIR MACHINE-LINE
set -u
D=$1
# name | unit | what it measures | better (lo/hi)
rows='await_ready_d1|ns|AWAIT of a ready child, chain depth 1|lo
await_ready_d10|ns|AWAIT of a ready child, chain depth 10|lo
yield_rt|ns|yield round trip (wake + re-poll) of one task|lo
spawn_join|ns|spawn + run + join, per task (1M tasks)|lo
idle_task_bytes|B|memory per idle task (1M tasks sleeping 1 s)|lo
idle_setup_teardown_ms|ms|set up and tear down those 1M idle tasks|lo
timer_reg_cancel|ns|timer register + cancel, no other timer|lo
timer_reg_cancel_1m|ns|timer register + cancel, 1M other timers live|lo
timers_fire_1m_late_ms|ms|1M timers 0-1000 ms all firing: time past 1 s|lo
join_wake_n10|ns|join over 10 children, per wake|lo
join_wake_n1000|ns|join over 1,000 children, per wake|lo
join_wake_n100000|ns|join over 100,000 children, per wake|lo
select2|ns|SELECT of two, loser cancelled|lo
spawn_blocking_100k|ns|spawn_blocking, per job (100k trivial jobs)|lo
chan_pingpong|ns|channel ping-pong round trip|lo
mutex_uncontended|ns|async mutex lock + unlock, uncontended|lo
redis_ping_inline_p16|req/s|redis-benchmark PING (inline), pipeline 16|hi
redis_ping_mbulk_p16|req/s|redis-benchmark PING (bulk), pipeline 16|hi
redis_set_p16|req/s|redis-benchmark SET, pipeline 16|hi
redis_get_p16|req/s|redis-benchmark GET, pipeline 16|hi
redis_ping_inline_p1|req/s|redis-benchmark PING (inline), no pipelining|hi
redis_ping_mbulk_p1|req/s|redis-benchmark PING (bulk), no pipelining|hi
redis_set_p1|req/s|redis-benchmark SET, no pipelining|hi
redis_get_p1|req/s|redis-benchmark GET, no pipelining|hi'
get() { [ -f "$D/$1.txt" ] && awk -v k="$2" '$1 == k {print $2; exit}' "$D/$1.txt"; }
echo "Machine: $2; $(date -u +%Y-%m-%d)."
echo
echo "| workload | unit | ours (gcc) | ours (clang) | tokio 1.24 | libuv | threads | redis-server | ours vs best peer |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
while IFS='|' read -r name unit what better; do
  g=$(get ours_gcc "$name"); c=$(get ours_clang "$name")
  [ -z "$g" ] && g=$(get ours_redis "$name")
  t=$(get tokio "$name"); u=$(get libuv "$name"); th=$(get threads "$name"); r=$(get redis "$name")
  [ -z "$g$c$t$u$th$r" ] && continue
  ratio=$(awk -v g="$g" -v c="$c" -v t="$t" -v u="$u" -v th="$th" -v r="$r" -v b="$better" '
    function ok(x) { return x != "" }
    BEGIN {
      ours = g; if (ok(c) && (!ok(ours) || (b == "lo" ? c + 0 < ours + 0 : c + 0 > ours + 0))) ours = c
      best = ""
      n = split(t " " u " " th " " r, p, " ")
      for (i = 1; i <= n; i++) if (ok(p[i]) && (best == "" || (b == "lo" ? p[i] + 0 < best + 0 : p[i] + 0 > best + 0))) best = p[i]
      if (!ok(ours) || best == "") { print "-"; exit }
      if (b == "lo") { o = ours + 0; q = best + 0; if (o < 0.01) o = 0.01; if (q < 0.01) q = 0.01; x = q / o }
      else { x = (ours + 0) / (best + 0) }
      printf "%.2fx %s\n", x, (x >= 1 ? "ahead" : "behind")
    }')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$what" "$unit" "${g:--}" "${c:--}" "${t:--}" "${u:--}" "${th:--}" "${r:--}" "$ratio"
done <<<"$rows"
echo
echo "ns = nanoseconds per operation, median of 5 runs; \"ours vs best peer\": how many times better than the best peer measured in this run (lower is better for time and bytes, higher for requests/s), taking the better of our two compilers."
