"""DEcode services: training, attribution and the co-expression experiment as cached jobs;
single-gene attribution and in-silico edits on a model kept loaded per process.

The trained model lives in the artifact store (state dict as ``torch.save`` bytes,
loaded with ``weights_only=True``); :func:`load_fit` keeps it in memory per process,
keyed by the artifact key, so an edit re-predicts in one forward pass.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

from core.cache import make_key
from core.errors import InputError
from dashboard.services import JobOutcome, dataset, dataset_hash, run_cached_job, store

KIND = "decode"
TRAIN, ATTRIBUTION, COEXPRESSION = "decode.train", "decode.attribution", "decode.coexpression"
CODE_VERSION = "1"
#: Page defaults: one restart and at most 40 epochs keep a demo training well under a minute;
#: the paper's settings (10 restarts, 100 epochs) are reachable through the controls / URL.
DEFAULT_TRAINING = {"n_restarts": 1, "max_epochs": 40, "patience": 10, "min_genes": 30, "seed": 0}
LIMITS = {"n_restarts": (1, 10), "max_epochs": (1, 100), "patience": (1, 100), "min_genes": (0, 1000),
          "seed": (0, 10_000)}


def training_params(restarts: Any = None, epochs: Any = None, **extra: Any) -> dict[str, int]:
    """Clean training parameters from UI values (out-of-range values are clipped)."""
    params = dict(DEFAULT_TRAINING)
    for key, value in (("n_restarts", restarts), ("max_epochs", epochs), *extra.items()):
        if value in (None, ""):
            continue
        try:
            lo, hi = LIMITS[key]
            params[key] = max(lo, min(hi, int(float(value))))
        except (TypeError, ValueError, KeyError):
            continue
    return params


def _key(namespace: str, params: dict[str, Any]) -> str:
    return make_key(namespace, dataset_hash(KIND), params, CODE_VERSION)


# --- training -----------------------------------------------------------------

def train_job(params: dict[str, int], set_progress=None) -> JobOutcome:
    """Background job: train the CNN and the ridge baseline; evaluate on chr1 genes."""
    from core.decode.estimator import DecodeCNN
    from core.decode.evaluate import train_decode

    def compute(report):
        cnn = DecodeCNN(n_restarts=params["n_restarts"], max_epochs=params["max_epochs"],
                        patience=params["patience"], seed=params["seed"])
        return train_decode(dataset(KIND), min_genes=params["min_genes"], cnn=cnn, progress=report).to_payload()

    return run_cached_job(TRAIN, KIND, params, compute, set_progress, CODE_VERSION)


def is_trained(params: dict[str, int]) -> bool:
    """Whether a model for these parameters is stored."""
    return store().get(_key(TRAIN, params)) is not None


@functools.lru_cache(maxsize=4)
def _load_fit(key: str):
    from core.decode.evaluate import DecodeFit

    payload = store().get(key)
    if payload is None:
        return None
    return DecodeFit.from_payload(payload)


def load_fit(params: dict[str, int]):
    """The trained :class:`~core.decode.evaluate.DecodeFit` (kept in memory per process), or None."""
    key = _key(TRAIN, params)
    fit = _load_fit(key)
    if fit is None:
        _load_fit.cache_clear()  # do not remember a miss
    return fit


def _require_fit(params: dict[str, int]):
    fit = load_fit(params)
    if fit is None:
        raise InputError("no trained DEcode model for these settings yet; press “Train model” first")
    return fit


# --- attribution --------------------------------------------------------------

def attribution_job(params: dict[str, int], set_progress=None) -> JobOutcome:
    """Background job: mean DeepLIFT regulator scores per tissue over the test genes."""
    from core.decode.attribution import regulator_attribution

    def compute(report):
        fit = _require_fit(params)
        X = fit.preprocessor.transform(dataset(KIND), fit.split.test)
        return {"scores": regulator_attribution(fit.cnn, fit.preprocessor, X, progress=report)}

    return run_cached_job(ATTRIBUTION, KIND, {**params, "genes": "test"}, compute, set_progress, CODE_VERSION)


def attribution_result(params: dict[str, int]) -> pd.DataFrame | None:
    payload = store().get(_key(ATTRIBUTION, {**params, "genes": "test"}))
    return None if payload is None else payload["scores"]


def gene_attribution(params: dict[str, int], gene: str, task: str):
    """One gene's regulator x position attribution for one task (fast: one DeepLIFT pass)."""
    from core.decode.attribution import gene_attribution as compute

    fit = _require_fit(params)
    if task not in fit.tasks:
        raise InputError(f"{task!r} is not a tissue of this model; choose one of {', '.join(fit.tasks[:5])}, ...")
    X = fit.preprocessor.transform(dataset(KIND), [gene])
    return compute(fit.cnn, fit.preprocessor, X, gene, task)


