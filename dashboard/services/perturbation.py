"""Perturbation-signature services: TranscriptionNet training as a cached background job, and views of it.

Every function takes the dataset as ``source``: ``"demo"`` or the id of a
registered set of network layers and signatures (see :mod:`core.datasets.registry`).
A registered dataset may measure only some of the perturbation types;
:func:`types_of` says which.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InputError
from dashboard.services import DEFAULT_DATASET, CachedJob, check_int, clamp_int, dataset

KIND = "perturbation"
NAMESPACE = "perturbation.transcriptionnet"
CODE_VERSION = "1"
TYPES = ("RNAi", "CRISPR", "OE")
EMBEDDING_DIM = 64
WIDTHS = (128, 256, 512, 1024)
DEFAULT_WIDTH, DEFAULT_EPOCHS = 1024, 15
MAX_EPOCHS = 200


def job_params(epochs: int, width: int) -> dict[str, Any]:
    """The parameters that identify one trained set of models."""
    return {"epochs": int(epochs), "hidden": int(width), "embedding_dim": EMBEDDING_DIM, "seed": 0,
            "refine_folds": 2, "split": "random 70/15/15 per type"}


def check_params(epochs, width) -> tuple[int, int]:
    """Validated (epochs, width) from UI values."""
    epochs = check_int(epochs, "epochs", 1, MAX_EPOCHS)
    try:
        width = int(width)
    except (TypeError, ValueError):
        width = -1
    if width not in WIDTHS:
        raise InputError(f"hidden width must be one of {', '.join(map(str, WIDTHS))} (1024 as published)")
    return epochs, width


def types_of(source: str = DEFAULT_DATASET) -> tuple[str, ...]:
    """The perturbation types the dataset has signatures of, in the order of ``TYPES``."""
    signatures = dataset(KIND, source).signatures
    return tuple(t for t in TYPES if t in signatures)


def _train(report, *, source: str, epochs, width) -> dict:
    """Embed the network layers, train FunDNN + refiner + baselines, score held-out genes.

    Only the types the dataset measures are modelled; the refiner needs two of them.
    """
    from core.transcriptionnet import TranscriptionNet, network_embedding

    epochs, width = check_params(epochs, width)
    data = dataset(KIND, source)
    embedding = network_embedding(data.layers, dim=EMBEDDING_DIM, seed=0,
                                  progress=lambda f, m: report(0.08 * f, m))
    model = TranscriptionNet(types=types_of(source), hidden=width, max_epochs=epochs, patience=5,
                             refine_folds=2, refine_epochs=max(5, epochs), refine_patience=5, random_state=0)
    model.fit(embedding, data.signatures, progress=lambda f, m: report(0.08 + 0.9 * f, m))
    payload: dict[str, Any] = {"summary": model.summary_, "per_gene": model.per_gene_,
                               "seconds": {k: round(v, 2) for k, v in model.seconds_.items()}}
    status = {}
    for t in model.types_:
        predictions, status[t] = model.predict_all(t)
        payload[f"predicted_{t}"] = predictions.astype(np.float32)
    payload["status"] = pd.DataFrame(status)
    return payload


#: TranscriptionNet trained on a dataset: ``training.run(set_progress, epochs=, width=, source=)`` (maximum
#: epochs and FunDNN width, see :func:`check_params`); ``training.result(...)`` is the payload dict.
training = CachedJob(NAMESPACE, KIND, _train, code_version=CODE_VERSION,
                     key_params=lambda epochs, width, source: job_params(*check_params(epochs, width)))


def default_training(source: str = DEFAULT_DATASET) -> dict | None:
    """The stored training with the page's default settings (what the gene card reads), or None."""
    return training.result(epochs=DEFAULT_EPOCHS, width=DEFAULT_WIDTH, source=source)


def epochs_value(value) -> int:
    """Maximum epochs for a control: its value clipped to 1..MAX_EPOCHS, or the default."""
    return clamp_int(value, DEFAULT_EPOCHS, 1, MAX_EPOCHS)


def width_value(value) -> int:
    """FunDNN width for a control: one of :data:`WIDTHS`, or the default."""
    width = clamp_int(value, DEFAULT_WIDTH, 0, max(WIDTHS))
    return width if width in WIDTHS else DEFAULT_WIDTH


# --- views ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def all_genes(source: str = DEFAULT_DATASET) -> tuple[str, ...]:
    """Every gene of the dataset (network layers, signatures, landmarks); genes in a layer get a prediction."""
    return tuple(sorted(map(str, dataset(KIND, source).genes.index)))


def default_gene(source: str = DEFAULT_DATASET) -> str:
    """The first gene with a measured signature of every type."""
    signatures = dataset(KIND, source).signatures.values()
    common = set.intersection(*[set(map(str, s.index)) for s in signatures])
    return sorted(common)[0] if common else all_genes(source)[0]


def pick_gene(requested: str | None, source: str = DEFAULT_DATASET) -> tuple[str, str | None]:
    """The gene to show and, when the request was replaced, why."""
    default = default_gene(source)
    if not requested:
        return default, None
    match = {g.upper(): g for g in all_genes(source)}.get(str(requested).upper())
    if match:
        return match, None
    return default, f"{requested} is in none of the network layers of this dataset; showing {default}."


def pick_type(requested: str | None, source: str = DEFAULT_DATASET) -> str:
    """The requested perturbation type if the dataset has it, else its first type."""
    available = types_of(source)
    return requested if requested in available else available[0]


