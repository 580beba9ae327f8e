"""The job runner (docs/jobs.md, "Runner"): takes jobs from the SQS queue when a ComfyUI pod has an idle
GPU, runs them on that pod over HTTP, streams the outputs to S3 and completes each job exactly once.

Pure logic (no I/O): contract, settings, slots, pickup, transitions, workflow_prefix, outputs, outcome,
progress, pods. Adapters: aws (DynamoDB, SQS, S3), comfy_client and pod_events (ComfyUI), kube (pod list),
health. Flow: runner (the loop) -> job (one message) -> follow (one prompt) -> upload.
"""
