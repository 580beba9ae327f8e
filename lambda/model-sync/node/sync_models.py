#!/usr/bin/env python3
"""Make this GPU node's model cache hold exactly the models in the S3 models bucket.

The entry point of the node-side sync (the model_sync package beside it holds the rest): the boot-time
systemd unit runs this file, and the SSM document ComfyUI-SyncModels embeds it with the package (the CDK app
packs them when it synthesizes the document), so both always run the same code.

- Full mode (no --keys-b64): reconcile every model folder; files whose objects are gone are deleted.
- Keys mode (--keys-b64 = base64 JSON list): reconcile only those keys against the bucket's current
  state, so out-of-order or duplicate notifications cannot leave a wrong file behind.

Downloads land in a per-run staging directory on the same filesystem and are renamed into place when
complete, so ComfyUI never sees a half-written file: objects larger than one part through s5cmd (parallel
ranged parts, placed only if a HEAD afterwards shows the version listed), smaller ones by presigned GET in
threads (plan.split_downloads says why). Runs take turns under a lock, and the run that holds it syncs every
request filed meanwhile before it lets go (run_queue); --stop-by ends a run cleanly before SSM would kill it.
The free space is checked before anything changes, and again after deletions; status.json (written as the
run goes, with a manifest journal of every file placed) and the `ready` marker (written after a successful
full sync, withdrawn on a new boot until that boot's full sync completes) tell pods and operators where the
node stands. The boot unit's first sync gives up after --first-sync-deadline-seconds, for the model gate to
replace the node, and reports to CloudWatch Logs like SSM's runs (--report-log-group).

Whoever can write to the bucket chooses the keys, so only keys this script listed and checked are fetched,
each into a numbered staging file: s5cmd gets one `cp --raw` per key, never a wildcard (s5cmd lists a
wildcard again by itself and writes a key like `checkpoints/../../x` outside its destination:
https://github.com/peak/s5cmd/issues/872). Keys that cannot be a file below models/ are refused one by one
and reported; they hold nothing else back. The sync runs as an unprivileged user that may write only the
cache; root only prepares the cache for it (--prepare-cache-for).

Runs on the node's system python3 (3.9 on AL2023) with the standard library only.
Exit codes: 0 ok, 1 some objects failed, 2 bad arguments or environment, 3 models do not fit,
4 another run held the lock too long (this run's request stays queued for it), 5 the instance store is not
mounted, 6 stopped at its deadline (--stop-by; its request stays queued for the next run).
"""
import os
import sys

# No __pycache__ beside the code: root runs this first (--prepare-cache-for), the sync user after.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from model_sync.cli import main  # noqa: E402  (after the path is set)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
