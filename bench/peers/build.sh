#!/bin/sh
# Build the peer benchmarks that `make bench` compares against.
#
#   bench/peers/build.sh [OUTDIR]        (default OUTDIR: build/peers)
#
# Produces OUTDIR/tokio_bench, OUTDIR/uv_bench and OUTDIR/threads_idle, one
# status line per peer; a peer newer than its sources is left as it is.  A peer whose dependency is missing is skipped with a
# message naming the Debian package to install; the exit status is non-zero
# only when a build that could run actually failed.
# Environment: CC (default cc), CARGO (default cargo), RUSTC (default rustc).

set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/peers}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
cc=${CC:-cc}
cargo=${CARGO:-cargo}
registry=/usr/share/cargo/registry
failed=0

# Is OUTDIR/$1 there and newer than every file under the other arguments?
up_to_date() {
	bin=$out/$1
	shift
	[ -x "$bin" ] && [ -z "$(find "$@" -newer "$bin" 2>/dev/null)" ]
}

# Does the C compiler find header $1?
have_header() {
	printf '#include <%s>\n' "$1" | "$cc" -E -x c - >/dev/null 2>&1
}

# --- tokio (Rust, built offline from Debian's crate sources) ---------------
missing=
command -v "$cargo" >/dev/null 2>&1 || missing="$missing cargo"
ls -d "$registry"/tokio-1.* >/dev/null 2>&1 || missing="$missing librust-tokio-dev"
ls -d "$registry"/futures-0.3.* >/dev/null 2>&1 || missing="$missing librust-futures-dev"
# std::hint::black_box needs rustc >= 1.66 (Debian 12's own rustc is 1.63).
rustc_ver=$("${RUSTC:-rustc}" --version 2>/dev/null | head -n 1)
rustc_minor=$(echo "$rustc_ver" | sed -n 's/^rustc 1\.\([0-9]*\).*/\1/p')
if [ -n "$missing" ]; then
	echo "peers: tokio   SKIPPED (apt-get install$missing)"
elif [ "${rustc_minor:-0}" -lt 66 ]; then
	echo "peers: tokio   SKIPPED (needs rustc >= 1.66, found: ${rustc_ver:-none})"
elif up_to_date tokio_bench "$here/tokio/src" "$here/tokio/Cargo.toml" "$here/tokio/Cargo.lock"; then
	echo "peers: tokio   up to date $out/tokio_bench"
else
	log=$out/tokio-build.log
	start=$(date +%s)
	if (cd "$here/tokio" && CARGO_TARGET_DIR="$out/tokio-target" \
		"$cargo" build --release) >"$log" 2>&1 &&
		cp "$out/tokio-target/release/tokio_bench" "$out/tokio_bench"; then
		echo "peers: tokio   built $out/tokio_bench ($(($(date +%s) - start)) s)"
	else
		echo "peers: tokio   BUILD FAILED, last lines of $log:"
		tail -n 20 "$log" | sed 's/^/    /'
		failed=1
	fi
fi

# --- libuv -----------------------------------------------------------------
if ! have_header uv.h; then
	echo "peers: libuv   SKIPPED (apt-get install libuv1-dev)"
elif up_to_date uv_bench "$here/uv_bench.c"; then
	echo "peers: libuv   up to date $out/uv_bench"
elif "$cc" -O2 -o "$out/uv_bench" "$here/uv_bench.c" -luv; then
	echo "peers: libuv   built $out/uv_bench"
else
	echo "peers: libuv   BUILD FAILED"
	failed=1
fi

# --- pthreads --------------------------------------------------------------
if ! have_header pthread.h; then
	echo "peers: threads SKIPPED (apt-get install libc6-dev)"
elif up_to_date threads_idle "$here/threads_idle.c"; then
	echo "peers: threads up to date $out/threads_idle"
elif "$cc" -O2 -o "$out/threads_idle" "$here/threads_idle.c" -pthread; then
	echo "peers: threads built $out/threads_idle"
else
	echo "peers: threads BUILD FAILED"
	failed=1
fi

exit $failed
