#!/usr/bin/env python3
"""Model gate: lifts a GPU node's startup taint once its first model sync is complete.

Runs as a DaemonSet pod on every ComfyUI GPU node. Karpenter registers those nodes with the startup taint
MODELS_TAINT_KEY, so no ComfyUI pod lands on a node whose models are still downloading. The node itself
cannot lift it (the NodeRestriction admission plugin forbids kubelets to change taints), so this pod
watches the node's `ready` marker (written by sync_models.py after a full sync) and removes the taint
through the API server. Until then it logs the sync's status.json, so `kubectl logs` shows progress. A first
sync that fails for good (it gave up, or never completed in --replace-after-seconds) is reported as a Warning
Event on the node, and the gate deletes its own node so that Karpenter replaces it: Karpenter itself never
disrupts a node that is not initialized, so without this it would live, tainted, until its expireAfter.

Standard library only, Python 3.11 or later: it runs in the model gate image (comfyui_image/model-gate.Dockerfile,
distroless Python 3.11), which holds nothing else.
"""
from __future__ import annotations

import argparse
import calendar
import fcntl
import json
import os
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
# The API server keeps an Event about a cluster-scoped object (a Node) only in `default`, as the kubelet's.
EVENT_NAMESPACE = "default"


def log(message: str, **fields) -> None:
    print(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "msg": message, **fields}),
          flush=True)


def taint_removal_patch(node: dict, taint_key: str) -> list | None:
    """JSON patch that removes every taint with `taint_key`, guarded by `test` ops so a concurrent change
    to the taint list makes the API server refuse the patch instead of removing the wrong entry."""
    taints = node.get("spec", {}).get("taints") or []
    indexes = [i for i, t in enumerate(taints) if t.get("key") == taint_key]
    if not indexes:
        return None
    patch: list = []
    for i in reversed(indexes):  # highest index first, so earlier indexes stay valid
        patch.append({"op": "test", "path": "/spec/taints/%d" % i, "value": taints[i]})
        patch.append({"op": "remove", "path": "/spec/taints/%d" % i})
    return patch


def sync_holds_lock(state_dir: str) -> bool:
    """Whether a sync runs on the node now: it holds an exclusive flock on model-sync/lock while it runs. A
    shared flock, on a read-only descriptor, is refused while it does (and, taken and dropped at once, holds
    no sync back for long: a waiting sync tries again within a fraction of a second)."""
    try:
        fd = os.open(os.path.join(state_dir, "lock"), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def sync_summary(state_dir: str) -> dict:
    """The parts of status.json an operator wants while waiting; {} when the sync has not written it yet.
    A `running` state whose run no longer holds the lock is reported as `killed` (the sync's pid means nothing
    in this pod's pid namespace; the lock tells)."""
    try:
        with open(os.path.join(state_dir, "status.json"), encoding="utf-8") as f:
            status = json.load(f)
    except (OSError, ValueError):
        return {}
    keys = ("state", "mode", "objects", "bytes", "downloaded", "downloaded_bytes", "errors", "last_success",
            "progress", "refused", "gave_up")
    summary = {k: status[k] for k in keys if k in status}
    if summary.get("state") == "running" and not sync_holds_lock(state_dir):
        summary["state"] = "killed"
    return summary


class KubernetesApi:
    """The calls the gate needs, authenticated with the pod's (rotating) service account token."""

    def __init__(self, base_url: str, token_file: str | None, ca_file: str | None, timeout: float = 10.0):
        self.base_url, self.token_file, self.timeout = base_url.rstrip("/"), token_file, timeout
        self.context = ssl.create_default_context(cafile=ca_file) if base_url.startswith("https") else None

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        if self.token_file:
            with open(self.token_file, encoding="utf-8") as f:  # re-read: bound tokens rotate
                request.add_header("Authorization", "Bearer " + f.read().strip())
        if content_type:
            request.add_header("Content-Type", content_type)
        with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
            return json.load(response)

    def get_node(self, name: str) -> dict:
        return self._request("GET", "/api/v1/nodes/" + name)

    def patch_node(self, name: str, patch: list) -> dict:
        return self._request("PATCH", "/api/v1/nodes/" + name, json.dumps(patch).encode(),
                             "application/json-patch+json")

    def create_event(self, event: dict) -> dict:
        return self._request("POST", "/api/v1/namespaces/%s/events" % EVENT_NAMESPACE, json.dumps(event).encode(),
                             "application/json")

    def delete_node(self, name: str, uid: str) -> dict:
        """Deletes the node, only if it is still the one with this uid (never a new node of the same name)."""
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}}
        return self._request("DELETE", "/api/v1/nodes/" + name, json.dumps(options).encode(), "application/json")


def lift_taint(api: KubernetesApi, node_name: str, taint_key: str, attempts: int = 5) -> bool:
    """Removes the taint; True once the node no longer carries it. Retries a refused (raced) patch."""
    for attempt in range(1, attempts + 1):
        patch = taint_removal_patch(api.get_node(node_name), taint_key)
        if patch is None:
            return True
        try:
            api.patch_node(node_name, patch)
            return True
        except urllib.error.HTTPError as error:
            if error.code not in (409, 422) or attempt == attempts:  # 422: a `test` op failed (raced)
                raise
            log("taint list changed meanwhile; retrying", node=node_name, attempt=attempt)
    return False


