#!/usr/bin/env bash
# Integration test: examples/mini_redis.c driven by real Redis clients.
#   tests/it_redis.sh BUILD_DIR     (uses BUILD_DIR/ex_mini_redis_gcc, built by
#                                    tests/run.sh; builds one more copy itself,
#                                    BUILD_DIR/ex_mini_redis_san, under ASan+UBSan)
# redis-cli runs every supported command; python3 clients send pipelined
# batches, malformed RESP, oversized bulks, one byte a second, reset
# mid-reply, hold 10,000 connections (memory and idle CPU reported), and
# see a graceful shutdown. Edge cases (CR/LF in echoed names, -0, expire
# times at Redis' limits, embedded NULs, empty values, the --max-query cap)
# run against the sanitizer copy, which must log no report and exit 0.
# Where redis-server is installed (CI installs it), the same edge cases run
# against a real redis-server too: the expected answers are Redis' own.
# Nothing here depends on the machine's speed: TTLs are checked against the
# time that really passed, and waits are for events, bounded generously.
# Loopback only. Ends with "N passed, N failed".
set -u
B=${1:-build/test}
BIN=$B/ex_mini_redis_gcc
SAN=$B/ex_mini_redis_san
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
fail() { f=$((f + 1)); echo "FAIL $1"; [ $# -gt 1 ] && echo "$2" | sed 's/^/    /' | head -n 20; }
finish() { echo "$p passed, $f failed"; [ $f = 0 ]; exit $?; }

if { ! command -v redis-cli || ! command -v redis-server; } >/dev/null 2>&1 &&
   [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing redis-tools redis-server ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools redis-server) >/dev/null 2>&1
fi
if ! command -v redis-cli >/dev/null 2>&1; then
  fail "redis-cli missing: run  apt-get install -y redis-tools"; finish
fi
command -v python3 >/dev/null 2>&1 || { fail "python3 missing"; finish; }
[ -x "$BIN" ] || { fail "$BIN not built"; finish; }
here=$(cd "$(dirname "$0")" && pwd)
if nice gcc -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
     "$here/../examples/mini_redis.c" -o "$SAN" -lpthread >"$B/ex_mini_redis_san.log" 2>&1; then
  ok "mini_redis builds under ASan+UBSan"
else fail "mini_redis builds under ASan+UBSan" "$(cat "$B/ex_mini_redis_san.log")"; fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_ready LOG PID: until the server logs that it listens (bound: 60 s)
wait_ready() {
  local _
  for _ in $(seq 1 600); do
    grep -q 'ready on' "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
now_ns() { date +%s%N; }

# Enough fds for 10,000 connections, in this shell and what it starts.
hard=$(ulimit -Hn)
want=20000; [ "$hard" != unlimited ] && [ "$hard" -lt $want ] && want=$hard
ulimit -n "$want" 2>/dev/null

SPID= SPID2= SPID3= RPID=
TMPS=()
cleanup() {
  local x
  for x in $SPID $SPID2 $SPID3 $RPID; do kill -9 "$x" 2>/dev/null; done
  rm -f "${TMPS[@]}"
}
trap cleanup EXIT

PORT=$(free_port)
LOG=$(mktemp); TMPS+=("$LOG")
"$BIN" --port "$PORT" >"$LOG" 2>&1 &
SPID=$!
wait_ready "$LOG" "$SPID" || { fail "server did not start" "$(cat "$LOG")"; finish; }
R() { timeout 30 redis-cli -p "$PORT" "$@" 2>&1; }

# A real redis-server to compare with, when there is one.
RPORT=
if command -v redis-server >/dev/null 2>&1; then
  RPORT=$(free_port)
  RLOG=$(mktemp); TMPS+=("$RLOG")
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$RLOG" 2>&1 &
  RPID=$!
  for _ in $(seq 1 600); do
    [ "$(timeout 30 redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] && break
    kill -0 "$RPID" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$(timeout 30 redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ]; then
    echo "comparing with $(redis-server --version | cut -d' ' -f1-3) on port $RPORT"
  else
    fail "redis-server did not start" "$(tail -n 5 "$RLOG")"; RPORT=
  fi
else
  echo "SKIP the comparison with a real redis-server: not installed (apt-get install -y redis-server)"
fi

# expect NAME WANT CMD...: redis-cli's output (raw, lines joined by |)
expect() {
  local name=$1 want=$2; shift 2
  local got
  got=$(R "$@" | tr '\n' '|' | sed 's/|*$//')
  if [ "$got" = "$want" ]; then ok "$name"; else fail "$name" "want [$want] got [$got]"; fi
}
# compat NAME WANT CMD...: as expect, and redis-server answers WANT too
compat() {
  local name=$1 want=$2; shift 2
  local got
  expect "$name" "$want" "$@"
  [ -n "$RPORT" ] || return 0
  got=$(timeout 30 redis-cli -p "$RPORT" "$@" 2>&1 | tr '\n' '|' | sed 's/|*$//')
  if [ "$got" = "$want" ]; then ok "$name (redis-server agrees)"
  else fail "$name (redis-server)" "want [$want] got [$got]"; fi
}
# both CMD...: run on both servers, output ignored (setup)
both() {
  R "$@" >/dev/null
  [ -z "$RPORT" ] || timeout 30 redis-cli -p "$RPORT" "$@" >/dev/null 2>&1
}
# in_ttl NAME WANT_S T0 PORT KEY [pttl]: the TTL of a key set to WANT_S seconds
# at T0 (now_ns taken before the SET) is what the time since then allows: at
# most WANT_S, at least WANT_S minus the whole seconds that passed (rounded
# up); once that reaches 0 the key may be gone (-2) too. So a TTL of 100 s
# must read 1..100 within 99 s, however slow the machine.
in_ttl() {
  local name=$1 want=$2 t0=$3 port=$4 key=$5 unit=${6:-ttl}
  local got el lo hi=$want
  got=$(timeout 30 redis-cli -p "$port" "$unit" "$key" 2>&1)
  el=$(( ($(now_ns) - t0 + 999999999) / 1000000000 ))
  lo=$(( want - el ))
  if [ "$unit" = pttl ]; then lo=$(( want - el * 1000 )); fi
  if [[ "$got" =~ ^-?[0-9]+$ ]] && { [ "$got" -ge "$lo" ] && [ "$got" -le "$hi" ] && [ "$got" -ge 0 ] ||
                                     { [ "$lo" -le 0 ] && [ "$got" = -2 ]; }; }; then
    ok "$name ($got after ${el}s at most)"
  else fail "$name" "want $lo..$hi after ${el}s at most, got [$got]"; fi
}
# ttl_both NAME WANT_S T0 KEY [pttl]: in_ttl on mini_redis and redis-server
ttl_both() {
  in_ttl "$1" "$2" "$3" "$PORT" "$4" "${5:-ttl}"
  [ -z "$RPORT" ] || in_ttl "$1 (redis-server agrees)" "$2" "$3" "$RPORT" "$4" "${5:-ttl}"
}

# ---- edge cases: run on the sanitizer copy, each compared with redis-server --
edge_cases() {
  # ---- integers as Redis reads them, expire times at Redis' limits -------------
  NOT_INT="ERR value is not an integer or out of range"
  BAD_EXP="ERR invalid expire time in 'expire' command"
  BAD_SET="ERR invalid expire time in 'set' command"
  both set ik v
  compat "EXPIRE -0 is not an integer" "$NOT_INT" expire ik -0
  compat "SET EX -0 is not an integer" "$NOT_INT" set ik v ex -0
  compat "SET PX -0 is not an integer" "$NOT_INT" set ik v px -0
  compat "EXPIRE 007 is not an integer" "$NOT_INT" expire ik 007
  compat "EXPIRE +5 is not an integer" "$NOT_INT" expire ik +5
  compat "EXPIRE past LLONG_MAX is not an integer" "$NOT_INT" expire ik 9223372036854775808
  both set iz -0
  compat "INCR of -0 is not an integer" "$NOT_INT" incr iz
  compat "EXPIRE LLONG_MIN is refused" "$BAD_EXP" expire ik -9223372036854775808
  compat "EXPIRE below LLONG_MIN/1000 is refused" "$BAD_EXP" expire ik -9223372036854776
  compat "EXPIRE LLONG_MAX is refused" "$BAD_EXP" expire ik 9223372036854775807
  compat "EXPIRE whose deadline in ms overflows is refused" "$BAD_EXP" expire ik 9223372036854774
  compat "the refused EXPIREs left the key" "v" get ik
  t0=$(now_ns)
  compat "EXPIRE of 292,000 years" "1" expire ik 9223372036854
  ttl_both "its TTL" 9223372036854 "$t0" ik
  compat "EXPIRE LLONG_MIN/1000 deletes" "1" expire ik -9223372036854775
  compat "so the key is gone" "0" exists ik
  compat "SET EX whose ms overflow is refused" "$BAD_SET" set ik v ex 9223372036854776
  compat "SET EX whose deadline overflows is refused" "$BAD_SET" set ik v ex 9223372036854775
  compat "SET PX LLONG_MAX is refused" "$BAD_SET" set ik v px 9223372036854775807
  compat "SET EX -1 is refused" "$BAD_SET" set ik v ex -1
  t0=$(now_ns)
  compat "SET EX 9223372036854 (past the ns clock's range)" "OK" set ik v ex 9223372036854
  ttl_both "its TTL" 9223372036854 "$t0" ik
  ttl_both "its PTTL" 9223372036854000 "$t0" ik pttl
  compat "the key is there" "v" get ik
  t0=$(now_ns)
  compat "SET PX 9223372036852775 (past the ns clock's range)" "OK" set ik v px 9223372036852775
  ttl_both "its PTTL" 9223372036852775 "$t0" ik pttl
  t0=$(now_ns)
  compat "SET EX 18446744074 (2^64 ns and a bit)" "OK" set ik2 v ex 18446744074
  ttl_both "its TTL" 18446744074 "$t0" ik2
  compat "KEEPTTL keeps a far deadline" "OK" set ik2 w keepttl
  ttl_both "its TTL after KEEPTTL" 18446744074 "$t0" ik2
  compat "SET without KEEPTTL clears it" "OK" set ik2 w
  compat "so no TTL" "-1" ttl ik2

  # ---- empty values (memcpy of 0 bytes from no buffer) -------------------------
  compat "SET an empty value" "OK" set ek ""
  compat "GET an empty value" "" get ek
  compat "STRLEN-free check: EXISTS" "1" exists ek
  compat "ECHO an empty string" "" echo ""
}

# ---- every command ----------------------------------------------------------
expect "PING" "PONG" ping
expect "PING msg" "hello" ping hello
expect "ECHO" "hi there" echo "hi there"
expect "SET" "OK" set k1 v1
expect "GET" "v1" get k1
expect "GET missing is nil" "" get nosuchkey
expect "SET NX on existing is nil" "" set k1 other nx
expect "SET NX on new" "OK" set k2 v2 nx
expect "SET XX on existing" "OK" set k1 v1b xx
expect "SET XX on missing is nil" "" set k3 v3 xx
expect "GET after XX" "v1b" get k1
expect "SET NX XX is a syntax error" "ERR syntax error" set k1 x nx xx
t0=$(now_ns)
expect "SET EX" "OK" set t1 v ex 100
in_ttl "TTL" 100 "$t0" "$PORT" t1
t0=$(now_ns)
expect "SET PX" "OK" set t2 v px 100000
in_ttl "TTL of PX" 100 "$t0" "$PORT" t2
in_ttl "PTTL of PX" 100000 "$t0" "$PORT" t2 pttl
expect "SET EX 0 is an error" "ERR invalid expire time in 'set' command" set t3 v ex 0
expect "SET EX not a number" "ERR value is not an integer or out of range" set t3 v ex abc
expect "SET clears the TTL" "OK" set t2 v
expect "TTL without expiry is -1" "-1" ttl t2
expect "TTL missing is -2" "-2" ttl nosuchkey
t0=$(now_ns)
expect "EXPIRE" "1" expire k2 50
in_ttl "TTL after EXPIRE" 50 "$t0" "$PORT" k2
expect "EXPIRE missing" "0" expire nosuchkey 5
expect "EXISTS counts" "2" exists k1 k2 nosuchkey
expect "DEL counts" "2" del k1 k2 nosuchkey
expect "EXISTS after DEL" "0" exists k1 k2
expect "INCR new" "1" incr counter
expect "INCR" "2" incr counter
expect "DECR" "1" decr counter
expect "DECR below zero" "-1" decr newcounter
t0=$(now_ns)
expect "INCR keeps the TTL" "OK" set c2 41 ex 100
expect "INCR under TTL" "42" incr c2
in_ttl "TTL after INCR" 100 "$t0" "$PORT" c2
expect "INCR not a number" "ERR value is not an integer or out of range" incr t1
R set big 9223372036854775807 >/dev/null
expect "INCR overflow" "ERR increment or decrement would overflow" incr big
expect "EXPIRE 0 deletes" "1" expire c2 0
expect "GET after EXPIRE 0" "" get c2
expect "unknown command" "ERR unknown command 'nope', with args beginning with: 'a' " nope a
expect "wrong arity" "ERR wrong number of arguments for 'get' command" get
expect "lower case works" "PONG" PiNg
# Expiry by the timer wheel: PX 100, then gone without anyone asking.
R set short v px 100 >/dev/null
R set short2 v px 100 >/dev/null
sleep 0.3
expect "PX expires" "" get short
expect "expired key is gone (EXISTS)" "0" exists short2


# ---- python3 clients ----------------------------------------------------------
PY=$(mktemp --suffix=.py); TMPS+=("$PY")
cat >"$PY" <<'PYEOF'
import os, socket, sys, time, threading, resource, selectors
port = int(sys.argv[2]); pid = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else 0
what = sys.argv[1]
T = 30  # a bound on any one wait: generous, never a measure of speed

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=T)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

def read_until(s, n):
    buf = bytearray()
    while len(buf) < n:
        d = s.recv(1 << 20)
        if not d: break
        buf += d
    return bytes(buf)

def read_to_eof(s):
    buf = bytearray()
    try:
        while True:
            d = s.recv(1 << 16)
            if not d: return bytes(buf), True
            buf += d
    except OSError:
        return bytes(buf), False

def ping_ok():
    s = conn(); s.sendall(cmd("PING")); r = s.recv(100); s.close()
    return r == b"+PONG\r\n"

def check(cond, msg):
    if not cond:
        print("FAILED:", msg); sys.exit(1)

def exchange(req, want, closes=False):
    """Send req; the replies must be exactly want (then EOF if closes)."""
    s = conn()
    s.sendall(req)
    if closes:
        got, eof = read_to_eof(s)
        check(got == want and eof, "%r\n  -> %r (eof %s)\n  want %r" % (req[:80], got, eof, want))
    else:
        got = read_until(s, len(want))
        check(got == want, "%r\n  -> %r\n  want %r" % (req[:80], got, want))
    s.close()

UNK = b"-ERR unknown command '%s', with args beginning with: %s\r\n"

if what == "inject":
    # Client bytes echoed in an error never carry CR or LF: Redis makes them
    # spaces. Each request is followed by PING, whose reply must come next.
    exchange(cmd("nope", b"a\rb", b"c\r\nd") + cmd("PING"),
             UNK % (b"nope", b"'a b' 'c  d' ") + b"+PONG\r\n")
    exchange(cmd(b"x\r\n:1\r\nyy", "a") + cmd("PING"),
             UNK % (b"x  :1  yy", b"'a' ") + b"+PONG\r\n")
    exchange(cmd(b"\r\n", b"\n", b"\r") + cmd("PING"),
             UNK % (b"  ", b"' ' ' ' ") + b"+PONG\r\n")
    exchange(cmd("") + cmd("PING"), UNK % (b"", b"") + b"+PONG\r\n")
    # Long names and arguments are cut as Redis cuts them (128 bytes).
    exchange(cmd("n" * 200, "a") + cmd("PING"), UNK % (b"n" * 128, b"'a' ") + b"+PONG\r\n")
    exchange(cmd("nope", "a" * 100, "b" * 100, "c") + cmd("PING"),
             UNK % (b"nope", b"'" + b"a" * 100 + b"' '" + b"b" * 25 + b"' ") + b"+PONG\r\n")
    # The name stops at a NUL, as Redis prints it; EXPIRE\0\0 is not EXPIRE.
    exchange(cmd(b"EXPIRE\0\0", "k") + cmd("PING"), UNK % (b"EXPIRE", b"'k' ") + b"+PONG\r\n")
    exchange(cmd(b"GET\0x", "k") + cmd("PING"), UNK % (b"GET", b"'k' ") + b"+PONG\r\n")
    exchange(cmd(b"PIN", "k") + cmd(b"PINGG") + cmd("PING"),
             UNK % (b"PIN", b"'k' ") + UNK % (b"PINGG", b"") + b"+PONG\r\n")
    print("CR/LF in echoed names and arguments became spaces; NULs end the name")

elif what == "protoints":
    exchange(b"*-0\r\n" + cmd("PING"), b"-ERR Protocol error: invalid multibulk length\r\n", closes=True)
    exchange(b"*01\r\n" + cmd("PING"), b"-ERR Protocol error: invalid multibulk length\r\n", closes=True)
    exchange(b"*1\r\n$-0\r\n", b"-ERR Protocol error: invalid bulk length\r\n", closes=True)
    exchange(b"*1\r\n$04\r\nPING\r\n", b"-ERR Protocol error: invalid bulk length\r\n", closes=True)
    exchange(b"*1\r\n$-1\r\n", b"-ERR Protocol error: invalid bulk length\r\n", closes=True)
    exchange(b"*-1\r\n*0\r\n*-5\r\n" + cmd("PING"), b"+PONG\r\n")
    print("*-0, *01, $-0, $04, $-1 refused as Redis refuses them; *-1, *0 are empty commands")

elif what == "cap":
    cap = int(sys.argv[4])
    # Complete commands larger than the cap, and a pipeline of many, pass:
    # the cap is on one unfinished command held between reads.
    v = b"v" * (3 * cap)
    exchange(cmd("SET", "capk", v) + cmd("GET", "capk"), b"+OK\r\n$%d\r\n%s\r\n" % (len(v), v))
    exchange(cmd("PING") * 1000, b"+PONG\r\n" * 1000)
    # An unfinished one past the cap: an error, then the connection closes.
    s = conn()
    s.sendall(b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % (100 * cap))
    sent = 0
    try:
        while sent < 10 * cap:
            s.sendall(b"x" * 100); sent += 100
            time.sleep(0.001)
    except OSError: pass
    got, eof = read_to_eof(s)
    check(got == b"-ERR query buffer limit reached (--max-query)\r\n" and eof,
          "unfinished command past the cap -> %r (eof %s)" % (got[:100], eof))
    # An inline line without its newline is held too.
    s = conn()
    try:
        for _ in range(20): s.sendall(b"P" * cap)
    except OSError: pass
    got, eof = read_to_eof(s)
    check(got == b"-ERR query buffer limit reached (--max-query)\r\n" and eof,
          "unfinished inline line past the cap -> %r (eof %s)" % (got[:100], eof))
    check(ping_ok(), "others are served")
    print("--max-query %d: an unfinished command past it gets an error and is closed; "
          "complete ones of any size pass" % cap)

elif what == "pipeline":
    s = conn()
    n = 10000
    req = b"".join(cmd("SET", "pk%d" % i, "val%d" % i) for i in range(n))
    req += b"".join(cmd("GET", "pk%d" % i) for i in range(n))
    req += b"PING\r\n" * 100  # inline commands, pipelined too
    s.sendall(req)
    want = b"+OK\r\n" * n + b"".join(b"$%d\r\nval%d\r\n" % (len(b"val%d" % i), i) for i in range(n)) + b"+PONG\r\n" * 100
    got = read_until(s, len(want))
    check(got == want, "pipelined replies differ (%d vs %d bytes)" % (len(got), len(want)))
    print("20100 pipelined replies in order")

elif what == "malformed":
    cases = [(b"*1\r\n$x\r\n", b"-ERR Protocol error: invalid bulk length"),
             (b"*1\r\n+PING\r\n", b"-ERR Protocol error: expected '$', got '+'"),
             (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length"),
             (b"*99999999\r\n", b"-ERR Protocol error: invalid multibulk length"),
             (b"*2\r\n$3\r\nGET\r\n$999999999\r\n", b"-ERR Protocol error: invalid bulk length"),
             (b"*1\r\n$4\r\nPINGxx\r\n", b"-ERR Protocol error: bulk string not followed by CRLF"),
             (b"A" * 70000, b"-ERR Protocol error: too big inline request")]
    for req, want in cases:
        s = conn()
        try: s.sendall(req)
        except OSError: pass
        got, _ = read_to_eof(s)
        check(got.startswith(want), "%r -> %r" % (req[:30], got))
        s.close()
    check(ping_ok(), "server still answers")
    # A big bulk within the limit (4 MiB) round-trips.
    s = conn(); v = os.urandom(4 << 20).hex()[: 4 << 20].encode()
    s.sendall(cmd("SET", "bigv", v) + cmd("GET", "bigv"))
    want = b"+OK\r\n" + b"$%d\r\n" % len(v) + v + b"\r\n"
    got = read_until(s, len(want)); check(got == want, "4 MiB value round trip")
    print("7 malformed requests answered with errors and closed; 4 MiB bulk ok")

elif what == "slow":
    # A client stops mid-command; another is served meanwhile. No clock is
    # involved: the slow client sends its last byte only after the fast one
    # got all its replies, so they can only have come while it was unfinished.
    slow = conn(); done = []; fast_done = threading.Event()
    def trickle():
        req = cmd("ECHO", "slow")
        for i, b in enumerate(req[:-1]):
            slow.sendall(bytes([b])); time.sleep(1.0 if i < 3 else 0.05)
        fast_done.wait(120)
        slow.sendall(req[-1:])
        done.append(read_until(slow, 10))
    t = threading.Thread(target=trickle); t.start()
    time.sleep(0.5)
    s = conn(); t0 = time.time()
    for i in range(2000):
        s.sendall(cmd("PING")); check(s.recv(100) == b"+PONG\r\n", "ping reply")
    dt = time.time() - t0
    fast_done.set()
    t.join()
    check(done == [b"$4\r\nslow\r\n"], "slow client's reply: %r" % done)
    print("2000 round trips (%.3f s) while another client's command was unfinished" % dt)

elif what == "reset":
    s = conn(); v = b"x" * (1 << 20)
    s.sendall(cmd("SET", "rv", v)); check(s.recv(100) == b"+OK\r\n", "set")
    for k in range(5):
        r = conn()
        r.sendall(cmd("GET", "rv") * 64)  # 64 MiB of replies
        r.recv(1000)
        r.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        r.close()  # RST while the server is mid-reply
    time.sleep(0.2)
    check(ping_ok(), "server still answers after resets")
    os.kill(pid, 0)
    print("5 peers reset mid-reply; the server lives on")

elif what == "many":
    n = 10000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    def rss(field):
        for line in open("/proc/%d/status" % pid):
            if line.startswith(field): return int(line.split()[1]) * 1024
    def cpu():
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    check(ping_ok(), "ping"); before = rss("VmRSS:")
    socks = []
    t0 = time.time()
    for i in range(n):
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=T))
    # Every one of them is served.
    for s in socks: s.sendall(b"*1\r\n$4\r\nPING\r\n")
    for s in socks: check(s.recv(100) == b"+PONG\r\n", "pong on every connection")
    t1 = time.time()
    time.sleep(0.3)
    after = rss("VmRSS:"); peak = rss("VmHWM:")
    per = (after - before) / n
    c0 = cpu(); time.sleep(1.0); c1 = cpu()
    print("10000 connections open and answered in %.2f s; server RSS %.1f MiB -> %.1f MiB "
          "(peak %.1f MiB): %.0f bytes per idle connection; idle CPU over 1 s: %d ticks"
          % (t1 - t0, before / 2**20, after / 2**20, peak / 2**20, per, c1 - c0))
    check(per < 1024, "%.0f bytes per connection (want < 1024)" % per)
    check(c1 - c0 <= 2, "idle server used %d clock ticks in 1 s" % (c1 - c0))
    for s in socks: s.close()
    time.sleep(0.3)
    check(ping_ok(), "ping after the crowd left")

elif what == "shutdown":
    idle = [conn() for _ in range(20)]
    busy = conn(); v = b"y" * (1 << 20)
    busy.sendall(cmd("SET", "sv", v)); check(busy.recv(100) == b"+OK\r\n", "set")
    busy.sendall(cmd("GET", "sv") * 40)  # 40 MiB of replies, not read yet
    one = b"$%d\r\n" % len(v) + v + b"\r\n"
    # The first bytes of the replies show the server has read the requests:
    # it is busy with them when the signal comes (no sleep decides that).
    first = read_until(busy, 1)
    os.kill(pid, 15)
    for s in idle:  # idle connections are closed
        s.settimeout(T); check(s.recv(10) == b"", "idle connection closed")
    # The server was started with a grace period far longer than this takes,
    # so all 40 MiB come, however slowly, then the end of the stream.
    got = first + read_until(busy, 40 * len(one) - len(first))
    check(got == one * 40, "in-flight replies finished: got %d of %d bytes" % (len(got), 40 * len(one)))
    check(busy.recv(10) == b"", "busy connection closed after its replies")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=T).close()
        check(False, "still accepting after SIGTERM")
    except OSError: pass
    print("SIGTERM: 20 idle connections closed, 40 MiB of in-flight replies delivered, no new connections")

elif what == "deadline":
    # A client that stops reading its replies holds its connection past
    # --grace-ms: the server aborts it then (never before) and exits.
    grace = int(sys.argv[4]) / 1000.0
    def gone():  # exited (a zombie until the shell reaps it), or no more
        try: return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError: return True
    idle = conn(); check(ping_ok(), "ping")
    busy = conn(); v = b"y" * (1 << 20)
    busy.sendall(cmd("SET", "sv", v)); check(busy.recv(100) == b"+OK\r\n", "set")
    busy.sendall(cmd("GET", "sv") * 40)  # 40 MiB of replies, read no further
    first = read_until(busy, 1)
    t0 = time.time()
    os.kill(pid, 15)
    idle.settimeout(T); check(idle.recv(10) == b"", "idle connection closed")
    end = t0 + T
    while not gone() and time.time() < end: time.sleep(0.02)
    dt = time.time() - t0
    check(gone(), "the server still runs %.0f s after SIGTERM" % dt)
    check(dt >= grace, "the server exited after %.3f s, before the %.3f s grace" % (dt, grace))
    got, _ = read_to_eof(busy)  # only now: reading earlier would unstick it
    check(len(first) + len(got) < 40 * (len(v) + 12), "the stuck client got all its replies")
    print("SIGTERM: a client not reading its replies aborted at the deadline; exit after %.3f s "
          "(--grace-ms %d)" % (dt, int(grace * 1000)))
PYEOF

pyrun() { # pyrun NAME WHAT [PORT [ARG]]: run a python3 scenario against a server
  local out
  if out=$(timeout 300 python3 "$PY" "$2" "${3:-$PORT}" "$SPID" ${4:+"$4"} 2>&1); then ok "$1: $(echo "$out" | tail -n 1)"
  else fail "$1" "$out"; fi
}
# pyboth NAME WHAT: on the sanitizer copy of mini_redis, and on redis-server
pyboth() {
  pyrun "$1" "$2" "$SPORT"
  [ -z "$RPORT" ] || pyrun "$1 (redis-server agrees)" "$2" "$RPORT"
}

pyrun "pipelined batch" pipeline
got=$( (for i in $(seq 1 1000); do printf 'SET pipe%d %d\r\n' "$i" "$i"; done) | timeout 60 redis-cli -p "$PORT" --pipe 2>&1 | tail -n 1)
case "$got" in *"errors: 0, replies: 1000"*) ok "redis-cli --pipe: $got";; *) fail "redis-cli --pipe" "$got";; esac
pyrun "malformed and oversized input" malformed
pyrun "one byte a second does not slow the others" slow
pyrun "peer resets mid-reply" reset
pyrun "10,000 concurrent connections" many
if kill -0 "$SPID" 2>/dev/null; then ok "server alive after all that"; else fail "server died" "$(tail -n 5 "$LOG")"; fi
kill -TERM "$SPID"
wait "$SPID"; rc=$?
SPID=
if [ $rc = 0 ]; then ok "SIGTERM on an idle server: exit 0"; else fail "SIGTERM exit code $rc" "$(tail -n 5 "$LOG")"; fi

