"""A real server and a real headless Chromium for browser tests."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.server import running_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


_SERVER_LOGS: list[str] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test shows the end of the server's log (a job's traceback, a hang)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _SERVER_LOGS:
        tail = Path(_SERVER_LOGS[-1]).read_text(errors="replace")[-6000:]
        report.sections.append(("server log (last 6,000 characters)", tail))


@contextlib.contextmanager
def own_server(tmp_path_factory, workers: int = 0):
    """A server with a fresh artifact store: `python app.py`, or gunicorn with ``workers`` processes.

    Its log is kept in test-artifacts/ and shown when a test fails.
    """
    log_path = tmp_path_factory.mktemp("server-log") / "server.log"
    _SERVER_LOGS.append(str(log_path))
    try:
        with running_server(tmp_path_factory.mktemp("server-cache"), log_path, workers=workers) as url:
            yield url
    finally:
        _SERVER_LOGS.remove(str(log_path))
        ARTIFACTS.mkdir(exist_ok=True)
        name = f"server-gunicorn-{workers}.log" if workers else "server.log"
        (ARTIFACTS / name).write_text(log_path.read_text(errors="replace"))


@pytest.fixture(scope="session")
def server(tmp_path_factory, demo_data):
    """The browser tests' server: `python app.py`, or gunicorn with ``PERTURBSCOPE_TEST_WORKERS`` processes."""
    with own_server(tmp_path_factory, workers=int(os.environ.get("PERTURBSCOPE_TEST_WORKERS") or 0)) as url:
        yield url


@pytest.fixture
def page(browser, server):
    """A fresh page that records console errors; the test fails if any occur."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    errors: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.console_errors = errors
    yield tab
    context.close()


def search_gene(page, text: str, choose: str) -> None:
    """Type ``text`` into the header's gene search and pick the option ``choose``."""
    page.click("#gene-search")
    page.keyboard.type(text)
    option = page.get_by_role("option", name=choose, exact=True)
    option.wait_for()
    option.click()

def follow_nav_with_gene(page, gene: str) -> None:
    """The header's DKO link carries ``gene``; following it opens DKO on that gene."""
    page.wait_for_function("gene => document.querySelector('#nav-dko').getAttribute('href') === `/dko?gene=${gene}`",
                           arg=gene)
    page.click("#nav-dko")
    page.wait_for_url(re.compile(rf"/dko\?gene={re.escape(gene)}"))

def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_graphs(page, n: int, timeout: int = 120_000, filled: bool = False) -> None:
    """Wait until at least ``n`` plotly graphs have drawn data (``filled``: traces with points or cells)."""
    test = ("g._fullData && g._fullData.some(t => (t.x && t.x.length) || (t.z && t.z.length))" if filled
            else "g.data && g.data.length")
    page.wait_for_function(f"n => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(g => {test})"
                           ".length >= n", arg=n, timeout=timeout)


def run_job(page, prefix: str, timeout: int = 180_000, status: str = "^(Finished|Loaded)") -> None:
    """Press a job panel's Run button and wait until its status matches ``status``."""
    page.click(f"#{prefix}-run")
    page.wait_for_function("([id, pattern]) => new RegExp(pattern).test(document.querySelector('#' + id).innerText)",
                           arg=[f"{prefix}-status", status], timeout=timeout)


def card_csv(page, card: str):
    """Download a figure card's CSV: the frame (provenance lines skipped) and the download."""
    with page.expect_download() as info:
        page.click(f"#card-{card} button:has-text('CSV')")
    return pd.read_csv(info.value.path(), comment="#"), info.value


def settle_and_shoot(page, name: str, pause_ms: int = 500) -> None:
    """Let the figures finish drawing, take the screenshot, and check the console stayed clean."""
    page.wait_for_timeout(pause_ms)
    screenshot(page, name)
    assert page.console_errors == []
