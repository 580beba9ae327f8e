#!/usr/bin/env python3
"""Waits, as a ComfyUI pod's first init container, until the pod's NetworkPolicies are enforced.

The VPC CNI runs its network policy agent in `standard` mode (lib/addons/vpc-cni.ts explains why not
`strict`): a new pod starts with all traffic allowed until the agent has programmed the pod's policies, a
few seconds in which a malicious custom node, imported when ComfyUI starts, could reach anything. This
runs first, before any other container of the pod, and returns only once a connection the pod's egress
policy forbids (to the Kubernetes API service address, which ComfyUI's policy does not admit) no longer
gets through. Ingress and egress rules of a pod are programmed together, so egress enforced means both.

Exit 0 once enforced; exit 1 if it is not within --timeout seconds (the kubelet restarts the container, and
the pod never starts unprotected). Standard library only.
"""
from __future__ import annotations

import argparse
import errno
import socket
import sys
import time

# What a connect attempt says about enforcement. A policy drop leaves the SYN unanswered (a timeout); the
# agent's eBPF program may also make the kernel report the packet as refused locally (EPERM) or unreachable.
BLOCKED_ERRNOS = {errno.EPERM, errno.EACCES, errno.EHOSTUNREACH, errno.ENETUNREACH}


def connect_gets_through(host: str, port: int, timeout: float) -> bool:
    """True when a TCP connection reaches the peer (accepted, or refused by a host that got the SYN)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except socket.timeout:
        return False
    except OSError as error:
        # Refused or reset: a host got the SYN, so nothing blocked it. Anything else unknown counts as
        # not blocked too: waiting longer is the safe side.
        return error.errno not in BLOCKED_ERRNOS


def wait_until_enforced(probe, timeout: float, pause: float, clock=time.monotonic, sleep=time.sleep,
                        log=print) -> bool:
    """Calls probe() (True: traffic gets through) until it returns False or `timeout` seconds pass."""
    deadline = clock() + timeout
    attempts = 0
    while True:
        attempts += 1
        if not probe():
            log("network policy enforced after %d attempt(s)" % attempts, flush=True)
            return True
        if clock() >= deadline:
            log("network policy still not enforced after %.0f s: refusing to start the pod unprotected"
                % timeout, file=sys.stderr, flush=True)
            return False
        sleep(pause)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--probe", required=True, help="HOST:PORT the pod's egress policy forbids")
    p.add_argument("--attempt-seconds", type=float, default=1.0, help="connect timeout per attempt")
    p.add_argument("--pause-seconds", type=float, default=0.5)
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args(argv)
    host, _, port = args.probe.rpartition(":")
    if not host or not port.isdigit():
        p.error("--probe must be HOST:PORT, got %r" % args.probe)
    args.host, args.port = host, int(port)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    probe = lambda: connect_gets_through(args.host, args.port, args.attempt_seconds)  # noqa: E731
    return 0 if wait_until_enforced(probe, args.timeout, args.pause_seconds) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
