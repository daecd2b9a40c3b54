# need CMD PACKAGE: install what a fresh Debian lacks, if we can (as root,
# with apt-get); otherwise say the one command to run. Status 0 when CMD is
# there afterwards. Sourced by tests/run.sh, coverage.sh and packaging.sh.
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $2 ..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >/dev/null 2>&1
  fi
  command -v "$1" >/dev/null 2>&1 || { echo "missing $1: run  apt-get install $2"; return 1; }
}
