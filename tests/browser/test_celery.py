"""Background jobs on Celery: a real redis-server, a real Celery worker and gunicorn with two processes.

The web server and the worker share one private artifact store (results pass
through it, not through Redis) and one private registry. In a real Chromium:
a job runs on the worker with progress, two clients run jobs at once and each
gets its own result, a stored result comes back on a fresh load, Cancel
terminates the task, and a worker killed with SIGKILL mid-job makes the page say
the job was lost and free its Run button, without the job being run again by the
restarted worker (no ``task_acks_late``: see ``dashboard/jobs.py``).

Without ``redis-server`` these tests skip, except in CI (``CI=true``), where that is an error.
"""

from __future__ import annotations

import re
import signal
import time

import pytest

from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.processes import live_jobs, pool_processes, serving_processes
from tests.browser.test_concurrency import READY, _shown
from tests.server import kill_worker, require_redis_server, start_redis, start_server, start_worker, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.celery]

LOST_WITHIN = 30  # seconds from SIGKILL to the page saying so (the heartbeat expires after 10 s)


class Stack:
    """redis-server, a Celery worker and the web server, sharing one cache and registry folder."""

    def __init__(self, folder):
        self.folder = folder
        self.redis, self.redis_url = start_redis(folder)
        self.env = {"PERTURBSCOPE_CACHE_DIR": str(folder / "cache"), "PERTURBSCOPE_REGISTRY_DIR": str(folder / "registry"),
                    "REDIS_URL": self.redis_url}
        self.worker_log = folder / "worker.log"
        self.server_log = folder / "server.log"
        self.worker = None
        self.server = None

    def start(self):
        import threading

        started = threading.Thread(target=self.start_worker)  # both import the app: overlap them
        started.start()
        self.server, self.url = start_server(self.env["PERTURBSCOPE_CACHE_DIR"], self.server_log, env=self.env,
                                             workers=2)
        started.join()
        if self.worker is None:
            raise RuntimeError(f"the worker did not start:\n{self.worker_log.read_text(errors='replace')[-4000:]}")

    def start_worker(self):
        self.worker = start_worker(self.redis_url, self.worker_log, env=self.env)

    def worker_said(self, pattern: str, since: int = 0) -> list[str]:
        return re.findall(pattern, self.worker_log.read_text(errors="replace")[since:])

    def stop(self):
        for proc, stop in ((self.server, stop_server), (self.worker, kill_worker), (self.redis, stop_server)):
            if proc is not None and proc.poll() is None:
                stop(proc)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, demo_data):
    require_redis_server()
    stack = Stack(tmp_path_factory.mktemp("celery"))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        ARTIFACTS.mkdir(exist_ok=True)
        for log in (stack.worker_log, stack.server_log):
            if log.exists():
                (ARTIFACTS / f"celery-{log.name}").write_text(log.read_text(errors="replace"))


@pytest.fixture
def client(browser):
    """A new browser context (another user) opening pages; fails the test on console errors."""
    contexts, errors = [], []

    def open_page(url):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(180_000)  # a shared CI machine can be slow; the waits end as soon as they hold
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(url)
        return tab

    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


RECORD_PROGRESS = """p => {
    window.progressSeen = [];
    const text = document.querySelector(`#${p}-progress-text`);
    new MutationObserver(() => window.progressSeen.push(text.innerText)).observe(
        text, {childList: true, characterData: true, subtree: true});
}"""


def _status(page, prefix):
    return page.inner_text(f"#{prefix}-status")


def _wait_progress(page, prefix, pattern, timeout=180_000):
    page.wait_for_function(
        "([p, re]) => new RegExp(re).test(document.querySelector(`#${p}-progress-text`)?.innerText || '')",
        arg=[prefix, pattern], timeout=timeout)
    return page.inner_text(f"#{prefix}-progress-text")


def _wait_status(page, prefix, pattern, timeout=180_000):
    try:
        page.wait_for_function(
            "([p, re]) => new RegExp(re).test(document.querySelector(`#${p}-status`)?.innerText || '')",
            arg=[prefix, pattern], timeout=timeout)
    except Exception as exc:  # say what the page showed instead (an intermittent CI failure is under study)
        shown = {part: page.evaluate(f"() => document.querySelector('#{prefix}-{part}')?.innerText")
                 for part in ("status", "progress-text", "error")}
        raise AssertionError(f"{prefix} never matched {pattern!r}; the page shows {shown}") from exc
    return _status(page, prefix)


