#!/usr/bin/env bash
# Builds the client-go side of bench/protocol.ts (this folder) into a cache outside the clone:
#   $CACHE_ROOT/bench/<hash>/peer-go
# where <hash> covers go.mod, go.sum, main.go and the Go version, so an edit rebuilds and an
# unchanged tree reuses the binary. Progress goes to stderr; the binary's path to stdout.
# Same conventions as test/interop/build-peers.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${TENURE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tenure}

export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
export GOMODCACHE=${GOMODCACHE:-$CACHE_ROOT/go/mod}
export GOCACHE=${TENURE_GOCACHE:-$CACHE_ROOT/go/build}

say() { printf '[bench peer-go] %s\n' "$*" >&2; }

command -v go >/dev/null || { say "the go command is missing: install Go 1.26 or newer"; exit 1; }
command -v flock >/dev/null || { say "flock (util-linux) is missing"; exit 1; }

hash=$( (cd "$HERE" && sha256sum go.mod go.sum main.go; go env GOVERSION GOOS GOARCH) | sha256sum | cut -c1-16)
out="$CACHE_ROOT/bench/$hash"
bin="$out/peer-go"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

say "building $HERE into $out (the first build may download modules; log: $out/build.log)"
start=$(date +%s)
cd "$HERE"
go build -v -trimpath -ldflags "-s -w" -o "$out/peer-go.tmp" . >"$out/build.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  for _ in $(seq 15); do sleep 1; kill -0 "$pid" 2>/dev/null || break; done
  kill -0 "$pid" 2>/dev/null && say "still building ($(( $(date +%s) - start )) s so far, $(wc -l <"$out/build.log") lines of output)"
done
if ! wait "$pid"; then
  say "go build failed; the last lines of $out/build.log:"
  tail -n 30 "$out/build.log" >&2
  exit 1
fi
mv -f "$out/peer-go.tmp" "$bin"
say "built in $(( $(date +%s) - start )) s"
echo "$bin"
