import threading

from multigpu.core.cache_metrics import expose_weights_cache
from multigpu.core.metrics import PoolMetrics
from multigpu.core.shared_file_cache import SharedFileCache


def samples(metrics):
    """{series: value} for the unlabelled samples of the exposition."""
    lines = metrics.exposition()[0].decode().splitlines()
    return {line.split()[0]: float(line.split()[1]) for line in lines if line and not line.startswith("#")}


def test_cache_counters_appear_on_the_pool_registry_as_reads_and_hits():
    cache = SharedFileCache(10 * 2**30, size_of=lambda _key, value: value)
    metrics = PoolMetrics(2, clock=lambda: 0.0)
    expose_weights_cache(metrics.registry, cache)
    gate = threading.Event()

    def slow_read():
        gate.wait(5)
        return 3 * 2**30

    # Four workers ask for one file at once: one disk read, three served by it.
    threads = [threading.Thread(target=cache.acquire, args=("a.safetensors", slow_read)) for _ in range(4)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(5)
    cache.acquire("b.safetensors", lambda: 2**30)
    values = samples(metrics)
    assert values["comfyui_weights_cache_disk_reads_total"] == 2
    assert values["comfyui_weights_cache_ram_hits_total"] == 3
    assert values["comfyui_weights_cache_bytes"] == 4 * 2**30
    assert values["comfyui_weights_cache_files"] == 2
    assert values["comfyui_weights_cache_max_bytes"] == 10 * 2**30


def test_the_pool_registry_reports_the_process_resident_memory():
    assert samples(PoolMetrics(1, clock=lambda: 0.0))["process_resident_memory_bytes"] > 0
