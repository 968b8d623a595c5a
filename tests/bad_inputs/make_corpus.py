"""Write the bad-input corpus: small malformed files for every loader in ``core.datasets``.

Run ``python -m tests.bad_inputs.make_corpus`` from the project folder; the output is
deterministic (fixed seeds, no timestamps in HDF5 files), and the generated files are
committed next to this script together with ``MANIFEST.csv`` (file, loader, what_is_wrong).

``loader`` says which loader (and, for DepMap, which slot of ``load_depmap``) reads the
file; ``tests/test_bad_inputs.py`` pairs bad DepMap files with the good fixtures in
``tests/fixtures/depmap/current/``.
"""

from __future__ import annotations

import csv
import io
import pickle
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GOOD = HERE.parent / "fixtures" / "depmap" / "current"
EFFECT = GOOD / "CRISPRGeneEffect.csv"
EXPRESSION = GOOD / "OmicsExpressionProteinCodingGenesTPMLogp1.csv"
MODELS = GOOD / "Model.csv"

ENTRIES: list[tuple[str, str, str]] = []
OUT = HERE  # where files are written; main() can point it elsewhere (the reproducibility test does)


def _write(name: str, loader: str, what: str, content: bytes | str) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    (OUT / name).write_bytes(data)
    ENTRIES.append((name, loader, what))


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def _csv(rows: list[list[str]], sep: str = ",") -> str:
    return "".join(sep.join(row) + "\n" for row in rows)


def _replace(rows: list[list[str]], row: int, col: int, value: str) -> list[list[str]]:
    rows = [list(r) for r in rows]
    rows[row][col] = value
    return rows


# --------------------------------------------------------------------------- DepMap
def depmap() -> None:
    eff, expr, models = _rows(EFFECT), _rows(EXPRESSION), _rows(MODELS)
    e, x, m = "depmap_effect", "depmap_expression", "depmap_models"
    _write("depmap_effect_empty.csv", e, "zero-byte file", b"")
    _write("depmap_effect_header_only.csv", e, "gene header but no cell-line rows", _csv(eff[:1]))
    _write("depmap_effect_semicolon_delimiter.csv", e, "semicolon-separated instead of comma", _csv(eff, ";"))
    _write("depmap_effect_missing_header.csv", e, "header line with gene names removed", _csv(eff[1:]))
    _write("depmap_effect_duplicated_cells.csv", e, "cell line ACH-000002 appears twice",
           _csv(eff[:3] + [["ACH-000002"] + eff[2][1:]] + eff[3:]))
    _write("depmap_effect_text_in_numbers.csv", e, "the word 'high' in a gene-effect column",
           _csv(_replace(eff, 5, 3, "high")))
    _write("depmap_effect_inf.csv", e, "an infinite gene effect", _csv(_replace(eff, 4, 2, "inf")))
    _write("depmap_effect_utf16.csv", e, "UTF-16 encoded text", _csv(eff).encode("utf-16"))
    latin = _replace(eff, 0, 1, "GÈNE (54913)")
    _write("depmap_effect_latin1_header.csv", e, "Latin-1 byte in a gene name (not UTF-8)",
           _csv(latin).encode("latin-1"))
    _write("depmap_effect_one_cell.csv", e, "a single cell line", _csv(eff[:2]))
    _write("depmap_effect_one_gene.csv", e, "a single gene column", _csv([r[:2] for r in eff]))
    _write("depmap_effect_mismatched_cells.csv", e, "cell ids from another release: none shared with expression",
           _csv([eff[0]] + [[f"ACH-9{r[0][5:]}"] + r[1:] for r in eff[1:]]))
    _write("depmap_effect_transposed.csv", e, "genes in rows, cell lines in columns",
           _csv([list(col) for col in zip(*eff)]))
    _write("depmap_effect_very_long_line.csv", e, "one data row with 20,000 extra fields",
           _csv(eff[:3]) + "ACH-000099," + ",".join(["0.1"] * 20_000) + "\n" + _csv(eff[3:]))
    _write("depmap_effect_not_gzip.csv.gz", e, ".gz suffix but plain text inside", _csv(eff))
    _write("depmap_effect_binary_garbage.csv", e, "random bytes",
           np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())

    dup = [list(r) for r in expr]
    dup[0][2] = dup[0][1]
    _write("depmap_expression_duplicated_genes.csv", x, "the same gene column twice", _csv(dup))
    _write("depmap_expression_negative.csv", x, "negative expression (z-scores, not log2 TPM)",
           _csv(_replace(expr, 3, 4, "-2.5")))
    tpm = [expr[0]] + [[r[0]] + [f"{float(v) ** 3 * 40:.3f}" for v in r[1:]] for r in expr[1:]]
    _write("depmap_expression_tpm_not_log.csv", x, "raw TPM instead of log2(TPM+1)", _csv(tpm))
    _write("depmap_expression_inf.csv", x, "an infinite expression value", _csv(_replace(expr, 2, 5, "inf")))
    _write("depmap_expression_all_nan.csv", x, "every expression value missing",
           _csv([expr[0]] + [[r[0]] + [""] * (len(r) - 1) for r in expr[1:]]))
    _write("depmap_expression_all_constant.csv", x, "every expression value is 0 (no variation)",
           _csv([expr[0]] + [[r[0]] + ["0"] * (len(r) - 1) for r in expr[1:]]))
    _write("depmap_expression_tab_delimiter.csv", x, "tab-separated content in a .csv file", _csv(expr, "\t"))
    _write("depmap_expression_no_id_column.csv", x, "model id column removed", _csv([r[1:] for r in expr]))

    _write("depmap_models_no_lineage.csv", m, "annotation without the OncotreeLineage column",
           _csv([[v for j, v in enumerate(r) if j != 5] for r in models]))
    _write("depmap_models_other_release.csv", m, "annotation of other cell lines (no overlap)",
           _csv([models[0]] + [[f"ACH-8{r[0][5:]}"] + r[1:] for r in models[1:]]))
    _write("depmap_models_utf16.csv", m, "UTF-16 encoded annotation", _csv(models).encode("utf-16"))
    _write("depmap_models_no_id_column.csv", m, "neither ModelID nor DepMap_ID column",
           _csv([["Name"] + r[1:] for r in models[:1]] + models[1:]))


