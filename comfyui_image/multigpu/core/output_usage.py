"""The output shipper's view of the pod's local output folder, on /metrics.

The output-shipper sidecar (manifests/base/pod-scripts/output_shipper.py) measures the local output folder
(an emptyDir that counts against the pod's ephemeral-storage limit: crossing it evicts the pod with no drain)
and writes its last measurement to a small JSON file in that folder. This collector reads the file at scrape
time, so the figures come from the one place that knows which files are shipped, pending or pruned.
"""
from __future__ import annotations

import json
import time
from typing import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily

# (JSON field the shipper writes, metric name, help)
_FIELDS = (
    ("output_bytes", "comfyui_output_local_bytes", "Bytes the local output folder holds (disk blocks)."),
    ("output_files", "comfyui_output_local_files", "Files in the local output folder, placeholders excluded."),
    ("unshipped_files", "comfyui_output_unshipped_files", "Local outputs not yet in the outputs bucket."),
    ("pruned_placeholders", "comfyui_output_pruned_placeholders",
     "Shipped outputs pruned to empty placeholders (their names stay, so ComfyUI never reuses them)."),
    ("limit_bytes", "comfyui_output_local_limit_bytes", "Local usage above which shipped files are pruned."),
)


class OutputUsageCollector:
    """Yields the shipper's last measurement, and its age; nothing while the file is missing or unreadable
    (the sidecar has not measured yet), so a scrape never fails because of it."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.path, self.clock = path, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                usage = json.load(handle)
        except (OSError, ValueError):
            return
        if not isinstance(usage, dict):
            return
        for field, name, documentation in _FIELDS:
            value = usage.get(field)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                yield GaugeMetricFamily(name, documentation, value=value)
        measured = usage.get("measured_at")
        if isinstance(measured, (int, float)) and not isinstance(measured, bool):
            yield GaugeMetricFamily("comfyui_output_usage_age_seconds",
                                    "Seconds since the output shipper last measured the local folder.",
                                    value=max(0.0, self.clock() - measured))
