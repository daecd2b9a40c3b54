#!/usr/bin/env bash
# Line and branch coverage of each header, over every test binary.
#
#   bash tests/coverage.sh            (make coverage)
#
# Each tests/test_*.c is built with gcc --coverage -O0 in an object
# directory of its own (build/coverage/NAME/, so the .gcda counters of two
# binaries never mix), and run; then gcovr (Debian package gcovr; installed
# here when run as root) merges the counters of all of them and the table
# gives, per header (coro.h future.h timer.h exec.h sync.h io.h fs.h proc.h),
# the lines and branches that ran at least once in some test.
#
# -fkeep-static-functions makes gcc emit every static inline function of
# the headers a test includes, called or not, so a function no test calls
# counts as uncovered instead of vanishing from the figures.
#
# Environment:
#   COVERAGE_MIN_LINE=95 COVERAGE_MIN_BRANCH=90   the goal per header; the
#                      script exits 1 if a header is below it (0 = no check)
#   COVERAGE_ONLY="io pool"   build and run only these tests (fast check of
#                      new tests; the figures then cover those tests only)
#   COVERAGE_MISSING=1  list every uncovered line and branch per header
#
# Outputs in build/coverage/: coverage.json (gcovr's full report, one entry
# per header with per-line counts) and html/index.html (annotated sources).
set -u
cd "$(dirname "$0")/.."
B=build/coverage
MIN_LINE=${COVERAGE_MIN_LINE:-95}
MIN_BRANCH=${COVERAGE_MIN_BRANCH:-90}

. tests/need.sh
need gcc gcc || exit 1
need gcov gcc || exit 1
need gcovr gcovr || exit 1
need python3 python3 || exit 1

