#!/usr/bin/env bash
# make bench: join against sequential awaits under hyperfine, then the micro
# benchmarks beside the peers (tokio, libuv, pthreads, redis-server), as one
# table: printed, and written as Markdown to build/bench.md; two pictures
# (build/bench.svg, build/seq_vs_join.svg, by bench/plot.sh); then each
# example's lines of code against its tokio twin (bench/lines.sh), appended.
#   bench/run.sh           the full run (about 7 minutes on 2 quiet cores,
#                          9 when other jobs load them)
#   bench/run.sh --quick   one round at small sizes (under a minute, for CI)
#   BENCH_ROUNDS=N         rounds of the micro benchmarks (default 5)
# The micro benchmarks run in rounds: each binary (ours built with gcc and
# with clang, the tokio, libuv and pthread peers) runs once per round with
# --runs 1, in alternating order (ours-gcc, tokio, ours-clang, libuv,
# threads in rounds 1, 3, 5...; reversed in rounds 2, 4...), so that a slow minute of a shared
# machine hits both sides; the table shows the median over the rounds and
# the spread. The per-round numbers stay in build/bench/raw/.
set -u
cd "$(dirname "$0")/.."
T0=$(date +%s) LAP=$(date +%s) LAPS=
lap() { # lap NAME: note the seconds since the last lap, for the last line
  local t; t=$(date +%s); LAPS="$LAPS${LAPS:+, }$1 $((t - LAP)) s"; LAP=$t
}
QUICK=; [ "${1:-}" = --quick ] && QUICK=--quick
ROUNDS=${BENCH_ROUNDS:-5}
[ -n "$QUICK" ] && ROUNDS=1
case $ROUNDS in '' | *[!0-9]* | 0) echo "BENCH_ROUNDS must be a number >= 1"; exit 2 ;; esac
B=build/bench
mkdir -p "$B/raw"
rm -f "$B"/*.txt "$B"/raw/*

# Install what a fresh Debian lacks when we are root; otherwise say what to
# run, and skip only what is missing.
missing=()
have() { # have CMD-or-dpkg:PACKAGE
  case $1 in dpkg:*) dpkg -s "${1#dpkg:}" >/dev/null 2>&1 ;; *) command -v "$1" >/dev/null 2>&1 ;; esac
}
want() { # want CMD-or-dpkg:PACKAGE PACKAGE
  have "$1" && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq >/dev/null 2>&1; APT_UPDATED=1; }
    echo "installing $2 ..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1
  fi
  have "$1" && return 0
  missing+=("$2"); return 1
}
want hyperfine hyperfine
want clang clang
want cargo cargo; want dpkg:librust-tokio-dev librust-tokio-dev
want dpkg:librust-futures-dev librust-futures-dev; want dpkg:libuv1-dev libuv1-dev
want redis-server redis-server; want redis-benchmark redis-tools
want taskset util-linux; want gnuplot gnuplot-nox

machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, Linux $(uname -r), $(gcc --version | head -n1 | sed 's/ (.*)//'), $(clang --version 2>/dev/null | head -n1)"
echo "machine: $machine"
echo "date:    $(date -u +%Y-%m-%d)"

# ---- 1. build: our micro benchmarks (gcc and clang, in parallel), the
# timeline program, the peers; each only when older than its sources -------
FLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wpedantic -Werror"
pids=()
build() { # build CC SOURCE OUTPUT, in the background, unless up to date
  [ -x "$3" ] && [ -z "$(find "$2" ./*.h -newer "$3" 2>/dev/null)" ] && return
  echo "$1 $2 -> $3"
  $1 $FLAGS "$2" -o "$3" -lpthread & pids+=($!)
}
for cc in gcc clang; do
  command -v $cc >/dev/null || continue
  for b in bench/bench_*.c; do build $cc "$b" "$B/$(basename "$b" .c)_$cc"; done
done
build gcc bench/timeline.c "$B/timeline"
for p in "${pids[@]}"; do wait "$p" || { echo "a benchmark failed to build (see above)"; exit 1; }; done
bash bench/peers/build.sh build/peers
lap build

# ---- 2. join against sequential awaits (whole programs, hyperfine) -------
if command -v hyperfine >/dev/null; then
  runs=10; wruns=3; [ -n "$QUICK" ] && runs=2 && wruns=1
  echo; echo "== three sleeps (100, 200, 150 ms): sequential awaits vs JOIN"
  hyperfine -N --warmup 1 --runs $runs --export-markdown "$B/hf_small.md" \
    'build/seq_vs_join --mode seq' 'build/seq_vs_join --mode join'
  echo; echo "== 100 fetches of 1-50 ms (fixed seed): sequential vs join"
  hyperfine -N --runs $wruns --export-markdown "$B/hf_wide.md" \
    'build/seq_vs_join --wide --mode seq' 'build/seq_vs_join --wide --mode join'
else
  echo "hyperfine is missing: run  apt-get install hyperfine  (skipping the hyperfine part)"
fi
# The same three fetches, each one's start and end measured (for the picture).
"$B/timeline" >"$B/timeline.txt" || echo "timeline failed"
lap hyperfine

# ---- 3. micro benchmarks: ours and the peers, in alternating rounds -------
# side name: "SOURCE BINARY..." (each binary writes raw/SOURCE.NAME.rK.txt)
side() {
  case $1 in
    ours_gcc | ours_clang) local b; for b in "$B"/bench_*_"${1#ours_}"; do [ -x "$b" ] && echo "$b"; done ;;
    tokio) [ -x build/peers/tokio_bench ] && echo build/peers/tokio_bench ;;
    libuv) [ -x build/peers/uv_bench ] && echo build/peers/uv_bench ;;
    threads) [ -x build/peers/threads_idle ] && echo build/peers/threads_idle ;;
  esac
}
ORDER=(ours_gcc tokio ours_clang libuv threads)
ARGS=${QUICK:---runs 1}
echo; echo "== micro benchmarks: $ROUNDS round(s), each binary once a round (order alternates)"
for r in $(seq 1 "$ROUNDS"); do
  order=("${ORDER[@]}")
  [ $((r % 2)) = 0 ] && order=(threads libuv ours_clang tokio ours_gcc)
  printf 'round %d/%d:' "$r" "$ROUNDS"
  for s in "${order[@]}"; do
    t=$(date +%s)
    for b in $(side "$s"); do
      n=$(basename "$b"); n=${n%_gcc}; n=${n%_clang}
      f=$B/raw/$s.$n.r$r
      # In a subshell, so that the shell's "Aborted" goes to the .err file.
      ( "$b" $ARGS; exit $? ) >"$f.txt" 2>"$f.err"
      rc=$?
      [ $rc = 0 ] || { printf ' [%s failed: exit %s]' "$n" $rc; echo "exit $rc" >"$f.failed"; }
      [ -s "$f.err" ] || rm -f "$f.err"
    done
    printf ' %s %ss' "$s" $(($(date +%s) - t))
  done
  echo
done
lap micro
failed=$(cd "$B/raw" && ls -- *.failed 2>/dev/null)
[ -n "$failed" ] && echo "FAILED (their rows lack those rounds; see build/bench/raw/*.err):" $failed

# ---- 4. a Redis-compatible server against redis-server ----------------------
if [ -x build/mini_redis ] && command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  echo; echo "== redis-benchmark: mini_redis vs redis-server (requests/s)"
  bash bench/redis_bench.sh build/mini_redis $QUICK | tee "$B/redis_raw.txt"
  # "redis_TEST_pP ROUND mini redis" -> one file per server per round
  awk -v d="$B/raw" '/^redis_/ && NF == 4 {
      print $1, $3 > (d "/ours_redis.mini_redis.r" $2 ".txt")
      print $1, $4 > (d "/redis.redis-server.r" $2 ".txt") }' "$B/redis_raw.txt"
  lap redis
fi

# ---- 5. the table, the pictures ------------------------------------------
echo
bash bench/table.sh "$B" "$machine" | tee build/bench.md
[ -n "$QUICK" ] && echo "(--quick: one round at tiny sizes; the numbers are not meaningful.)" | tee -a build/bench.md
echo
bash bench/plot.sh "$B" build

# ---- 6. lines of code: each example against its tokio twin ---------------
bash bench/lines.sh --build build/peers/tokio-target | tee -a build/bench.md
if [ ${#missing[@]} -gt 0 ]; then
  echo; echo "skipped what needs: ${missing[*]}  (install: apt-get install ${missing[*]})"
fi
lap "table, pictures, lines"
echo; echo "bench/run.sh $QUICK took $(($(date +%s) - T0)) s ($LAPS)"
