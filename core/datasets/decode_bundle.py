"""Portable on-disk DEcode bundles and the DEcode toy-data layout.

A bundle is one ``.npz`` file (read with ``allow_pickle=False``, so nothing in it
can execute) holding the same content as :class:`~core.datasets.decode_demo.DecodeData`:

==========================  ==================================================
array                       content
==========================  ==================================================
``promoter_coo``            int32 (n, 3): gene, feature, bin; ``promoter_value`` float32 (n,)
``mrna_coo``                int32 (m, 3): gene, feature, bin; ``mrna_value`` float32 (m,)
``genes``                   gene ids (unicode)
``chromosome``              per gene (unicode; ``""`` when unknown)
``mrna_length``             transcript length in 100-nt bins, per gene
``utr3_start``              first 3' UTR bin per gene (``-1`` when unknown)
``promoter_features``       names; index 0 is the promoter mark
``mrna_features``           names; index 0 is exon coverage
``mrna_feature_kind``       ``exon`` / ``RBP`` / ``miRNA`` per mRNA feature
``targets``                 float32 genes x (tissues + ``median``)
``target_names``            column names of ``targets``
``split_genes``, ``split``  optional predefined split: gene id and train/validate/test
==========================  ==================================================

:func:`load_decode_toy` reads the layout of DEcode's ``data/toy`` folder
(``Transcriptome/``, ``RNA_features/TargetScan_toy.npz``, ``Gene_splits/``).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from core.datasets.decode_demo import PROMOTER_BINS, DecodeData
from core.errors import InputError

BUNDLE_VERSION = 1
_REQUIRED = ("promoter_coo", "promoter_value", "mrna_coo", "mrna_value", "genes", "mrna_length",
             "promoter_features", "mrna_features", "targets", "target_names")
TOY_BIN_NT = 100.0  # TargetScan toy values are nucleotides per 100-nt bin


def write_decode(data: DecodeData, path: str | Path) -> Path:
    """Write a DEcode data set as one portable ``.npz`` bundle.

    Parameters
    ----------
    data
        Binding matrices, targets and names (for example from ``make_decode_demo``).
    path
        Output file; ``.npz`` is appended when missing.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "version": np.array(BUNDLE_VERSION),
        "promoter_coo": data.promoter[["gene", "feature", "bin"]].to_numpy(np.int32),
        "promoter_value": data.promoter["value"].to_numpy(np.float32),
        "mrna_coo": data.mrna[["gene", "feature", "bin"]].to_numpy(np.int32),
        "mrna_value": data.mrna["value"].to_numpy(np.float32),
        "genes": np.array(list(map(str, data.genes))),
        "chromosome": np.array([str(c) for c in data.chromosome.reindex(data.genes).fillna("")]),
        "mrna_length": data.mrna_length.reindex(data.genes).to_numpy(np.int32),
        "utr3_start": data.utr3_start.reindex(data.genes).fillna(-1).to_numpy(np.int32),
        "promoter_features": np.array(list(map(str, data.promoter_features))),
        "mrna_features": np.array(list(map(str, data.mrna_features))),
        "mrna_feature_kind": np.array(list(map(str, data.mrna_feature_kind))),
        "targets": data.targets.reindex(data.genes).to_numpy(np.float32),
        "target_names": np.array(list(map(str, data.targets.columns))),
    }
    split = data.params.get("split") if isinstance(data.params, dict) else None
    if split:
        arrays["split_genes"] = np.array([g for part in split.values() for g in part])
        arrays["split"] = np.array([name for name, part in split.items() for _ in part])
    np.savez_compressed(path, **arrays)
    return path


