"""Many clients at once against one running server.

Nine browser contexts (separate clients: own cookies, own Dash page loads)
open the modifier-gene page. One starts a long screen (100,000 permutations);
then eight start screens of different targets with different numbers of
permutations while it runs, and the long one is cancelled while all eight are
in flight. Each of the eight must show its own result, equal to the core engine's
screen computed here independently (same seed), and the cancelled job must leave
nothing behind: no stored result, no live job process.

Then 16 threads replay the exact callback requests the browser sent for two
cached gene views (the lineage box plot and the screen drawn from the stored
result), varying the gene, and every answer must be HTTP 200 with that gene's
figure. Only correctness is asserted here; ``python -m benchmarks load``
measures requests/s and latency.
"""

from __future__ import annotations

import functools
import math
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.browser import loadgen
from tests.browser.conftest import own_server, screenshot
from tests.browser.processes import describe, live_jobs, serving_processes

pytestmark = pytest.mark.browser

# Targets used by no other browser test, each with its own number of permutations, so the
# permutation FWER p-values (multiples of 1 / (perms + 1)) differ per client.
# Enough permutations (about 2 s of computing each on an idle core) that the eight jobs are still running
# when Cancel is pressed, even on a machine that starts jobs quickly.
CLIENTS = {"AR": 20_000, "AURKB": 20_500, "CDK1": 21_000, "CDX2": 21_500,
           "EEF2": 22_000, "GPX4": 22_500, "KIF11": 23_000, "MCL1": 23_500}
CANCELLED = ("KRAS", 100_000)
TOP_BARS, TABLE_ROWS = 25, 15
FINISHED = r"^(Finished|Loaded)"
DONE = "p => /^(Finished|Loaded)/.test(document.querySelector(`#${p}-status`)?.innerText || '')"
READY = ("() => { const g = document.querySelector('#card-ess-top .js-plotly-plot');"
         " return !!(g && g.layout && (g.layout.annotations || []).some(a => /Run the screen/.test(a.text))); }")
IN_FLIGHT = "() => !document.querySelector('#ess-screen-cancel').disabled"
#: Click a button by id at once; returns when (Date.now(), ms).
CLICK = "id => { const at = Date.now(); document.getElementById(id).click(); return at; }"
#: The page's job runs on the server (it reported progress) or has finished. Cancel is enabled as soon as
#: the browser sends the job, which a busy server starts seconds later: the scenario cancels the long job
#: once all eight run.
RUNNING_OR_DONE = ("() => !!window.jobTimes.finished || (!!window.jobTimes.started"
                   " && /permutation/.test(document.querySelector('#ess-screen-progress-text').innerText))")
#: When the page's job was accepted (its Cancel button enabled) and when it finished (Date.now(), ms).
RECORD_JOB_TIMES = """() => {
    window.jobTimes = {};
    const cancel = document.querySelector('#ess-screen-cancel'), status = document.querySelector('#ess-screen-status');
    const note = () => {
        if (!cancel.disabled && !window.jobTimes.started) window.jobTimes.started = Date.now();
        if (/^(Finished|Loaded)/.test(status.innerText) && !window.jobTimes.finished) window.jobTimes.finished = Date.now();
    };
    new MutationObserver(note).observe(cancel, {attributes: true});
    new MutationObserver(note).observe(status, {childList: true, characterData: true, subtree: true});
}"""


@functools.lru_cache(maxsize=1)
def _demo():
    from core.datasets import load_demo

    return load_demo("essentiality")


def _expected(target: str, perms: int):
    """The screen computed in this process by the core engine, with the job's seed (0)."""
    from core.essentiality import correlation_screen

    data = _demo()
    return correlation_screen(data.expression, data.effect[target], n_permutations=perms)


def _shown(page) -> dict:
    """What one client's page shows of its screen."""
    return page.evaluate("""() => {
        const g = document.querySelector('#card-ess-top .js-plotly-plot');
        const full = g && g._fullData && g._fullData[0];
        const column = c => Array.from(document.querySelectorAll(`#ess-table .ag-row .ag-cell[col-id="${c}"]`))
            .map(cell => [Number(cell.closest('.ag-row').getAttribute('row-index')), cell.innerText.trim()])
            .sort((a, b) => a[0] - b[0]).map(pair => pair[1]);
        return {
            status: document.querySelector('#ess-screen-status').innerText,
            provenance: (g && g.layout && g.layout.meta && g.layout.meta.provenance) || null,
            bars_y: full && full.y ? Array.from(full.y) : [],
            bars_x: full && full.x ? Array.from(full.x) : [],
            table_gene: column('gene'),
            table_fwer: column('perm_fwer_p'),
            scatter_title: (() => { const s = document.querySelector('#card-ess-scatter .js-plotly-plot');
                                    const t = s && s.layout && s.layout.title;
                                    return t ? (t.text || String(t)) : ''; })(),
        };
    }""")


