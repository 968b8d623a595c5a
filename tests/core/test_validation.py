"""Validation of user files (core.datasets.validation): minimum sizes, plausibility, roles, readable text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.datasets.kinds import SPECS
from core.datasets.text_tables import readable_table
from core.datasets.validation import validate
from core.errors import InputError


def test_minimum_sizes_and_plausibility_are_reported(tmp_path):
    counts = np.random.default_rng(0).poisson(1.0, (6, 12)).astype(float)
    frame = pd.DataFrame(counts, index=[f"g{i}" for i in range(6)], columns=[f"c{j}" for j in range(12)])
    path = tmp_path / "small.csv"
    frame.to_csv(path)
    data, report = validate("dko", {"matrix": [path]})
    errors = [text for level, text in report.checks if level == "error"]
    assert data is not None and not report.ok
    assert any("only 12 cells" in text for text in errors)


def test_a_missing_file_role_and_unknown_roles_are_named(tmp_path):
    data, report = validate("essentiality", {"effect": [tmp_path / "effect.csv"]})
    assert data is None and report.checks == [("error", "DepMap release: the expression, log2(tpm+1) file is missing")]
    _, report = validate("dko", {"matrix": [tmp_path / "m.csv"], "extra": [tmp_path / "x.csv"]})
    assert "unexpected file role(s) extra" in report.checks[-1][1]
    assert {r.key for r in SPECS["perturbation"].roles} == {"network", "RNAi", "CRISPR", "OE", "genes"}


@pytest.mark.parametrize("content, words", [(b"", "the file is empty"), ("a,b\n1,2\n".encode("utf-16"), "not UTF-8"),
                                            (b'a,"b\n1,2\n', "not a readable table")])
def test_readable_table_names_the_file_and_what_was_expected(tmp_path, content, words):
    path = tmp_path / "table.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=words) as info, readable_table(path, "genes in rows"):
        pd.read_csv(path)
    assert "table.csv" in str(info.value)