# ---- edge cases on the sanitizer copy (and on redis-server) ------------------
if [ -x "$SAN" ]; then
  SPORT=$(free_port)
  SLOG=$(mktemp); TMPS+=("$SLOG")
  "$SAN" --port "$SPORT" >"$SLOG" 2>&1 &
  SPID3=$!
  if wait_ready "$SLOG" "$SPID3"; then
    PORT=$SPORT
    edge_cases
    pyboth "reply injection" inject
    pyboth "integers in the protocol" protoints
    if kill -0 "$SPID3" 2>/dev/null; then ok "sanitizer copy alive after the edge cases"
    else fail "sanitizer copy died" "$(grep -A12 -m1 'runtime error\|ERROR: AddressSanitizer' "$SLOG")"; fi
    kill -TERM "$SPID3" 2>/dev/null
    wait "$SPID3"; rc=$?
    SPID3=
    if [ $rc = 0 ] && ! grep -q 'runtime error\|Sanitizer' "$SLOG"; then ok "sanitizer copy: no report, exit 0"
    else fail "sanitizer copy: exit $rc" "$(grep -A12 -m1 'runtime error\|Sanitizer' "$SLOG")"; fi
  else fail "sanitizer copy did not start" "$(cat "$SLOG")"; fi
fi

# ---- the query buffer cap: --max-query, small, on a fresh server -------------
PORT=$(free_port)
"$BIN" --port "$PORT" --max-query 1000 >"$LOG" 2>&1 &
SPID=$!
if wait_ready "$LOG" "$SPID"; then
  pyrun "query buffer cap" cap "$PORT" 1000
  kill -TERM "$SPID"; wait "$SPID"; SPID=
