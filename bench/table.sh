#!/usr/bin/env bash
# Merge the per-round "name value" files of one bench run into a Markdown
# table: each cell the median over the rounds and its spread.
# Usage: table.sh DIR MACHINE-LINE
# Reads DIR/raw/SOURCE.BINARY.rK.txt (K = round, SOURCE one of ours_gcc,
# ours_clang, tokio, libuv, threads, ours_redis, redis; bench/run.sh writes
# them). Writes, besides the table on stdout, DIR/SOURCE.txt ("name median"
# per line) and DIR/ratios.tsv ("workload<TAB>ratio<TAB>unit" per row with a
# ratio, for bench/plot.sh).
set -u
D=$1
# name | unit | what it measures | better (lo/hi) [| the peers' name for
# the same workload, when ours differs: the same chain, written with
# ASYNC_FN_INLINE, is compared with tokio's plain async fns]
rows='await_ready_d1|ns|AWAIT of a ready child, chain depth 1|lo
await_ready_d10|ns|AWAIT of a ready child, chain depth 10|lo
await_inline_d1|ns|the same, ASYNC_FN_INLINE, depth 1|lo|await_ready_d1
await_inline_d10|ns|the same, ASYNC_FN_INLINE, depth 10|lo|await_ready_d10
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
redis_get_p1|req/s|redis-benchmark GET, no pipelining|hi
redis_cpu_p16|us|server CPU per request (those four tests), pipeline 16|lo
redis_cpu_p1|us|server CPU per request (those four tests), no pipelining|lo'

