#!/usr/bin/env bash
# Integration test: examples/mini_redis.c driven by real Redis clients.
#   tests/it_redis.sh BUILD_DIR     (uses BUILD_DIR/ex_mini_redis_gcc, built by
#                                    tests/run.sh; builds nothing itself)
# redis-cli runs every supported command; python3 clients send pipelined
# batches, malformed RESP, oversized bulks, one byte a second, reset
# mid-reply, hold 10,000 connections (memory and idle CPU reported), and
# see a graceful shutdown. Loopback only. Ends with "N passed, N failed".
set -u
B=${1:-build/test}
BIN=$B/ex_mini_redis_gcc
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
fail() { f=$((f + 1)); echo "FAIL $1"; [ $# -gt 1 ] && echo "$2" | sed 's/^/    /' | head -n 20; }
finish() { echo "$p passed, $f failed"; [ $f = 0 ]; exit $?; }

if ! command -v redis-cli >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing redis-tools ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools) >/dev/null 2>&1
fi
if ! command -v redis-cli >/dev/null 2>&1; then
  fail "redis-cli missing: run  apt-get install -y redis-tools"; finish
fi
command -v python3 >/dev/null 2>&1 || { fail "python3 missing"; finish; }
[ -x "$BIN" ] || { fail "$BIN not built"; finish; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Enough fds for 10,000 connections, in this shell and what it starts.
hard=$(ulimit -Hn)
want=20000; [ "$hard" != unlimited ] && [ "$hard" -lt $want ] && want=$hard
ulimit -n "$want" 2>/dev/null

SPID= SPID2=
cleanup() {
  [ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
  [ -n "$SPID2" ] && kill -9 "$SPID2" 2>/dev/null
}
trap cleanup EXIT

PORT=$(free_port)
LOG=$(mktemp)
"$BIN" --port "$PORT" >"$LOG" 2>&1 &
SPID=$!
for _ in $(seq 1 100); do
  [ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && break
  sleep 0.05
done
R() { timeout 10 redis-cli -p "$PORT" "$@" 2>&1; }

# expect NAME WANT CMD...: redis-cli's output (raw, lines joined by |)
expect() {
  local name=$1 want=$2; shift 2
  local got
  got=$(R "$@" | tr '\n' '|' | sed 's/|*$//')
  if [ "$got" = "$want" ]; then ok "$name"; else fail "$name" "want [$want] got [$got]"; fi
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
expect "SET EX" "OK" set t1 v ex 100
expect "TTL" "100" ttl t1
expect "SET PX" "OK" set t2 v px 100000
expect "TTL of PX" "100" ttl t2
expect "SET EX 0 is an error" "ERR invalid expire time in 'set' command" set t3 v ex 0
expect "SET EX not a number" "ERR value is not an integer or out of range" set t3 v ex abc
expect "SET clears the TTL" "OK" set t2 v
expect "TTL without expiry is -1" "-1" ttl t2
expect "TTL missing is -2" "-2" ttl nosuchkey
expect "EXPIRE" "1" expire k2 50
expect "TTL after EXPIRE" "50" ttl k2
expect "EXPIRE missing" "0" expire nosuchkey 5
expect "EXISTS counts" "2" exists k1 k2 nosuchkey
expect "DEL counts" "2" del k1 k2 nosuchkey
expect "EXISTS after DEL" "0" exists k1 k2
expect "INCR new" "1" incr counter
expect "INCR" "2" incr counter
expect "DECR" "1" decr counter
expect "DECR below zero" "-1" decr newcounter
expect "INCR keeps the TTL" "OK" set c2 41 ex 100
expect "INCR under TTL" "42" incr c2
expect "TTL after INCR" "100" ttl c2
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
PY=$(mktemp --suffix=.py)
cat >"$PY" <<'EOF'
import os, socket, sys, time, threading, resource, selectors
port = int(sys.argv[2]); pid = int(sys.argv[3]) if len(sys.argv) > 3 else 0
what = sys.argv[1]

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

def read_until(s, n, pred=None):
    buf = b""
    while len(buf) < n:
        d = s.recv(1 << 20)
        if not d: break
        buf += d
    return buf

def ping_ok():
    s = conn(); s.sendall(cmd("PING")); r = s.recv(100); s.close()
    return r == b"+PONG\r\n"

def check(cond, msg):
    if not cond:
        print("FAILED:", msg); sys.exit(1)

if what == "pipeline":
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
        got = b""
        try:
            while True:
                d = s.recv(4096)
                if not d: break
                got += d
        except OSError: pass
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
    slow = conn(); done = []
    # one byte a second for the first 3 bytes, then 0.1 s per byte
    def trickle2():
        req = cmd("ECHO", "slow")
        for i, b in enumerate(req):
            slow.sendall(bytes([b])); time.sleep(1.0 if i < 3 else 0.05)
        done.append(slow.recv(100))
    t = threading.Thread(target=trickle2); t.start()
    time.sleep(0.5)
    s = conn(); t0 = time.time()
    for i in range(2000):
        s.sendall(cmd("PING")); check(s.recv(100) == b"+PONG\r\n", "ping reply")
    dt = time.time() - t0
    t.join()
    check(done == [b"$4\r\nslow\r\n"], "slow client's reply: %r" % done)
    check(dt < 2.0, "2000 round trips took %.2f s beside the slow client" % dt)
    print("2000 round trips in %.3f s while a client sent one byte a second" % dt)

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
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
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
    time.sleep(0.3)
    os.kill(pid, 15)
    time.sleep(0.2)
    for s in idle:  # idle connections are closed
        s.settimeout(5); check(s.recv(10) == b"", "idle connection closed")
    one = b"$%d\r\n" % len(v) + v + b"\r\n"
    got = read_until(busy, 40 * len(one))
    check(got == one * 40, "in-flight replies finished: got %d of %d bytes" % (len(got), 40 * len(one)))
    check(busy.recv(10) == b"", "busy connection closed after its replies")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        check(False, "still accepting after SIGTERM")
    except OSError: pass
    print("SIGTERM: 20 idle connections closed, 40 MiB of in-flight replies delivered, no new connections")
EOF

pyrun() { # pyrun NAME WHAT: run a python3 scenario against the server
  local out
  if out=$(timeout 60 python3 "$PY" "$2" "$PORT" "$SPID" 2>&1); then ok "$1: $(echo "$out" | tail -n 1)"
  else fail "$1" "$out"; fi
}
pyrun "pipelined batch" pipeline
got=$( (for i in $(seq 1 1000); do printf 'SET pipe%d %d\r\n' "$i" "$i"; done) | timeout 20 redis-cli -p "$PORT" --pipe 2>&1 | tail -n 1)
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

# ---- graceful shutdown with clients connected, on a fresh server -------------
PORT=$(free_port)
"$BIN" --port "$PORT" >"$LOG" 2>&1 &
SPID2=$!
for _ in $(seq 1 100); do
  [ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && break
  sleep 0.05
done
if out=$(timeout 60 python3 "$PY" shutdown "$PORT" "$SPID2" 2>&1); then ok "shutdown: $(echo "$out" | tail -n 1)"
else fail "shutdown with clients connected" "$out"; fi
wait "$SPID2"; rc=$?
SPID2=
if [ $rc = 0 ]; then ok "shutdown with clients connected: exit 0"; else fail "shutdown exit code $rc" "$(cat "$LOG")"; fi
rm -f "$PY" "$LOG"
finish
