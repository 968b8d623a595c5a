"""The shipped published results of Rosenski et al. (2023): values from the paper's Additional file 1."""

from pathlib import Path

import pandas as pd
import pytest

from core.datasets.published import build_published, load_published

XLSX = Path(__file__).resolve().parents[3] / "shared" / "data" / "achilles_prediction" / \
    "12920_2023_1446_MOESM1_ESM.xlsx"


def test_shipped_tables_hold_the_papers_numbers():
    published = load_published()
    rpp25l = published.gene("RPP25L")
    assert rpp25l["model"] == "XGBoost" and rpp25l["test_pearson"] == pytest.approx(0.788, abs=5e-4)
    assert rpp25l["modifiers"][0][0] == "RPP25" and rpp25l["modifiers"][0][1] == pytest.approx(0.621, abs=5e-4)
    assert published.gene("FAM50A")["model"] == "Neural network"
    assert published.performance.index.is_unique and len(published.performance) == 16_980
    assert published.modifiers["target"].nunique() == 2_886
    assert "RPP25L" in set(published.modifier_of("RPP25")["target"])
    assert published.gene("NOT_A_GENE") is None
    perf = published.performance.dropna(subset=["test_pearson_p"])  # four genes with a constant prediction
    assert (perf["q"] >= perf["test_pearson_p"]).all() and len(perf) == 16_976


def test_rebuilding_from_the_xlsx_gives_the_shipped_tables(tmp_path):
    pytest.importorskip("openpyxl")
    if not XLSX.is_file():
        pytest.skip("the paper's Additional file 1 is not beside the project")
    shipped = load_published()
    build_published(XLSX, tmp_path)
    rebuilt = load_published(tmp_path)
    pd.testing.assert_frame_equal(rebuilt.performance, shipped.performance)
    pd.testing.assert_frame_equal(rebuilt.modifiers, shipped.modifiers)
