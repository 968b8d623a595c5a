"""AnnData matrices, 10x Genomics files, gene selection and annotations, checked against scanpy's own readers."""

from __future__ import annotations

import gzip
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.datasets import load_singlecell
from core.datasets.gene_selection import dense_expression, highly_variable_genes, log_normalise, select_genes
from core.datasets.registry import validate
from core.datasets.cell_annotations import (
    MAX_GROUPS, cell_embeddings, cell_grouping, cell_groupings, cell_table, text_annotations,
)
from core.datasets.scverse import read_singlecell_file
from core.errors import InputError

sc = pytest.importorskip("scanpy")
anndata = pytest.importorskip("anndata")


def _counts(n_cells=60, n_genes=40, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = rng.gamma(0.6, 2.0, n_genes)
    return rng.poisson(scale * rng.gamma(3.0, 1.0, (n_cells, 1))).astype(np.float32)


def _adata(seed=0):
    """A scanpy-processed file: counts layer, log-normalised .raw, scaled X, annotations, UMAP."""
    counts = _counts(seed=seed)
    counts[:, 0] += 1  # no empty cell
    adata = anndata.AnnData(sp.csr_matrix(counts),
                            obs=pd.DataFrame(index=[f"cell{j}" for j in range(counts.shape[0])]),
                            var=pd.DataFrame(index=[f"G{i}" for i in range(counts.shape[1])]))
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata)
    sc.pp.log1p(adata)
    adata.raw = adata
    sc.pp.scale(adata)
    rng = np.random.default_rng(seed)
    adata.obs["cell_type"] = pd.Categorical(rng.choice(["B", "T", "NK"], adata.n_obs))
    adata.obs["barcode"] = [f"BC{j}" for j in range(adata.n_obs)]
    adata.obs["n_counts"] = counts.sum(axis=1)
    adata.obsm["X_umap"] = rng.normal(size=(adata.n_obs, 2))
    adata.obsm["X_pca"] = rng.normal(size=(adata.n_obs, 10))
    return adata, counts


