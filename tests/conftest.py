"""Session set-up shared by all tests: demo data present, a private artifact store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_configure(config):
    # Results computed by tests must not leak into (or come from) the user's cache.
    cache = Path(os.environ.get("PERTURBSCOPE_TEST_CACHE", "/tmp")) / f"perturbscope-test-cache-{os.getpid()}"
    os.environ.setdefault("PERTURBSCOPE_CACHE_DIR", str(cache))
    # Registered datasets and server-side imports of the tests live in a private folder too.
    os.environ.setdefault("PERTURBSCOPE_REGISTRY_DIR", str(cache / "registry"))
    os.environ.setdefault("PERTURBSCOPE_IMPORT_DIR", str(cache / "import"))


@pytest.fixture(scope="session", autouse=True)
def demo_data():
    """Build any missing demo dataset and its precomputed results once (a no-op when `make` already did)."""
    for module in ("core.datasets.build_demo", "dashboard.services.prebuild"):
        subprocess.run([sys.executable, "-m", module], cwd=ROOT, check=True, capture_output=True)
    return ROOT / "data" / "demo"


@pytest.fixture(scope="session")
def user_files(tmp_path_factory):
    """One valid dataset of each registrable kind, as files (see tests/user_files.py)."""
    from tests.user_files import all_kinds

    return all_kinds(tmp_path_factory.mktemp("user-files"))


@pytest.fixture
def registered(user_files, tmp_path, monkeypatch):
    """A fresh registry holding one dataset of each kind; returns kind -> dataset id."""
    from core.datasets.registry import DatasetRegistry
    from dashboard import services

    reg = DatasetRegistry(tmp_path / "registry")
    monkeypatch.setattr(services, "registry", lambda: reg)
    ids = {}
    for kind, files in user_files.items():
        entry, report, _ = reg.register(kind, f"My {kind} data", files)
        assert entry is not None, report.checks
        ids[kind] = entry.ident
    return ids


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (Playwright's sync API allows one instance per thread)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
