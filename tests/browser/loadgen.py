"""Loopback load generation, shared by tests/browser/test_concurrency.py and ``python -m benchmarks load``.

The payloads replayed are the exact ``POST /_dash-update-component`` bodies a
real browser sent (captured with Playwright), with only the gene changed.
Every request goes to 127.0.0.1; :func:`post_callback` refuses any other host.
"""

from __future__ import annotations

import copy
import gzip
import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from tests.server import LOOPBACK

UPDATE_PATH = "/_dash-update-component"


# --- capturing what the browser sends ------------------------------------------------------------

def record_callback_requests(page) -> list[dict]:
    """Start recording the JSON bodies of the page's callback requests; returns the (growing) list."""
    captured: list[dict] = []

    def on_request(request) -> None:
        if request.method == "POST" and urlsplit(request.url).path.endswith(UPDATE_PATH):
            body = request.post_data
            if body:
                captured.append(json.loads(body))

    page.on("request", on_request)
    return captured


def _input_ids(payload: dict) -> list:
    return [item.get("id") for item in payload.get("inputs", []) if isinstance(item, dict)]


def input_value(payload: dict, input_id: str):
    """The value a callback request carries for input ``input_id`` (None when absent)."""
    for item in payload.get("inputs", []):
        if isinstance(item, dict) and item.get("id") == input_id:
            return item.get("value")
    return None


def find_payload(captured: list[dict], input_id: str, output_contains: str) -> dict:
    """The last captured request with input ``input_id`` set (not empty) whose output spec mentions ``output_contains``.

    The last, because a page load can fire a callback more than once (first
    with an empty store, then with the stored result).
    """
    for payload in reversed(captured):
        if (input_id in _input_ids(payload) and output_contains in payload.get("output", "")
                and input_value(payload, input_id)):
            return copy.deepcopy(payload)
    seen = [(p.get("output", "")[:80], _input_ids(p)) for p in captured]
    raise LookupError(f"no callback request with input {input_id!r} and output {output_contains!r}; saw {seen}")


def with_input(payload: dict, input_id: str, value) -> dict:
    """A copy of ``payload`` whose input ``input_id`` holds ``value``."""
    out = copy.deepcopy(payload)
    for item in out["inputs"]:
        if item.get("id") == input_id:
            item["value"] = value
            return out
    raise KeyError(input_id)


