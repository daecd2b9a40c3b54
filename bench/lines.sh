#!/usr/bin/env bash
# "As short as Rust": each C program in examples/ against its tokio twin in
# bench/peers/tokio/examples/, counted in non-blank, non-comment lines, as a
# Markdown table (goal: every C program at most 2x its twin, most 1.5x or less).
#   bench/lines.sh                 the table only
#   bench/lines.sh --build DIR     also build the twins offline (cargo target
#                                  directory DIR; make bench passes the peers'
#                                  one) and run fetch_all's twin once
set -u
cd "$(dirname "$0")/.."
PROGRAMS="fetch_all select retry pipeline workers blocking echo"
TWINS=bench/peers/tokio/examples

# The twins build only where the tokio peer builds (bench/peers/build.sh):
# cargo, Debian's tokio sources, and rustc >= 1.66. Prints one status line.
build_twins() {
  local target log minor built=0 failed= p
  target=$(mkdir -p "$1" && cd "$1" && pwd) || return
  log=$target/twins-build.log
  minor=$(rustc --version 2>/dev/null | sed -n 's/^rustc 1\.\([0-9]*\).*/\1/p')
  if ! command -v cargo >/dev/null || ! ls -d /usr/share/cargo/registry/tokio-1.* >/dev/null 2>&1; then
    echo "The tokio twins were not built: apt-get install cargo librust-tokio-dev librust-futures-dev."
    return
  elif [ "${minor:-0}" -lt 66 ]; then
    echo "The tokio twins were not built: they need rustc >= 1.66."
    return
  fi
  (cd bench/peers/tokio && CARGO_TARGET_DIR="$target" cargo build --release --offline \
    --features twins --examples) >"$log" 2>&1
  for p in $PROGRAMS; do # built now, or up to date: newer than its source
    if [ "$target/release/examples/$p" -nt "$TWINS/$p.rs" ]; then built=$((built + 1)); else failed="$failed $p"; fi
  done
  printf 'Twins built offline with tokio %s (`cargo build --release --features twins --examples`): %d of 7' \
    "$(ls -d /usr/share/cargo/registry/tokio-1.* | sed 's/.*tokio-//' | tail -n 1)" "$built"
  [ -n "$failed" ] && printf '; FAILED:%s (see %s)' "$failed" "$log"
  [ -x "$target/release/examples/fetch_all" ] &&
    printf '. fetch_all'"'"'s twin ran: %s' "$("$target/release/examples/fetch_all" | paste -sd, | sed 's/,/, /g')"
  echo .
}

echo
echo "## As short as Rust: lines of code, C against tokio"
echo
python3 - $PROGRAMS <<'EOF'
import re, sys

# A comment (C and Rust: //, ///, //!, /* */; Rust's nested /* */ are not
# handled), or a string or char literal, so that "//" inside one is no comment.
# A Rust lifetime ('a) is not a char literal: it has no closing quote.
TOKEN = re.compile(r'''//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\])*"|'(?:\\[^']+|[^'\\\n])' ''', re.S)

def count(path):
    def blank(m):
        t = m.group()
        return re.sub(r'[^\n]', '', t) if t.startswith('/') else t
    text = TOKEN.sub(blank, open(path).read())
    return sum(1 for line in text.splitlines() if line.strip())

rows, total_c, total_r, within = [], 0, 0, 0
print('| program | C lines | tokio lines | ratio | goal met (<= 2x) |')
print('|---|---:|---:|---:|---|')
for p in sys.argv[1:]:
    c = count('examples/%s.c' % p)
    r = count('bench/peers/tokio/examples/%s.rs' % p)
    total_c, total_r = total_c + c, total_r + r
    within += c <= 1.5 * r
    print('| %s | %d | %d | %.2fx | %s |' % (p, c, r, c / r, 'yes' if c <= 2 * r else 'NO'))
print('| **total** | **%d** | **%d** | **%.2fx** | |' % (total_c, total_r, total_c / total_r))
print()
print('Non-blank lines left once comments are taken out, counted by bench/lines.sh; ratio = C / tokio.'
      ' Goal: every program at most 2x its tokio twin, most at 1.5x or less: %d of %d are.'
      % (within, len(sys.argv) - 1))
EOF
if [ "${1:-}" = --build ] && [ -n "${2:-}" ]; then
  echo
  build_twins "$2"
fi
