"""Loopback load test: 16 concurrent clients on cached gene-view callbacks of a running server.

``python -m benchmarks load`` starts ``python app.py`` on a free 127.0.0.1 port
with a fresh artifact store, runs the genome-wide screen for a few targets
through the page (a real Chromium clicks *Run screen*), captures the exact
``POST /_dash-update-component`` bodies the page sends for two gene views,
and replays them from 16 threads with only the gene changed (accepting
gzip, as a browser does):

- ``lineage``: the gene-effect-by-lineage box plot, a plain callback on the
  in-memory dataset (no job);
- ``screen``: the screen's figures and table drawn from the stored job result
  (artifact store on disk).

Each view gets a bounded run (16 clients x 25 requests = 400) after a
1-client baseline; every answer must be HTTP 200 with a figure of the gene
asked for, else the benchmark fails instead of reporting numbers. The
reference in the same run is each view's first request per gene, which draws
the figures and stores them (``first_request``): the 1-client line's ratio is
what the stored view saves. Requests go
to 127.0.0.1 only. Needs Playwright and Chromium (``make test`` installs both).
``PERTURBSCOPE_LOAD_WORKERS=2`` serves with gunicorn and 2 worker processes
instead of ``python app.py`` (views only: background jobs are not exercised).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import measurement, register

GENES = ("AR", "AURKB", "CDK1", "EEF2", "GPX4", "KIF11", "MCL1", "PLK1")
PERMS = 50
CLIENTS, PER_CLIENT = 16, 25
BASELINE_REQUESTS = 40
# 0: ``python app.py`` (what `make run` starts); N: gunicorn with N worker processes.
WORKERS = int(os.environ.get("PERTURBSCOPE_LOAD_WORKERS", "0"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
READY = ("() => { const s = document.querySelector('#ess-screen-status'); const g = document.querySelector("
         "'#card-ess-top .js-plotly-plot'); return !!(s && g && g.layout && (/^(Finished|Loaded)/.test(s.innerText) "
         "|| (g.layout.annotations || []).some(a => /Run the screen/.test(a.text)))); }")
DONE = "() => /^(Finished|Loaded)/.test(document.querySelector('#ess-screen-status')?.innerText || '')"


def _chromium() -> str | None:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


def _store_screens(page, url: str, cache: Path) -> None:
    """Store the screen of every benchmark gene: the first through the page (Run screen), the others as its job does.

    The others run in a process of their own on the server's cache folder
    (`dashboard.services.essentiality.screen`, what the
    page's job calls), which keeps a loaded machine from spending minutes
    drawing pages; their views are then drawn by their first request.
    """
    page.goto(f"{url}/essentiality?gene={GENES[0]}&perms={PERMS}")
    page.wait_for_function(READY, timeout=180_000)
    if not page.evaluate(DONE):
        page.click("#ess-screen-run", timeout=120_000)  # a busy shared machine may take long to settle the page
        page.wait_for_function(DONE, timeout=300_000)
    code = ("import sys; from dashboard.services.essentiality import screen\n"
            f"for gene in sys.argv[1:]:\n    assert screen.run(target=gene, n_permutations={PERMS}).error is None")
    subprocess.run([sys.executable, "-c", code, *GENES[1:]], cwd=Path(__file__).resolve().parents[1], check=True,
                   env={**os.environ, "PERTURBSCOPE_CACHE_DIR": str(cache)})


def _plans(page, url: str):
    """The two views' request plans, from the bodies the browser sent for GENES[0]."""
    from tests.browser import loadgen

    captured = loadgen.record_callback_requests(page)
    page.goto(f"{url}/essentiality?gene={GENES[0]}&perms={PERMS}")
    page.wait_for_function(DONE, timeout=180_000)
    page.wait_for_function("() => document.querySelector('#card-ess-lineage .js-plotly-plot')?.data?.length > 0",
                           timeout=180_000)
    lineage = loadgen.find_payload(captured, "ess-target", "ess-lineage")
    screen = loadgen.find_payload(captured, "ess-result", "ess-top")
    stored = loadgen.input_value(screen, "ess-result")

    def check(name: str, gene: str):
        return lambda body: loadgen.figure_problem(loadgen.figures_in(body).get(name), gene)

    return {
        "lineage": [loadgen.Request(f"lineage {g}", loadgen.with_input(lineage, "ess-target", g),
                                    check("ess-lineage", g)) for g in GENES],
        "screen": [loadgen.Request(f"screen {g}", loadgen.with_input(screen, "ess-result", {**stored, "target": g}),
                                   check("ess-top", g)) for g in GENES],
    }


def _response_kb(url: str, plan) -> tuple[float, float]:
    """Mean answer size in KiB: plain JSON, and gzip-compressed as a browser receives it."""
    from tests.browser import loadgen

    sizes = [loadgen.sent_bytes(url, item.payload) for item in plan]
    return tuple(sum(column) / len(column) / 1024 for column in zip(*sizes))


@register("load")
def loopback_load():
    """Requests/s and p50/p95 latency of two cached gene views under 16 concurrent clients."""
    from tests.browser import loadgen
    from tests.server import running_server

    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        print("load: skipped (needs Playwright and Chromium; `make test` installs them)", file=sys.stderr)
        return
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "core.datasets.build_demo"], cwd=root, check=True, capture_output=True)
    with tempfile.TemporaryDirectory(prefix="perturbscope-load-") as folder:
        cache = Path(folder) / "cache"
        with running_server(cache, Path(folder) / "server.log", workers=WORKERS) as url:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page()
                    _store_screens(page, url, cache)
                    plans = _plans(page, url)
                finally:
                    browser.close()
            for view, plan in plans.items():
                # the page drew GENES[0]'s views; every other gene's are drawn (and stored) by its first request
                warm = loadgen.run_load(url, plan[1:], clients=1, per_client=len(plan) - 1)
                single = loadgen.run_load(url, plan, clients=1, per_client=BASELINE_REQUESTS)
                loaded = loadgen.run_load(url, plan, clients=CLIENTS, per_client=PER_CLIENT)
                failures = warm.failures + single.failures + loaded.failures
                if failures:
                    raise RuntimeError(f"load/{view}: {len(failures)} wrong answers, e.g. {failures[:3]}")
                print(f"load/{view}: 1 client {single.summary()}; {CLIENTS} clients {loaded.summary()}",
                      file=sys.stderr)
                prefix = f"load_{view}"
                plain, compressed = _response_kb(url, plan)
                yield measurement(f"{prefix}_response_size", plain, "KiB")
                yield measurement(f"{prefix}_response_size_gzip", compressed, "KiB")
                yield measurement(f"{prefix}_first_request_p50_latency", 1000 * warm.percentile(50), "ms")
                yield measurement(f"{prefix}_1client_requests_per_s", single.per_second, "req/s")
                yield measurement(f"{prefix}_1client_p50_latency", 1000 * single.percentile(50), "ms",
                                  reference=1000 * warm.percentile(50))
                yield measurement(f"{prefix}_{CLIENTS}clients_requests_per_s", loaded.per_second, "req/s")
                yield measurement(f"{prefix}_{CLIENTS}clients_p50_latency", 1000 * loaded.percentile(50), "ms")
                yield measurement(f"{prefix}_{CLIENTS}clients_p95_latency", 1000 * loaded.percentile(95), "ms")


