"""Worker processes' memory series from smaps_rollup (core/worker_memory.py)."""
from prometheus_client import CollectorRegistry, generate_latest

from multigpu.core.worker_memory import expose_worker_memory, parse_smaps_rollup

ROLLUP = """56231e329000-7ffca9894000 ---p 00000000 00:00 0                          [rollup]
Rss:                1628 kB
Pss:                 219 kB
Pss_Anon:            112 kB
Pss_File:            107 kB
Anonymous:           112 kB
"""


def test_the_rollup_fields_become_bytes_by_kind():
    assert parse_smaps_rollup(ROLLUP) == {"rss": 1628 * 1024, "pss": 219 * 1024, "pss_file": 107 * 1024,
                                          "anon": 112 * 1024}


def test_each_running_worker_gets_a_series_per_kind_and_a_gone_one_none():
    registry = CollectorRegistry()
    expose_worker_memory(registry, 2, {0: 41, 1: None}.get, lambda pid: ROLLUP if pid == 41 else None)
    text = generate_latest(registry).decode()
    assert f'comfyui_worker_memory_bytes{{gpu="0",kind="pss"}} {219 * 1024}.0' in text
    assert 'gpu="1"' not in text