shopt -s nullglob
raw=("$D"/raw/*.r*.txt)
[ ${#raw[@]} -gt 0 ] || { echo "table.sh: no per-round files in $D/raw/" >&2; exit 1; }
rm -f "$D"/ratios.tsv "$D"/ours_gcc.txt "$D"/ours_clang.txt "$D"/tokio.txt "$D"/libuv.txt \
  "$D"/threads.txt "$D"/ours_redis.txt "$D"/redis.txt

echo "Machine: $2; $(date -u +%Y-%m-%d)."
echo
echo "| workload | unit | ours (gcc) | ours (clang) | tokio 1.24 | libuv | threads | redis-server | ours vs best peer |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "$rows" | awk -v dir="$D" '
  # The rows, then every raw file: SOURCE.BINARY.rK.txt, "name value" lines.
  FILENAME == "-" { split($0, f, "|"); nrow++; rname[nrow] = f[1]; runit[nrow] = f[2]; rwhat[nrow] = f[3]; rbetter[nrow] = f[4]; rpeer[nrow] = f[5] != "" ? f[5] : f[1]; next }
  FNR == 1 {
    base = FILENAME; sub(/.*\//, "", base)
    src = base; sub(/\..*/, "", src)
    rnd = base; sub(/.*\.r/, "", rnd); sub(/\.txt$/, "", rnd)
    if (!((src, rnd) in seenround)) { seenround[src, rnd] = 1; nrounds[src]++ }
  }
  /^#/ || NF < 2 { next }
  { k = src SUBSEP $1; n[k]++; v[k, n[k]] = $2 }

  function sort_(k,   i, j, t) { # sorts v[k, 1..n[k]] numerically
    for (i = 2; i <= n[k]; i++)
      for (j = i; j > 1 && v[k, j - 1] + 0 > v[k, j] + 0; j--) { t = v[k, j]; v[k, j] = v[k, j - 1]; v[k, j - 1] = t }
  }
  function decimals(s) { return index(s, ".") ? length(s) - index(s, ".") : 0 }
  # The median, as printed by the binary when the count is odd.
  function med(k,   m) {
    if (!(k in n)) return ""
    sort_(k); m = n[k]
    if (m % 2) return v[k, (m + 1) / 2]
    return sprintf("%." decimals(v[k, m / 2]) "f", (v[k, m / 2] + v[k, m / 2 + 1]) / 2)
  }
  # Half of (max - min) / median, in %: "" with a single round.
  function spread(k, md,   x) {
    if (!(k in n) || n[k] < 2 || md + 0 == 0) return ""
    x = 50 * (v[k, n[k]] - v[k, 1]) / md
    return x == 0 ? "±0%" : x < 1 ? sprintf("±%.1f%%", x) : sprintf("±%.0f%%", x)
  }
  function cell(s, name,   k, m, sp) {
    k = s SUBSEP name; m = med(k)
    if (m == "") return "-"
    print name, m > (dir "/" s ".txt")
    sp = spread(k, m)
    return sp == "" ? m : m " " sp
  }
  function better(a, b, lo) { return lo ? a + 0 < b + 0 : a + 0 > b + 0 }
  END {
    nsrc = split("ours_gcc ours_clang tokio libuv threads redis", S, " ")
    for (i = 1; i <= nrow; i++) {
      name = rname[i]; lo = rbetter[i] == "lo"; any = 0
      for (j = 1; j <= nsrc; j++) {
        s = S[j]; if (s == "ours_gcc" && !((s, name) in n)) s = "ours_redis"
        nm = j <= 2 ? name : rpeer[i]
        c[j] = cell(s, nm); m[j] = med(s SUBSEP nm); if (m[j] != "") any = 1
      }
      if (!any) continue
      ours = m[1]; if (m[2] != "" && (ours == "" || better(m[2], ours, lo))) ours = m[2]
      best = ""
      for (j = 3; j <= nsrc; j++) if (m[j] != "" && (best == "" || better(m[j], best, lo))) best = m[j]
      if (ours == "" || best == "") ratio = "-"
      else {
        if (lo) { o = ours + 0; q = best + 0; if (o < 0.01) o = 0.01; if (q < 0.01) q = 0.01; x = q / o }
        else x = (ours + 0) / (best + 0)
        ratio = sprintf("%.2fx %s", x, x >= 1 ? "ahead" : "behind")
        printf "%s\t%.4f\t%s\n", rwhat[i], x, runit[i] > (dir "/ratios.tsv")
      }
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", rwhat[i], runit[i], c[1], c[2], c[3], c[4], c[5], c[6], ratio
    }
    r = nrounds["ours_gcc"] + 0; rr = nrounds["ours_redis"] + 0
    printf "\nEach cell: the median over the rounds (%d for the micro benchmarks, %d for redis-benchmark) and the spread, ±half of (max - min) / median.", r, rr
    printf " A round runs each binary once: ours built with gcc, tokio, ours built with clang, libuv, threads, in that order in rounds 1, 3, 5 and reversed in rounds 2, 4 (redis: mini_redis and redis-server alternate the same way, each server pinned to one CPU and redis-benchmark to the other)."
    printf " ns = nanoseconds per operation; \"ours vs best peer\": how many times better our median is than the best peer median (lower is better for time and bytes, higher for requests/s), taking the better of our two compilers."
    printf " The per-round numbers are in build/bench/raw/.\n"
  }' - "${raw[@]}"
# Runs that failed (bench/run.sh leaves SOURCE.BINARY.rK.failed): say so,
# since their missing figures can move a row's best peer.
failed=("$D"/raw/*.failed)
if [ ${#failed[@]} -gt 0 ]; then
  echo
  printf '%s\n' "${failed[@]##*/}" | sed 's/\.failed$//' |
    awk '{ b = $0; sub(/\.r[0-9]+$/, "", b); r = $0; sub(/.*\.r/, "", r); if (b in l) l[b] = l[b] ", " r; else l[b] = r }
      END { printf "**Failed runs** (their figures are missing from those rounds, and a missing peer figure can change the best peer):"
            for (b in l) printf " %s in round %s;", b, l[b]; printf " see build/bench/raw/*.err.\n" }'
fi
