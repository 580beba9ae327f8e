#!/usr/bin/env python3
"""Benchmark: node sync throughput (sync_models.py) vs. a plain parallel copy of the same bytes.

Both read from the same local S3 server (moto, 127.0.0.1) with the same s5cmd and the same worker and
part settings; the plain copy is `s5cmd cp 's3://bucket/*' dir/`, which has none of our listing, planning,
staging, renames, manifest or status writes. Prints seconds, MiB/s and the ratio (target >= 0.7).
--baseline-script times another version of the script in the same rounds (e.g. the last commit's, from
`git worktree add /tmp/base HEAD`: /tmp/base/lambda/model-sync/node/sync_models.py, which imports the package
beside it), so a change is measured against it on the same load.

    .venv/bin/python scripts/bench/node_sync_throughput.py [--small-files 1000 --small-kib 512]
        [--large-files 2 --large-gib 2] [--rounds 2] [--baseline-script FILE]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lambda" / "model-sync" / "node" / "tests"))
from moto_server import moto_server  # noqa: E402  (shared with the node script's tests)
SCRIPT = REPO / "lambda" / "model-sync" / "node" / "sync_models.py"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
WORKERS, PART_CONCURRENCY, PART_MIB = 64, 16, 64


def s5(endpoint: str, *args: str) -> None:
    subprocess.run([str(BIN / "s5cmd"), "--endpoint-url", endpoint, "--numworkers", str(WORKERS), *args],
                   env=ENV, check=True, stdout=subprocess.DEVNULL)


def make_dataset(endpoint: str, bucket: str, folder: str, count: int, size: int, work: Path) -> int:
    src = work / "src" / folder
    src.mkdir(parents=True)
    block = os.urandom(min(size, 64 * 1024 * 1024))
    for i in range(count):
        with open(src / ("model-%04d.safetensors" % i), "wb") as f:
            left = size
            while left > 0:
                f.write(block[:min(left, len(block))])
                left -= len(block)
    print("  uploading %d x %.1f MiB to s3://%s/%s/ ..." % (count, size / 2 ** 20, bucket, folder), flush=True)
    s5(endpoint, "mb", "s3://" + bucket)
    s5(endpoint, "cp", "--concurrency", str(PART_CONCURRENCY), str(work / "src") + "/*", "s3://%s/" % bucket)
    shutil.rmtree(work / "src")
    return count * size


def timed(cmd: list) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def plain_copy(endpoint: str, bucket: str, dest: Path) -> float:
    return timed([str(BIN / "s5cmd"), "--endpoint-url", endpoint, "--numworkers", str(WORKERS), "cp",
                  "--concurrency", str(PART_CONCURRENCY), "--part-size", str(PART_MIB), "s3://%s/*" % bucket,
                  str(dest) + "/"])


def node_sync(endpoint: str, bucket: str, dest: Path, folder: str, script: Path = SCRIPT) -> float:
    return timed([sys.executable, str(script), "--bucket", bucket, "--data-dir", str(dest), "--folders", folder,
                  "--endpoint-url", endpoint, "--s5cmd", str(BIN / "s5cmd"), "--reserve-gib", "0",
                  "--reserve-percent", "0", "--workers", str(WORKERS), "--part-concurrency", str(PART_CONCURRENCY),
                  "--part-size-mib", str(PART_MIB)])


def bench(endpoint: str, name: str, folder: str, count: int, size: int, rounds: int, work: Path,
          baseline: Path | None) -> tuple:
    bucket = "bench-" + name.replace(" ", "-")
    total = make_dataset(endpoint, bucket, folder, count, size, work)
    kinds = ("plain", "sync") + (("baseline",) if baseline else ())
    best = dict.fromkeys(kinds, float("inf"))
    for r in range(rounds):
        for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:  # rotate: no kind always runs first
            dest = work / ("%s-%d" % (kind, r))
            if kind == "plain":
                seconds = plain_copy(endpoint, bucket, dest)
            else:
                seconds = node_sync(endpoint, bucket, dest, folder, baseline if kind == "baseline" else SCRIPT)
            best[kind] = min(best[kind], seconds)
            print("  round %d %-8s %7.2f s" % (r + 1, kind, seconds), flush=True)
            shutil.rmtree(dest)
    mib = total / 2 ** 20
    return name, count, size, total, best, mib


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--small-files", type=int, default=1000)
    p.add_argument("--small-kib", type=int, default=512)
    p.add_argument("--large-files", type=int, default=2)
    p.add_argument("--large-gib", type=float, default=2.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--baseline-script", type=Path, help="another sync_models.py to time in the same rounds")
    args = p.parse_args()
    datasets = [("many small files", "loras", args.small_files, args.small_kib * 1024),
                ("few large files", "checkpoints", args.large_files, int(args.large_gib * 2 ** 30))]
    rows = []
    with moto_server(lifetime_seconds=3600) as endpoint:
        with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
            for name, folder, count, size in datasets:
                if count > 0:
                    print(name + ":", flush=True)
                    rows.append(bench(endpoint, name, folder, count, size, args.rounds, Path(tmp),
                                      args.baseline_script))
    baseline = " | baseline | baseline ratio" if args.baseline_script else ""
    print("\n| dataset | files | total | plain s5cmd cp | node sync | plain MiB/s | sync MiB/s | ratio%s |" % baseline)
    print("|---|---:|---:|---:|---:|---:|---:|---:|%s" % ("---:|---:|" if baseline else ""))
    for name, count, size, total, best, mib in rows:
        size_text = "%d KiB" % (size // 1024) if size < 2 ** 30 else "%g GiB" % (size / 2 ** 30)
        extra = " | %.2f s | %.2f" % (best["baseline"], best["plain"] / best["baseline"]) if baseline else ""
        print("| %s | %d x %s | %.2f GiB | %.2f s | %.2f s | %.0f | %.0f | %.2f%s |" % (
            name, count, size_text, total / 2 ** 30, best["plain"], best["sync"], mib / best["plain"],
            mib / best["sync"], best["plain"] / best["sync"], extra))


if __name__ == "__main__":
    main()