else fail "--max-query 1000 refused" "$(cat "$LOG")"; fi
for bad in 0 -5 12x 99999999999999999999999; do
  if timeout 10 "$BIN" --port 0 --max-query "$bad" >"$LOG" 2>&1; then fail "--max-query $bad accepted"
  else ok "--max-query $bad refused: $(head -n 1 "$LOG")"; fi
done

# ---- graceful shutdown with clients connected, on a fresh server -------------
# The grace period is made longer than any run could take: the check waits for
# the replies to be complete, never races the server's timer.
PORT=$(free_port)
"$BIN" --port "$PORT" --grace-ms 600000 >"$LOG" 2>&1 &
SPID2=$!
wait_ready "$LOG" "$SPID2" || fail "server did not start" "$(cat "$LOG")"
if out=$(timeout 300 python3 "$PY" shutdown "$PORT" "$SPID2" 2>&1); then ok "shutdown: $(echo "$out" | tail -n 1)"
else fail "shutdown with clients connected" "$out"; fi
wait "$SPID2"; rc=$?
SPID2=
if [ $rc = 0 ]; then ok "shutdown with clients connected: exit 0"; else fail "shutdown exit code $rc" "$(cat "$LOG")"; fi
if grep -q 'shutting down (21 connections open)' "$LOG"; then ok "shutdown: the count of open connections is logged"
else fail "shutdown: no count of 21 open connections" "$(cat "$LOG")"; fi

# ---- the grace deadline: a client that does not read is aborted --------------
PORT=$(free_port)
"$BIN" --port "$PORT" --grace-ms 1000 >"$LOG" 2>&1 &
SPID2=$!
if wait_ready "$LOG" "$SPID2"; then
  if out=$(timeout 300 python3 "$PY" deadline "$PORT" "$SPID2" 1000 2>&1); then ok "deadline: $(echo "$out" | tail -n 1)"
  else fail "shutdown deadline" "$out"; fi
  for _ in $(seq 1 200); do kill -0 "$SPID2" 2>/dev/null && [ "$(cut -d' ' -f3 /proc/$SPID2/stat 2>/dev/null)" != Z ] || break; sleep 0.1; done
  kill -9 "$SPID2" 2>/dev/null
  wait "$SPID2"; rc=$?
  SPID2=
  if [ $rc = 0 ]; then ok "shutdown deadline: exit 0"; else fail "shutdown deadline: exit code $rc" "$(cat "$LOG")"; fi
else fail "server did not start" "$(cat "$LOG")"; fi
if [ -n "$RPID" ]; then kill -TERM "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; RPID=; fi
finish