def measured(gene: str, kind: str, source: str = DEFAULT_DATASET) -> pd.Series | None:
    """The measured signature of a gene, or None (also when the dataset has no signatures of ``kind``)."""
    signatures = dataset(KIND, source).signatures.get(kind)
    if signatures is None or gene not in signatures.index:
        return None
    return signatures.loc[gene].astype(float)


def predicted(payload: dict, gene: str, kind: str) -> tuple[pd.Series | None, str | None]:
    """A gene's predicted signature (refined model) and its status, from a stored result."""
    frame = payload.get(f"predicted_{kind}")
    if frame is None or gene not in frame.index:
        return None, None
    return frame.loc[gene].astype(float), str(payload["status"].loc[gene, kind])


def similar_genes(payload: dict, gene: str, kind: str, n: int = 15) -> pd.DataFrame:
    """Genes whose predicted signatures are most similar (cosine) to this gene's.

    The average predicted signature is removed first: every prediction shares the common response,
    so raw cosines are all close to 1 and would rank genes by little more than noise.
    """
    frame = payload.get(f"predicted_{kind}")
    if frame is None or gene not in frame.index:
        return pd.DataFrame(columns=["gene", "cosine", "status"])
    values = frame.to_numpy(np.float64)
    values = values - values.mean(axis=0)
    norms = np.linalg.norm(values, axis=1)
    target = values[frame.index.get_loc(gene)]
    cos = values @ target / np.where(norms > 0, norms, 1.0) / max(np.linalg.norm(target), 1e-12)
    order = [i for i in np.argsort(-cos) if frame.index[i] != gene][:n]
    return pd.DataFrame({"gene": frame.index[order], "cosine": cos[order].round(4),
                         "status": payload["status"][kind].iloc[order].to_numpy()})


def neighbourhood(gene: str, per_layer: int = 12, source: str = DEFAULT_DATASET) -> pd.DataFrame:
    """Edges of a gene's neighbourhood in every layer: its strongest neighbours, and edges among them.

    Returns columns ``gene1, gene2, weight, layer, direct`` (``direct``: the edge touches the gene).
    """
    frames = []
    layers = dataset(KIND, source).layers
    for name, edges in layers.items():
        touching = edges[(edges["gene1"] == gene) | (edges["gene2"] == gene)]
        touching = touching.nlargest(per_layer, "weight")
        frames.append(touching.assign(layer=name, direct=True))
    direct = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if direct.empty:
        return pd.DataFrame(columns=["gene1", "gene2", "weight", "layer", "direct"])
    neighbours = set(direct["gene1"]) | set(direct["gene2"])
    among = [edges[edges["gene1"].isin(neighbours) & edges["gene2"].isin(neighbours)
                   & (edges["gene1"] != gene) & (edges["gene2"] != gene)].assign(layer=name, direct=False)
             for name, edges in layers.items()]
    return pd.concat([direct, *among], ignore_index=True)[["gene1", "gene2", "weight", "layer", "direct"]]


BOOTSTRAP_RESAMPLES = 1000
VERDICT_METRIC = "pearson_delta"
INTERVAL_TABLE_COLUMNS = ["type", "model", "baseline", "metric", "n_genes", "difference", "low", "high", "verdict"]


def intervals(payload: dict | None) -> pd.DataFrame:
    """Paired bootstrap 95% intervals of model minus each baseline, every reported metric and type.

    Computed from the stored per-gene held-out scores (a few milliseconds), seeded, so the same
    stored models always give the same intervals.
    """
    from core.transcriptionnet.intervals import paired_bootstrap

    if not payload or payload.get("per_gene") is None or payload["per_gene"].empty:
        return pd.DataFrame(columns=INTERVAL_TABLE_COLUMNS)
    return paired_bootstrap(payload["per_gene"], n_resamples=BOOTSTRAP_RESAMPLES, seed=0)


def _signed(value: float) -> str:
    return f"{value:+.3f}".replace("-", "\u2212")


def verdict(table: pd.DataFrame, metric: str = VERDICT_METRIC) -> str:
    """A plain sentence per type: does the model beat each baseline, with the 95% interval of the difference.

    ``table`` is :func:`intervals`' output. "beats" only when the whole interval of model minus
    baseline is above 0, "worse" when it is below 0, otherwise "no detectable difference".
    """
    from core.transcriptionnet.intervals import BEATS, WORSE
    from core.transcriptionnet.pipeline import MODEL_LABELS

    if table is None or table.empty:
        return ""
    parts = []
    for kind, part in table[table["metric"] == metric].groupby("type", sort=False):
        model = "refined" if (part["model"] == "refined").any() else part["model"].iloc[0]
        rows = part[part["model"] == model]
        words = []
        for row in rows.itertuples(index=False):
            ci = f"{_signed(row.difference)}, 95% CI {_signed(row.low)} to {_signed(row.high)}"
            name = MODEL_LABELS.get(row.baseline, row.baseline)
            if row.verdict == BEATS:
                words.append(f"beats the {name} ({ci})")
            elif row.verdict == WORSE:
                words.append(f"is worse than the {name} ({ci})")
            else:
                words.append(f"shows no detectable difference from the {name} ({ci})")
        n = int(rows["n_genes"].max()) if len(rows) else 0
        parts.append(f"{kind} ({n} held-out genes): the {MODEL_LABELS.get(model, model)} " + "; ".join(words))
    label = {"pearson_delta": "Pearson delta"}.get(metric, metric)
    return (f"{label} of the model minus each baseline on held-out genes, with paired bootstrap 95% intervals "
            f"({BOOTSTRAP_RESAMPLES:,} resamples of the genes). " + ". ".join(parts) + ".")
