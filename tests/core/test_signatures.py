"""Signature files: CSV, GCT 1.2 / 1.3 and GCTX agree; duplicates, unmapped ids and landmark mismatches fail clearly."""

import numpy as np
import pandas as pd
import pytest

from core.datasets.signatures import load_signatures, save_gct, save_gctx
from core.errors import InputError
from tests.conftest import SHARED_DATA

GENES = pd.DataFrame({"EntrezID": [1, 2, 3, 4, 5], "Symbol": ["A1BG", "A2M", "NAT1", "NAT2", "SERPINA3"]})


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(3, 4)).astype(np.float32), index=["1", "2", "3"],
                        columns=["2", "3", "4", "5"])


@pytest.mark.parametrize("suffix", ["csv", "csv.gz", "gct", "gctx"])
def test_formats_round_trip(tmp_path, frame, suffix):
    path = tmp_path / f"sig.{suffix}"
    {"gct": save_gct, "gctx": save_gctx}.get(suffix, lambda f, p: f.to_csv(p))(frame, path)
    got = load_signatures(path)
    assert list(got.index) == ["1", "2", "3"] and list(got.columns) == ["2", "3", "4", "5"]
    assert got.dtypes.unique().tolist() == [np.float32]
    assert np.allclose(got.to_numpy(), frame.to_numpy(), atol=1e-5)


def test_gct13_with_sample_field(tmp_path):
    text = ("#1.3\n2\t2\t1\t1\n"
            "id\tpr_gene_symbol\tsigA\tsigB\n"
            "cmap_name\tna\tNAT1\tA2M\n"
            "2\tA2M\t0.5\t-1.0\n"
            "5\tSERPINA3\t1.5\t2.0\n")
    path = tmp_path / "x.gct"
    path.write_text(text)
    got = load_signatures(path, genes=GENES, sample_field="cmap_name")
    assert list(got.index) == ["NAT1", "A2M"] and list(got.columns) == ["A2M", "SERPINA3"]
    assert got.loc["A2M", "SERPINA3"] == pytest.approx(2.0)
    with pytest.raises(InputError, match="no column metadata field 'pert_iname'"):
        load_signatures(path, sample_field="pert_iname")


def test_mapping_and_landmark_order(tmp_path, frame):
    path = tmp_path / "s.csv"
    frame.to_csv(path)
    got = load_signatures(path, genes=GENES, landmarks=["SERPINA3", "NAT2", "NAT1", "A2M"])
    assert list(got.columns) == ["SERPINA3", "NAT2", "NAT1", "A2M"] and list(got.index) == ["A1BG", "A2M", "NAT1"]
    assert got.loc["A1BG", "A2M"] == pytest.approx(frame.loc["1", "2"])


def test_errors(tmp_path, frame):
    dup = frame.copy()
    dup.index = ["1", "1", "3"]
    dup.to_csv(tmp_path / "dup.csv")
    with pytest.raises(InputError, match="more than once.*1"):
        load_signatures(tmp_path / "dup.csv")
    frame.to_csv(tmp_path / "ok.csv")
    with pytest.raises(InputError, match="1 missing.*99"):
        load_signatures(tmp_path / "ok.csv", landmarks=["2", "3", "4", "99"])
    with pytest.raises(InputError, match="not in the gene table"):
        load_signatures(tmp_path / "ok.csv", genes=GENES.iloc[1:])
    (tmp_path / "x.parquet").write_text("")
    with pytest.raises(InputError, match="unknown signature format"):
        load_signatures(tmp_path / "x.parquet")
    (tmp_path / "bad.gct").write_text("hello\n")
    with pytest.raises(InputError, match="#1.2 or #1.3"):
        load_signatures(tmp_path / "bad.gct")


@pytest.mark.skipif(not (SHARED_DATA / "transcriptionnet_example").is_dir(), reason="shared real data absent")
def test_real_l1000_signatures():
    got = load_signatures(SHARED_DATA / "transcriptionnet_example" / "datasets" / "OE" / "GECs_valid.csv.gz")
    assert got.shape == (23, 978) and got.to_numpy().min() >= -1 and got.to_numpy().max() <= 1
