# Sourced by the scripts that build Go programs for the tests and benchmarks (the test cluster,
# the client-go peers, the benchmark peer): one place for the cache layout, the Go environment,
# and the progress a cold build must show. Caches live outside the clone, under
# ${TENURE_CACHE_DIR:-~/.cache/tenure}; Go's module and build caches too, unless already chosen.

CACHE_ROOT=${TENURE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tenure}
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
export GOMODCACHE=${GOMODCACHE:-$CACHE_ROOT/go/mod}
export GOCACHE=${TENURE_GOCACHE:-$CACHE_ROOT/go/build}

LABEL=${LABEL:-go build}
say() { printf '[%s] %s\n' "$LABEL" "$*" >&2; }

command -v go >/dev/null || { say "the go command is missing: install Go 1.26 or newer"; exit 1; }
command -v flock >/dev/null || { say "flock (util-linux) is missing"; exit 1; }

started_at=$(date +%s)
elapsed() { local s=$(( $(date +%s) - started_at )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# Runs a command with its output in a log, printing a heartbeat every 15 s with the number of
# lines written so far (go build -v prints one per package), so a long build never looks hung.
with_progress() {
  local what=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 15); do sleep 1; kill -0 "$pid" 2>/dev/null || break; done
    kill -0 "$pid" 2>/dev/null && say "$what: still working ($(elapsed) so far, $(wc -l <"$log") lines of output)"
  done
  if ! wait "$pid"; then
    say "$what failed; the last lines of $log:"
    tail -n 30 "$log" >&2
    exit 1
  fi
}

# Takes the flock on `$1` (a file), saying so when another build holds it.
lock_or_wait() {
  exec 9>"$1"
  if ! flock -n 9; then
    say "another build is running; waiting for it to finish"
    flock 9
  fi
}

# cached_go_build <source dir> <cache subdir> <binary name>: builds the main package in the source
# dir (go.mod, go.sum, *.go) into $CACHE_ROOT/<subdir>/<hash>/<name>, where the hash covers the
# sources and the Go version, so an edit rebuilds and an unchanged tree reuses the binary. Safe to
# run twice at once. Prints the binary's path.
cached_go_build() {
  local src=$1 subdir=$2 name=$3
  local hash
  hash=$( (cd "$src" && sha256sum go.mod go.sum ./*.go; go env GOVERSION GOOS GOARCH) | sha256sum | cut -c1-16)
  local out="$CACHE_ROOT/$subdir/$hash"
  if [ -x "$out/$name" ]; then echo "$out/$name"; return; fi
  mkdir -p "$out"
  lock_or_wait "$CACHE_ROOT/$subdir/.lock"
  if [ ! -x "$out/$name" ]; then
    say "building $src into $out (the first build downloads modules)"
    # -mod=readonly (the default) never rewrites go.mod or go.sum in the clone.
    (cd "$src" && with_progress "build" "$out/build.log" go build -v -trimpath -ldflags "-s -w" -o "$out/$name.tmp" .)
    mv -f "$out/$name.tmp" "$out/$name"
    say "built ($(elapsed) so far)"
  fi
  exec 9>&-
  echo "$out/$name"
}
