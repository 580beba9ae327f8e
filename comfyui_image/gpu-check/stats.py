"""Small helpers the GPU checks share: percentiles, timing, and the report lines."""
from __future__ import annotations

import math
import time
from typing import Callable, Dict, List, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100.0 * len(ordered))))
    return ordered[rank - 1]


def latencies_ms(step: Callable[[], None], *, seconds: float, at_least: int = 20) -> List[float]:
    """Run `step` (which must wait for its own work) for `seconds`, at least `at_least` times."""
    found: List[float] = []
    deadline = time.perf_counter() + seconds
    while len(found) < at_least or time.perf_counter() < deadline:
        started = time.perf_counter()
        step()
        found.append((time.perf_counter() - started) * 1000.0)
    return found


def summary_ms(values: Sequence[float]) -> Dict[str, float]:
    return {"n": len(values), "p50_ms": round(percentile(values, 50), 3),
            "p99_ms": round(percentile(values, 99), 3), "max_ms": round(max(values), 3)}


def line(check: str, **figures) -> str:
    """`check: key=value key=value`, the one format every check prints."""
    return f"{check}: " + " ".join(f"{key}={value}" for key, value in figures.items())