@register("view_cpu")
def view_cpu():
    """Server CPU per request of the two load-test views, stored vs drawn every time (in process, gzip accepted).

    CPU time, unlike latency, hardly depends on what else the machine runs:
    the load test's latencies on a shared machine are mostly queueing.
    """
    import time

    from tests.browser import loadgen

    with tempfile.TemporaryDirectory(prefix="perturbscope-cpu-") as folder:
        os.environ["PERTURBSCOPE_CACHE_DIR"] = folder
        import app as app_module
        from dashboard.services import DEFAULT_DATASET, essentiality, views

        for gene in GENES:
            assert essentiality.screen.run(target=gene, n_permutations=PERMS).error is None
        client = app_module.server.test_client()
        assert client.get("/_dash-dependencies").status_code == 200  # Dash fills its callback map on first request
        plans = {
            "lineage": [loadgen.callback_body(app_module.app, '"ess-lineage","type":"figure"}.figure', "ess-target", g,
                                       DEFAULT_DATASET) for g in GENES],
            "screen": [loadgen.callback_body(app_module.app, "\"ess-table\",\"type\":\"table\"}.rowData", "ess-result",
                                      {"target": g, "n_permutations": PERMS, "source": DEFAULT_DATASET, "cached": True},
                                      DEFAULT_DATASET) for g in GENES],
        }

        def cpu_ms(plan, rounds: int) -> float:
            start = time.process_time()
            for _ in range(rounds):
                for body in plan:
                    answer = client.post("/_dash-update-component", json=body, headers={"Accept-Encoding": "gzip"})
                    assert answer.status_code == 200, answer.data[:300]
            return 1000 * (time.process_time() - start) / (rounds * len(plan))

        page = sys.modules["dashboard.pages.essentiality"]
        for view, plan in plans.items():
            cpu_ms(plan, 1)  # store the views
            stored = cpu_ms(plan, 10)
            page.cached_view = lambda kind, name, gene, build, **params: list(build())  # draw every time
            try:
                drawn = cpu_ms(plan, 2)
            finally:
                page.cached_view = views.cached_view
            yield measurement(f"view_cpu_{view}_stored", stored, "ms", reference=drawn)