def callback_body(app, output_contains: str, input_id: str, value, source: str) -> dict:
    """A callback request body as the page posts it, built from the app's callback map (for in-process clients).

    The callback is the first whose output spec contains ``output_contains``;
    its input ``input_id`` holds ``value``, the other inputs None, and its
    ``data`` states (the page's dataset id) ``source``. Dash fills the map on
    the app's first request.
    """
    output = next(key for key in app.callback_map if output_contains in key)
    spec = app.callback_map[output]
    outputs = []
    for part in output.strip(".").split("..."):
        ident, prop = part.rsplit(".", 1)
        outputs.append({"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop.split("@")[0]})
    return {"output": output, "outputs": outputs,
            "inputs": [{"id": i["id"], "property": i["property"], "value": value if i["id"] == input_id else None}
                       for i in spec["inputs"]],
            "state": [{"id": s["id"], "property": s["property"], "value": source if s["property"] == "data" else None}
                      for s in spec["state"]],
            "changedPropIds": [f"{input_id}.{spec['inputs'][0]['property']}"]}


# --- sending and checking ------------------------------------------------------------------------

def _send(base_url: str, payload: dict, timeout: float, gzip_ok: bool) -> tuple[int, float, bytes, int]:
    parts = urlsplit(base_url)
    if parts.hostname != LOOPBACK:
        raise ValueError(f"load is only ever sent to {LOOPBACK}, not {parts.hostname!r}")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if gzip_ok:
        headers["Accept-Encoding"] = "gzip"
    request = urllib.request.Request(f"{parts.scheme}://{parts.netloc}{UPDATE_PATH}",
                                     data=json.dumps(payload).encode(), headers=headers, method="POST")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body, status, encoding = response.read(), response.status, response.headers.get("Content-Encoding")
    except urllib.error.HTTPError as exc:
        body, status, encoding = exc.read(), exc.code, exc.headers.get("Content-Encoding")
    wire = len(body)
    if encoding == "gzip":
        body = gzip.decompress(body)
    return status, time.perf_counter() - start, body, wire


def post_callback(base_url: str, payload: dict, timeout: float = 60, gzip_ok: bool = True) -> tuple[int, float, bytes]:
    """POST a callback payload to a loopback server: (HTTP status, seconds, body).

    Like a browser, it accepts a gzip-compressed answer (unless ``gzip_ok`` is
    False) and unpacks it within the time measured; the body returned is plain.
    """
    return _send(base_url, payload, timeout, gzip_ok)[:3]


def sent_bytes(base_url: str, payload: dict, timeout: float = 60) -> tuple[int, int]:
    """Sizes of a callback's answer: (plain JSON bytes, bytes on the wire to a client accepting gzip)."""
    return _send(base_url, payload, timeout, gzip_ok=False)[3], _send(base_url, payload, timeout, gzip_ok=True)[3]


def figures_in(body: bytes) -> dict[str, dict]:
    """Figures in a callback response, by card name (``{"type": "figure", "name": ...}`` ids)."""
    response = json.loads(body)["response"]
    figures = {}
    for key, props in response.items():
        if "figure" not in props:
            continue
        try:
            name = json.loads(key).get("name", key)
        except (ValueError, AttributeError):
            name = key
        figures[name] = props["figure"]
    return figures


def figure_problem(figure: dict, gene: str) -> str | None:
    """Why ``figure`` is not a drawn figure of ``gene`` (None when it is)."""
    if not isinstance(figure, dict) or not figure.get("data"):
        return "figure has no data"
    layout = figure.get("layout", {})
    provenance = (layout.get("meta") or {}).get("provenance") or {}
    if provenance.get("gene") != gene:
        return f"provenance gene {provenance.get('gene')!r} != {gene!r}"
    title = layout.get("title")
    title = title.get("text", "") if isinstance(title, dict) else str(title or "")
    if gene not in title:
        return f"title {title!r} does not name {gene}"
    return None


# --- the load itself -----------------------------------------------------------------------------

@dataclass
class Request:
    """One request to send and how to judge its answer."""

    label: str
    payload: dict
    check: Callable[[bytes], str | None]  # None when the response is right, else what is wrong


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Latency percentile in seconds (nearest rank)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        rank = max(1, min(len(ordered), int(round(q / 100 * len(ordered) + 0.5))))
        return ordered[rank - 1]

    def summary(self) -> dict:
        return {"clients": self.clients, "requests": self.requests, "seconds": round(self.seconds, 3),
                "requests_per_s": round(self.per_second, 2),
                "p50_ms": round(1000 * self.percentile(50), 1), "p95_ms": round(1000 * self.percentile(95), 1),
                "mean_ms": round(1000 * statistics.fmean(self.latencies), 1) if self.latencies else None,
                "failures": len(self.failures)}


def run_load(base_url: str, plan: list[Request], clients: int, per_client: int, timeout: float = 60) -> LoadResult:
    """``clients`` threads each send ``per_client`` requests back to back, client i starting at plan[i].

    All threads start together (a barrier); the wall time runs from the
    barrier to the last answer. Wrong answers and errors are collected, never raised.
    """
    barrier = threading.Barrier(clients + 1)
    lock = threading.Lock()
    result = LoadResult(clients=clients, seconds=0.0)

    def client(index: int) -> None:
        barrier.wait()
        for k in range(per_client):
            item = plan[(index + k * clients) % len(plan)]
            try:
                status, seconds, body = post_callback(base_url, item.payload, timeout=timeout)
                problem = f"HTTP {status}" if status != 200 else item.check(body)
            except Exception as exc:  # noqa: BLE001  (reported, not raised: the other clients go on)
                seconds, problem = float("nan"), f"{type(exc).__name__}: {exc}"
            with lock:
                if problem is None:
                    result.latencies.append(seconds)
                else:
                    result.failures.append(f"client {index} request {k} ({item.label}): {problem}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - start
    return result