def _frame(coo: np.ndarray, value: np.ndarray, name: str, path: Path) -> pd.DataFrame:
    if coo.ndim != 2 or coo.shape[1] != 3 or len(value) != len(coo):
        raise InputError(f"{path.name}: {name}_coo must have 3 columns (gene, feature, bin) and one value per row; "
                         f"got shape {coo.shape} with {len(value)} values")
    if not (np.issubdtype(coo.dtype, np.integer) and np.issubdtype(value.dtype, np.number)):
        raise InputError(f"{path.name}: {name}_coo must hold integers and {name}_value numbers; found "
                         f"{coo.dtype} and {value.dtype}")
    return pd.DataFrame({"gene": coo[:, 0].astype(np.int32), "feature": coo[:, 1].astype(np.int32),
                         "bin": coo[:, 2].astype(np.int32), "value": value.astype(np.float32)})


def _check_coo(frame: pd.DataFrame, n_genes: int, n_features: int, lengths: np.ndarray | int,
               branch: str, path: Path) -> None:
    if frame.empty:
        return
    if frame["gene"].min() < 0 or frame["gene"].max() >= n_genes:
        raise InputError(f"{path.name}: {branch} gene index out of range 0..{n_genes - 1}")
    if frame["feature"].min() < 0 or frame["feature"].max() >= n_features:
        raise InputError(f"{path.name}: {branch} feature index out of range 0..{n_features - 1} "
                         f"({n_features} {branch} feature names)")
    limit = lengths if np.isscalar(lengths) else np.asarray(lengths)[frame["gene"].to_numpy()]
    if (frame["bin"] < 0).any() or (frame["bin"].to_numpy() >= limit).any():
        raise InputError(f"{path.name}: {branch} bin index outside the gene's bins "
                         f"({'0..29' if branch == 'promoter' else 'below mrna_length'})")
    if not np.isfinite(frame["value"]).all() or (frame["value"] < 0).any():
        raise InputError(f"{path.name}: {branch} binding values must be finite and non-negative")


