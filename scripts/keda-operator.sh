#!/usr/bin/env bash
# Builds KEDA's operator (the controller that scales a Deployment 0 <-> 1 and creates its HPA) at the version of
# KEDA's CRDs pinned in tools/manifest-tools.txt, with the machine's Go, and prints the binary's path. The binary
# is cached outside the clone, keyed by that version, in ${COMFYUI_EKS_CACHE:-~/.cache/comfyui-on-eks}: a cold
# build compiles ~2,000 packages (measured: 2248 s on 2 cores shared with other builds; expect 20-40 min) and adds
# ~2 GB to Go's build cache; later runs reuse the binary. Progress goes to stderr, the path to stdout, so
# `bin=$(bash scripts/keda-operator.sh)` works. test/lib/keda-operator.apiserver.test.ts runs the binary.
#
# Why built, not downloaded: only the package registries are reachable here. KEDA is published on the Go module
# proxy, but `go install ...@version` refuses a module whose go.mod has `replace` directives (KEDA's does), so the
# module is copied to a scratch folder and built there, with its own go.mod and go.sum (docs/scaling-design.md 7.2).
set -euo pipefail
cd "$(dirname "$0")/.."

pins=tools/manifest-tools.txt
module=github.com/kedacore/keda/v2
command -v go >/dev/null || { echo "keda-operator: Go is required (https://go.dev/doc/install)" >&2; exit 1; }
# One pin for the CRDs and the operator: `crd-module github.com/kedacore/keda/v2@vX.Y.Z h1:... config/crd`.
read -r spec sum _ < <(awk -v m="$module@" '$1 == "crd-module" && index($2, m) == 1 {print $2, $3, $4}' "$pins") || true
version=${spec##*@}
[ -n "${spec:-}" ] && [ -n "${sum:-}" ] \
  || { echo "keda-operator: $pins must pin KEDA's CRDs ('crd-module $module@vX.Y.Z h1:... config/crd')" >&2; exit 1; }

cache=${COMFYUI_EKS_CACHE:-$HOME/.cache/comfyui-on-eks}
out=$cache/keda-operator-$version
if [ -x "$out/keda-operator" ]; then
  echo "$out/keda-operator"
  exit 0
fi

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
started=$SECONDS

echo "keda-operator: building KEDA operator $version (first run ~20-40 min on 2 cores; then cached in $out)" >&2
# A fresh download is checked against the checksum database (GOSUMDB); the module cache may predate that, so the
# hash is also compared with the pin.
json=$(go mod download -json "$spec")
got=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$json")
dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$json")
[ "$got" = "$sum" ] || { echo "keda-operator: $spec has hash $got, pinned $sum in $pins; refusing it" >&2; exit 1; }

cp -r "$dir" "$work/keda" && chmod -R u+w "$work/keda"
(
  cd "$work/keda"
  echo "keda-operator: go build ./cmd/operator (dependencies are verified against KEDA's go.sum)" >&2
  go build -trimpath -ldflags "-s -w -X=$module/version.Version=${version#v}" -o "$work/keda-operator" ./cmd/operator
)

# Move the finished binary in whole, so a half-built cache never passes the check above.
mkdir -p "$out"
mv "$work/keda-operator" "$out/keda-operator.tmp" && mv "$out/keda-operator.tmp" "$out/keda-operator"
echo "keda-operator: built in $((SECONDS - started)) s into $out" >&2
echo "$out/keda-operator"
