"""The Examples sections of core run as written (numpydoc ``Examples``, doctest syntax).

Every module of ``core`` with a ``>>>`` example is collected, so a new example
runs in the suite without being listed here. The main entry points must have
one: select_modifiers, evaluate_gene, DKO, knockout_impacts, DecodeCNN and
TranscriptionNet.
"""

import doctest
import importlib

import pytest
import torch

from tests.conftest import ROOT

torch.set_num_threads(1)

MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for path in (ROOT / "core").rglob("*.py") if ">>> " in path.read_text(encoding="utf-8")
)
ENTRY_POINTS = {"core.essentiality.selection": "select_modifiers", "core.essentiality.evaluate": "evaluate_gene",
                "core.dko.estimator": "DKO", "core.dko.knockouts": "knockout_impacts",
                "core.decode.estimator": "DecodeCNN", "core.transcriptionnet.pipeline": "TranscriptionNet"}


def test_every_main_entry_point_has_an_example():
    for module, name in ENTRY_POINTS.items():
        assert module in MODULES, module
        assert "Examples\n" in getattr(importlib.import_module(module), name).__doc__, name


@pytest.mark.parametrize("module", MODULES)
def test_examples_run(module):
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(importlib.import_module(module), optionflags=flags)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} example(s) of {module} failed (run python -m doctest -v on it)"
