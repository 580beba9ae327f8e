#!/usr/bin/env python3
"""Output shipper: copies ComfyUI's finished outputs from its local output directory to the outputs bucket.

ComfyUI writes into a local directory (an emptyDir on the node's NVMe array), because Mountpoint for S3
only supports sequential writes to new files: video encoders seek back to finish a file (an MP4's index),
which Mountpoint refuses. This sidecar copies each file once it has stopped changing (same size and mtime
for --settle-seconds) to the Mountpoint volume under <pod name>/<relative path>, as one sequential write;
the object appears in S3 only when that write completes, so nobody sees half a file. A file that changes
again after its copy (an encoder's second pass) is copied again. Local files stay for the pod's life, so
ComfyUI's /view keeps serving them and its file counter never reuses a name.

On SIGTERM (a native sidecar gets it after ComfyUI has exited) it copies whatever is left, settled or not,
and exits. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time

CHUNK = 8 * 1024 * 1024


def log(message: str, **fields) -> None:
    print(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "msg": message, **fields}),
          flush=True)


class Shipper:
    def __init__(self, source: str, dest: str, settle_seconds: float, clock=time.time):
        self.source, self.dest, self.settle, self.clock = source, dest, settle_seconds, clock
        self.seen: dict[str, tuple[int, int]] = {}  # relative path -> (size, mtime_ns) at the last scan
        self.shipped: dict[str, tuple[int, int]] = {}  # relative path -> (size, mtime_ns) when copied
        self.failures = 0

    def scan(self) -> dict[str, tuple[int, int]]:
        found = {}
        for root, dirs, files in os.walk(self.source):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith("."):  # hidden and temporary files of writers
                    continue
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    continue
                found[os.path.relpath(path, self.source)] = (st.st_size, st.st_mtime_ns)
        return found

    def due(self, found: dict[str, tuple[int, int]], final: bool) -> list[str]:
        """Files to copy now: changed since their last copy, and settled (or this is the final pass)."""
        now_ns = int(self.clock() * 1e9)
        ready = []
        for rel, state in sorted(found.items()):
            if self.shipped.get(rel) == state:
                continue
            settled = self.seen.get(rel) == state and now_ns - state[1] >= self.settle * 1e9
            if final or settled:
                ready.append(rel)
        return ready

    def already_in_bucket(self, rel: str, size: int) -> bool:
        """After a restart of this sidecar: a file whose object already has its size was copied before."""
        try:
            return os.stat(os.path.join(self.dest, rel)).st_size == size
        except OSError:
            return False

    def copy(self, rel: str) -> None:
        source, target = os.path.join(self.source, rel), os.path.join(self.dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        started = time.monotonic()
        before = os.stat(source)
        with open(source, "rb") as src, open(target, "wb") as dst:  # one sequential write, as Mountpoint needs
            shutil.copyfileobj(src, dst, CHUNK)
        # close() above completed the upload; record what was copied, not what is there now
        self.shipped[rel] = (before.st_size, before.st_mtime_ns)
        log("shipped", file=rel, bytes=before.st_size, seconds=round(time.monotonic() - started, 3))

    def run_once(self, final: bool = False) -> int:
        found = self.scan()
        copied = 0
        for rel in self.due(found, final):
            if rel not in self.shipped and self.already_in_bucket(rel, found[rel][0]):
                self.shipped[rel] = found[rel]
                continue
            try:
                self.copy(rel)
                copied += 1
            except OSError as error:
                self.failures += 1
                log("copy failed; will retry", file=rel, error=str(error))
        self.seen = found
        return copied


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source", required=True, help="ComfyUI's --output-directory")
    p.add_argument("--bucket-mount", required=True, help="the outputs bucket's Mountpoint volume")
    p.add_argument("--prefix", default=os.environ.get("POD_NAME", ""), help="default: $POD_NAME")
    p.add_argument("--settle-seconds", type=float, default=10.0)
    p.add_argument("--interval-seconds", type=float, default=2.0)
    args = p.parse_args(argv)
    if not args.prefix or "/" in args.prefix or args.prefix.startswith("."):
        p.error("--prefix (or $POD_NAME) must be a plain name, got %r" % args.prefix)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    shipper = Shipper(args.source, os.path.join(args.bucket_mount, args.prefix), args.settle_seconds)
    log("shipping outputs", source=args.source, dest=shipper.dest, settle_seconds=args.settle_seconds)
    while not stop["now"]:
        shipper.run_once()
        time.sleep(args.interval_seconds)
    copied = shipper.run_once(final=True)
    log("final pass done", copied=copied, failures=shipper.failures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
