#!/usr/bin/env bash
# Renders both overlays (from test/fixtures/cdk-outputs.json and from --example), builds them with
# kustomize, validates every document against real schemas (Kubernetes 1.35 strict, Karpenter v1 CRDs, the
# Load Balancer Controller's TargetGroupBinding, KEDA's ScaledObject and TriggerAuthentication) with kubeconform,
# and lints them with kube-score.
# Tools come from scripts/manifest-tools.sh. Prints one line per overlay and source; fails on any error.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/manifest-tools.sh
bin=build/tools/bin
schemas=$PWD/build/tools/schemas
out=build/validate
schema_locations=(
  -schema-location "$schemas/kubernetes/{{ .ResourceKind }}{{ .KindSuffix }}.json"
  -schema-location "$schemas/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
)
rm -rf "$out"
mkdir -p "$out"

# kube-score checks left out, each for a reason:
#  container-image-tag / container-image-pull-policy: images are pinned by an immutable ECR tag and pulled
#    IfNotPresent on purpose (a GPU node pulls the multi-GB image once);
#  pod-probes: kube-score wants distinct readiness and liveness; ours differ (marker file) but are exec;
#  deployment-replicas / deployment-has-host-podantiaffinity: one replica is the cheapest useful default
#    (with autoscaling, KEDA sets the count: the Deployment has no replicas field) and the topology spread keeps
#    one pod per node;
#  container-cpu-requests-equal-limits is not enabled (only an optional check).
skip=container-image-tag,container-image-pull-policy,pod-probes,deployment-replicas,deployment-has-host-podantiaffinity

status=0
for source in outputs example; do
  if [ "$source" = outputs ]; then
    npx tsx bin/render-manifests.ts --outputs test/fixtures/cdk-outputs.json --out "$out/$source" >/dev/null
  else
    npx tsx bin/render-manifests.ts --example --out "$out/$source" >/dev/null
  fi
  for overlay in single-gpu multi-gpu; do
    built="$out/$source-$overlay.yaml"
    "$bin/kustomize" build "$out/$source/$overlay" > "$built"
    docs=$(grep -c '^kind:' "$built")
    if ! "$bin/kubeconform" -strict -summary -output text "${schema_locations[@]}" "$built" > "$built.kubeconform" 2>&1; then
      cat "$built.kubeconform" >&2; status=1
    fi
    if ! "$bin/kube-score" score --output-format ci --ignore-test "$skip" \
        --kubernetes-version v1.35 "$built" > "$built.kube-score" 2>&1; then
      grep -E '^\[CRITICAL\]' "$built.kube-score" >&2 || cat "$built.kube-score" >&2; status=1
    fi
    echo "manifests $overlay ($source): $docs documents; $(tail -1 "$built.kubeconform"); kube-score: $(grep -c '^\[CRITICAL\]' "$built.kube-score" || true) critical"
  done
done

# The validation must be able to fail: four broken documents (a bad enum in the EC2NodeClass, a misspelled
# TargetGroupBinding field, a misspelled PodDisruptionBudget field, a KEDA pod identity provider that does not
# exist) must all be reported invalid.
broken="$out/broken.yaml"
sed -e 's/instanceStorePolicy: RAID0/instanceStorePolicy: RAID5/' -e 's/targetType: ip/targetTyp: ip/' \
    -e 's/^  maxUnavailable: 1$/  maxUnavailabl: 1/' -e 's/^    provider: aws$/    provider: aws-foo/' \
    "$out/outputs-single-gpu.yaml" > "$broken"
invalid=$("$bin/kubeconform" -strict -summary -output json "${schema_locations[@]}" "$broken" | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["invalid"])' || true)
if [ "$invalid" != 4 ]; then
  echo "manifests: the broken copy should have 4 invalid documents, kubeconform found ${invalid:-none}" >&2
  status=1
else
  echo "manifests: a deliberately broken copy is rejected (4 invalid documents)"
fi
exit "$status"
