#!/usr/bin/env bash
# mini_redis against redis-server under redis-benchmark, on loopback.
#   bench/redis_bench.sh MINI_REDIS_BINARY [--quick]
# Starts redis-server (persistence off) and mini_redis on free ports, runs
#   redis-benchmark -t ping,set,get -n 1000000 -c 50 -P 16 -q
#   redis-benchmark -t ping,set,get -n 200000  -c 50 -P 1  -q
# against each (--quick: -n 20000 for both), stops both, and prints one line
# per test: redis_<test>_p16 / _p1, mini_redis rps, redis-server rps, ratio.
# (-t ping runs two tests: ping_inline and ping_mbulk.)
set -u
MINI=${1:?usage: redis_bench.sh MINI_REDIS_BINARY [--quick]}
N16=1000000 N1=200000
[ "${2:-}" = --quick ] && N16=20000 N1=20000
for c in redis-server redis-benchmark redis-cli python3; do
  command -v $c >/dev/null 2>&1 || { echo "# missing $c: apt-get install -y redis-server redis-tools"; exit 1; }
done
[ -x "$MINI" ] || { echo "# $MINI is not built"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MPID= RPID=
cleanup() {
  [ -n "$MPID" ] && kill "$MPID" 2>/dev/null
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
  wait 2>/dev/null
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
"$MINI" --port "$MPORT" >/dev/null 2>&1 &
MPID=$!
RPORT=$(free_port)
redis-server --save '' --appendonly no --port "$RPORT" --bind 127.0.0.1 --daemonize no >/dev/null 2>&1 &
RPID=$!
wait_up "$MPORT"
wait_up "$RPORT"

# run PORT P N -> "test rps" lines
run() {
  redis-benchmark -p "$1" -t ping,set,get -n "$3" -c 50 -P "$2" -q 2>/dev/null | tr '\r' '\n' |
    awk '/requests per second/ { t = tolower($1); sub(":", "", t); print t, $2 }'
}

echo "# redis-benchmark -c 50 -t ping,set,get; columns: test mini_redis redis-server ratio"
for P in 16 1; do
  n=$N16; [ $P = 1 ] && n=$N1
  run "$MPORT" $P $n >"${TMPDIR:-/tmp}/rb_mini.$$"
  run "$RPORT" $P $n >"${TMPDIR:-/tmp}/rb_redis.$$"
  paste -d' ' "${TMPDIR:-/tmp}/rb_mini.$$" "${TMPDIR:-/tmp}/rb_redis.$$" |
    awk -v p=$P '$1 == $3 { printf "redis_%s_p%s %.0f %.0f %.2f\n", $1, p, $2, $4, ($4 > 0 ? $2 / $4 : 0) }'
  rm -f "${TMPDIR:-/tmp}/rb_mini.$$" "${TMPDIR:-/tmp}/rb_redis.$$"
done
