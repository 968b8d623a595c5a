"""Rendered gene views, stored: a repeated view is a store lookup, not a new figure.

Building a Plotly figure (validation of every property) and serialising it
costs tens to hundreds of milliseconds; a view whose inputs are fixed (a
dataset, a gene, a stored job result) gives the same JSON every time. A view's
outputs (figures, graph configs, methods text, table rows) are serialised once
and kept in the artifact store under (dataset hash, gene, view, parameters,
code version), so they survive restarts, are shared by the server's worker
processes, and never outlive the code that drew them.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any, Callable, Sequence

import orjson

from core.cache import make_key
from dashboard.services import DEFAULT_DATASET, dataset_hash, store

NAMESPACE = "views"
#: Source folders whose code draws the views: a change to any file there gives every view a new key.
CODE_PACKAGES = ("core", "dashboard")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """Digest of the source of the packages that compute and draw the views (read once per process)."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[2]
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def view_key(kind: str, view: str, gene: str, params: dict[str, Any], source: str = DEFAULT_DATASET) -> str:
    """Artifact-store key of one gene view: dataset, gene, view, parameters and code version."""
    return make_key(f"{NAMESPACE}.{kind}", dataset_hash(kind, source), {"gene": gene, "view": view, "params": params},
                    code_version())


def cached_view(kind: str, view: str, gene: str, build: Callable[[], Sequence[Any]], *,
                source: str = DEFAULT_DATASET, **params: Any) -> list:
    """A callback's outputs for one gene view: stored JSON when present, else ``build()`` serialised and stored.

    ``build`` returns the outputs (Plotly figures, Dash components and plain
    values); they come back as their JSON (dicts and lists), which Dash sends as
    it would have sent the objects. Callers must not modify them: the parsed
    outputs of recent views are shared.
    """
    from plotly.io.json import to_json_plotly

    artifacts = store()
    key = view_key(kind, view, gene, params, source)
    found = artifacts.get(key)
    if found is None:
        found = {"outputs": to_json_plotly(list(build()))}
        artifacts.put(key, found)
    return list(_parsed(key, found["outputs"]))


@functools.lru_cache(maxsize=64)
def _parsed(key: str, text: str) -> tuple:
    # keyed by the text too: a view stored anew (another process, a repaired entry) is parsed anew
    return tuple(orjson.loads(text))