def first_sync_failure(summary: dict, node_age: float, replace_after: float) -> str | None:
    """Why the node's first model sync has failed for good, or None while it may still complete: the sync gave
    up (its own deadline, or a failure no retry heals), or the node has waited replace_after seconds for it (a
    sync that never started or never wrote its status)."""
    if summary.get("gave_up"):
        return "the first model sync gave up: %s" % "; ".join(summary.get("errors") or ["(no reason recorded)"])
    if node_age >= replace_after:
        return "no complete model sync %d s after the node was created (sync state: %s)" % (
            node_age, summary.get("state", "none: the sync never wrote its status"))
    return None


def failure_event(node: dict, reason: str, message: str) -> dict:
    """A Warning Event about the node (kubectl describe node shows it)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    name = node["metadata"]["name"]
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": name + ".", "namespace": EVENT_NAMESPACE},
            "involvedObject": {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]},
            "type": "Warning", "reason": reason, "message": message[:1024], "count": 1,
            "firstTimestamp": now, "lastTimestamp": now,
            "source": {"component": "comfyui-model-gate", "host": name}}


def node_age(node: dict) -> float:
    created = time.strptime(node["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    return time.time() - calendar.timegm(created)


def has_taint(node: dict, taint_key: str) -> bool:
    return any(t.get("key") == taint_key for t in node.get("spec", {}).get("taints") or [])


class Replacement:
    """What the gate does about a first sync that failed for good: one Event, then, once the node is
    --replace-not-before-seconds old (so a fault every node shares, such as models that fit no instance type,
    costs one node per that period, not a tight loop), it deletes its own Node. Karpenter's finalizer then
    terminates the instance and deletes its NodeClaim, and pending ComfyUI pods get a new node. Only while the
    node still carries the startup taint: a node that served once is never deleted (the admission policy in
    model-gate.yaml holds the gate's token to the same)."""

    def __init__(self, api: KubernetesApi, node: dict, args: argparse.Namespace):
        self.api, self.node, self.args = api, node, args
        self.reported = self.deleted = False

    def check(self, summary: dict) -> None:
        if self.deleted or not has_taint(self.node, self.args.taint_key):
            return
        age = node_age(self.node)
        why = first_sync_failure(summary, age, self.args.replace_after_seconds)
        if why is None:
            return
        action = ("kept for inspection (--keep-failed-nodes)" if self.args.keep_failed_nodes
                  else "deleting the node so that Karpenter replaces it")
        if not self.reported:
            self.api.create_event(failure_event(self.node, "ModelSyncFailed", "%s; %s" % (why, action)))
            log("first model sync failed", node=self.args.node_name, why=why, action=action)
            self.reported = True
        if not self.args.keep_failed_nodes and age >= self.args.replace_not_before_seconds:
            self.api.delete_node(self.args.node_name, self.node["metadata"]["uid"])
            log("node deleted; Karpenter terminates the instance", node=self.args.node_name)
            self.deleted = True


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--node-name", default=os.environ.get("NODE_NAME"), help="default: $NODE_NAME")
    p.add_argument("--taint-key", required=True)
    p.add_argument("--state-dir", required=True, help="the sync's state dir (holds `ready` and status.json)")
    p.add_argument("--poll-seconds", type=float, default=5.0)
    p.add_argument("--log-every-seconds", type=float, default=30.0)
    p.add_argument("--replace-after-seconds", type=float, default=9000.0,
                   help="a node whose first sync has not completed this long after it was created is replaced")
    p.add_argument("--replace-not-before-seconds", type=float, default=900.0,
                   help="a failed node is replaced once it is this old, at the earliest")
    p.add_argument("--keep-failed-nodes", action="store_true", help="report a failed first sync, delete nothing")
    p.add_argument("--api-url", default=None, help="default: the in-cluster API server")
    p.add_argument("--once", action="store_true", help="exit after lifting the taint (tests)")
    args = p.parse_args(argv)
    if not args.node_name:
        p.error("--node-name or $NODE_NAME is required (set it from the downward API: spec.nodeName)")
    return args


def in_cluster_api(api_url: str | None) -> KubernetesApi:
    if api_url:
        return KubernetesApi(api_url, None, None)
    host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    return KubernetesApi("https://%s:%s" % (host, port), SERVICE_ACCOUNT + "/token", SERVICE_ACCOUNT + "/ca.crt")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    api = in_cluster_api(args.api_url)
    ready_file = os.path.join(args.state_dir, "ready")
    log("waiting for the first model sync", node=args.node_name, marker=ready_file)
    replacement = None
    last_log = 0.0
    while not stop["now"] and not os.path.exists(ready_file):
        summary = sync_summary(args.state_dir)
        try:
            replacement = replacement or Replacement(api, api.get_node(args.node_name), args)
            replacement.check(summary)
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            log("could not check or report the node; retrying", node=args.node_name, error=str(error))
        if time.monotonic() - last_log >= args.log_every_seconds:
            log("model sync not complete yet", node=args.node_name, **summary)
            last_log = time.monotonic()
        if replacement and replacement.deleted and args.once:
            return 0
        time.sleep(args.poll_seconds)
    if stop["now"]:
        return 0
    while not stop["now"]:
        try:
            lift_taint(api, args.node_name, args.taint_key)
            log("models ready; startup taint lifted", node=args.node_name, taint=args.taint_key,
                **sync_summary(args.state_dir))
            break
        except (urllib.error.URLError, OSError, ValueError) as error:
            log("could not lift the taint; retrying in 10 s", node=args.node_name, error=str(error))
            time.sleep(10)
    # A DaemonSet pod must keep running; it has nothing left to do on this node.
    while not stop["now"] and not args.once:
        time.sleep(5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
