"""DEcode inputs: feature filtering and scaling, target scaling, splits and padded batches.

Preprocessing follows Tasaki et al. (2020): features bound in fewer than
``min_genes`` training genes are dropped (channel 0, the promoter mark / exon
coverage, is always kept); each feature is divided by its maximum over the
training genes; the tissue log fold changes are divided by one pooled
training-set standard deviation and the median expression by its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pandas as pd

from core.datasets.decode_demo import PROMOTER_BINS, DecodeData
from core.errors import InputError

#: Zero bins appended after the longest transcript of a batch: two kernel-2 convolutions
#: read one bin past the end each, so two padding bins make the padded gene identical to
#: the gene alone (the padding-invariance test checks this).
PAD_BINS = 2


@dataclass
class Split:
    """Gene ids of the train / validation / test sets.

    Attributes
    ----------
    train, validate, test : list of str
        Gene ids of each set.
    """

    train: list[str]
    validate: list[str]
    test: list[str]

    def to_dict(self) -> dict[str, list[str]]:
        return {"train": list(self.train), "validate": list(self.validate), "test": list(self.test)}


def make_split(data: DecodeData, test_chromosomes: tuple[str, ...] = ("chr1",), validation_fraction: float = 0.1,
               genes: dict[str, list[str]] | None = None, seed: int = 0) -> Split:
    """Split genes by chromosome (default: test = chr1) or by given gene lists.

    Parameters
    ----------
    data
        The data set.
    test_chromosomes
        Chromosomes held out for testing (ignored when ``genes`` is given).
    validation_fraction
        Fraction of the remaining genes used for early stopping (random, seeded).
    genes
        Explicit lists ``{"train": [...], "validate": [...], "test": [...]}``; when
        ``None`` and the data carry ``params["split"]`` (DEcode's published split),
        that one is used if chromosomes are unknown.
    seed
        Seed for the validation draw.

    Returns
    -------
    Split
    """
    known = set(map(str, data.genes))
    if genes is None and isinstance(data.params, dict) and data.params.get("split") \
            and not (data.chromosome.astype(str) != "").any():
        genes = data.params["split"]
    if genes is not None:
        missing = [k for k in ("train", "test") if not genes.get(k)]
        if missing:
            raise InputError(f"the gene split needs non-empty lists for {', '.join(missing)}")
        parts = {k: [str(g) for g in genes.get(k, []) if str(g) in known] for k in ("train", "validate", "test")}
        if not parts["validate"]:
            rng = np.random.default_rng(seed)
            train = np.array(parts["train"])
            pick = rng.random(len(train)) < validation_fraction
            parts["train"], parts["validate"] = list(train[~pick]), list(train[pick])
        return Split(**parts)
    chrom = data.chromosome.reindex(data.genes).astype(str)
    unknown = [c for c in test_chromosomes if c not in set(chrom)]
    if unknown:
        raise InputError(f"test chromosome(s) {', '.join(unknown)} hold no genes; choose among "
                         f"{', '.join(sorted(set(chrom))[:25])}")
    is_test = chrom.isin(test_chromosomes).to_numpy()
    rest = np.array(data.genes, dtype=object)[~is_test]
    rng = np.random.default_rng(seed)
    pick = rng.random(len(rest)) < validation_fraction
    test = [str(g) for g in np.array(data.genes, dtype=object)[is_test]]
    if len(test) < 10 or pick.sum() < 5:
        raise InputError(f"the split leaves {len(test)} test and {int(pick.sum())} validation genes; "
                         "hold out a larger chromosome or use more genes")
    return Split(train=[str(g) for g in rest[~pick]], validate=[str(g) for g in rest[pick]], test=test)


@dataclass
class BindingSet:
    """Scaled, feature-filtered sparse binding of some genes, ready for batching.

    Each branch is a COO table sorted by gene with row pointers, so a batch is
    densified on demand (a dense tensor of all genes would not fit in memory for
    long transcripts).

    Attributes
    ----------
    genes : list of str
        Gene ids, one row each.
    mrna_length : ndarray
        Transcript bins per gene.
    mrna_ptr, mrna_idx, mrna_val : ndarray
        mRNA binding: row pointers, (feature, bin) pairs and values.
    n_mrna : int
        mRNA features.
    promoter_ptr, promoter_idx, promoter_val : ndarray
        Promoter binding, the same layout.
    n_promoter : int
        Promoter features.
    """

    genes: list[str]
    mrna_length: np.ndarray
    mrna_ptr: np.ndarray
    mrna_idx: np.ndarray  # (nnz, 2): feature, bin
    mrna_val: np.ndarray
    n_mrna: int
    promoter_ptr: np.ndarray
    promoter_idx: np.ndarray
    promoter_val: np.ndarray
    n_promoter: int

    def __len__(self) -> int:
        return len(self.genes)

    def dense(self, rows: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dense ``(mrna [B, F, L + 2], promoter [B, P, 30], lengths [B])`` of some rows, float32."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.mrna_length[rows]
        width = int(lengths.max(initial=1)) + PAD_BINS
        mrna = np.zeros((len(rows), self.n_mrna, width), dtype=np.float32)
        promoter = np.zeros((len(rows), self.n_promoter, PROMOTER_BINS), dtype=np.float32)
        for out, ptr, idx, val in ((mrna, self.mrna_ptr, self.mrna_idx, self.mrna_val),
                                   (promoter, self.promoter_ptr, self.promoter_idx, self.promoter_val)):
            starts, ends = ptr[rows], ptr[rows + 1]
            counts = ends - starts
            if counts.sum() == 0:
                continue
            take = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            b = np.repeat(np.arange(len(rows)), counts)
            out[b, idx[take, 0], idx[take, 1]] = val[take]
        return mrna, promoter, lengths


def _sorted_coo(coo: pd.DataFrame, gene_rows: np.ndarray, keep: np.ndarray, scale: np.ndarray,
                n_genes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Restrict a COO frame to some genes (renumbered) and kept features (renumbered, scaled)."""
    new_feature = np.full(int(max(keep.max(initial=0) + 1, coo["feature"].max() + 1 if len(coo) else 1)), -1)
    new_feature[keep] = np.arange(len(keep))
    g = coo["gene"].to_numpy()
    f = coo["feature"].to_numpy()
    row_of = gene_rows[g]
    nf = new_feature[f]
    ok = (row_of >= 0) & (nf >= 0)
    rows, nf, b = row_of[ok], nf[ok], coo["bin"].to_numpy()[ok]
    val = (coo["value"].to_numpy()[ok] / scale[nf]).astype(np.float32)
    order = np.lexsort((b, nf, rows))
    rows, nf, b, val = rows[order], nf[order], b[order], val[order]
    ptr = np.zeros(n_genes + 1, dtype=np.int64)
    np.add.at(ptr, rows + 1, 1)
    return np.cumsum(ptr), np.stack([nf, b], axis=1).astype(np.int64), val


class DecodePreprocessor:
    """Feature filter and scaling learnt on training genes (DEcode's preprocessing).

    Parameters
    ----------
    min_genes
        Drop features bound in fewer than this many training genes (paper: 30).
    """

    def __init__(self, min_genes: int = 30):
        self.min_genes = min_genes

    def fit(self, data: DecodeData, train_genes: list[str]) -> "DecodePreprocessor":
        """Learn kept features, feature maxima and target scales from ``train_genes``."""
        if int(self.min_genes) < 0:
            raise InputError(f"min_genes must be >= 0, got {self.min_genes}")
        index = {g: i for i, g in enumerate(map(str, data.genes))}
        rows = np.array([index[g] for g in train_genes if g in index], dtype=np.int64)
        if len(rows) < 10:
            raise InputError(f"only {len(rows)} training genes are in the data; at least 10 are needed")
        is_train = np.zeros(len(data.genes), dtype=bool)
        is_train[rows] = True
        for branch, coo, names in (("promoter", data.promoter, data.promoter_features),
                                   ("mrna", data.mrna, data.mrna_features)):
            part = coo[is_train[coo["gene"].to_numpy()]] if len(coo) else coo
            n_genes_bound = np.zeros(len(names), dtype=np.int64)
            maxima = np.zeros(len(names), dtype=np.float64)
            if len(part):
                pairs = part[part["value"] > 0][["gene", "feature"]].drop_duplicates()
                np.add.at(n_genes_bound, pairs["feature"].to_numpy(), 1)
                np.maximum.at(maxima, part["feature"].to_numpy(), part["value"].to_numpy(np.float64))
            keep = np.flatnonzero(n_genes_bound >= int(self.min_genes))
            keep = np.union1d([0], keep) if len(names) else keep  # channel 0 always stays
            if branch == "promoter" and n_genes_bound[0] == 0 and len(keep) == 1:
                keep = np.zeros(0, dtype=np.int64)  # no promoter data at all (e.g. TargetScan-only toy set)
            setattr(self, f"{branch}_keep_", keep.astype(np.int64))
            setattr(self, f"{branch}_scale_", np.where(maxima[keep] > 0, maxima[keep], 1.0))
            setattr(self, f"{branch}_features_", [str(names[k]) for k in keep])
        targets = data.targets.reindex([data.genes[r] for r in rows])
        self.tasks_ = [str(c) for c in data.targets.columns]
        fc = targets.drop(columns="median").to_numpy(np.float64)
        self.fc_std_ = float(np.nanstd(fc)) or 1.0
        self.median_std_ = float(np.nanstd(targets["median"].to_numpy(np.float64))) or 1.0
        self.mrna_median_length_ = int(np.median(data.mrna_length.reindex([data.genes[r] for r in rows])))
        return self

    # --- targets -----------------------------------------------------------
    def _target_scale(self) -> np.ndarray:
        return np.array([self.median_std_ if t == "median" else self.fc_std_ for t in self.tasks_])

    def scale_targets(self, targets: pd.DataFrame) -> np.ndarray:
        """Targets (genes x tasks) divided by the training scales, float32."""
        return (targets[self.tasks_].to_numpy(np.float64) / self._target_scale()).astype(np.float32)

    def unscale(self, predictions: np.ndarray) -> np.ndarray:
        """Model outputs back in log2 units."""
        return np.asarray(predictions, dtype=np.float64) * self._target_scale()

    # --- binding -----------------------------------------------------------
    def transform(self, data: DecodeData, genes: list[str] | None = None) -> BindingSet:
        """Scaled, filtered sparse binding of ``genes`` (default: all, in data order)."""
        genes = list(map(str, data.genes)) if genes is None else list(genes)
        index = {g: i for i, g in enumerate(map(str, data.genes))}
        unknown = [g for g in genes if g not in index]
        if unknown:
            raise InputError(f"{len(unknown)} genes are not in the data (first: {unknown[0]})")
        gene_rows = np.full(len(data.genes), -1, dtype=np.int64)
        gene_rows[[index[g] for g in genes]] = np.arange(len(genes))
        m_ptr, m_idx, m_val = _sorted_coo(data.mrna, gene_rows, self.mrna_keep_, self.mrna_scale_, len(genes))
        p_ptr, p_idx, p_val = _sorted_coo(data.promoter, gene_rows, self.promoter_keep_, self.promoter_scale_,
                                          len(genes))
        return BindingSet(
            genes=genes, mrna_length=data.mrna_length.reindex(genes).to_numpy(np.int64),
            mrna_ptr=m_ptr, mrna_idx=m_idx, mrna_val=m_val, n_mrna=len(self.mrna_keep_),
            promoter_ptr=p_ptr, promoter_idx=p_idx, promoter_val=p_val, n_promoter=len(self.promoter_keep_),
        )

    def transform_dense(self, promoter: np.ndarray, mrna: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Filter and scale raw dense matrices ``promoter [.., P_all, 30]``, ``mrna [.., F_all, L]``."""
        p = promoter[..., self.promoter_keep_, :] / self.promoter_scale_[:, None]
        m = mrna[..., self.mrna_keep_, :] / self.mrna_scale_[:, None]
        return p.astype(np.float32), m.astype(np.float32)

    def reference(self) -> tuple[np.ndarray, np.ndarray]:
        """DeepSHAP reference (paper): no binding, exon channel covering the median transcript length.

        The promoter mark (channel 0) covers the TSS bins in the reference; all
        regulator channels are zero. Returned scaled, as ``(mrna [F, L + 2], promoter [P, 30])``.
        """
        length = max(1, self.mrna_median_length_)
        mrna = np.zeros((len(self.mrna_keep_), length + PAD_BINS), dtype=np.float32)
        if len(self.mrna_keep_):
            mrna[0, :length] = 1.0 / self.mrna_scale_[0]
        promoter = np.zeros((len(self.promoter_keep_), PROMOTER_BINS), dtype=np.float32)
        if len(self.promoter_keep_):
            promoter[0, 15:25] = 1.0 / self.promoter_scale_[0]  # -500..+500 bp
        return mrna, promoter

    # --- JSON round trip ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (for the artifact store; no pickle)."""
        out: dict[str, Any] = {"min_genes": int(self.min_genes), "tasks": self.tasks_, "fc_std": self.fc_std_,
                               "median_std": self.median_std_, "mrna_median_length": self.mrna_median_length_}
        for branch in ("promoter", "mrna"):
            out[f"{branch}_keep"] = getattr(self, f"{branch}_keep_").tolist()
            out[f"{branch}_scale"] = getattr(self, f"{branch}_scale_").tolist()
            out[f"{branch}_features"] = getattr(self, f"{branch}_features_")
        return out

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "DecodePreprocessor":
        """Inverse of :meth:`to_dict`."""
        self = cls(min_genes=state["min_genes"])
        self.tasks_ = list(state["tasks"])
        self.fc_std_, self.median_std_ = float(state["fc_std"]), float(state["median_std"])
        self.mrna_median_length_ = int(state["mrna_median_length"])
        for branch in ("promoter", "mrna"):
            setattr(self, f"{branch}_keep_", np.asarray(state[f"{branch}_keep"], dtype=np.int64))
            setattr(self, f"{branch}_scale_", np.asarray(state[f"{branch}_scale"], dtype=np.float64))
            setattr(self, f"{branch}_features_", list(state[f"{branch}_features"]))
        return self


def iter_batches(n: int, batch_size: int, lengths: np.ndarray, rng: np.random.Generator | None = None
                 ) -> Iterator[np.ndarray]:
    """Row batches: random with ``rng`` (training), else sorted by length (less padding).

    Parameters
    ----------
    n : int
        Number of rows.
    batch_size : int
        Rows per batch.
    lengths : ndarray
        Transcript length of each row.
    rng : numpy.random.Generator, optional
        Random order (training); None sorts by length.
    """
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]
        return
    # plain random batches: length-sorted batches would bias BatchNorm's batch statistics
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
