"""Loading single-cell matrices for DKO: formats and the errors a biologist sees."""

import numpy as np
import pandas as pd
import pytest

from core.datasets.singlecell import check_expression, load_singlecell, save_ptrain
from core.errors import InputError
from tests.conftest import SHARED_DATA


def _frame():
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 1.0, (5, 4)) * (rng.random((5, 4)) < 0.7)
    values[0] = 1.0  # no empty cell
    return pd.DataFrame(values, index=[f"G{i}" for i in range(5)], columns=[f"c{j}" for j in range(4)])


def test_headerless_ptrain_gets_1_based_names(tmp_path):
    frame = _frame()
    save_ptrain(frame, tmp_path / "Ptrain.csv")
    loaded = load_singlecell(tmp_path / "Ptrain.csv")
    assert list(loaded.index) == [f"gene_{i}" for i in range(1, 6)]
    assert list(loaded.columns) == [f"cell_{j}" for j in range(1, 5)]
    np.testing.assert_allclose(loaded.to_numpy(), frame.to_numpy())


@pytest.mark.parametrize("suffix,sep", [(".csv", ","), (".tsv", "\t"), (".csv.gz", ",")])
def test_named_tables(tmp_path, suffix, sep):
    frame = _frame()
    path = tmp_path / f"expr{suffix}"
    frame.to_csv(path, sep=sep)
    loaded = load_singlecell(path)
    assert list(loaded.index) == list(frame.index) and list(loaded.columns) == list(frame.columns)
    np.testing.assert_allclose(loaded.to_numpy(), frame.to_numpy())


def test_h5ad_is_transposed_to_genes_by_cells(tmp_path):
    import anndata

    frame = _frame()
    adata = anndata.AnnData(X=frame.T.to_numpy(), obs=pd.DataFrame(index=frame.columns),
                            var=pd.DataFrame(index=frame.index))
    adata.write_h5ad(tmp_path / "x.h5ad")
    loaded = load_singlecell(tmp_path / "x.h5ad")
    pd.testing.assert_frame_equal(loaded, frame.rename_axis(index="gene", columns="cell"), check_dtype=False)


@pytest.mark.parametrize("edit,fragment", [
    (lambda f: f.iloc[1, 1] * 0 - 1.0, "negative value at gene 'G1', cell 'c1'"),
    (lambda f: np.nan, "missing or infinite"),
    (lambda f: np.inf, "missing or infinite"),
])
def test_bad_values_name_the_entry(tmp_path, edit, fragment):
    frame = _frame()
    frame.iloc[1, 1] = edit(frame)
    with pytest.raises(InputError, match=fragment.replace("(", r"\(")):
        check_expression(frame, "x.csv")


def test_text_value_is_reported(tmp_path):
    path = tmp_path / "x.csv"
    _frame().to_csv(path)
    text = path.read_text().replace("1.0", "high", 1)
    path.write_text(text)
    with pytest.raises(InputError, match="non-numeric value 'high'"):
        load_singlecell(path)


def test_duplicates_too_small_and_empty_cells():
    frame = _frame()
    with pytest.raises(InputError, match="duplicated gene names"):
        check_expression(frame.rename(index={"G1": "G0"}), "x.csv")
    with pytest.raises(InputError, match="duplicated cell names"):
        check_expression(frame.rename(columns={"c1": "c0"}), "x.csv")
    with pytest.raises(InputError, match="at least 2 genes and 2 cells"):
        check_expression(frame.iloc[:, :1], "x.csv")
    empty = frame.copy()
    empty["c2"] = 0.0
    with pytest.raises(InputError, match="express no gene"):
        check_expression(empty, "x.csv")


@pytest.mark.parametrize("name,text,fragment", [
    ("nope.csv", None, "file not found"),
    ("x.xlsx", "a", "unsupported file type"),
])
def test_unsupported_and_missing_files(tmp_path, name, text, fragment):
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=fragment):
        load_singlecell(tmp_path / name)


@pytest.mark.skipif(not (SHARED_DATA / "dko_example").is_dir(), reason="shared data absent")
def test_authors_example_loads():
    frame = load_singlecell(SHARED_DATA / "dko_example" / "data" / "Ptrain.csv")
    assert frame.shape == (100, 500)
    assert int((frame > 0).to_numpy().sum()) == 39343
