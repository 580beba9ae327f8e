# The model gate's image: a Python runtime and nothing else. The gate (manifests/base/pod-scripts/model_gate.py,
# standard library only) is mounted from the comfyui-pod-scripts ConfigMap, so the script has one source.
# It holds the only Kubernetes token on a GPU node's ComfyUI side, so it runs from the smallest image that
# can run it: distroless has no shell, package manager or ComfyUI code for a foothold to use.
# Built and pushed beside the ComfyUI image by build_and_push.sh; the cluster pulls it from the stack's ECR
# repository, never from gcr.io. Pin the base by digest with --build-arg MODEL_GATE_BASE=...@sha256:<digest>
# for a reproducible build.
ARG MODEL_GATE_BASE=gcr.io/distroless/python3-debian12:nonroot
FROM ${MODEL_GATE_BASE}
# Must equal COMFYUI_UID in lib/names.ts, as for the ComfyUI image.
ARG COMFYUI_UID=10001
USER ${COMFYUI_UID}:${COMFYUI_UID}
ENTRYPOINT ["python3"]