# ------------------------------------------------------------------------- single cell
def _counts(n_genes: int = 6, n_cells: int = 5, seed: int = 1) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    values = rng.poisson(3.0, (n_genes, n_cells)) + 1
    rows = [["gene"] + [f"cell{j + 1}" for j in range(n_cells)]]
    rows += [[f"G{i + 1}"] + [str(v) for v in values[i]] for i in range(n_genes)]
    return rows


def singlecell() -> None:
    s, good = "singlecell", _counts()
    _write("singlecell_empty.csv", s, "zero-byte file", b"")
    _write("singlecell_negative_counts.csv", s, "a negative count", _csv(_replace(good, 2, 3, "-4")))
    _write("singlecell_nan.csv", s, "a missing (NaN) count", _csv(_replace(good, 3, 2, "NaN")))
    _write("singlecell_inf.tsv", s, "an infinite count", _csv(_replace(good, 1, 1, "inf"), "\t"))
    _write("singlecell_text_in_counts.csv", s, "the word 'low' among the counts", _csv(_replace(good, 4, 4, "low")))
    _write("singlecell_duplicated_genes.csv", s, "gene G2 listed twice", _csv(_replace(good, 3, 0, "G2")))
    _write("singlecell_duplicated_cells.csv", s, "cell1 named twice in the header", _csv(_replace(good, 0, 2, "cell1")))
    _write("singlecell_one_cell.csv", s, "a single cell", _csv([r[:2] for r in good]))
    _write("singlecell_one_gene.csv", s, "a single gene", _csv(good[:2]))
    _write("singlecell_empty_cell.csv", s, "a cell with zero counts for every gene",
           _csv([r if i == 0 else r[:3] + ["0"] + r[4:] for i, r in enumerate(good)]))
    _write("singlecell_all_constant.csv", s, "every entry is 1 (no variation at all)",
           _csv([good[0]] + [[r[0]] + ["1"] * (len(r) - 1) for r in good[1:]]))
    _write("singlecell_semicolon_delimiter.csv", s, "semicolon-separated instead of comma", _csv(good, ";"))
    _write("singlecell_utf16.csv", s, "UTF-16 encoded text", _csv(good).encode("utf-16"))
    _write("singlecell_latin1_gene_name.csv", s, "Latin-1 byte in a gene name (not UTF-8)",
           _csv(_replace(good, 2, 0, "GÈNE")).encode("latin-1"))
    _write("singlecell_not_gzip.csv.gz", s, ".gz suffix but plain text inside", _csv(good))
    _write("singlecell_very_long_line.csv", s, "one row with 20,000 extra fields",
           _csv(good[:3]) + "G99," + ",".join(["1"] * 20_000) + "\n" + _csv(good[3:]))
    _write("singlecell_not_hdf5.h5ad", s, "a text file named .h5ad", _csv(good))
    _h5("singlecell_h5ad_missing_X.h5ad", s, "HDF5 file without the X matrix, obs or var",
        {"layers/counts": np.ones((3, 3), np.float32)})
    _write("singlecell_unsupported_suffix.xlsx", s, "a spreadsheet extension the loader does not read", _csv(good))
    scverse()


