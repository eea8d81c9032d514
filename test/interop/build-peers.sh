#!/usr/bin/env bash
# Builds the client-go peer programs in test/interop/peer/<version>/ into the cache
# ($CACHE_ROOT/interop/<version>/<hash>/peer) and prints one line per version:
#   v0.23=/path/to/peer
#   v0.37=/path/to/peer
# Usage: build-peers.sh [version...]   (default: every directory under test/interop/peer/)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LABEL="interop peers"
. "$HERE/../../scripts/go-cache.sh"

versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  for d in "$HERE"/peer/*/; do versions+=("$(basename "$d")"); done
fi
for v in "${versions[@]}"; do
  [ -f "$HERE/peer/$v/go.mod" ] || { say "no such peer: $HERE/peer/$v"; exit 1; }
  LABEL="interop peer $v"
  echo "$v=$(cached_go_build "$HERE/peer/$v" "interop/$v" peer)"
done
