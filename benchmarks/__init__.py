"""Speed and scale harness: ``python -m benchmarks <name>`` prints one JSON line per measurement.

Each line is ``{"name", "value", "unit", "reference", "ratio"}``: ``reference``
is a slow reference timed in the same process (machines here are noisy, so
targets are ratios, never absolute times in tests) and ``ratio`` is
reference / value. Method packages register their benchmarks in REGISTRY.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Callable, Iterator

Measurement = dict
REGISTRY: dict[str, Callable[[], Iterator[Measurement]]] = {}


def register(name: str):
    """Decorator adding a benchmark generator to the registry."""

    def wrap(fn):
        REGISTRY[name] = fn
        return fn

    return wrap


def median_seconds(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measurement(name: str, value: float, unit: str, reference: float | None = None) -> Measurement:
    """One JSON-able result line."""
    ratio = None if reference is None or value == 0 else reference / value
    return {"name": name, "value": round(value, 6), "unit": unit,
            "reference": None if reference is None else round(reference, 6),
            "ratio": None if ratio is None else round(ratio, 2)}


def emit(line: Measurement) -> None:
    print(json.dumps(line), flush=True)
