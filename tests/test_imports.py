"""Architecture rules that a test can check."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_core_loads_no_ui_and_no_torch():
    code = (
        "import sys, core, core.stats, core.cache, core.config, core.errors, core.datasets, core.essentiality\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dash', 'flask', 'dashboard', 'torch', 'plotly'))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import core loaded: {out.stdout.strip()}"


def test_core_sources_never_import_the_ui():
    for path in (ROOT / "core").rglob("*.py"):
        text = path.read_text()
        for name in ("import dash", "from dash", "import flask", "from flask", "from dashboard", "import dashboard"):
            assert name not in text, f"{path.relative_to(ROOT)} contains {name!r}"
