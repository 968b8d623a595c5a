"""Session set-up shared by all tests: demo data present, a private artifact store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_configure(config):
    # Results computed by tests must not leak into (or come from) the user's cache.
    cache = Path(os.environ.get("PERTURBSCOPE_TEST_CACHE", "/tmp")) / f"perturbscope-test-cache-{os.getpid()}"
    os.environ.setdefault("PERTURBSCOPE_CACHE_DIR", str(cache))


@pytest.fixture(scope="session", autouse=True)
def demo_data():
    """Build any missing demo dataset once (a no-op when `make` already did)."""
    subprocess.run([sys.executable, "-m", "core.datasets.build_demo"], cwd=ROOT, check=True,
                   capture_output=True)
    return ROOT / "data" / "demo"
