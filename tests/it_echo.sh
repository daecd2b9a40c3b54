#!/usr/bin/env bash
# Integration test: examples/echo.c driven by real TCP clients (python3).
#   tests/it_echo.sh BUILD_DIR     (builds BUILD_DIR/it_echo with run.sh's
#                                   flags, and BUILD_DIR/it_echo_vg for valgrind)
# ECHO_SRC=path/to/echo.c picks another source (a deliberately broken copy,
# to see this test fail).
#
# Echo of several lines on 3 connections at once; a 4th refused politely
# by a full server (--max-conns 3), and served once a slot is free again;
# an idle client closed after --idle-ms (never before), a talking one not;
# SIGINT with a client idle and one mid-conversation: both told "bye",
# exit 0 long before --grace-ms, "2 finished, 0 aborted"; SIGINT with a
# client that stops reading its echo: aborted at --grace-ms, never
# earlier, no new client served meanwhile, exit 0; the same under valgrind
# (no invalid access, no leak, no fd left open). Every wait is bounded
# (events, not speed: a bound is only a stop for a broken server), so a
# broken server fails the test instead of hanging it. Loopback only.
# Ends with "N passed, N failed".
set -u
B=${1:-build/test}
mkdir -p "$B"
here=$(cd "$(dirname "$0")" && pwd)
SRC=${ECHO_SRC:-$here/../examples/echo.c}
BIN=$B/it_echo
VG=$B/it_echo_vg
p=0 f=0
ok()   { p=$((p + 1)); echo "ok   $1"; }
fail() { f=$((f + 1)); echo "FAIL $1"; [ $# -gt 1 ] && echo "$2" | sed 's/^/    /' | head -n 30; }
finish() { echo "$p passed, $f failed"; [ $f = 0 ]; exit $?; }

command -v python3 >/dev/null 2>&1 || { fail "python3 missing"; finish; }
WARN="-std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Wpedantic -Werror"
if gcc $WARN -Wjump-misses-init -O2 "$SRC" -o "$BIN" -lpthread >"$B/it_echo.build" 2>&1; then
  ok "echo builds"
else fail "echo builds" "$(cat "$B/it_echo.build")"; finish; fi

SPID=
TMPS=()
cleanup() {
  [ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
  rm -f "${TMPS[@]}"
}
trap cleanup EXIT

# start LOG CMD...: start a server (SPID), wait until it listens (60 s
# bound: valgrind starts slowly); PORT is the port it printed.
start() {
  local log=$1 _; shift
  "$@" >"$log" 2>&1 &
  SPID=$!
  for _ in $(seq 1 600); do
    PORT=$(sed -n 's/^echo: listening on 127\.0\.0\.1 port \([0-9]*\)$/\1/p' "$log")
    [ -n "$PORT" ] && return 0
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}
# stop SECS: wait up to SECS for the server to exit; RC is its status
# (124: it did not exit, and was killed). SPID is cleared.
stop() {
  local i
  RC=124
  for i in $(seq 1 $(($1 * 10))); do
    if ! kill -0 "$SPID" 2>/dev/null; then wait "$SPID"; RC=$?; SPID=; return 0; fi
    sleep 0.1
  done
  kill -9 "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=
}
# has NAME LOG ERE: the server's log has a line matching ERE
has() {
  if grep -Eq "$3" "$2"; then ok "$1"; else fail "$1" "want /$3/ in:
$(cat "$2")"; fi
}

PY=$(mktemp --suffix=.py); TMPS+=("$PY")
cat >"$PY" <<'PYEOF'
import os, signal, socket, sys, time
what, port, pid, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
arg = [int(a) for a in sys.argv[5:]]
T = 30  # a bound on any one wait: generous, never a measure of speed
BYE = b"server shutting down, bye\n"

def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=T)

def check(cond, msg):
    if not cond:
        print("FAILED:", msg); sys.exit(1)

def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d: break
        buf += d
    return bytes(buf)

def read_to_eof(s):
    """Everything until the end: (bytes, True), or (bytes, False) on a reset."""
    buf = bytearray()
    try:
        while True:
            d = s.recv(1 << 16)
            if not d: return bytes(buf), True
            buf += d
    except OSError:
        return bytes(buf), False

def echoes(s, data):
    s.sendall(data)
    got = recv_exact(s, len(data))
    check(got == data, "echo of %r: got %r" % (data[:40], got[:40]))

def wait_log(text):
    end = time.time() + T
    while time.time() < end:
        if text in open(log).read(): return True
        time.sleep(0.02)
    return False

def pump(s):
    """Send without reading until the server stops taking bytes: it is then
    stuck writing an echo this client does not read."""
    s.setblocking(False)
    sent, stalls, chunk = 0, 0, b"z" * 65536
    while stalls < 5:
        try:
            sent += s.send(chunk); stalls = 0
        except BlockingIOError:
            stalls += 1; time.sleep(0.1)
    s.setblocking(True); s.settimeout(T)
    check(len(s.recv(1, socket.MSG_PEEK)) == 1, "some echo came back")
    return sent

if what == "echo":
    cs = [conn() for _ in range(3)]
    for r in range(5):  # lines, interleaved over the three connections
        for i, c in enumerate(cs):
            echoes(c, b"client %d line %d\n" % (i, r))
    for c in cs:  # 1 MiB each, in 64 KiB steps
        for k in range(16):
            echoes(c, os.urandom(65536))
    extra = conn()  # a 4th, while 3 are open: told so, and closed
    got, eof = read_to_eof(extra)
    check(got == b"server full, try again later\n" and eof, "4th connection: %r (eof %s)" % (got, eof))
    for c in cs:  # the end of the stream ends the connection
        c.shutdown(socket.SHUT_WR)
        got, eof = read_to_eof(c)
        check(got == b"" and eof, "closed after the client's end: %r" % got)
        c.close()
    cs = [conn() for _ in range(3)]  # their slots are free again
    for i, c in enumerate(cs):
        echoes(c, b"again %d\n" % i)
    for c in cs: c.close()
    print("3 clients echoed (lines and 1 MiB each); a 4th refused while full; slots reused")

elif what == "idle":
    idle = arg[0] / 1000.0
    s = conn(); t0 = time.time()
    got, eof = read_to_eof(s); dt = time.time() - t0
    check(got == b"idle timeout, bye\n" and eof, "idle client: %r (eof %s)" % (got, eof))
    check(dt >= idle - 0.05, "closed after %.3f s, before the %.3f s idle timeout" % (dt, idle))
    check(dt < idle + T, "closed after %.3f s" % dt)
    s = conn(); end = time.time() + 2 * idle  # talking every idle/8: kept
    while time.time() < end:
        echoes(s, b"still here\n"); time.sleep(idle / 8)
    echoes(s, b"still here\n")
    print("idle client closed after %.3f s (--idle-ms %d); a talking one kept for %.1f s"
          % (dt, arg[0], 2 * idle))

elif what == "shutdown":
    a = conn(); echoes(a, b"idle now\n")         # waiting in its read
    b = conn(); echoes(b, b"half a line, ")      # mid-conversation
    os.kill(pid, signal.SIGINT)
    for name, s in (("idle", a), ("talking", b)):
        got, eof = read_to_eof(s)
        check(got == BYE and eof, "%s client at shutdown: %r (eof %s)" % (name, got, eof))
    print("SIGINT: the idle and the talking client told bye and closed")

elif what == "stuck":
    grace = arg[0] / 1000.0
    a = conn(); echoes(a, b"idle now\n")
    b = conn(); sent = pump(b)
    t0 = time.time()
    os.kill(pid, signal.SIGINT)
    got, eof = read_to_eof(a)
    check(got == BYE and eof, "idle client at shutdown: %r (eof %s)" % (got, eof))
    # During the grace period nobody new is served: refused, or closed unserved.
    try:
        c = conn(); c.sendall(b"anyone?\n"); got, _ = read_to_eof(c)
        check(got == b"", "a client served during the shutdown: %r" % got)
    except OSError: pass
    check(wait_log("echo: shutdown:"), "no shutdown line")
    dt = time.time() - t0
    check(dt >= grace, "aborted after %.3f s, before the %.3f s grace" % (dt, grace))
    got, eof = read_to_eof(b)  # only now: reading earlier would unstick it
    check(len(got) < sent, "the stuck client got all %d bytes back: not aborted" % sent)
    print("SIGINT: a client not reading its echo aborted after %.3f s (--grace-ms %d), "
          "%d of %d bytes echoed; no new client served" % (dt, arg[0], len(got), sent))
PYEOF

# py NAME WHAT LOG [ARG]: run a scenario against the running server
py() {
  local out
  if out=$(timeout 120 python3 "$PY" "$2" "$PORT" "$SPID" "$3" ${4:+"$4"} 2>&1)
  then ok "$1: $(echo "$out" | tail -n 1)"; else fail "$1" "$out"; fi
}

LOG=$(mktemp); TMPS+=("$LOG")

# ---- echo, a full server, idle timeout -------------------------------------
if start "$LOG" "$BIN" --port 0 --idle-ms 1500 --max-conns 3; then
  ok "listening on port $PORT (--port 0)"
  py "echo" echo "$LOG"
  has "the refusal is logged" "$LOG" '^echo: full \(3 connections\), refused one$'
  py "idle timeout" idle "$LOG" 1500
  kill -INT "$SPID"; stop 20
  if [ $RC = 0 ]; then ok "SIGINT with no client: exit 0"; else fail "SIGINT with no client: exit $RC" "$(cat "$LOG")"; fi
  has "its shutdown line" "$LOG" '^echo: shutdown: 0 connection\(s\) finished, 0 aborted$'
else fail "server did not start" "$(cat "$LOG")"; stop 1; fi

# ---- SIGINT with clients: they finish long before the grace ----------------
if start "$LOG" "$BIN" --port 0 --grace-ms 600000; then
  t0=$(date +%s)
  py "shutdown" shutdown "$LOG"
  stop 20
  if [ $RC = 0 ]; then ok "exit 0 after $(( $(date +%s) - t0 )) s, long before the 600 s grace"
  else fail "shutdown with clients: exit $RC" "$(cat "$LOG")"; fi
  has "the signal is logged" "$LOG" '^echo: Interrupt, shutting down$'
  has "both finished" "$LOG" '^echo: shutdown: 2 connection\(s\) finished, 0 aborted$'
else fail "server did not start" "$(cat "$LOG")"; stop 1; fi

# ---- SIGINT with a client that does not read: aborted at the deadline ------
if start "$LOG" "$BIN" --port 0 --grace-ms 1000; then
  py "deadline" stuck "$LOG" 1000
  stop 20
  if [ $RC = 0 ]; then ok "exit 0 after the abort"; else fail "exit $RC after the abort" "$(cat "$LOG")"; fi
  has "one finished, one aborted" "$LOG" '^echo: shutdown: 1 connection\(s\) finished, 1 aborted$'
else fail "server did not start" "$(cat "$LOG")"; stop 1; fi

# ---- the same under valgrind: no invalid access, no leak, no fd left -------
if command -v valgrind >/dev/null 2>&1; then
  if gcc $WARN -O1 "$SRC" -o "$VG" -lpthread >"$B/it_echo_vg.build" 2>&1; then
    if start "$LOG" valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 \
         --track-fds=all "$VG" --port 0 --idle-ms 3000 --grace-ms 2000 --max-conns 3; then
      py "valgrind: echo" echo "$LOG"
      py "valgrind: deadline" stuck "$LOG" 2000
      stop 60
      if [ $RC = 0 ]; then ok "valgrind: exit 0, no error, no leak"
      else fail "valgrind: exit $RC" "$(grep -v '^echo:' "$LOG")"; fi
      has "valgrind: one finished, one aborted" "$LOG" '^echo: shutdown: 1 connection\(s\) finished, 1 aborted$'
      # No fd the server opened is left at exit (every socket, the
      # listener, the signalfd, the executor's own): each one valgrind
      # lists is one it inherited. "all", not "yes": with -q and no fd
      # above 2 open (a CI runner's clean environment), "yes" prints no
      # summary at all, and its absence would look like a failure.
      left=$(awk '/Open [A-Za-z_ ]*(file descriptor|socket|pipe)/ {fd=$0; getline; if ($0 !~ /inherited from parent/) print fd}' "$LOG")
      if grep -q 'FILE DESCRIPTORS:' "$LOG" && [ -z "$left" ]; then ok "valgrind: no fd left open"
      else fail "valgrind: fds left open" "$(grep -A4 'Open ' "$LOG")"; fi
    else fail "valgrind: server did not start" "$(cat "$LOG")"; stop 1; fi
  else fail "valgrind build" "$(cat "$B/it_echo_vg.build")"; fi
else
  echo "SKIP valgrind: not installed (apt-get install -y valgrind)"
fi
finish
