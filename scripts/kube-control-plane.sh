#!/usr/bin/env bash
# Builds a real Kubernetes control plane (kube-apiserver, kube-controller-manager, kubectl, etcd) at the versions
# pinned in tools/kube-control-plane.txt, with the machine's Go, and prints the folder that holds the binaries.
# The binaries are cached outside the clone, keyed by the pins, in ${COMFYUI_EKS_CACHE:-~/.cache/comfyui-on-eks}:
# a cold build takes 15-20 minutes on 2 cores (measured: 1175 s) and ~4 GB of Go caches; later runs reuse it. Progress goes to
# stderr, the folder to stdout, so `bin=$(bash scripts/kube-control-plane.sh)` works.
#
# Why built, not downloaded: only the package registries are reachable here. k8s.io/kubernetes is published on the
# Go module proxy but its go.mod replaces every k8s.io/* staging module with a local path, so a scratch module
# requires it and replaces each staging module with its published twin (the list is k8s.io/kubernetes's go.mod).
set -euo pipefail
cd "$(dirname "$0")/.."

pins=tools/kube-control-plane.txt
command -v go >/dev/null || { echo "kube-control-plane: Go is required (https://go.dev/doc/install)" >&2; exit 1; }
kubernetes=$(awk '$1 == "kubernetes" {print $2}' "$pins")
etcd=$(awk '$1 == "etcd" {print $2}' "$pins")
[ -n "$kubernetes" ] && [ -n "$etcd" ] || { echo "kube-control-plane: $pins must pin kubernetes and etcd" >&2; exit 1; }
staging=v0.${kubernetes#v1.}

cache=${COMFYUI_EKS_CACHE:-$HOME/.cache/comfyui-on-eks}
out=$cache/kube-control-plane-$kubernetes-etcd-$etcd
if [ -x "$out/bin/kube-apiserver" ] && [ -x "$out/bin/etcd" ] && [ -x "$out/bin/kubectl" ] \
    && [ -x "$out/bin/kube-controller-manager" ]; then
  echo "$out/bin"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
started=$SECONDS

echo "kube-control-plane: building kube-apiserver, kube-controller-manager and kubectl $kubernetes (cold: 15-20 min)" >&2
mkdir -p "$work/kube" "$work/bin"
(
  cd "$work/kube"
  go mod init kube-control-plane >/dev/null 2>&1
  gomod=$(go mod download -json "k8s.io/kubernetes@$kubernetes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  # Every `k8s.io/x => ./staging/src/k8s.io/x` line becomes `k8s.io/x => k8s.io/x <staging version>`.
  for module in $(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod"); do
    go mod edit -replace "$module=$module@$staging"
  done
  go get "k8s.io/kubernetes@$kubernetes" >&2
  flags="-s -w -X k8s.io/component-base/version.gitVersion=$kubernetes -X k8s.io/component-base/version.gitMajor=1"
  flags="$flags -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$kubernetes")"
  flags="$flags -X k8s.io/client-go/pkg/version.gitVersion=$kubernetes"
  for cmd in kube-apiserver kube-controller-manager kubectl; do
    echo "kube-control-plane: go build $cmd ($((SECONDS - started)) s so far)" >&2
    go build -trimpath -ldflags "$flags" -o "$work/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd"
  done
)

echo "kube-control-plane: building etcd $etcd ($((SECONDS - started)) s so far)" >&2
mkdir -p "$work/etcd"
(
  cd "$work/etcd"
  go mod init etcd-server >/dev/null 2>&1
  # etcd's own main package lives in a module with local replaces; its server library exposes the same entry.
  cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get "go.etcd.io/etcd/server/v3@$etcd" >&2
  go build -trimpath -ldflags "-s -w" -o "$work/bin/etcd" .
)

# Move the finished set in whole, so a half-built cache never passes the check above.
mkdir -p "$cache"
rm -rf "$out.tmp" && mv "$work/bin" "$out.tmp" && mkdir -p "$out" && rm -rf "$out/bin" && mv "$out.tmp" "$out/bin"
echo "kube-control-plane: built in $((SECONDS - started)) s into $out/bin" >&2
echo "$out/bin"