def _wait(page, script: str, arg=None, timeout: float = 60_000) -> bool:
    """Wait for ``script`` to hold on ``page``; False (not an exception) when it does not in time."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(script, arg=arg, timeout=timeout)
        return True
    except PlaywrightTimeout:
        return False


@pytest.fixture(scope="module", params=[0, 2], ids=["app.py", "gunicorn-2"])
def served(request, tmp_path_factory):
    """The scenario's server: ``python app.py``, then gunicorn with 2 workers of 8 threads.

    The browser tests' own server is reused for the kind it is (``PERTURBSCOPE_TEST_WORKERS``).
    """
    if request.param == int(os.environ.get("PERTURBSCOPE_TEST_WORKERS") or 0):
        yield request.getfixturevalue("server")
        return
    with own_server(tmp_path_factory, workers=request.param) as url:
        yield url


@pytest.fixture(scope="module")
def scenario(browser, served):
    """Run the nine-client scenario once and record what each client saw; the tests below judge it."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    problems: list[str] = []  # waits that ran out: each one a failure for the tests below

    def phase(name: str) -> None:
        phases[name] = round(time.perf_counter() - started, 1)

    pool = ThreadPoolExecutor(max_workers=1)  # the independent computation overlaps the jobs
    expected = {t: pool.submit(_expected, t, p) for t, p in CLIENTS.items()}
    server = served
    serving = serving_processes(server)

    def job_processes():
        return describe(live_jobs(serving))
    contexts, pages, errors = [], {}, {}
    long_target, long_perms = CANCELLED
    try:
        for target, perms in [*CLIENTS.items(), CANCELLED]:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            contexts.append(context)
            page = context.new_page()
            page.set_default_timeout(120_000)
            errors[target] = []
            page.on("console", lambda m, e=errors[target]: e.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc, e=errors[target]: e.append(str(exc)))
            page.goto(f"{server}/essentiality?gene={target}&perms={perms}", wait_until="commit")
            pages[target] = page
        for page in pages.values():  # all nine load at once
            page.wait_for_function(READY, timeout=180_000)
        phase("nine pages loaded")

        long_page = pages[long_target]
        long_page.click("#ess-screen-run")
        long_page.wait_for_function(IN_FLIGHT)
        if not _wait(long_page, "() => /permutation/.test(document.querySelector('#ess-screen-progress-text').innerText)",
                     timeout=120_000):
            status = long_page.inner_text("#ess-screen-status")
            problems.append(f"the long job ({long_target}) never reported progress: status {status!r}; "
                            f"job processes {job_processes()}")
        phase("long job running")

        # Clicks from script, not Playwright's clicks: those wait for actionability, seconds each on a machine
        # busy with nine jobs, and the first jobs could end before the last one starts.
        for target in CLIENTS:
            pages[target].evaluate(RECORD_JOB_TIMES)
            pages[target].evaluate(CLICK, "ess-screen-run")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
                pages[t].evaluate(RUNNING_OR_DONE) for t in CLIENTS):
            time.sleep(0.2)
        cancel_at = long_page.evaluate(CLICK, "ess-screen-cancel")
        phase("cancel clicked")

        cancel_seen = _wait(
            long_page, "() => document.querySelector('#ess-screen-status').innerText.startsWith('Cancelled')")
        run_back = _wait(long_page, "() => !document.querySelector('#ess-screen-run').disabled")
        if not (cancel_seen and run_back):
            problems.append(f"cancelling {long_target}: status {long_page.inner_text('#ess-screen-status')!r}, "
                            f"run button enabled again: {run_back}")

        # Wait for the eight; give up on the rest once no client's status has changed for a minute.
        statuses: dict[str, str] = {}
        pending, last_change, deadline = set(CLIENTS), time.monotonic(), time.monotonic() + 300
        while pending and time.monotonic() < deadline and time.monotonic() - last_change < 60:
            for target in sorted(pending):
                status = pages[target].inner_text("#ess-screen-status")
                if statuses.get(target) != status:
                    statuses[target], last_change = status, time.monotonic()
                if re.match(FINISHED, status):
                    pending.discard(target)
            time.sleep(0.5)
        for target in sorted(pending):
            problems.append(f"{target}'s job did not finish: status {statuses[target]!r} (no client's status changed "
                            f"for {time.monotonic() - last_change:.0f} s); job processes {job_processes()}")
        phase("eight jobs done")
        # In flight when Cancel was pressed: started before and finished after (clocks of one browser).
        times = {t: pages[t].evaluate("() => window.jobTimes") for t in CLIENTS}
        not_in_flight = {t: {**when, "cancel": cancel_at} for t, when in times.items()
                         if not when.get("started", math.inf) <= cancel_at < when.get("finished", math.inf)}
        shown = {t: _shown(pages[t]) for t in CLIENTS}
        screenshot(pages[next(iter(CLIENTS))], "concurrency-client")

        long_page.wait_for_timeout(2000)
        cancelled = _shown(long_page)
        screenshot(long_page, "concurrency-cancelled")
        # A fresh load of the cancelled view: nothing may have been stored for it.
        long_page.goto(f"{server}/essentiality?gene={long_target}&perms={long_perms}")
        if not _wait(long_page, READY, timeout=120_000):
            screenshot(long_page, "concurrency-reload")
            problems.append(f"the long job's view did not load again after Cancel: status "
                            f"{long_page.inner_text('#ess-screen-status')!r}; serving processes "
                            f"{describe([p.pid for p in serving])}; job processes {job_processes()}; Cancel "
                            f"clicked at {cancel_at / 1000:.3f} (epoch s); phases {phases}")
        long_page.wait_for_timeout(1000)
        reloaded = _shown(long_page)
        phase("cancelled view reloaded")

        live = None
        if serving:
            deadline = time.monotonic() + 20
            live = live_jobs(serving)
            while live and time.monotonic() < deadline:
                time.sleep(0.5)
                live = live_jobs(serving)
            if live:
                problems.append(f"job processes still alive after every job ended: {job_processes()}")

        return {
            "expected": {t: f.result() for t, f in expected.items()},
            "shown": shown, "not_in_flight": not_in_flight, "cancelled": cancelled, "reloaded": reloaded,
            "live_jobs": live, "errors": errors, "problems": problems,
            "phases": {**phases, "end": round(time.perf_counter() - started, 1)},
            "ran_on_after_cancel_s": {t: round((w.get("finished", math.inf) - cancel_at) / 1000, 1) for t, w in times.items()},
        }
    finally:
        pool.shutdown(wait=True)
        for context in contexts:
            context.close()