rm -rf "$B"
mkdir -p "$B/html" "$B/src/tests"
# Build from a snapshot of the headers and tests, so that an edit made
# while this runs cannot give two binaries two versions of a header (gcov
# could not merge them), and the report shows the sources that ran.
cp -p ./*.h "$B/src/"
cp -p tests/*.c tests/*.h "$B/src/tests/"

CFLAGS="-std=c11 -D_GNU_SOURCE -DCHECK_COVERAGE -g -O0 --coverage -fkeep-static-functions -Wall -Wextra -Wpedantic"
if [ -n "${COVERAGE_ONLY:-}" ]; then tests=$COVERAGE_ONLY
else tests=$(ls tests/test_*.c | sed 's|tests/test_||; s|\.c$||'); fi
# A test that picks another exec.h backend (test_bare.c) compiles the
# header's functions at other lines: gcov cannot merge those counters with
# the default backend's, so it runs in run.sh, not here.
other=$(grep -l '^#define EXEC_BACKEND_' tests/test_*.c 2>/dev/null | sed 's|tests/test_||; s|\.c$||')
for o in $other; do tests=$(echo "$tests" | tr ' ' '\n' | grep -vx "$o"); done

cd "$B/src" || exit 1
B=..

failed=""
for t in $tests; do
  d="$B/$t"
  mkdir -p "$d"
  # Compile and link separately: the .gcno / .gcda land in $d, named after
  # the object file.
  if ! gcc $CFLAGS -c "tests/test_$t.c" -o "$d/test_$t.o" >"$d/build.log" 2>&1 ||
     ! gcc --coverage "$d/test_$t.o" -o "$d/test_$t" -lpthread >>"$d/build.log" 2>&1; then
    echo "FAIL build test_$t"; sed 's/^/    /' "$d/build.log" | tail -n 20
    failed="$failed build:$t"
    continue
  fi
  # Run from the object directory so files a test creates stay there.
  (cd "$d" && timeout 300 "./test_$t" >run.log 2>&1)
  rc=$?
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$d/run.log" | tail -n 1)
  if [ $rc -ne 0 ]; then
    echo "FAIL test_$t (exit $rc) ${summary}"; grep -E '^(FAIL|    )' "$d/run.log" | head -n 20
    failed="$failed run:$t"
  else
    echo "ok   test_$t   ${summary}"
  fi
done

# Merge the counters of every object directory; report the headers only.
if ! gcovr --root . --filter '^[^/]*\.h$' --gcov-ignore-parse-errors \
      --json "$B/coverage.json" --json-pretty \
      --html-details "$B/html/index.html" \
      $(for t in $tests; do echo "$B/$t"; done) >"$B/gcovr.log" 2>&1; then
  echo "gcovr failed:"; tail -n 20 "$B/gcovr.log"; exit 1
fi

python3 - "$B/coverage.json" "$MIN_LINE" "$MIN_BRANCH" "${COVERAGE_MISSING:-0}" <<'EOF'
import json, sys
path, min_line, min_branch, missing = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4] not in ("", "0")
order = ["coro.h", "future.h", "timer.h", "exec.h", "sync.h", "io.h", "fs.h", "proc.h"]
files = {f["file"]: f for f in json.load(open(path))["files"]}
names = [h for h in order if h in files] + sorted(h for h in files if h not in order)

def ranges(nums):
    out, start, prev = [], None, None
    for n in nums:
        if start is None: start = prev = n
        elif n == prev + 1: prev = n
        else: out.append((start, prev)); start = prev = n
    if start is not None: out.append((start, prev))
    return ",".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in out)

def pct(a, b): return 100.0 * a / b if b else 100.0
bad = []
tot = [0, 0, 0, 0]
print()
print("%-10s %22s %24s" % ("header", "lines", "branches"))
for h in names:
    lines = [l for l in files[h]["lines"] if not l.get("gcovr/noncode")]
    # A line may appear once per function instance (a static inline
    # function emitted in several binaries is merged by gcovr already);
    # merge again by line number to be safe.
    by = {}
    for l in lines:
        n = l["line_number"]
        e = by.setdefault(n, {"count": 0, "branches": []})
        e["count"] += l["count"]
        br = l.get("branches", [])
        if len(br) > len(e["branches"]):
            e["branches"] += [0] * (len(br) - len(e["branches"]))
        for i, b in enumerate(br):
            e["branches"][i] += b["count"]
    lt = len(by); lc = sum(1 for e in by.values() if e["count"] > 0)
    bt = sum(len(e["branches"]) for e in by.values())
    bc = sum(1 for e in by.values() for c in e["branches"] if c > 0)
    tot[0] += lc; tot[1] += lt; tot[2] += bc; tot[3] += bt
    lp, bp = pct(lc, lt), pct(bc, bt)
    flag = ""
    if h in order and min_line and min_branch and (lp < min_line or bp < min_branch):
        flag = "  < goal"
        bad.append(h)
    print("%-10s %5d/%-5d %6.1f %%   %5d/%-5d %6.1f %%%s" % (h, lc, lt, lp, bc, bt, bp, flag))
    if missing:
        ml = sorted(n for n, e in by.items() if e["count"] == 0)
        mb = sorted(n for n, e in by.items() if e["count"] > 0 and any(c == 0 for c in e["branches"]))
        if ml: print("    lines never run:        " + ranges(ml))
        if mb: print("    lines with a branch never taken: " + ",".join(map(str, mb)))
print("%-10s %5d/%-5d %6.1f %%   %5d/%-5d %6.1f %%" % ("total", tot[0], tot[1], pct(tot[0], tot[1]), tot[2], tot[3], pct(tot[2], tot[3])))
if min_line and min_branch:
    print()
    if bad: print("below the goal (%g %% lines, %g %% branches): %s" % (min_line, min_branch, " ".join(bad)))
    else: print("every header meets the goal (%g %% lines, %g %% branches)" % (min_line, min_branch))
sys.exit(1 if bad else 0)
EOF
goal=$?
echo "details: build/coverage/html/index.html, build/coverage/coverage.json"
if [ -n "$failed" ]; then echo "failed:$failed"; exit 1; fi
exit $goal