def _h5ad(name: str, loader: str, what: str, adata) -> None:
    """An AnnData file (anndata writes no timestamps: the bytes are reproducible)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata.write_h5ad(OUT / name, compression="gzip")
    ENTRIES.append((name, loader, what))


def _tenx_zip(name: str, what: str, members: dict[str, str]) -> None:
    """A zip of a Cell Ranger matrix folder (gzip members without timestamps, fixed zip dates)."""
    import gzip
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for member, text in members.items():
            info = zipfile.ZipInfo(f"filtered_feature_bc_matrix/{member}", date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, gzip.compress(text.encode(), mtime=0))
    _write(name, "singlecell", what, out.getvalue())


def _mtx(values: np.ndarray) -> str:
    """Matrix Market coordinate text of a features x barcodes count matrix."""
    rows, cols = np.nonzero(values)
    lines = ["%%MatrixMarket matrix coordinate integer general", f"{values.shape[0]} {values.shape[1]} {len(rows)}"]
    lines += [f"{i + 1} {j + 1} {values[i, j]}" for i, j in zip(rows, cols)]
    return "\n".join(lines) + "\n"


def scverse() -> None:
    """AnnData and 10x Genomics files as scanpy users have them."""
    import anndata
    import pandas as pd
    import scipy.sparse as sp

    s = "singlecell"
    rng = np.random.default_rng(4)
    scaled = rng.normal(0, 1, (30, 6)).astype(np.float32) - 4.0
    negative = anndata.AnnData(scaled, obs=pd.DataFrame(index=[f"cell{j}" for j in range(30)]),
                               var=pd.DataFrame(index=[f"G{i}" for i in range(6)]), layers={"scaled": scaled * 2})
    negative.raw = anndata.AnnData(scaled - 1.0, obs=negative.obs, var=negative.var)
    _h5ad("singlecell_h5ad_all_negative.h5ad", s, "X, .raw and the only layer all hold negative (scaled) values",
          negative)
    counts = rng.poisson(2.0, (6, 5)) + 1
    features = "".join(f"ENSG0000{i}\tG{i}\tGene Expression\n" for i in range(6))
    barcodes = "".join(f"AAAC{j}-1\n" for j in range(5))
    _tenx_zip("singlecell_10x_missing_barcodes.zip", "10x matrix folder (zipped) without barcodes.tsv.gz",
              {"matrix.mtx.gz": _mtx(counts), "features.tsv.gz": features})
    _tenx_zip("singlecell_10x_size_mismatch.zip", "matrix.mtx has 6 features but features.tsv.gz lists 5",
              {"matrix.mtx.gz": _mtx(counts), "features.tsv.gz": "".join(features.splitlines(True)[:5]),
               "barcodes.tsv.gz": barcodes})
    n = 5000  # a clonotype-like annotation: one category per cell
    rows = np.repeat(np.arange(n), 2)
    cols = np.tile([0, 1], n)
    cols[1::2] = 1 + np.arange(n) % 5
    many = anndata.AnnData(sp.csr_matrix((np.ones(2 * n, np.float32), (rows, cols)), shape=(n, 6)),
                           obs=pd.DataFrame({"clone": pd.Categorical(np.arange(n)),
                                             "cell_type": pd.Categorical(np.array(["B", "T", "NK"])[np.arange(n) % 3])},
                                            index=[str(j) for j in range(n)]),
                           var=pd.DataFrame(index=[f"G{i}" for i in range(6)]))
    _h5ad("singlecell_obs_5000_categories.h5ad", "singlecell_grouping",
          "grouping cells by obs column 'clone', which has 5,000 categories", many)


# ------------------------------------------------------------------------------ HDF5
def _h5(name: str, loader: str, what: str, datasets: dict[str, np.ndarray]) -> None:
    import h5py

    path = OUT / name
    # no timestamps (track_times=False) keeps the bytes reproducible
    with h5py.File(path, "w", track_order=True) as handle:
        for key, value in datasets.items():
            handle.create_dataset(key, data=value, track_times=False)
    ENTRIES.append((name, loader, what))


# ----------------------------------------------------------------------------- DEcode
def _decode_arrays(n: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    coo = np.array([[g, 0, b] for g in range(n) for b in (0, 5)], np.int32)
    mcoo = np.array([[g, f, 1] for g in range(n) for f in (0, 1)], np.int32)
    return {
        "version": np.array(1),
        "promoter_coo": coo, "promoter_value": rng.random(len(coo)).astype(np.float32),
        "mrna_coo": mcoo, "mrna_value": rng.random(len(mcoo)).astype(np.float32),
        "genes": np.array([f"SIM{i:04d}" for i in range(n)]),
        "mrna_length": np.full(n, 10, np.int32),
        "promoter_features": np.array(["promoter", "TF1"]),
        "mrna_features": np.array(["exon", "RBP1"]),
        "targets": rng.normal(size=(n, 3)).astype(np.float32),
        "target_names": np.array(["liver", "brain", "median"]),
    }


def _npz(name: str, what: str, arrays: dict[str, np.ndarray], allow_pickle: bool = False) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, allow_pickle=allow_pickle)
    _write(name, "decode", what, _fixed_zip(buffer.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed member timestamps so the file is byte-identical between runs."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def decode() -> None:
    good = _decode_arrays()
    _write("decode_empty.npz", "decode", "zero-byte file", b"")
    _write("decode_not_npz.npz", "decode", "a CSV file named .npz", "gene,value\nA,1\n")
    _write("decode_pickle_disguised.npz", "decode", "a Python pickle renamed to .npz (must never be unpickled)",
           pickle.dumps({"genes": ["A", "B"]}, protocol=4))
    _npz("decode_object_array.npz", "object (pickled) array inside the bundle",
         {**good, "genes": np.array([f"SIM{i:04d}" for i in range(4)], dtype=object)}, allow_pickle=True)
    _npz("decode_missing_arrays.npz", "targets and target_names absent",
         {k: v for k, v in good.items() if k not in ("targets", "target_names")})
    _npz("decode_nan_binding.npz", "NaN promoter binding value",
         {**good, "promoter_value": np.where(np.arange(8) == 2, np.nan, good["promoter_value"]).astype(np.float32)})
    _npz("decode_negative_binding.npz", "negative mRNA binding value",
         {**good, "mrna_value": -good["mrna_value"]})
    _npz("decode_gene_index_out_of_range.npz", "promoter gene index 9 with only 4 genes",
         {**good, "promoter_coo": np.vstack([good["promoter_coo"], [[9, 0, 0]]]).astype(np.int32),
          "promoter_value": np.append(good["promoter_value"], 1.0).astype(np.float32)})
    _npz("decode_targets_shape_mismatch.npz", "targets have 3 rows for 4 genes",
         {**good, "targets": good["targets"][:3]})
    _npz("decode_no_median_target.npz", "target_names lacks 'median'",
         {**good, "target_names": np.array(["liver", "brain", "heart"])})
    _npz("decode_text_binding_values.npz", "binding values stored as text",
         {**good, "promoter_value": np.array(["high"] * 8)})
    _npz("decode_inf_targets.npz", "an infinite target expression",
         {**good, "targets": np.where(np.eye(4, 3) > 0, np.inf, good["targets"]).astype(np.float32)})
    _npz("decode_duplicated_genes.npz", "gene SIM0001 listed twice",
         {**good, "genes": np.array(["SIM0000", "SIM0001", "SIM0001", "SIM0003"])})
    one = _decode_arrays(1)
    _npz("decode_one_gene.npz", "a bundle with a single gene", one)


# ------------------------------------------------------------------------ signatures
def _signatures(n: int = 4, m: int = 5) -> list[list[str]]:
    rng = np.random.default_rng(5)
    rows = [["gene"] + [f"LM{j + 1}" for j in range(m)]]
    rows += [[f"PERT{i + 1}"] + [f"{v:.4f}" for v in rng.normal(size=m)] for i in range(n)]
    return rows


def _gct(version: str, dims: str, header: list[str], rows: list[list[str]]) -> str:
    return f"{version}\n{dims}\n" + _csv([header] + rows, "\t")


def signatures() -> None:
    s, good = "signatures", _signatures()
    _write("signatures_empty.csv", s, "zero-byte file", b"")
    _write("signatures_not_gzip.csv.gz", s, ".gz suffix but plain text inside", _csv(good))
    _write("signatures_text_in_numbers.csv", s, "the word 'up' in a landmark column", _csv(_replace(good, 2, 3, "up")))
    _write("signatures_nan.csv", s, "a missing value", _csv(_replace(good, 1, 2, "")))
    _write("signatures_inf.csv", s, "an infinite value", _csv(_replace(good, 3, 1, "-inf")))
    _write("signatures_duplicated_genes.csv", s, "perturbed gene PERT1 twice", _csv(_replace(good, 2, 0, "PERT1")))
    _write("signatures_duplicated_landmarks.csv", s, "landmark LM1 twice in the header",
           _csv(_replace(good, 0, 2, "LM1")))
    _write("signatures_semicolon_delimiter.csv", s, "semicolon-separated instead of comma", _csv(good, ";"))
    _write("signatures_utf16.csv", s, "UTF-16 encoded text", _csv(good).encode("utf-16"))
    _write("signatures_header_only.csv", s, "landmark header but no signatures", _csv(good[:1]))
    lm = [[f"LM{j + 1}", "na"] + [f"{0.1 * (i + j):.2f}" for i in range(3)] for j in range(4)]
    head = ["Name", "Description", "S1", "S2", "S3"]
    _write("signatures_gct_bad_version.gct", s, "first line #2.0 instead of #1.2 / #1.3",
           _gct("#2.0", "4\t3", head, lm))
    _write("signatures_gct_bad_dimensions.gct", s, "dimension line holds words",
           _gct("#1.2", "four\tthree", head, lm))
    _write("signatures_gct_row_count_mismatch.gct", s, "dimension line says 9 rows, 4 present",
           _gct("#1.2", "9\t3", head, lm))
    _write("signatures_gct_text_values.gct", s, "text among the GCT values",
           _gct("#1.2", "4\t3", head, _replace(lm, 1, 3, "n/a")))
    _write("signatures_gct_not_gzip.gct.gz", s, ".gct.gz that is not gzip", _gct("#1.2", "4\t3", head, lm))
    _write("signatures_gct_empty.gct", s, "zero-byte GCT", b"")
    _h5("signatures_gctx_missing_datasets.gctx", s, "HDF5 file without /0/DATA/0/matrix",
        {"0/META/ROW/id": np.array([b"LM1", b"LM2"]), "0/META/COL/id": np.array([b"S1", b"S2"])})
    _h5("signatures_gctx_shape_mismatch.gctx", s, "matrix 2x3 but 2 row ids and 2 column ids",
        {"0/DATA/0/matrix": np.ones((2, 3), np.float32), "0/META/ROW/id": np.array([b"LM1", b"LM2"]),
         "0/META/COL/id": np.array([b"S1", b"S2"])})
    _h5("signatures_gctx_text_matrix.gctx", s, "matrix of strings instead of numbers",
        {"0/DATA/0/matrix": np.array([[b"up", b"down"], [b"up", b"up"]]), "0/META/ROW/id": np.array([b"LM1", b"LM2"]),
         "0/META/COL/id": np.array([b"S1", b"S2"])})
    _write("signatures_gctx_not_hdf5.gctx", s, "text file named .gctx", _csv(good))
    _write("signatures_unknown_format.xlsx", s, "unsupported extension", _csv(good))


# --------------------------------------------------------------------------- networks
def networks() -> None:
    n = "network"
    edges = [["gene1", "gene2", "weight"], ["TP53", "MDM2", "0.9"], ["KRAS", "BRAF", "0.7"], ["MCL1", "BCL2L1", "0.5"]]
    _write("network_empty.tsv", n, "zero-byte file", b"")
    _write("network_header_only.tsv", n, "header line but no edges", _csv(edges[:1], "\t"))
    _write("network_text_weight.tsv", n, "weight 'strong' instead of a number",
           _csv(_replace(edges, 2, 2, "strong"), "\t"))
    _write("network_negative_weight.tsv", n, "a negative edge weight", _csv(_replace(edges, 1, 2, "-0.3"), "\t"))
    _write("network_inf_weight.tsv", n, "an infinite edge weight", _csv(_replace(edges, 3, 2, "inf"), "\t"))
    _write("network_four_columns.tsv", n, "four columns per line",
           _csv([r + ["extra"] for r in edges], "\t"))
    _write("network_one_column.txt", n, "one gene per line, no partner", "TP53\nMDM2\nKRAS\n")
    _write("network_only_self_loops.tsv", n, "every edge joins a gene to itself",
           _csv([edges[0], ["TP53", "TP53", "1"], ["KRAS", "KRAS", "1"]], "\t"))
    _write("network_utf16.tsv", n, "UTF-16 encoded text", _csv(edges, "\t").encode("utf-16"))
    _write("network_not_gzip.tsv.gz", n, ".gz suffix but plain text inside", _csv(edges, "\t"))
    _write("network_very_long_line.tsv", n, "one line with 20,000 fields",
           _csv(edges, "\t") + "\t".join(["GENE"] * 20_000) + "\n")
    _write("network_binary_garbage.tsv", n, "random bytes",
           np.random.default_rng(11).integers(0, 256, 2048, dtype=np.uint8).tobytes())


def main(out: Path = HERE) -> list[tuple[str, str, str]]:
    """Write every corpus file and ``MANIFEST.csv`` into ``out``; return the manifest rows."""
    global OUT
    OUT = Path(out)
    OUT.mkdir(parents=True, exist_ok=True)
    if OUT == HERE:
        for old in HERE.iterdir():
            if old.is_file() and old.name not in ("make_corpus.py", "__init__.py", "README.md"):
                old.unlink()
    ENTRIES.clear()
    for build in (depmap, singlecell, decode, signatures, networks):
        build()
    with open(OUT / "MANIFEST.csv", "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["file", "loader", "what_is_wrong"])
        writer.writerows(sorted(ENTRIES))
    print(f"wrote {len(ENTRIES)} files to {OUT}")
    return sorted(ENTRIES)


if __name__ == "__main__":
    main()
