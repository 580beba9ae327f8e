"""The boot sync's output, sent to the CloudWatch Logs group where the SSM agent sends the output of every
SSM-run sync, in a stream named as SSM names its own (<command>/<instance>/<step>/stdout, with a command of
`boot-<start time>`), so `comfyctl models status` reads boot syncs like the others.

The node role may already write streams in that one group (lib/policies/node-role.ts, for the agent); nothing
more is needed. The report never fails the sync: if CloudWatch cannot be reached, the journal still has it all.
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time

from . import aws

# The SSM document's step name: streams of boot syncs read like those of SSM-run ones.
STEP = "syncModels"
FLUSH_EVERY_SECONDS = 5.0
# PutLogEvents takes at most 10,000 events and 1,048,576 bytes (each event's bytes plus 26) per call.
MAX_EVENTS, MAX_BYTES = 10000, 1048576 - 65536


def stream_name(instance_id: str, started: float) -> str:
    return "boot-%s/%s/%s/stdout" % (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)), instance_id, STEP)


def logs_endpoint(region: str) -> str:
    """As the AWS SDKs find it: AWS_ENDPOINT_URL_LOGS, then AWS_ENDPOINT_URL, then the region's."""
    return (os.environ.get("AWS_ENDPOINT_URL_LOGS") or os.environ.get("AWS_ENDPOINT_URL")
            or "https://logs.%s.amazonaws.com" % region).rstrip("/") + "/"


class BootReport:
    """A sink for log(): lines are sent in batches every few seconds from a thread, and at close()."""

    def __init__(self, group: str, region: str, instance_id: str, credentials: aws.Credentials | None = None):
        self.group, self.region = group, region
        self.stream = stream_name(instance_id, time.time())
        self.credentials = credentials or aws.Credentials()
        self.endpoint = logs_endpoint(region)
        self._events: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failed = False
        self._call("CreateLogStream", {"logGroupName": group, "logStreamName": self.stream},
                   ignore="ResourceAlreadyExistsException")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def __call__(self, line: str) -> None:
        with self._lock:
            self._events.append({"timestamp": int(time.time() * 1000), "message": line})

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_EVERY_SECONDS):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            events, self._events = self._events, []
        while events:
            batch, size = [], 0
            while events and len(batch) < MAX_EVENTS and size + len(events[0]["message"].encode()) + 26 < MAX_BYTES:
                size += len(events[0]["message"].encode()) + 26
                batch.append(events.pop(0))
            self._call("PutLogEvents", {"logGroupName": self.group, "logStreamName": self.stream, "logEvents": batch})

    def _call(self, action: str, body: dict, ignore: str = "") -> None:
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328." + action}
        try:
            aws.call("POST", self.endpoint, "logs", self.region, self.credentials, json.dumps(body).encode(), headers)
        except aws.AwsError as error:
            if error.code == ignore:
                return
            if not self._failed:  # once, on stderr: print() here would come back through log()
                print("[model-sync] could not report to CloudWatch Logs %s (the journal has it all): %s"
                      % (self.group, error), file=sys.stderr, flush=True)
                self._failed = True
