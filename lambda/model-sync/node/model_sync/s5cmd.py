"""s5cmd, the one program that talks to S3 here: listing, presigning, and parallel copies of listed keys."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import urllib.parse

from .keys import UNSAFE_KEY_CHARACTERS
from .outcome import SyncError

# Small objects come by presigned GET (plan.split_downloads). A batch of URLs is signed when the queue has room
# for it, so each is used within seconds of signing; an hour is a ceiling, not a working time.
PRESIGN_EXPIRE = "1h"


# s5cmd must die with this script (a killed run's s5cmd would write on). PR_SET_PDEATHSIG is set in a fresh,
# single-threaded python that then becomes s5cmd (execv keeps the setting): a preexec_fn would run Python
# between fork and exec in this threaded process, which can deadlock on a lock another thread held at the fork
# (https://docs.python.org/3/library/subprocess.html, preexec_fn).
DIE_WITH_PARENT = (
    "import ctypes, os, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, 9)\n"  # PR_SET_PDEATHSIG, SIGKILL
    "os.getppid() == int(sys.argv[1]) or os._exit(1)\n"  # the parent died before prctl: no signal would come
    "os.execv(sys.argv[2], sys.argv[2:])\n")


def dying_with_this_process(argv: list) -> list:
    return [sys.executable, "-I", "-S", "-c", DIE_WITH_PARENT, str(os.getpid())] + argv


class S5cmd:
    def __init__(self, args):
        self.binary = args.s5cmd
        self.workers = args.workers
        self.base = [self.binary, "--json", "--numworkers", str(args.workers)]
        endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            self.base += ["--endpoint-url", endpoint]
        self.endpoint = endpoint or ""
        self.env = dict(os.environ)
        if args.region:
            self.env["AWS_REGION"] = args.region
        # The region s5cmd finds the same way (its --endpoint-url aside), for the calls this package signs itself.
        self.region = self.env.get("AWS_REGION") or self.env.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.cp_flags = ["--concurrency", str(args.part_concurrency), "--part-size", str(args.part_size_mib)]
        self.part_size = args.part_size_mib * 1024 * 1024

    def presign(self, bucket: str, keys: list) -> dict:
        """key -> presigned GET URL, signed locally by s5cmd with the node's credentials (no request is made).

        `run` prints the URLs in no particular order, so each is matched to its key by its path. They are
        bearer tokens until they expire (PRESIGN_EXPIRE): they stay in memory and are never logged.
        """
        lines = ["presign --expire %s %s" % (PRESIGN_EXPIRE, shlex.quote("s3://%s/%s" % (bucket, key))) for key in keys]
        proc = subprocess.run(dying_with_this_process([a for a in self.base if a != "--json"] + ["run"]),
                              env=self.env, capture_output=True, input="".join(line + "\n" for line in lines),
                              text=True)
        urls = {presigned_key(url, bucket): url for url in proc.stdout.split("\n") if url}
        if proc.returncode != 0 or set(urls) != set(keys):
            raise SyncError("s5cmd presign failed (exit code %d, %d of %d URLs): %s"
                            % (proc.returncode, len(set(urls) & set(keys)), len(keys), proc.stderr.strip()[:300]))
        return urls

    def list_objects(self, bucket: str, prefix: str) -> list:
        url = "s3://%s/%s*" % (bucket, prefix)
        proc = subprocess.run(dying_with_this_process(self.base + ["ls", url]), env=self.env, capture_output=True,
                              text=True)
        objects = []
        # "\n" only: str.splitlines() would also split at a NEL or U+2028 inside a key, which JSON leaves as is.
        for line in proc.stdout.split("\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                raise SyncError("listing %s gave a line that is not JSON: %.200r" % (url, line))
            if entry.get("type") == "file":
                objects.append(entry)
        if proc.returncode != 0:
            errors = [json.loads(l).get("error", l) for l in proc.stderr.splitlines() if l.startswith("{")]
            if errors and all("no object found" in e for e in errors):
                return []
            raise SyncError("listing %s failed: %s" % (url, (errors or [proc.stderr.strip()])[0]))
        return objects

    def copy_many(self, run_file: str, on_result) -> int:
        """Runs every line of run_file in parallel; calls on_result(json) as each copy ends."""
        proc = subprocess.Popen(dying_with_this_process(self.base + ["run", run_file]), env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            errors_thread = threading.Thread(target=read_lines, args=(proc.stderr, on_result), daemon=True)
            errors_thread.start()
            read_lines(proc.stdout, on_result)
            errors_thread.join()
            return proc.wait()
        finally:
            if proc.poll() is None:  # this run is ending (SIGTERM, an error): s5cmd must not write on
                proc.kill()
                proc.wait()


def read_lines(stream, on_line) -> None:
    """Hands each line to on_line until the stream ends. A line on_line cannot take is handed on as text, so the
    pipe is always drained: a reader that stopped would leave s5cmd blocked on a full pipe, holding the lock."""
    for line in stream:
        try:
            on_line(line)
        except Exception as error:  # noqa: BLE001 (reported as a failed line, never a dead reader)
            try:
                on_line(json.dumps({"error": "%s on s5cmd output %.200r" % (type(error).__name__, line)}))
            except Exception:  # noqa: BLE001
                pass


def presigned_key(url: str, bucket: str) -> str | None:
    """The key a presigned URL of this bucket fetches, virtual-hosted (bucket.s3...) or path style (/bucket/key)."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path)
    if (parts.hostname or "").startswith(bucket.lower() + "."):
        return path[1:]
    return path[len(bucket) + 2:] if path.startswith("/%s/" % bucket) else None


def copy_commands(bucket: str, targets: list, cp_flags: list) -> list:
    """The lines of an `s5cmd run` file that copy exactly these (key, destination) pairs.

    One `cp --raw` per key: --raw makes the source one literal key (no listing, so no key that appears after
    ours; '*' and '?' in a name are no wildcards). Each lands in a numbered file of the staging folder, a name
    no key chooses. s5cmd splits each line like a POSIX shell (go-shellquote), which is what shlex.quote
    quotes for; a line break cannot be quoted, so keys must have passed model_key_problem.
    """
    lines = []
    for key, dest in targets:
        if UNSAFE_KEY_CHARACTERS.search(key):
            raise ValueError("refused key reached copy_commands: %r" % key)
        lines.append(" ".join(["cp", "--raw"] + cp_flags + [shlex.quote("s3://%s/%s" % (bucket, key)),
                                                             shlex.quote(dest)]))
    return lines
