"""The node-side model sync: makes a GPU node's model cache hold exactly the models in the S3 models bucket.

sync_models.py (beside this package) is the entry point that the boot unit and the SSM document run; the
modules here are named after what they do:

- cli: arguments, the root-only --prepare-cache-for step, exit codes on the way out
- sync: one run, from the lock to status.json
- keys: which bucket keys are model files a node can store (the rules of lib/model-folders.ts)
- plan: what to download and delete, and whether it fits (pure)
- listing, s5cmd, fetch, download: the bucket side
- cache, prepare: the node side (folders, manifest, status, `ready`; the root-only preparation)
- log: the one output format (the journal, CloudWatch through SSM)

Standard library only, Python 3.9 (AL2023's system python3).
"""
