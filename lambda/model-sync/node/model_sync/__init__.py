"""The node-side model sync: makes a GPU node's model cache hold exactly the models in the S3 models bucket.

sync_models.py (beside this package) is the entry point that the boot unit and the SSM document run; the
modules here are named after what they do:

- cli: arguments, the root-only --prepare-cache-for step, the boot report, the exit code and last line of a run
- sync: a run, from filing its request to the outcome of the pass that answered it
- run_queue, deadline: runs take turns and lose no request; when a run must stop (--stop-by, the first sync's)
- keys: which bucket keys are model files a node can place (the rules of lib/model-folders.ts)
- plan: what to download and delete, and whether it fits (pure)
- listing, s5cmd, fetch, download: the bucket side (download places a model only as one version, whole)
- aws: the few calls s5cmd cannot make (a HEAD, CloudWatch Logs), signed with the standard library
- cache, prepare: the node side (folders, `ready`; the root-only preparation)
- manifest, run_status, progress: what was placed and where the run stands, written as it goes
- boot_report: the boot sync's output in CloudWatch Logs, beside the SSM-run ones
- log: the one output format (the journal, CloudWatch through SSM)

Standard library only, Python 3.9 (AL2023's system python3).
"""
