"""Pinned (page-locked) host memory, accounted per GPU under one lock, and its /metrics series.

ComfyUI v0.8.0 pins the CPU copies of offloaded weights (`model_management.pin_memory`, called
from `ModelPatcher.pin_weight_to_device`) up to MAX_PINNED_MEMORY (95% of RAM on Linux) and keeps
the total in a module global updated with `+=`/`-=` and no lock: with N worker threads the count
drifts, and one GPU can pin the whole budget. Page-locked memory cannot be swapped or reclaimed,
so the blast radius is every GPU's process: the ledger gives each GPU an equal share of the
budget left after the shared weights cache (`split_budget`).

Shared weights (the weights cache hands the same tensors to every GPU) are pinned once and
counted per holder: a second GPU "pinning" an already pinned range only records itself, and the
range is unregistered when its last holder unpins, so one GPU never unpins memory another GPU is
copying from. Pure Python: registering and unregistering are callbacks.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Dict, Iterator, Optional, Set, Tuple

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger("multigpu.pinned_memory")

Gpu = Optional[int]  # None: threads no worker bound


def split_budget(max_pinned_bytes: float, weights_cache_bytes: int, num_gpus: int) -> int:
    """Each GPU's share of what may be pinned; 0 when pinning is off (max <= 0)."""
    if max_pinned_bytes <= 0 or num_gpus <= 0:
        return 0
    return max(0, int(max_pinned_bytes) - weights_cache_bytes) // num_gpus


class PinnedLedger:
    def __init__(self, budget_per_gpu: int = 0):
        self.budget_per_gpu = budget_per_gpu
        self._lock = threading.Lock()
        self._ranges: Dict[int, Tuple[int, Set[Gpu]]] = {}  # ptr -> (size, holders)
        self._bytes: Dict[Gpu, int] = {}
        self.refused = 0

    def pin(self, ptr: int, size: int, gpu: Gpu, register: Callable[[], bool]) -> bool:
        """True when `gpu` now holds the range (the caller must unpin it later)."""
        with self._lock:
            pinned = self._ranges.get(ptr)
            if pinned is not None and (pinned[0] != size or gpu in pinned[1]):
                return False
            if self._bytes.get(gpu, 0) + size > self.budget_per_gpu:
                self.refused += 1
                return False
            if pinned is None:
                if not register():
                    return False
                pinned = self._ranges[ptr] = (size, set())
            pinned[1].add(gpu)
            self._bytes[gpu] = self._bytes.get(gpu, 0) + size
            return True

    def unpin(self, ptr: int, size: int, gpu: Gpu, unregister: Callable[[], bool]) -> bool:
        with self._lock:
            pinned = self._ranges.get(ptr)
            if pinned is None:
                log.warning("Tried to unpin tensor not pinned by ComfyUI")
                return False
            if pinned[0] != size:
                log.warning("Size of pinned tensor changed")
                return False
            holders = pinned[1]
            holder = gpu if gpu in holders else next(iter(holders))  # e.g. a finalizer's thread
            if len(holders) == 1:
                if not unregister():
                    return False
                del self._ranges[ptr]
            holders.discard(holder)
            self._bytes[holder] -= size
            return True

    def pinned_bytes(self) -> Dict[Gpu, int]:
        with self._lock:
            return dict(self._bytes)

    def total_registered(self) -> int:
        with self._lock:
            return sum(size for size, _ in self._ranges.values())


class PinnedMemoryCollector:
    def __init__(self, ledger: PinnedLedger, num_gpus: int):
        self._ledger = ledger
        self._num_gpus = num_gpus

    def collect(self) -> Iterator[Metric]:
        held = self._ledger.pinned_bytes()
        by_gpu = GaugeMetricFamily("comfyui_pinned_memory_bytes", "Host memory pinned for each GPU's "
                                   "offloaded weights (shared ranges count for every holder).",
                                   labels=["gpu"])
        for gpu in range(self._num_gpus):
            by_gpu.add_metric([str(gpu)], held.get(gpu, 0))
        if held.get(None):
            by_gpu.add_metric(["unbound"], held[None])
        yield by_gpu
        yield GaugeMetricFamily("comfyui_pinned_memory_registered_bytes", "Host memory registered "
                                "with CUDA (each shared range once).",
                                value=self._ledger.total_registered())
        yield GaugeMetricFamily("comfyui_pinned_memory_budget_bytes", "Each GPU's share of the "
                                "pinned-memory budget (ComfyUI's, less the weights cache).",
                                value=self._ledger.budget_per_gpu)


def expose_pinned_memory(registry: CollectorRegistry, ledger: PinnedLedger, num_gpus: int) -> None:
    registry.register(PinnedMemoryCollector(ledger, num_gpus))
