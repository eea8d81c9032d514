#!/usr/bin/env bash
# Builds the client-go side of bench/shards.ts (this folder) into the cache
# ($CACHE_ROOT/bench-shards/<hash>/peer-shards-go) and prints the binary's path.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LABEL="bench peer-shards-go"
. "$HERE/../../scripts/go-cache.sh"
cached_go_build "$HERE" bench-shards peer-shards-go
