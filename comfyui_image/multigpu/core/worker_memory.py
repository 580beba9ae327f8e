"""Each worker process' memory as Prometheus series (process mode, design 3.6 and 5.1):
`comfyui_worker_memory_bytes{gpu, kind}` with kind rss, pss, anon and pss_file, read at scrape
time from /proc/<pid>/smaps_rollup (Linux 4.14+; the kernel's proportional set size).

Rss counts a page-cache page once per process that maps it; Pss splits it among them, so summed
Pss is the truth about weights shared through the page cache (.safetensors: one copy for every
GPU), and summed anon growth shows private copies (pickle checkpoints without --mmap-torch-files).
Pure: the caller passes the pids and the reader.
"""
from __future__ import annotations

from typing import Callable, Dict, Iterator, Optional

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

# smaps_rollup field -> the series' kind
KINDS = {"Rss": "rss", "Pss": "pss", "Anonymous": "anon", "Pss_File": "pss_file"}


def parse_smaps_rollup(text: str) -> Dict[str, int]:
    """{kind: bytes} for the fields in KINDS ("Rss:   1628 kB" lines)."""
    found = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if name in KINDS and len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            found[KINDS[name]] = int(parts[0]) * 1024
    return found


class WorkerMemoryCollector:
    def __init__(self, num_gpus: int, pid_of: Callable[[int], Optional[int]],
                 read_rollup: Callable[[int], Optional[str]]):
        self._num_gpus, self._pid_of, self._read = num_gpus, pid_of, read_rollup

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("comfyui_worker_memory_bytes", "Memory of each GPU's ComfyUI "
                                   "process by kind (rss, pss, anon, pss_file), from smaps_rollup.",
                                   labels=["gpu", "kind"])
        for gpu in range(self._num_gpus):
            pid = self._pid_of(gpu)
            text = self._read(pid) if pid is not None else None
            for kind, value in sorted(parse_smaps_rollup(text or "").items()):
                family.add_metric([str(gpu), kind], value)
        yield family


def expose_worker_memory(registry: CollectorRegistry, num_gpus: int, pid_of: Callable[[int], Optional[int]],
                         read_rollup: Callable[[int], Optional[str]]) -> None:
    registry.register(WorkerMemoryCollector(num_gpus, pid_of, read_rollup))
