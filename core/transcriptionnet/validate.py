"""Held-out accuracy on TranscriptionNet's real L1000 example data.

``python -m core.transcriptionnet.validate --data PATH`` reads the
``transcriptionnet_example`` layout (``datasets/{RNAi,CRISPR,OE}/{GECs,feature}_{train,valid,test}.csv.gz``,
``gene_networks/{corum,disease,drug}.txt``, ``gene_meta/gene_meta.csv``), keeps the given
train / valid / test split, and trains every model twice: (a) on the given 512-d features and
(b) on embeddings from our own integration of the CORUM, disease and drug layers. Genes without an
embedding in (b) are left out of training and scoring (``n_test`` says how many remain). It prints
one JSON object with the mean held-out metrics per type and model, the paired bootstrap 95% intervals
of each model minus each baseline (``intervals``: setting -> type -> model -> baseline -> metric ->
``[difference, low, high, verdict]``, see :mod:`core.transcriptionnet.intervals`), connectivity
self-retrieval (``connectivity``, see :func:`connectivity_report`), and the seconds per step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputError

LAYERS = ("corum", "disease", "drug")
PARTS = ("train", "valid", "test")
REPORTED = ("pearson", "pearson_delta", "cosine", "top50_pearson")


def load_example(root: str | Path, types=("RNAi", "CRISPR", "OE")):
    """Signatures, the given split and the given features of the example layout.

    Parameters
    ----------
    root : str or Path
        Folder in the ``transcriptionnet_example`` layout.
    types : tuple of str
        Perturbation types read.
    """
    from core.datasets.signatures import load_signatures

    root = Path(root)
    signatures, splits, features = {}, {}, []
    for t in types:
        folder = root / "datasets" / t
        if not folder.is_dir():
            raise InputError(f"{folder} is missing; expected datasets/{{RNAi,CRISPR,OE}}/ under {root}")
        parts = {p: load_signatures(folder / f"GECs_{p}.csv.gz") for p in PARTS}
        signatures[t] = pd.concat(parts.values())
        splits[t] = {p: list(parts[p].index) for p in PARTS}
        for p in PARTS:
            feat = pd.read_csv(folder / f"feature_{p}.csv.gz", index_col=0)
            feat.index = feat.index.astype(str)
            features.append(feat)
    given = pd.concat(features)
    given = given[~given.index.duplicated()]  # a gene perturbed in several types has one feature vector
    return signatures, splits, given


def load_layers(root: str | Path) -> dict[str, pd.DataFrame]:
    """The three network layers, ids mapped to Entrez through the gene table (unknown ids dropped).

    Parameters
    ----------
    root : str or Path
        Folder in the ``transcriptionnet_example`` layout.
    """
    from core.datasets.networks import gene_table, load_network

    root = Path(root)
    genes = gene_table(root / "gene_meta" / "gene_meta.csv")
    return {name: load_network(root / "gene_networks" / f"{name}.txt", genes, to="entrez", on_unmapped="drop")
            for name in LAYERS}


def _table(model) -> dict:
    out: dict = {}
    for row in model.summary_.itertuples(index=False):
        out.setdefault(row.type, {})[row.model] = {m: round(float(getattr(row, m)), 4) for m in REPORTED}
    return out


def _intervals(model, n_resamples: int, seed: int) -> dict:
    from core.transcriptionnet.intervals import paired_bootstrap

    table = paired_bootstrap(model.per_gene_, n_resamples=n_resamples, seed=seed)
    out: dict = {}
    for row in table.itertuples(index=False):
        out.setdefault(row.type, {}).setdefault(row.model, {}).setdefault(row.baseline, {})[row.metric] = [
            round(row.difference, 4), round(row.low, 4), round(row.high, 4), row.verdict]
    return out


def _retrieval(queries: pd.DataFrame, library: pd.DataFrame, n_genes: int = 50) -> dict:
    from core.transcriptionnet.connectivity_query import self_retrieval

    ranks = self_retrieval(queries, library, n_genes)
    n = int(ranks["n_library"].iloc[0])
    return {"n_queries": len(ranks), "n_library": n, "top1": round(float((ranks["rank"] == 1).mean()), 4),
            "top10": round(float((ranks["rank"] <= 10).mean()), 4),
            "bottom10": round(float((ranks["rank"] > n - 10).mean()), 4),
            "median_rank": float(ranks["rank"].median())}


def connectivity_report(signatures: dict, model=None, n_genes: int = 50) -> dict:
    """Connectivity self-retrieval (top / bottom ``n_genes`` landmarks as the query, weighted KS score).

    Every table is centred on its own mean signature first (the response all perturbations share).

    * ``measured``: each measured signature against its own type's measured set (by construction
      rank 1: a check of the score), and against the other types' measured signatures of the same
      genes (``CRISPR->RNAi`` etc.: does a knockout find its knockdown, an overexpression its
      knockdown at the bottom?).
    * with a fitted ``model``, ``predicted``: each held-out gene's measured signature (minus the
      training mean) against the predicted signatures of every gene with an embedding, per model;
      rank 1 means the gene's own prediction mimics its measurement best.

    Each entry gives ``n_queries``, ``n_library``, the fraction ranked first (``top1``), in the top
    10 (``top10``), in the bottom 10 (``bottom10``) and the median rank.

    Parameters
    ----------
    signatures : dict
        Type -> measured signatures.
    model : TranscriptionNet, optional
        A fitted model for the ``predicted`` entries.
    n_genes : int
        Landmarks in each half of a query.
    """
    centred = {t: s - s.mean(axis=0) for t, s in signatures.items()}
    out: dict = {"measured": {}}
    for t, sig in centred.items():
        out["measured"][f"{t}->{t}"] = _retrieval(sig, sig, n_genes)
        for u, other in centred.items():
            if u != t and len(set(sig.index) & set(other.index)):
                out["measured"][f"{t}->{u}"] = _retrieval(sig, other, n_genes)
    if model is not None:
        out["predicted"] = {}
        for t in model.types_:
            test = model.splits_[t]["test"]
            queries = model.signatures_[t].loc[test] - model.baselines_[t]["mean"].mean_
            for name in ("refined", "fundnn", "ridge", "knn"):
                if name == "refined" and not model.refiners_:
                    continue
                library, _ = model.predict_all(t, name)
                library = library.astype(np.float64)
                out["predicted"].setdefault(t, {})[name] = _retrieval(queries, library - library.mean(axis=0),
                                                                      n_genes)
    return out


def run(root: str | Path, dim: int = 128, max_epochs: int = 150, seed: int = 0, verbose: bool = False,
        n_resamples: int = 1000) -> dict:
    """Train and score both settings; return the JSON-able report.

    Parameters
    ----------
    root : str or Path
        Folder in the ``transcriptionnet_example`` layout.
    dim : int
        Dimension of our own embedding.
    max_epochs : int
        FunDNN epochs.
    seed : int
        Seed of every step.
    verbose : bool
        Print progress.
    n_resamples : int
        Bootstrap resamples of the intervals.
    """
    import torch

    from core.transcriptionnet.embedding import network_embedding
    from core.transcriptionnet.pipeline import TranscriptionNet

    torch.manual_seed(seed)
    log = (lambda f, m: print(f"{f:5.1%} {m}", file=sys.stderr)) if verbose else None
    seconds, report, n_test = {}, {}, {}
    tick = time.perf_counter()
    signatures, splits, given = load_example(root)
    layers = load_layers(root)
    seconds["load"] = time.perf_counter() - tick

    tick = time.perf_counter()
    model = TranscriptionNet(max_epochs=max_epochs, random_state=seed).fit(given, signatures, splits, progress=log)
    seconds["given_features_training"] = time.perf_counter() - tick
    report["given_features"] = _table(model)
    intervals = {"given_features": _intervals(model, n_resamples, seed)}
    tick = time.perf_counter()
    connectivity = {"given_features": connectivity_report(signatures, model)}
    seconds["connectivity_given_features"] = time.perf_counter() - tick
    n_test["given_features"] = {t: len(s["test"]) for t, s in model.splits_.items()}

    tick = time.perf_counter()
    embedding = network_embedding(layers, dim=dim, seed=seed)
    seconds["own_embedding"] = time.perf_counter() - tick
    tick = time.perf_counter()
    own = TranscriptionNet(max_epochs=max_epochs, random_state=seed).fit(embedding, signatures, splits, progress=log)
    seconds["own_embedding_training"] = time.perf_counter() - tick
    report["own_embedding"] = _table(own)
    intervals["own_embedding"] = _intervals(own, n_resamples, seed)
    report["intervals"] = intervals
    connectivity["own_embedding"] = connectivity_report(signatures, own)
    report["connectivity"] = connectivity
    n_test["own_embedding"] = {t: len(s["test"]) for t, s in own.splits_.items()}
    report["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    report["n_test"] = n_test
    report["embedding"] = {"genes": int(embedding.shape[0]), "dim": int(embedding.shape[1]),
                           "edges": {k: int(len(v)) for k, v in layers.items()}}
    return report


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder in the transcriptionnet_example layout")
    parser.add_argument("--dim", type=int, default=128, help="dimension of our own embedding")
    parser.add_argument("--max-epochs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resamples", type=int, default=1000, help="paired bootstrap resamples of test genes")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    try:
        report = run(args.data, args.dim, args.max_epochs, args.seed, args.verbose, args.resamples)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