def _float(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def _problems(scenario, word: str) -> list[str]:
    return [p for p in scenario["problems"] if word in p]


@pytest.mark.parametrize("target", list(CLIENTS))
def test_each_client_gets_its_own_correct_screen(scenario, target):
    assert _problems(scenario, target) == []
    perms = CLIENTS[target]
    shown, table = scenario["shown"][target], scenario["expected"][target]
    assert re.match(FINISHED, shown["status"]), shown["status"]
    # The figure says which job it came from ...
    assert shown["provenance"]["gene"] == target
    assert shown["provenance"]["params"]["n_permutations"] == perms
    # ... and draws exactly the independently computed screen of that target.
    top = table.head(TOP_BARS).iloc[::-1]
    assert [label.removesuffix(" (n.s.)") for label in shown["bars_y"]] == top["gene"].tolist()
    assert shown["bars_x"] == pytest.approx(top["pearson_r"].tolist(), abs=1e-9)
    assert shown["table_gene"] == table["gene"].head(TABLE_ROWS).tolist()
    # Permutation FWER: the job's own permutations (seeded), depends on this client's perms.
    fwer = [_float(text) for text in shown["table_fwer"]]
    assert fwer == pytest.approx(table["perm_fwer_p"].head(TABLE_ROWS).tolist(), rel=0.05)  # 2 significant digits
    assert shown["scatter_title"].startswith(f"{target} effect against {table['gene'].iloc[0]} expression")


def test_the_results_differ_from_each_other(scenario):
    finished = [s for s in scenario["shown"].values() if re.match(FINISHED, s["status"])]
    signatures = {(tuple(s["table_gene"]), tuple(s["table_fwer"])) for s in finished}
    assert len(finished) >= 2 and len(signatures) == len(finished)


def test_cancelling_one_job_leaves_the_others_untouched(scenario):
    assert _problems(scenario, "the long job") == []
    # All eight jobs were in flight when the ninth client pressed Cancel (else: their times) ...
    assert scenario["not_in_flight"] == {}
    # ... and all eight then finished (with their own, correct results: see the tests above).
    assert {t: s["status"] for t, s in scenario["shown"].items() if not re.match(FINISHED, s["status"])} == {}


def test_cancelled_job_stores_nothing_and_its_process_ends(scenario):
    cancelled = scenario["cancelled"]
    assert cancelled["bars_y"] == [] and cancelled["table_gene"] == []
    # A fresh page load of the cancelled view finds no stored result ...
    reloaded = scenario["reloaded"]
    assert reloaded["status"] == "Idle.", reloaded["status"]
    assert reloaded["bars_y"] == [] and reloaded["table_gene"] == []
    # ... and its process (like every finished job's) is gone.
    if scenario["live_jobs"] is None:
        pytest.skip("could not find the server process to inspect its job processes")
    assert scenario["live_jobs"] == [], _problems(scenario, "alive")


def test_cancelled_client_still_says_cancelled(scenario):
    """Two seconds after all other jobs ended, the cancelled panel says so (no late progress text over it)."""
    assert _problems(scenario, "cancelling") == []
    assert scenario["cancelled"]["status"].startswith("Cancelled"), scenario["cancelled"]["status"]


def test_no_client_saw_console_errors(scenario):
    print("scenario phases (s since start):", scenario["phases"])
    print("each job ran on after Cancel (s):", scenario["ran_on_after_cancel_s"])
    assert {t: e for t, e in scenario["errors"].items() if e} == {}


def test_cached_gene_views_answer_16_clients_correctly(scenario, page, served):
    """16 clients x 5 replayed callback requests: every answer is HTTP 200 with the gene asked for."""
    # Genes whose screen the scenario stored (all eight unless a job failed, which the tests above report).
    finished = {t: n for t, n in CLIENTS.items() if re.match(FINISHED, scenario["shown"][t]["status"])}
    if not finished:
        pytest.skip("no screen was stored by the scenario")
    target, perms = next(iter(finished.items()))
    captured = loadgen.record_callback_requests(page)
    page.goto(f"{served}/essentiality?gene={target}&perms={perms}")
    page.wait_for_function(DONE, arg="ess-screen", timeout=120_000)  # "Loaded the stored result."
    page.wait_for_function("() => document.querySelector('#card-ess-lineage .js-plotly-plot')?.data?.length > 0",
                           timeout=120_000)
    lineage = loadgen.find_payload(captured, "ess-target", "ess-lineage")
    screen = loadgen.find_payload(captured, "ess-result", "ess-top")
    stored = loadgen.input_value(screen, "ess-result")
    assert stored["target"] == target and stored["n_permutations"] == perms and stored["cached"] is True

    def lineage_check(gene):
        return lambda body: loadgen.figure_problem(loadgen.figures_in(body).get("ess-lineage"), gene)

    def screen_check(gene):
        top_gene = scenario["expected"][gene]["gene"].iloc[0]

        def check(body):
            figures = loadgen.figures_in(body)
            problem = loadgen.figure_problem(figures.get("ess-top"), gene)
            if problem is None and figures["ess-top"]["data"][0]["y"][-1].removesuffix(" (n.s.)") != top_gene:
                problem = f"top bar is not {top_gene}"
            return problem
        return check

    plan = []
    for gene, n in finished.items():
        plan.append(loadgen.Request(f"lineage {gene}", loadgen.with_input(lineage, "ess-target", gene),
                                    lineage_check(gene)))
        plan.append(loadgen.Request(f"screen {gene}", loadgen.with_input(
            screen, "ess-result", {**stored, "target": gene, "n_permutations": n}), screen_check(gene)))
    result = loadgen.run_load(served, plan, clients=16, per_client=5)
    assert result.failures == []
    assert result.requests == 80
    assert page.console_errors == []
