#!/usr/bin/env python3
"""Kubernetes probes and the preStop drain of the ComfyUI container (exec handlers, loopback only).

  startup  ComfyUI answers HTTP (custom nodes loaded; the multi-GPU image listens only after warmup).
  ready    startup's check, the node's models are synced (the sync's `ready` marker exists), and the
           multi-GPU image's /readyz does not refuse (every GPU out of service, a custom node that replaced
           what the adapter patched, a queue over COMFY_MAX_QUEUE_DEPTH). Stock ComfyUI has no /readyz.
  alive    ComfyUI answers HTTP within the probe's time, and the multi-GPU image's /healthz does not
           answer 503 (a GPU worker died, or every GPU is out of service after repeated GPU faults;
           a restart is the cure). Stock ComfyUI has no /healthz (404): answering is enough.
  drain    preStop: wait until ComfyUI's queue is empty (running and pending), at most --timeout seconds,
           so a pod being replaced finishes the prompts it accepted before it gets SIGTERM.

Exec probes, not httpGet: readiness needs the marker file, and exec keeps the probes inside the pod, so
the namespace's NetworkPolicy need not admit the kubelet. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request


def get_json(base_url: str, path: str, timeout: float):
    with urllib.request.urlopen(base_url + path, timeout=timeout) as response:
        return json.load(response)


def answers(base_url: str, timeout: float) -> tuple[bool, str]:
    try:
        get_json(base_url, "/system_stats", timeout)
        return True, "ComfyUI answers"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return False, "ComfyUI does not answer %s/system_stats: %s" % (base_url, error)


def self_verdict(base_url: str, path: str, timeout: float) -> tuple[bool, str]:
    """The multi-GPU image's verdict on itself (/healthz: alive; /readyz: fit to take prompts); it reads
    thread, breaker and adapter state only, never a GPU, so a busy worker cannot make it slow. Stock
    ComfyUI has neither route (404): answering is enough."""
    try:
        get_json(base_url, path, timeout)
        return True, "%s: ok" % path
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return True, "no %s (stock ComfyUI)" % path
        try:
            reason = json.load(error).get("reason", "")
        except (ValueError, AttributeError):
            reason = ""
        return False, "ComfyUI's %s answered %d: %s" % (path, error.code, reason)
    except (urllib.error.URLError, OSError, ValueError) as error:
        return False, "ComfyUI does not answer %s%s: %s" % (base_url, path, error)


def queue_depth(queue: dict) -> int:
    """Running plus pending prompts in a stock `GET /queue` answer (the multi-GPU image aggregates)."""
    return len(queue.get("queue_running") or []) + len(queue.get("queue_pending") or [])


# Longest a single GET /queue may take while draining: a server busy loading a model can answer slowly, and a
# slow answer is not a reason to stop waiting.
QUEUE_CALL_SECONDS = 10.0


def refused(error: Exception) -> bool:
    """Only a refused connection means ComfyUI has exited; a timeout, a reset or a 5xx is a busy server."""
    return isinstance(getattr(error, "reason", error), ConnectionRefusedError)


def drain(base_url: str, timeout: float, poll: float, clock=time.monotonic, sleep=time.sleep,
          call_seconds: float = QUEUE_CALL_SECONDS) -> tuple[bool, str]:
    """Waits until ComfyUI's queue is empty or it has exited, at most `timeout` seconds. Any other failure to
    read the queue (slow, 500, malformed) is retried until the deadline: giving up early would let SIGTERM
    kill the prompts the drain exists to protect."""
    deadline = clock() + timeout
    last = None
    while True:
        try:
            depth = queue_depth(get_json(base_url, "/queue", max(0.1, min(call_seconds, deadline - clock()))))
        except (urllib.error.URLError, OSError, ValueError) as error:
            if refused(error):
                return True, "ComfyUI has exited (connection refused); nothing left to wait for"
            depth = None
            print("drain: GET /queue failed (%s); retrying until the deadline" % error, flush=True)
        if depth == 0:
            return True, "queue empty"
        if depth is not None and depth != last:
            print("drain: %d prompt(s) running or pending" % depth, flush=True)
            last = depth
        if clock() >= deadline:
            left = "%d prompt(s) still queued" % depth if depth is not None else "queue unreadable"
            return False, "%s after %.0f s; stopping anyway" % (left, timeout)
        sleep(poll)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("check", choices=["startup", "ready", "alive", "drain"])
    p.add_argument("--url", default="http://127.0.0.1:%s" % os.environ.get("COMFYUI_PORT", "8188"))
    p.add_argument("--ready-marker", default=os.environ.get("MODELS_READY_MARKER", ""))
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per HTTP call; drain: total seconds")
    p.add_argument("--poll-seconds", type=float, default=5.0)
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.check == "drain":
        ok, message = drain(args.url, args.timeout, args.poll_seconds)
        print("drain: " + message, flush=True)
        return 0  # a failing preStop only delays SIGTERM further; never fail it
    if args.check == "ready":
        if not args.ready_marker:
            print("ready: --ready-marker or $MODELS_READY_MARKER is required", file=sys.stderr)
            return 2
        if not os.path.exists(args.ready_marker):
            print("not ready: models not synced yet (%s missing)" % args.ready_marker)
            return 1
    ok, message = answers(args.url, args.timeout)
    if ok and args.check == "alive":
        ok, message = self_verdict(args.url, "/healthz", args.timeout)
    if ok and args.check == "ready":
        ok, message = self_verdict(args.url, "/readyz", args.timeout)
    print(message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
