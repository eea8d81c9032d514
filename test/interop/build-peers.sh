#!/usr/bin/env bash
# Builds the client-go peer programs in test/interop/peer/<version>/ into a cache outside the clone:
#   $CACHE_ROOT/interop/<version>/<hash>/peer
# where <hash> covers go.mod, go.sum, main.go and the Go version, so an edit rebuilds and an
# unchanged tree reuses the binary. Safe to run twice at once (flock per version). Prints progress
# on stderr (the first build downloads modules) and, on stdout, one line per version:
#   v0.37=/path/to/peer
#   v0.23=/path/to/peer
# Usage: build-peers.sh [version...]   (default: every directory under test/interop/peer/)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${TENURE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tenure}

export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# Same convention as test/cluster/build.sh: Go's caches live under the same root unless chosen.
export GOMODCACHE=${GOMODCACHE:-$CACHE_ROOT/go/mod}
export GOCACHE=${TENURE_GOCACHE:-$CACHE_ROOT/go/build}

say() { printf '[interop peers] %s\n' "$*" >&2; }

command -v go >/dev/null || { say "the go command is missing: install Go 1.26 or newer"; exit 1; }
command -v flock >/dev/null || { say "flock (util-linux) is missing"; exit 1; }

if [ $# -gt 0 ]; then
  versions=("$@")
else
  versions=()
  for d in "$HERE"/peer/*/; do versions+=("$(basename "$d")"); done
fi

go_id=$(go env GOVERSION GOOS GOARCH | tr '\n' ' ')
start=$(date +%s)
elapsed() { local s=$(( $(date +%s) - start )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# Runs a command, printing a heartbeat every 15s with the number of lines it has written
# (go build -v prints one line per package compiled), so a cold build never looks hung.
with_progress() {
  local what=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
      sleep 1; kill -0 "$pid" 2>/dev/null || break
    done
    kill -0 "$pid" 2>/dev/null && say "$what: still working ($(elapsed) so far, $(wc -l <"$log") lines of output)"
  done
  if ! wait "$pid"; then
    say "$what failed; the last lines of $log:"
    tail -n 30 "$log" >&2
    exit 1
  fi
}

build_one() {
  local v=$1 src="$HERE/peer/$1"
  [ -f "$src/go.mod" ] && [ -f "$src/go.sum" ] && [ -f "$src/main.go" ] ||
    { say "$src must contain go.mod, go.sum and main.go"; exit 1; }
  local hash
  hash=$( (cd "$src" && sha256sum go.mod go.sum main.go; echo "$go_id") | sha256sum | cut -c1-16)
  local vdir="$CACHE_ROOT/interop/$v" out="$CACHE_ROOT/interop/$v/$hash"
  local bin="$out/peer"
  if [ -x "$bin" ]; then echo "$v=$bin"; return; fi

  mkdir -p "$out"
  exec 9>"$vdir/.lock"
  if ! flock -n 9; then
    say "$v: another build is running; waiting for it to finish"
    flock 9
  fi
  if [ -x "$bin" ]; then exec 9>&-; echo "$v=$bin"; return; fi

  say "$v: building $src into $out"
  cd "$src"
  # The first build downloads the modules it needs (listed as "go: downloading" in the log).
  # -mod=readonly (the default) never rewrites go.mod/go.sum in the clone.
  with_progress "$v build" "$out/build.log" \
    go build -v -trimpath -ldflags "-s -w" -o "$out/peer.tmp" .
  mv -f "$out/peer.tmp" "$bin"
  exec 9>&-
  say "$v: built ($(elapsed) so far)"
  echo "$v=$bin"
}

for v in "${versions[@]}"; do
  [ -d "$HERE/peer/$v" ] || { say "no such peer: $HERE/peer/$v"; exit 1; }
  build_one "$v"
done