def test_two_clients_run_jobs_on_the_worker_with_progress(stack, client):
    mark = stack.worker_log.stat().st_size
    jobs = {"AR": 600, "CDK1": 700}
    pages = {gene: client(f"{stack.url}/essentiality?gene={gene}&perms={perms}") for gene, perms in jobs.items()}
    for page in pages.values():
        page.wait_for_function(READY)
    for page in pages.values():
        page.evaluate(RECORD_PROGRESS, "ess-screen")
        page.click("#ess-screen-run")
    serving = serving_processes(stack.url)
    assert len(serving) == 2  # gunicorn's workers
    assert live_jobs(serving) == []  # the jobs run on the Celery worker, not in processes of the web server
    for page in pages.values():
        _wait_status(page, "ess-screen", "^Finished")
        # the job's own progress reached the page before it finished: a step and its elapsed time, written by
        # the worker (which steps are caught depends on the poll timing: a fast machine runs the screen in ~4 s)
        seen = page.evaluate("() => window.progressSeen")
        assert any(re.search(r"^[a-z].* · [0-9]{1,2}% · [0-9.]+ s elapsed$", text) for text in seen), seen
    for gene, page in pages.items():
        shown = _shown(page)
        assert shown["provenance"]["gene"] == gene
        assert shown["provenance"]["params"]["n_permutations"] == jobs[gene]
    assert _shown(pages["AR"])["table_gene"] != _shown(pages["CDK1"])["table_gene"]
    assert len(stack.worker_said(r"Task background_callback_\S+ succeeded", mark)) == 2


def test_a_stored_result_comes_back_on_reload(stack, client):
    """A new client loading a view the worker computed gets its result at once, from the shared cache."""
    computed = client(f"{stack.url}/essentiality?gene=AR&perms=600")
    _wait_status(computed, "ess-screen", "^Loaded")
    computed.wait_for_function("() => document.querySelector('#ess-table .ag-row .ag-cell') !== null")
    shown = _shown(computed)
    assert shown["provenance"]["gene"] == "AR" and len(shown["table_gene"]) > 0


def test_cancel_terminates_the_task(stack, client):
    mark = stack.worker_log.stat().st_size
    page = client(f"{stack.url}/essentiality?gene=KRAS&perms=100000")
    page.wait_for_function(READY)
    page.click("#ess-screen-run")
    _wait_progress(page, "ess-screen", "permutation")
    pool = set(pool_processes(stack.worker.pid))
    assert len(pool) == 2  # --concurrency=2
    page.click("#ess-screen-cancel")
    _wait_status(page, "ess-screen", "^Cancelled", timeout=120_000)
    page.wait_for_function("() => !document.querySelector('#ess-screen-run').disabled")
    # The worker terminates the pool process running the job (and forks a new one).
    deadline = time.monotonic() + 30
    while pool <= set(pool_processes(stack.worker.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not pool <= set(pool_processes(stack.worker.pid)), stack.worker_log.read_text()[mark:]
    assert stack.worker_said(r"Terminating \S+ \(15\)", mark), stack.worker_log.read_text()[mark:]
    page.reload()
    page.wait_for_function(READY)
    assert _status(page, "ess-screen") == "Idle."


def test_a_killed_worker_loses_the_job_visibly_and_it_can_run_again(stack, client):
    page = client(f"{stack.url}/dko?steps=1500")
    page.wait_for_selector("#dko-sweep-run:not([disabled])")
    page.click("#dko-sweep-run")
    before = _wait_progress(page, "dko-sweep", "training step")
    kill_worker(stack.worker, signal.SIGKILL)
    killed = time.monotonic()
    status = _wait_status(page, "dko-sweep", "^(Lost|Finished|Cancelled)", timeout=(LOST_WITHIN + 30) * 1000)
    lost_after = time.monotonic() - killed
    screenshot(page, "celery-lost-job")
    assert status.startswith("Lost"), status
    assert "stopped before it finished" in page.inner_text("#dko-sweep-error")
    page.wait_for_function("() => !document.querySelector('#dko-sweep-run').disabled", timeout=5_000)
    print(f"job lost after SIGKILL: shown in {lost_after:.1f} s (progress then: {before!r})")
    assert lost_after <= LOST_WITHIN

    # A restarted worker does not run the lost job again; Run starts it anew.
    mark = stack.worker_log.stat().st_size
    stack.start_worker()
    page.wait_for_timeout(3000)
    assert stack.worker_said(r"Task background_callback_\S+ received", mark) == []
    assert _status(page, "dko-sweep").startswith("Lost")
    page.click("#dko-sweep-run")
    _wait_progress(page, "dko-sweep", "training step")
    assert not page.is_visible("#dko-sweep-error")  # the lost job's message is hidden while it runs again
    page.click("#dko-sweep-cancel")
    _wait_status(page, "dko-sweep", "^Cancelled", timeout=120_000)
