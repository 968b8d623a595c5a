"""Edge-list loading: separators, headers, id mapping, clean undirected edges, clear errors."""

import numpy as np
import pandas as pd
import pytest

from core.datasets.networks import gene_table, load_network
from core.errors import InputError
from tests.conftest import SHARED_DATA

GENES = pd.DataFrame({"EntrezID": [1, 2, 3, 4], "Symbol": ["A1BG", "A2M", "NAT1", "NAT2"]})


def write(tmp_path, text, name="net.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_entrez_edges_are_mapped_symmetrised_and_deduplicated(tmp_path):
    path = write(tmp_path, "1 2 0.5\n2 1 0.9\n3 3 1.0\n4 1 0.2\n")
    edges = load_network(path, GENES)
    assert list(edges.columns) == ["gene1", "gene2", "weight"]
    assert (edges["gene1"] < edges["gene2"]).all()
    got = {(a, b): w for a, b, w in edges.itertuples(index=False)}
    assert got == {("A1BG", "A2M"): 0.9, ("A1BG", "NAT2"): 0.2}  # self loop gone, duplicate merged by max


def test_symbols_with_header_commas_and_no_weight(tmp_path):
    path = write(tmp_path, "gene1,gene2\nnat1,A2M\nNAT2,A2M\n", "net.csv")
    edges = load_network(path, GENES, to="entrez")
    assert set(map(tuple, edges[["gene1", "gene2"]].to_numpy())) == {("2", "3"), ("2", "4")}
    assert np.allclose(edges["weight"], 1.0)


def test_without_a_gene_table_ids_are_kept(tmp_path):
    edges = load_network(write(tmp_path, "10\t20\t1\n20\t30\t2\n"))
    assert set(edges["gene1"]) == {"10", "20"}


def test_unmapped_ids_raise_or_drop(tmp_path):
    path = write(tmp_path, "1 2 1\n1 999 1\n")
    with pytest.raises(InputError, match="999.*on_unmapped='drop'"):
        load_network(path, GENES)
    edges = load_network(path, GENES, on_unmapped="drop")
    assert len(edges) == 1 and edges.attrs["n_dropped_edges"] == 1


@pytest.mark.parametrize("text,match", [("1 2 0.5\n1 3 x\n", "weight"), ("1 2 -1\n", "weight"), ("1 2 3 4\n", "columns"),
                                        ("1 1 1\n", "no edges")])
def test_bad_files_say_what_is_wrong(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        load_network(write(tmp_path, text), GENES)


def test_gene_table_needs_both_columns():
    with pytest.raises(InputError, match="Entrez"):
        gene_table(pd.DataFrame({"Symbol": ["A"]}))
    demo_like = pd.DataFrame({"entrez": [5]}, index=pd.Index(["SIM0001"], name="gene"))
    assert gene_table(demo_like).to_dict("records") == [{"entrez": "5", "symbol": "SIM0001"}]


@pytest.mark.skipif(not (SHARED_DATA / "transcriptionnet_example").is_dir(), reason="shared real data absent")
def test_real_corum_layer():
    root = SHARED_DATA / "transcriptionnet_example"
    edges = load_network(root / "gene_networks" / "disease.txt", gene_table(root / "gene_meta" / "gene_meta.csv"),
                         to="entrez", on_unmapped="drop")
    assert len(edges) > 3500 and (edges["weight"] > 0).all() and (edges["gene1"] < edges["gene2"]).all()
