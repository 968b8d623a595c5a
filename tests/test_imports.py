"""Architecture rules that a test can check."""

import re
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


def test_pages_and_components_reach_core_only_through_the_services():
    pattern = re.compile(r"^\s*(?:import core\b|from core(?:\.| import))", re.MULTILINE)
    for folder in ("pages", "components"):
        for path in (ROOT / "dashboard" / folder).rglob("*.py"):
            found = pattern.findall(path.read_text())
            assert not found, f"{path.relative_to(ROOT)} imports core directly: {found[0].strip()}"


def test_core_holds_no_page_routes_or_form_hints():
    for path in (ROOT / "core").rglob("*.py"):
        text = path.read_text()
        for word in ('"/essentiality"', '"/dko"', '"/decode"', '"/perturbation"', "hint="):
            assert word not in text, f"{path.relative_to(ROOT)} holds UI text {word!r}"