def load_decode(path: str | Path) -> DecodeData:
    """Read a bundle written by :func:`write_decode`.

    Parameters
    ----------
    path
        The ``.npz`` file.

    Returns
    -------
    DecodeData
        With ``truth`` None and, when the bundle holds a split, ``params["split"]``
        mapping ``train`` / ``validate`` / ``test`` to gene ids.

    Raises
    ------
    core.errors.InputError
        Missing file, missing arrays, or inconsistent shapes / indices.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"DEcode bundle {path} not found; write one with core.datasets.decode_bundle.write_decode")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not hasattr(loaded, "files"):  # a single .npy array, not a bundle
            raise InputError(f"{path.name} holds one array, not a DEcode bundle (.npz of named arrays); write "
                             "bundles with core.datasets.decode_bundle.write_decode")
        with loaded as z:
            arrays = {k: z[k] for k in z.files}
    except InputError:
        raise
    except ValueError as exc:  # numpy refuses pickled content when allow_pickle=False
        kind = "holds object arrays" if "Object arrays" in str(exc) else "is not an .npz bundle"
        raise InputError(f"{path.name} {kind}: only plain numeric and text arrays are accepted; pickles are "
                         "refused and never loaded. Write bundles with core.datasets.decode_bundle.write_decode"
                         ) from None
    except Exception as exc:
        raise InputError(f"{path.name} is not a readable .npz DEcode bundle ({type(exc).__name__}: "
                         f"{str(exc)[:200]}); object arrays (pickles) are refused") from None
    missing = [k for k in _REQUIRED if k not in arrays]
    if missing:
        raise InputError(f"{path.name} lacks the arrays {', '.join(missing)}; found {', '.join(sorted(arrays))}")
    genes = [str(g) for g in np.atleast_1d(arrays["genes"])]
    n = len(genes)
    if not np.issubdtype(arrays["mrna_length"].dtype, np.number):
        raise InputError(f"{path.name}: mrna_length must hold integers (bins per transcript), found "
                         f"{arrays['mrna_length'].dtype}")
    lengths = arrays["mrna_length"].astype(np.int64)
    targets = arrays["targets"]
    names = [str(t) for t in arrays["target_names"]]
    if lengths.shape != (n,) or targets.shape != (n, len(names)):
        raise InputError(f"{path.name}: {n} genes but mrna_length has shape {lengths.shape} and targets "
                         f"{targets.shape} (expected ({n},) and ({n}, {len(names)}))")
    if n < 2:
        raise InputError(f"{path.name}: the bundle holds {n} gene(s); training and evaluation need at least 2 "
                         "(in practice hundreds)")
    if len(set(genes)) != n:
        dup = pd.Index(genes)[pd.Index(genes).duplicated()]
        raise InputError(f"{path.name}: gene ids appear more than once (e.g. {', '.join(dup[:3])}); each gene needs "
                         "one row")
    if not np.issubdtype(targets.dtype, np.number) or not np.isfinite(targets).all():
        raise InputError(f"{path.name}: targets must be finite numbers (log expression); found missing, infinite or "
                         "non-numeric values")
    if "median" not in names:
        raise InputError(f"{path.name}: target_names must include 'median' (log median expression); got {names[:5]}...")
    promoter_features = [str(f) for f in arrays["promoter_features"]]
    mrna_features = [str(f) for f in arrays["mrna_features"]]
    promoter = _frame(arrays["promoter_coo"], arrays["promoter_value"], "promoter", path)
    mrna = _frame(arrays["mrna_coo"], arrays["mrna_value"], "mrna", path)
    _check_coo(promoter, n, len(promoter_features), PROMOTER_BINS, "promoter", path)
    _check_coo(mrna, n, len(mrna_features), lengths, "mrna", path)
    kind = ([str(k) for k in arrays["mrna_feature_kind"]] if "mrna_feature_kind" in arrays
            else ["exon"] + ["RBP"] * (len(mrna_features) - 1))
    chromosome = arrays.get("chromosome", np.array([""] * n))
    utr3 = arrays.get("utr3_start", np.full(n, -1))
    params: dict = {"source": str(path), "bundle_version": int(arrays.get("version", BUNDLE_VERSION))}
    if "split_genes" in arrays and "split" in arrays:
        split: dict[str, list[str]] = {}
        for g, s in zip(arrays["split_genes"], arrays["split"]):
            split.setdefault(str(s), []).append(str(g))
        params["split"] = split
    return DecodeData(
        promoter=promoter.sort_values(["gene", "feature", "bin"], ignore_index=True),
        mrna=mrna.sort_values(["gene", "feature", "bin"], ignore_index=True),
        promoter_features=promoter_features, mrna_features=mrna_features, mrna_feature_kind=kind, genes=genes,
        chromosome=pd.Series([str(c) for c in chromosome], index=genes, name="chromosome"),
        mrna_length=pd.Series(lengths, index=genes, name="mrna_length"),
        utr3_start=pd.Series(np.asarray(utr3, dtype=np.int64), index=genes, name="utr3_start"),
        targets=pd.DataFrame(targets.astype(np.float32), index=pd.Index(genes, name="gene"), columns=names),
        params=params,
    )


def _read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return [line.strip() for line in handle if line.strip()]


def load_decode_toy(folder: str | Path) -> DecodeData:
    """Read DEcode's toy layout (GTEx targets + TargetScan miRNA binding).

    Parameters
    ----------
    folder
        A folder with ``Transcriptome/expdata_processed_logFC_plus_MedianExp.csv.gz``
        (or ``Transcriptome/expdata.txt.gz``, log2 TPM per tissue),
        ``RNA_features/TargetScan_toy.npz``, ``RNA_features/TargetScan_feature_name.txt.gz``
        and optionally ``Gene_splits/{train,validate,test}.txt.gz``.

    Returns
    -------
    DecodeData
        mRNA branch only (exon + miRNA families; nucleotide counts divided by
        100 so a value is the covered fraction of a bin), no promoter features
        beyond the (empty) promoter mark, targets = 53 tissue log fold changes
        against the gene's median plus ``median``; ``params["split"]`` holds
        the published gene split when present. Chromosomes are unknown (``""``).

    Raises
    ------
    core.errors.InputError
        A required file is missing or the files disagree on genes.
    """
    folder = Path(folder)
    rna = folder / "RNA_features" / "TargetScan_toy.npz"
    names_file = folder / "RNA_features" / "TargetScan_feature_name.txt.gz"
    processed = folder / "Transcriptome" / "expdata_processed_logFC_plus_MedianExp.csv.gz"
    raw = folder / "Transcriptome" / "expdata.txt.gz"
    for needed in (rna, names_file):
        if not needed.is_file():
            raise InputError(f"DEcode toy folder {folder} lacks {needed.relative_to(folder)}")
    if processed.is_file():
        table = pd.read_csv(processed, index_col="Name")
        table = table.rename(columns={"MedianExp": "median"})
    elif raw.is_file():
        expr = pd.read_csv(raw, sep="\t", index_col="Name")
        median = expr.median(axis=1)
        table = expr.sub(median, axis=0)
        table["median"] = median
    else:
        raise InputError(f"DEcode toy folder {folder} lacks Transcriptome/expdata_processed_logFC_plus_MedianExp"
                         ".csv.gz and Transcriptome/expdata.txt.gz")
    if "median" not in table.columns:
        raise InputError(f"{processed}: expected a MedianExp column")
    with np.load(rna, allow_pickle=False) as z:
        gene_names = [str(g) for g in z["gene_names"]]
        n_bins = z["n_bins"].astype(np.int64)
        coo = np.stack([z["gene_index"], z["feature_index"], z["bin_index"]], axis=1).astype(np.int32)
        value = (z["value"].astype(np.float64) / TOY_BIN_NT).astype(np.float32)
        n_features = int(z["n_features"])
    features = _read_lines(names_file)
    if len(features) != n_features:
        raise InputError(f"{names_file} names {len(features)} features but {rna.name} has {n_features}")
    missing = [g for g in gene_names if g not in table.index]
    if missing:
        raise InputError(f"{len(missing)} genes of {rna.name} have no expression (first: {missing[0]})")
    table = table.loc[gene_names].astype(np.float32)
    cols = [c for c in table.columns if c != "median"] + ["median"]
    table = table[cols]
    table.index.name = "gene"
    mrna = _frame(coo, value, "mrna", rna).sort_values(["gene", "feature", "bin"], ignore_index=True)
    _check_coo(mrna, len(gene_names), n_features, n_bins, "mrna", rna)
    params: dict = {"source": str(folder), "layout": "DEcode toy (GTEx v7 + TargetScan)"}
    split_dir = folder / "Gene_splits"
    if split_dir.is_dir():
        known = set(gene_names)
        params["split"] = {part: [g for g in _read_lines(split_dir / f"{part}.txt.gz") if g in known]
                           for part in ("train", "validate", "test") if (split_dir / f"{part}.txt.gz").is_file()}
    empty = pd.DataFrame({"gene": np.zeros(0, np.int32), "feature": np.zeros(0, np.int32),
                          "bin": np.zeros(0, np.int32), "value": np.zeros(0, np.float32)})
    return DecodeData(
        promoter=empty, mrna=mrna, promoter_features=["promoter"], mrna_features=features,
        mrna_feature_kind=["exon"] + ["miRNA"] * (len(features) - 1), genes=gene_names,
        chromosome=pd.Series([""] * len(gene_names), index=gene_names, name="chromosome"),
        mrna_length=pd.Series(n_bins, index=gene_names, name="mrna_length"),
        utr3_start=pd.Series(np.full(len(gene_names), -1), index=gene_names, name="utr3_start"),
        targets=table,
        params=params,
    )


def load_decode_any(path: str | Path) -> DecodeData:
    """A bundle file (``.npz``) or a DEcode toy folder, whichever ``path`` is.

    Parameters
    ----------
    path : str or Path
        A ``.npz`` bundle or a DEcode toy folder.
    """
    path = Path(path)
    if path.is_dir():
        return load_decode_toy(path)
    return load_decode(path)
