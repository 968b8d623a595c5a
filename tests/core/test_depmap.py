"""DepMap loaders on small fixture files written in the real formats (tests/fixtures/depmap)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.datasets.depmap import DepMapData, load_depmap
from core.errors import InputError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "depmap"
CUR = FIXTURES / "current"
OLD = FIXTURES / "achilles"
BAD = FIXTURES / "bad"
EXPR = "OmicsExpressionProteinCodingGenesTPMLogp1.csv"


def test_current_release_layout():
    data = load_depmap(CUR / "CRISPRGeneEffect.csv", CUR / EXPR, CUR / "Model.csv")
    assert data.params["layout"] == "current"
    # 42 effect rows, 40 expression rows: only shared cell lines, same order in both matrices
    assert data.effect.shape == (40, 18) and data.expression.shape == (40, 20)
    assert list(data.effect.index) == list(data.expression.index) == list(data.cells.index)
    assert data.expression.dtypes.eq(np.float32).all() and data.effect.dtypes.eq(np.float32).all()
    assert "RPP25" in data.expression.columns and "RPP25 (54913)" not in data.expression.columns
    assert data.genes.loc["TP53", "entrez"] == 7157
    assert not data.genes.loc["GENE11", "in_effect"] and data.genes.loc["GENE11", "in_expression"]
    raw = pd.read_csv(CUR / EXPR, index_col=0)
    np.testing.assert_allclose(data.expression.loc["ACH-000007", "TP53"], raw.loc["ACH-000007", "TP53 (7157)"],
                               rtol=1e-6)
    assert np.isnan(data.effect.loc["ACH-000004", "TP53"])
    assert data.cells.loc["ACH-000001", "lineage"] == "Lung"
    assert data.cells.loc["ACH-000002", "cell_line_name"] == "CELL2"
    assert "40 cell lines" in data.description


def test_older_achilles_layout_matches_current():
    old = load_depmap(OLD / "Achilles_gene_effect.csv", OLD / "CCLE_expression.csv", OLD / "sample_info.csv")
    new = load_depmap(CUR / "CRISPRGeneEffect.csv", CUR / EXPR, CUR / "Model.csv")
    assert old.params["layout"] == "achilles"
    pd.testing.assert_frame_equal(old.expression, new.expression)
    pd.testing.assert_frame_equal(old.effect[new.effect.columns], new.effect)
    assert old.cells.loc["ACH-000004", "lineage"] == "Cns brain"  # sample_info's cns_brain, made readable
    assert old.cells.loc["ACH-000001", "lineage"] == "Lung"


def test_sequencing_level_expression_keeps_default_entries():
    data = load_depmap(CUR / "CRISPRGeneEffect.csv", FIXTURES / "sequencing" / EXPR)
    ref = load_depmap(CUR / "CRISPRGeneEffect.csv", CUR / EXPR)
    pd.testing.assert_frame_equal(data.expression, ref.expression)
    assert (data.cells["lineage"] == "").all()


def test_loaded_data_runs_through_selection_and_roundtrips(tmp_path):
    from core.essentiality import select_modifiers

    data = load_depmap(CUR / "CRISPRGeneEffect.csv", CUR / EXPR, CUR / "Model.csv")
    selection = select_modifiers(data.expression, data.effect["RPP25L"], top_k=3)
    assert selection.modifiers[0] == "RPP25"
    data.save(tmp_path / "depmap")
    back = DepMapData.load(tmp_path / "depmap")
    pd.testing.assert_frame_equal(back.expression, data.expression)


@pytest.mark.parametrize("effect, expression, models, words", [
    (BAD / "CRISPRGeneEffect_transposed.csv", CUR / EXPR, None, ["CRISPRGeneEffect_transposed.csv", "ACH-000001"]),
    (CUR / "CRISPRGeneEffect.csv", BAD / "OmicsExpressionProteinCodingGenesTPM.csv", None,
     ["OmicsExpressionProteinCodingGenesTPM.csv", "log2(TPM+1)"]),
    (CUR / "CRISPRGeneEffect.csv", BAD / "CCLE_expression_other_release.csv", None,
     ["CRISPRGeneEffect.csv", "CCLE_expression_other_release.csv", "share only 0 cell lines"]),
    (CUR / "CRISPRGeneEffect.csv", CUR / EXPR, BAD / "Model_no_lineage.csv", ["Model_no_lineage.csv",
                                                                             "OncotreeLineage"]),
    (BAD / "CRISPRGeneEffect_text.csv", CUR / EXPR, None, ["CRISPRGeneEffect_text.csv", "TP53 (7157)", "NA?"]),
    (BAD / "CRISPRGeneEffect_symbols_only.csv", CUR / EXPR, None, ["SYMBOL (ENTREZ)", "RPP25"]),
    (BAD / "empty.csv", CUR / EXPR, None, ["empty.csv", "the file is empty"]),
    (CUR / "missing.csv", CUR / EXPR, None, ["missing.csv", "not found"]),
    (CUR / "CRISPRGeneEffect.csv", CUR / EXPR, CUR / "CRISPRGeneEffect.csv", ["OncotreeLineage", "Model.csv"]),
])
def test_bad_files_raise_input_errors_naming_the_file(effect, expression, models, words):
    with pytest.raises(InputError) as info:
        load_depmap(effect, expression, models)
    for word in words:
        assert word in str(info.value), str(info.value)
