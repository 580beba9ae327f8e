"""The shared weights cache as Prometheus series, next to the per-GPU ones on /metrics.

RAM sharing is an acceptance point operators check on a node (`comfyctl verify` reads these):
with N GPUs running the same checkpoint, the disk is read once and the other N-1 loads are
served from RAM. A custom collector reads the cache's counters at scrape time, so the cache
keeps no second set of counters in step with Prometheus'.
"""
from __future__ import annotations

from typing import Callable, Iterator, Optional

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from .shared_file_cache import SharedFileCache

PREFIX = "comfyui_weights_cache"


class WeightsCacheCollector:
    def __init__(self, cache: SharedFileCache, mmap_loads: Optional[Callable[[], int]] = None):
        self._cache = cache
        self._mmap_loads = mmap_loads

    def collect(self) -> Iterator[Metric]:
        stats = self._cache.stats()
        yield CounterMetricFamily(f"{PREFIX}_disk_reads", "Model files read from disk into the "
                                  "shared weights cache.", value=stats["loads"])
        yield CounterMetricFamily(f"{PREFIX}_ram_hits", "Model file loads served from RAM (or from "
                                  "a read already in flight) instead of the disk.",
                                  value=stats["hits"])
        yield GaugeMetricFamily(f"{PREFIX}_bytes", "Bytes of model files held in the cache.",
                                value=stats["bytes"])
        yield GaugeMetricFamily(f"{PREFIX}_max_bytes", "The cache's budget "
                                "(COMFY_WEIGHTS_CACHE_GIB); entries in use may exceed it.",
                                value=stats["max_bytes"])
        yield GaugeMetricFamily(f"{PREFIX}_files", "Model files held in the cache.",
                                value=stats["entries"])
        if self._mmap_loads is not None:
            yield CounterMetricFamily(f"{PREFIX}_mmap_loads", "Model file loads left to mmap "
                                      "(.safetensors): the page cache holds one copy for every "
                                      "GPU, so they bypass the cache.", value=self._mmap_loads())


def expose_weights_cache(registry: CollectorRegistry, cache: SharedFileCache,
                         mmap_loads: Optional[Callable[[], int]] = None) -> None:
    registry.register(WeightsCacheCollector(cache, mmap_loads))
