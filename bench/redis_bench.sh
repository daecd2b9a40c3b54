#!/usr/bin/env bash
# mini_redis against redis-server under redis-benchmark, on loopback.
#   bench/redis_bench.sh MINI_REDIS_BINARY [--quick]
# Starts redis-server (persistence off) and mini_redis on free ports, each
# pinned (taskset) to the same one CPU, redis-benchmark pinned to another, so
# the client never steals the server's core and both servers get the same
# one. Then for each test group
#   redis-benchmark -t ping,set,get -n $N16 -c 50 -P 16 -q   (N16 = 200000)
#   redis-benchmark -t ping,set,get -n $N1  -c 50 -P 1  -q   (N1  =  50000)
# (the same options for both servers) it runs ROUNDS rounds (REDIS_ROUNDS,
# default 5), alternating the servers: mini_redis first in rounds 1, 3, 5,
# redis-server first in rounds 2, 4 (AB BA AB ...), so a slow stretch of a
# shared machine hits both. --quick: one round, -n 20000 and 5000.
# At about 500k and 45k requests/s a test takes 0.4 s and 1.1 s, 5 rounds
# of both servers about 2 minutes (3 on a busy machine).
# Prints one line per test and round
#   redis_<test>_p16|_p1 ROUND mini_redis-rps redis-server-rps
# then, per test, "# median" lines: the median over the rounds of each and
# the spread (half of (max - min) / median, in %).
# (-t ping runs two tests: ping_inline and ping_mbulk.)
set -u
MINI=${1:?usage: redis_bench.sh MINI_REDIS_BINARY [--quick]}
N16=200000 N1=50000 ROUNDS=${REDIS_ROUNDS:-5}
[ "${2:-}" = --quick ] && N16=20000 N1=5000 ROUNDS=1
for c in redis-server redis-benchmark redis-cli python3; do
  command -v $c >/dev/null 2>&1 || { echo "# missing $c: apt-get install -y redis-server redis-tools"; exit 1; }
done
[ -x "$MINI" ] || { echo "# $MINI is not built"; exit 1; }

# Two CPUs we may run on: the servers get the first, the client the second.
# With one CPU (or no taskset) nothing is pinned.
SRV=() CLI=() PIN="not pinned"
if command -v taskset >/dev/null 2>&1; then
  cpus=$(python3 -c 'import os; print(" ".join(map(str, sorted(os.sched_getaffinity(0))[:2])))')
  set -- $cpus
  if [ $# = 2 ]; then
    SRV=(taskset -c "$1") CLI=(taskset -c "$2") PIN="servers on CPU $1, redis-benchmark on CPU $2"
  fi
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MPID= RPID=
TMP=$(mktemp -d)
cleanup() {
  [ -n "$MPID" ] && kill "$MPID" 2>/dev/null
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

wait_up() { # wait_up PORT
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  echo "# server on port $1 did not come up"; exit 1
}

MPORT=$(free_port)
"${SRV[@]}" "$MINI" --port "$MPORT" >/dev/null 2>&1 &
MPID=$!
RPORT=$(free_port)
"${SRV[@]}" redis-server --save '' --appendonly no --port "$RPORT" --bind 127.0.0.1 --daemonize no >/dev/null 2>&1 &
RPID=$!
wait_up "$MPORT"
wait_up "$RPORT"

# run PORT P N -> "test rps" lines (the one command line for both servers)
run() {
  "${CLI[@]}" redis-benchmark -p "$1" -t ping,set,get -n "$3" -c 50 -P "$2" -q 2>/dev/null | tr '\r' '\n' |
    awk '/requests per second/ { t = tolower($1); sub(":", "", t); print t, $2 }'
}

# cpu_ns PID: the CPU time the process has used so far, all its threads,
# user and kernel, in ns (schedstat's first field).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f", t }'; }
# serve NAME PORT PID P N: run the tests against one server; NAME.rps gets
# its "test rps" lines, NAME.cpu the server's CPU time in that run, in ns.
serve() {
  local c0; c0=$(cpu_ns "$3")
  run "$2" "$4" "$5" >"$TMP/$1.rps"
  echo $(( $(cpu_ns "$3") - c0 )) >"$TMP/$1.cpu"
}

# Requests/s depends on the client as much as on the server: on two cores
# redis-benchmark fills its own and is the bottleneck, and the rate moves
# with whatever else the machine runs. What the server controls is the CPU
# it spends per request, which is measured beside it (redis_cpu_pP: us per
# request over the whole run of four tests, from /proc).
echo "# redis-benchmark -c 50 -t ping,set,get -q, $ROUNDS round(s) AB BA ..., $PIN"
echo "# columns: test round mini_redis redis-server (requests/s; redis_cpu_*: server CPU us per request)"
for P in 16 1; do
  n=$N16; [ $P = 1 ] && n=$N1
  for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then
      serve mini "$MPORT" "$MPID" $P $n; serve redis "$RPORT" "$RPID" $P $n
    else
      serve redis "$RPORT" "$RPID" $P $n; serve mini "$MPORT" "$MPID" $P $n
    fi
    { paste -d' ' "$TMP/mini.rps" "$TMP/redis.rps" |
        awk -v p=$P -v r=$r '$1 == $3 { printf "redis_%s_p%s %d %.0f %.0f\n", $1, p, r, $2, $4 }'
      nreq=$(( n * $(wc -l <"$TMP/mini.rps") ))
      [ "$nreq" -gt 0 ] && awk -v p=$P -v r=$r -v n=$nreq -v a="$(cat "$TMP/mini.cpu")" -v b="$(cat "$TMP/redis.cpu")" \
        'BEGIN { printf "redis_cpu_p%s %d %.3f %.3f\n", p, r, a / n / 1000, b / n / 1000 }'
    } | tee -a "$TMP/all"
  done
done

# Median and spread over the rounds, per test and server.
echo "# median over $ROUNDS round(s), spread = half of (max - min) / median:"
echo "# test mini_redis spread redis-server spread ratio"
awk '
  function med(s,   v, n, i, j, t) {
    n = split(s, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    lo = v[1]; hi = v[n]
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  { if (!($1 in m)) order[++k] = $1; m[$1] = m[$1] " " $3; s[$1] = s[$1] " " $4 }
  END {
    for (i = 1; i <= k; i++) {
      t = order[i]
      a = med(m[t]); as = a > 0 ? 50 * (hi - lo) / a : 0
      b = med(s[t]); bs = b > 0 ? 50 * (hi - lo) / b : 0
      f = a > 100 ? "%.0f" : "%.3f"
      printf "# median %s " f " %.1f%% " f " %.1f%% %.2f\n", t, a, as, b, bs, (b > 0 ? a / b : 0)
    }
  }' "$TMP/all"
