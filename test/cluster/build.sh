#!/usr/bin/env bash
# Builds kube-apiserver and etcd from Go modules into a cache outside the clone, once per version.
# Safe to run twice at once (flock); prints progress because a cold build takes minutes.
set -euo pipefail

K8S_VERSION=${TENURE_K8S_VERSION:-1.37.2}
ETCD_VERSION=${TENURE_ETCD_VERSION:-3.6.16}
LABEL="cluster build"
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../../scripts/go-cache.sh"
DIR="$CACHE_ROOT/cluster/k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION"
BIN="$DIR/bin"

if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/etcd" ]; then
  echo "$BIN"; exit 0
fi
mkdir -p "$BIN"
lock_or_wait "$DIR/.lock"
if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/etcd" ]; then
  echo "$BIN"; exit 0
fi

say "building kube-apiserver v$K8S_VERSION and etcd v$ETCD_VERSION from Go modules into $DIR"
say "a cold build downloads about 1 GB of modules and compiles for 10-25 minutes on 2 cores; later runs reuse it"

if [ ! -x "$BIN/etcd" ]; then
  mod="$DIR/etcd-mod"; mkdir -p "$mod"; cd "$mod"
  [ -f go.mod ] || go mod init tenure.local/etcd-bin >/dev/null 2>&1
  go mod edit -go=1.26
  with_progress etcd-get "$DIR/etcd-get.log" go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  with_progress etcd-build "$DIR/etcd-build.log" go build -v -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$BIN/etcd.tmp" "$BIN/etcd"
  say "etcd built ($(elapsed))"
fi

if [ ! -x "$BIN/kube-apiserver" ]; then
  mod="$DIR/apiserver-mod"; mkdir -p "$mod"; cd "$mod"
  [ -f go.mod ] || go mod init tenure.local/kube-apiserver-bin >/dev/null 2>&1
  go mod edit -go=1.26
  with_progress k8s-download "$DIR/k8s-download.log" go mod download "k8s.io/kubernetes@v$K8S_VERSION"
  upstream="$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/v$K8S_VERSION.mod"
  staging=v0.${K8S_VERSION#1.}
  # Staging modules are required at v0.0.0 and replaced by local paths upstream; point them at
  # their published tags instead (the list comes from the upstream go.mod, so version bumps just work).
  for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$upstream"); do
    go mod edit -replace="$m=$m@$staging"
  done
  with_progress k8s-get "$DIR/k8s-get.log" go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION"
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  with_progress k8s-build "$DIR/k8s-build.log" go build -v -p 2 -trimpath -pgo=off -ldflags "$ld" -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
  say "kube-apiserver built ($(elapsed))"
fi

say "done in $(elapsed)"
echo "$BIN"
