#!/usr/bin/env bash
# Builds the client-go side of bench/protocol.ts and of bench/client-go.ts's CPU per renew (this
# folder) into the cache ($CACHE_ROOT/bench/<hash>/peer-go) and prints the binary's path.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LABEL="bench peer-go"
. "$HERE/../../scripts/go-cache.sh"
cached_go_build "$HERE" bench peer-go