def _write(adata, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata.write_h5ad(path)
    return path


def test_every_matrix_is_listed_and_counts_are_preferred(tmp_path):
    adata, counts = _adata()
    path = _write(adata, tmp_path / "processed.h5ad")
    file = read_singlecell_file(path)
    by_key = {c.key: c for c in file.choices}
    assert set(by_key) == {"X", "raw", "layer:counts"}
    assert not by_key["X"].usable and by_key["X"].low < 0
    assert by_key["layer:counts"].integer and by_key["layer:counts"].high == counts.max()
    assert by_key["raw"].usable and not by_key["raw"].integer
    assert np.isclose(by_key["raw"].high, adata.raw.X.max())
    assert file.chosen == "layer:counts" and file.is_sparse  # counts first, kept sparse
    np.testing.assert_array_equal(file.matrix.toarray(), counts)
    assert "counts 0 to" in by_key["layer:counts"].holds and "negative" in by_key["X"].holds


def test_raw_is_the_default_without_counts_and_explicit_choices_are_honoured(tmp_path):
    adata, counts = _adata()
    del adata.layers["counts"]
    path = _write(adata, tmp_path / "no_counts.h5ad")
    assert read_singlecell_file(path).chosen == "raw"
    frame = load_singlecell(path)
    np.testing.assert_allclose(frame.to_numpy(), adata.raw.X.toarray().T, rtol=1e-6)
    with_counts = _write(_adata()[0], tmp_path / "with_counts.h5ad")
    np.testing.assert_array_equal(load_singlecell(with_counts, layer="counts").to_numpy(), counts.T)
    np.testing.assert_allclose(load_singlecell(with_counts, use_raw=True).to_numpy(), adata.raw.X.toarray().T,
                               rtol=1e-6)
    with pytest.raises(InputError, match="X holds values .* negative.*usable: .raw, layer 'counts'"):
        load_singlecell(with_counts, use_raw=False)
    with pytest.raises(InputError, match="no matrix 'layer:spliced'; the file offers X, .raw, layer 'counts'"):
        load_singlecell(with_counts, layer="spliced")


def test_only_the_chosen_genes_are_densified_and_the_memory_is_reported(tmp_path):
    adata, counts = _adata()
    path = _write(adata, tmp_path / "a.h5ad")
    file = read_singlecell_file(path, "layer:counts")
    frame = dense_expression(file, ["G3", "G1"])
    assert list(frame.index) == ["G3", "G1"] and frame.shape == (2, 60)
    np.testing.assert_array_equal(frame.to_numpy(), counts[:, [3, 1]].T)
    data, report = validate("dko", {"matrix": [path]}, {"genes": "top_mean", "n_genes": 10})
    assert report.ok, report.checks
    assert report.summary["dense matrix for DKO"] == f"{10 * 60 * 8 / 1024:.1f} kB"
    assert any("stays sparse" in text and "DKO needs it dense" in text for _, text in report.checks)


def test_hvg_equals_scanpy_seurat_flavour(tmp_path):
    adata, _ = _adata(seed=3)
    logged = adata.raw.to_adata()
    for n in (5, 12, 25):
        ref = sc.pp.highly_variable_genes(logged, flavor="seurat", n_top_genes=n, inplace=False)
        _assert_same_hvg(highly_variable_genes(logged.X, n), ref, n)
    # counts: scanpy's recipe (normalise to the median total, log1p) first
    counts = adata.layers["counts"]
    recipe = anndata.AnnData(counts.copy())
    sc.pp.normalize_total(recipe)
    sc.pp.log1p(recipe)
    ref = sc.pp.highly_variable_genes(recipe, flavor="seurat", n_top_genes=12, inplace=False)
    _assert_same_hvg(highly_variable_genes(log_normalise(sp.csr_matrix(counts), integer=True), 12), ref, 12)


def _assert_same_hvg(ours, ref, n):
    np.testing.assert_allclose(ours["dispersions_norm"], ref["dispersions_norm"], rtol=1e-5, equal_nan=True)
    differ = ours["highly_variable"].to_numpy() != ref["highly_variable"].to_numpy()
    # the only allowed difference: genes tied with the n-th gene up to rounding, which we all keep
    cut = np.sort(ours["dispersions_norm"].dropna().to_numpy())[::-1][n - 1]
    assert np.allclose(ours["dispersions_norm"].to_numpy()[differ], cut, rtol=1e-9)
    assert ours["highly_variable"].to_numpy()[differ].all()
    assert differ.sum() <= 2 and ref["highly_variable"].sum() >= n


def test_gene_selection_methods_keep_named_genes(tmp_path):
    adata, counts = _adata()
    path = _write(adata, tmp_path / "a.h5ad")
    file = read_singlecell_file(path)
    top = select_genes(file, "top_mean", 5, genes=["g39"])  # case-insensitive names
    means = counts.mean(axis=0)
    expected = {f"G{i}" for i in np.argsort(-means, kind="stable")[:5]} | {"G39"}
    assert set(top.genes) == expected and top.genes == sorted(top.genes, key=lambda g: int(g[1:]))
    hvg = select_genes(file, "hvg", 8, genes=["G0"])
    ref = sc.pp.highly_variable_genes(adata.raw.to_adata(), flavor="seurat", n_top_genes=8, inplace=False)
    computed = set(adata.raw.var_names[ref["highly_variable"].to_numpy()])  # counts layer: recipe applied
    assert "G0" in hvg.genes and len(hvg.genes) >= 8
    assert len(computed & set(hvg.genes)) >= 6
    assert select_genes(file, "list", genes="G2 G5".split()).genes == ["G2", "G5"]
    assert len(select_genes(file, "auto").genes) == 40
    adata.var["highly_variable"] = [i % 4 == 0 for i in range(40)]
    own = select_genes(read_singlecell_file(_write(adata, tmp_path / "flagged.h5ad")), "hvg")
    assert own.genes == [f"G{i}" for i in range(0, 40, 4)] and "var['highly_variable']" in own.note
    with pytest.raises(InputError, match="not in a.h5ad: NOPE"):
        select_genes(file, "hvg", genes=["NOPE"])
    with pytest.raises(InputError, match="between 2 and 3,000"):
        select_genes(file, "top_mean", 5000)


def test_annotations_and_embeddings_travel_in_the_cell_table(tmp_path):
    adata, _ = _adata()
    adata.obs["many"] = pd.Categorical([f"v{j % (MAX_GROUPS + 5)}" for j in range(adata.n_obs)])
    file = read_singlecell_file(_write(adata, tmp_path / "a.h5ad"))
    cells, info = cell_table(file)
    assert info["default_grouping"] == "cell_type" and cells["cell_type"].tolist() == adata.obs["cell_type"].tolist()
    assert set(cell_groupings(cells)) == {"cell_type"}
    assert set(text_annotations(cells)) == {"barcode", "many"}  # numeric n_counts is not an annotation
    umap = cell_embeddings(cells)["X_umap"]
    np.testing.assert_allclose(umap[["x", "y"]].to_numpy(), adata.obsm["X_umap"])
    assert set(cell_embeddings(cells)) == {"X_umap", "X_pca"}
    assert cell_grouping(cells, "cell_type").tolist() == adata.obs["cell_type"].astype(str).tolist()
    with pytest.raises(InputError, match="'many' has 45 different values.*cell_type"):
        cell_grouping(cells, "many", "a.h5ad")
    with pytest.raises(InputError, match="no cell annotation 'tissue'"):
        cell_grouping(cells, "tissue")


# --- 10x Genomics ----------------------------------------------------------------------------------

def _tenx_h5(path, counts, symbols):
    import h5py

    csc = sp.csc_matrix(counts.T.astype(np.int32))  # features x barcodes, stored column by column
    with h5py.File(path, "w") as handle:
        group = handle.create_group("matrix")
        group["data"], group["indices"], group["indptr"] = csc.data, csc.indices, csc.indptr
        group["shape"] = np.array(csc.shape, dtype=np.int32)
        group["barcodes"] = np.array([f"AAAC{j:04d}-1".encode() for j in range(counts.shape[0])])
        features = group.create_group("features")
        features["id"] = np.array([f"ENSG{i:05d}".encode() for i in range(counts.shape[1])])
        features["name"] = np.array([s.encode() for s in symbols])
        types = ["Gene Expression"] * (counts.shape[1] - 1) + ["Antibody Capture"]
        features["feature_type"] = np.array([t.encode() for t in types])
        features["genome"] = np.array([b"GRCh38"] * counts.shape[1])
        features["_all_tag_keys"] = np.array([b"genome"])
    return path


def test_10x_h5_reads_as_scanpy_reads_it(tmp_path):
    counts = _counts(n_cells=30, n_genes=12)
    counts[:, 0] += 1
    symbols = [f"G{i}" for i in range(11)] + ["CD3_TotalSeqB"]
    symbols[5] = "G4"  # a repeated symbol, as in real references
    path = _tenx_h5(tmp_path / "filtered_feature_bc_matrix.h5", counts, symbols)
    ref = sc.read_10x_h5(path)
    ref.var_names_make_unique()
    file = read_singlecell_file(path)
    assert list(file.genes) == list(ref.var_names) and list(file.cells) == list(ref.obs_names)
    np.testing.assert_array_equal(file.matrix.toarray(), ref.X.toarray())
    assert file.chosen == "X" and file.choice().integer and len(file.genes) == 11  # antibody capture dropped


def test_10x_matrix_folder_and_its_zip_read_as_scanpy_reads_them(tmp_path):
    counts = _counts(n_cells=25, n_genes=9).astype(int)
    counts[:, 0] += 1
    folder = tmp_path / "filtered_feature_bc_matrix"
    folder.mkdir()
    rows, cols = np.nonzero(counts.T)
    mtx = ["%%MatrixMarket matrix coordinate integer general", f"{counts.shape[1]} {counts.shape[0]} {len(rows)}"]
    mtx += [f"{i + 1} {j + 1} {counts[j, i]}" for i, j in zip(rows, cols)]
    symbols = [f"G{i}" for i in range(9)]
    symbols[3] = "G2"
    members = {"matrix.mtx.gz": "\n".join(mtx) + "\n",
               "features.tsv.gz": "".join(f"ENSG{i}\t{s}\tGene Expression\n" for i, s in enumerate(symbols)),
               "barcodes.tsv.gz": "".join(f"AAAC{j}-1\n" for j in range(counts.shape[0]))}
    for name, text in members.items():
        (folder / name).write_bytes(gzip.compress(text.encode()))
    ref = sc.read_10x_mtx(folder)
    for path in (folder, _zip(folder, tmp_path / "upload.zip")):
        file = read_singlecell_file(path)
        assert list(file.genes) == list(ref.var_names) and list(file.cells) == list(ref.obs_names)
        np.testing.assert_array_equal(file.matrix.toarray(), ref.X.toarray())
    (folder / "barcodes.tsv.gz").unlink()
    with pytest.raises(InputError, match="barcodes.tsv\\(.gz\\) is missing"):
        read_singlecell_file(folder)


def _zip(folder, path):
    with zipfile.ZipFile(path, "w") as archive:
        for member in folder.iterdir():
            archive.write(member, f"{folder.name}/{member.name}")
        archive.writestr("__MACOSX/._matrix.mtx.gz", b"resource fork")
    return path
