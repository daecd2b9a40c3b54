#!/usr/bin/env bash
# make bench: join against sequential awaits under hyperfine, then the micro
# benchmarks beside the peers (tokio, libuv, pthreads, redis-server), as one
# table: printed, and written as Markdown to build/bench.md; then each
# example's lines of code against its tokio twin (bench/lines.sh), appended.
#   bench/run.sh           the full run (about 2-3 minutes on 2 cores)
#   bench/run.sh --quick   everything once, at a small size (for CI)
set -u
cd "$(dirname "$0")/.."
QUICK=; [ "${1:-}" = --quick ] && QUICK=--quick
B=build/bench
mkdir -p "$B"
rm -f "$B"/*.txt

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

machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, Linux $(uname -r), $(gcc --version | head -n1 | sed 's/ (.*)//'), $(clang --version 2>/dev/null | head -n1)"
echo "machine: $machine"
echo "date:    $(date -u +%Y-%m-%d)"

# ---- 1. join against sequential awaits (whole programs, hyperfine) -------
if command -v hyperfine >/dev/null; then
  runs=10; wruns=3; [ -n "$QUICK" ] && runs=2 && wruns=2
  echo; echo "== three sleeps (100, 200, 150 ms): sequential awaits vs JOIN"
  hyperfine -N --warmup 1 --runs $runs --export-markdown "$B/hf_small.md" \
    'build/seq_vs_join --mode seq' 'build/seq_vs_join --mode join'
  echo; echo "== 100 fetches of 1-50 ms (fixed seed): sequential vs join"
  hyperfine -N --runs $wruns --export-markdown "$B/hf_wide.md" \
    'build/seq_vs_join --wide --mode seq' 'build/seq_vs_join --wide --mode join'
else
  echo "hyperfine is missing: run  apt-get install hyperfine  (skipping the hyperfine part)"
fi

# ---- 2. micro benchmarks: this library (gcc and clang) ------------------
FLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wpedantic -Werror"
for cc in gcc clang; do
  command -v $cc >/dev/null || continue
  for b in bench/bench_*.c; do
    n=$(basename "$b" .c)
    $cc $FLAGS "$b" -o "$B/${n}_$cc" -lpthread || { echo "build of $b with $cc failed"; exit 1; }
  done
done
echo; echo "== micro benchmarks (median of 5 runs each)"
for cc in gcc clang; do
  for b in "$B"/bench_*_$cc; do
    [ -x "$b" ] && "$b" $QUICK | grep -v '^#' >>"$B/ours_$cc.txt"
  done
done

# ---- 3. the peers, built and run now -------------------------------------
bash bench/peers/build.sh build/peers
[ -x build/peers/tokio_bench ] && build/peers/tokio_bench $QUICK | grep -v '^#' >"$B/tokio.txt"
[ -x build/peers/uv_bench ] && build/peers/uv_bench $QUICK | grep -v '^#' >"$B/libuv.txt"
[ -x build/peers/threads_idle ] && build/peers/threads_idle $QUICK | grep -v '^#' >"$B/threads.txt"

# ---- 4. a Redis-compatible server against redis-server ----------------------
if [ -f bench/redis_bench.sh ] && [ -x build/mini_redis ] && command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  echo; echo "== redis-benchmark: mini_redis vs redis-server (requests/s)"
  bash bench/redis_bench.sh build/mini_redis $QUICK | tee "$B/redis_raw.txt"
  awk '/^redis_/ {print $1, $2 > "'"$B"'/ours_redis.txt"; print $1, $3 > "'"$B"'/redis.txt"}' "$B/redis_raw.txt"
fi

# ---- 5. the table -------------------------------------------------------
bash bench/table.sh "$B" "$machine" | tee build/bench.md

# ---- 6. lines of code: each example against its tokio twin ---------------
bash bench/lines.sh --build build/peers/tokio-target | tee -a build/bench.md
if [ ${#missing[@]} -gt 0 ]; then
  echo; echo "skipped what needs: ${missing[*]}  (install: apt-get install ${missing[*]})"
fi