def measured_profile(gene: str) -> pd.DataFrame:
    """A gene's measured tissue profile (column ``actual``; index tissues + median)."""
    return dataset(KIND).targets.loc[[gene]].T.astype(float).set_axis(["actual"], axis=1)


def gene_profiles(params: dict[str, int], gene: str) -> pd.DataFrame:
    """Predicted (CNN, ridge) and actual tissue profile of a gene: index tasks."""
    fit = _require_fit(params)
    data = dataset(KIND)
    return pd.DataFrame({"predicted": fit.predictions.loc[gene], "ridge": fit.ridge_predictions.loc[gene],
                         "actual": data.targets.loc[gene, fit.tasks].astype(float)})


def gene_split(params: dict[str, int], gene: str) -> str:
    fit = _require_fit(params)
    for name in ("test", "validate", "train"):
        if gene in set(getattr(fit.split, name)):
            return name
    return "unused"


# --- binding maps and edits ---------------------------------------------------

@functools.lru_cache(maxsize=64)
def binding(gene: str):
    """Raw binding of a gene (:class:`core.decode.edits.GeneBinding`)."""
    from core.decode.edits import gene_binding

    return gene_binding(dataset(KIND), gene)


def bound_regulators(gene: str) -> list[str]:
    """``promoter:TF`` / ``mrna:X`` names of the regulators bound to a gene, most bound first."""
    b = binding(gene)
    names = [(f"promoter:{n}", float(b.promoter[i].sum())) for i, n in enumerate(b.promoter_features) if i]
    names += [(f"mrna:{n}", float(b.mrna[i].sum())) for i, n in enumerate(b.mrna_features) if i]
    return [n for n, total in sorted(names, key=lambda x: -x[1]) if total > 0]


def edit_profile(params: dict[str, int], gene: str, region: str, promoter_bins, mrna_bins, fraction: float,
                 knockout: list[str]) -> pd.DataFrame:
    """Predicted tissue profile before and after an edit (one forward pass)."""
    from core.decode.edits import predict_edit

    fit = _require_fit(params)
    edit: dict[str, Any] = {"fraction": float(fraction), "knockout": list(knockout or [])}
    if region == "promoter" and promoter_bins:
        edit["promoter_bins"] = (int(promoter_bins[0]), int(promoter_bins[1]))
    elif region == "mrna" and mrna_bins:
        edit["mrna_bins"] = (int(mrna_bins[0]), int(mrna_bins[1]))
    return predict_edit(fit.cnn, fit.preprocessor, binding(gene), **edit)


# --- co-expression experiment ---------------------------------------------------

def coexpression_params(params: dict[str, int], gene_a: str, gene_b: str, n: int) -> dict[str, Any]:
    return {**params, "gene_a": gene_a, "gene_b": gene_b, "n": int(n)}


def coexpression_job(params: dict[str, int], gene_a: str, gene_b: str, n: int, set_progress=None) -> JobOutcome:
    """Background job: N random disruptions of gene A and the regression of A-B co-expression."""
    from core.decode.edits import coexpression_experiment

    def compute(report):
        fit = _require_fit(params)
        res = coexpression_experiment(fit.cnn, fit.preprocessor, dataset(KIND), gene_a, gene_b, n=int(n),
                                      seed=params["seed"], progress=report)
        return {"effects": res.effects, "correlations": res.correlations, "baseline": res.baseline}

    return run_cached_job(COEXPRESSION, KIND, coexpression_params(params, gene_a, gene_b, n), compute,
                          set_progress, CODE_VERSION)


def coexpression_result(params: dict[str, int], gene_a: str, gene_b: str, n: int) -> dict[str, Any] | None:
    return store().get(_key(COEXPRESSION, coexpression_params(params, gene_a, gene_b, n)))


# --- defaults -------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def default_gene() -> str:
    """A chr1 (test) gene strongly bound by the first planted promoter regulator (else the first gene)."""
    data = dataset(KIND)
    features = list(map(str, data.promoter_features))
    planted = [r for r in data.truth.get("regulator", []) if r in features]
    if not planted:
        return str(data.genes[0])
    bound = data.promoter[data.promoter["feature"] == features.index(planted[0])]
    totals = bound.groupby("gene")["value"].sum()
    chrom = data.chromosome.reindex(data.genes).to_numpy()
    on_test = totals[[chrom[g] == "chr1" for g in totals.index]]
    best = (on_test if len(on_test) else totals).idxmax()
    return str(data.genes[int(best)])


@functools.lru_cache(maxsize=1)
def default_partner() -> str:
    """A gene whose measured profile is most Liver-specific (a natural partner of the default gene)."""
    data = dataset(KIND)
    if "Liver" in data.targets.columns:
        return str(data.targets["Liver"].drop(index=default_gene(), errors="ignore").idxmax())
    return str(data.genes[1])


def tissues() -> list[str]:
    return [c for c in dataset(KIND).targets.columns]
