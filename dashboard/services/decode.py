"""DEcode services: training, attribution and the co-expression experiment as cached jobs;
single-gene attribution and in-silico edits on a model kept loaded per process.

Every function takes the dataset as ``source`` (``"demo"`` or a registered id).
The trained model lives in the artifact store (state dict as ``torch.save`` bytes,
loaded with ``weights_only=True``) under a key that includes the dataset's hash;
:func:`load_fit` keeps it in memory per process by that key (so per dataset), and
an edit re-predicts in one forward pass.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

from core.errors import InputError
from dashboard.text import plural
from dashboard.services import DEFAULT_DATASET, CachedJob, clamp_int, dataset, is_demo, store

KIND = "decode"
TRAIN, ATTRIBUTION, COEXPRESSION = "decode.train", "decode.attribution", "decode.coexpression"
CODE_VERSION = "1"
#: Page defaults: one restart and at most 40 epochs keep a demo training well under a minute;
#: the paper's settings (10 restarts, 100 epochs) are reachable through the controls / URL.
DEFAULT_TRAINING = {"n_restarts": 1, "max_epochs": 40, "patience": 10, "min_genes": 30, "seed": 0}
LIMITS = {"n_restarts": (1, 10), "max_epochs": (1, 100), "patience": (1, 100), "min_genes": (0, 1000),
          "seed": (0, 10_000)}
#: The paper's test chromosome; datasets without genes on it default to their largest chromosome.
DEFAULT_TEST_CHROMOSOME = "chr1"
#: Fewest tissues a co-expression correlation can be computed over.
MIN_COEXPRESSION_TISSUES = 3
#: Below this many tissues the co-expression card warns that correlations are coarse.
FEW_TISSUES = 10


def training_params(restarts: Any = None, epochs: Any = None, test_chromosome: Any = None, *,
                    source: str = DEFAULT_DATASET, **extra: Any) -> dict[str, Any]:
    """Clean training parameters from UI values.

    Parameters
    ----------
    restarts, epochs
        Random restarts and maximum epochs as typed (out-of-range values are clipped).
    test_chromosome
        The chromosome whose genes are held out for testing; one the dataset
        lacks is replaced by :func:`default_test_chromosome`.
    source
        The dataset (``"demo"`` or a registered id).
    **extra
        Other keys of :data:`DEFAULT_TRAINING` (clipped to :data:`LIMITS`).

    Returns
    -------
    dict
        :data:`DEFAULT_TRAINING` updated with the usable values, plus ``test_chromosome``
        (``""`` when the data carry no chromosomes and their published split is used).
    """
    params: dict[str, Any] = dict(DEFAULT_TRAINING)
    for key, value in (("n_restarts", restarts), ("max_epochs", epochs), *extra.items()):
        if value in (None, ""):
            continue
        if key in LIMITS:
            params[key] = clamp_int(value, params[key], *LIMITS[key])
    counts = chromosome_counts(source)
    params["test_chromosome"] = test_chromosome if test_chromosome in counts else default_test_chromosome(source)
    return params


# --- the gene split -------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def chromosome_counts(source: str = DEFAULT_DATASET) -> dict[str, int]:
    """Genes per chromosome, most genes first (empty when the data carry no chromosomes)."""
    data = dataset(KIND, source)
    chrom = data.chromosome.reindex(data.genes).fillna("").astype(str)
    counts = chrom[chrom != ""].value_counts()
    return {str(c): int(n) for c, n in counts.items()}


def default_test_chromosome(source: str = DEFAULT_DATASET) -> str:
    """chr1 (the paper's test chromosome) when it holds genes, else the chromosome with the most genes.

    ``""`` when the data carry no chromosomes: then the data's published split is used.
    """
    counts = chromosome_counts(source)
    if not counts:
        return ""
    return DEFAULT_TEST_CHROMOSOME if DEFAULT_TEST_CHROMOSOME in counts else next(iter(counts))


def chromosome_options(source: str = DEFAULT_DATASET) -> list[dict[str, str]]:
    """Dropdown options of the test chromosome, labelled with their gene counts."""
    return [{"label": f"{c} ({n:,} genes)", "value": c} for c, n in chromosome_counts(source).items()]


def split_label(params: dict[str, Any]) -> str:
    """How texts name the test genes of a model: ``chr1`` or ``the published split's``."""
    return params.get("test_chromosome") or "the published split's"


def held_out_note(params: dict[str, Any], source: str = DEFAULT_DATASET) -> str:
    """Which genes a model is tested on, for the pages (says why when it cannot be the paper's chr1)."""
    chromosome = params.get("test_chromosome")
    if not chromosome:
        return "test genes: the data's published split (the data give no chromosomes)"
    if DEFAULT_TEST_CHROMOSOME not in chromosome_counts(source):
        return (f"test genes: {chromosome} (no gene of this dataset is on chr1, the paper's test chromosome; "
                "change it under “Test chromosome”)")
    return f"test genes: {chromosome}"


def make_gene_split(params: dict[str, Any], source: str = DEFAULT_DATASET):
    """Train / validation / test genes of a model (test = its test chromosome, or the published split)."""
    from core.decode.features import make_split

    data = dataset(KIND, source)
    chromosome = params.get("test_chromosome")
    return make_split(data, test_chromosomes=(chromosome,)) if chromosome else make_split(data)


# --- page state -----------------------------------------------------------------

def page_query(source: str, gene: str, params: dict[str, Any]) -> dict[str, Any]:
    """URL parameters both DEcode pages share: dataset (unless the demo), gene and the model's settings."""
    return {"data": None if is_demo(source) else source, "gene": gene,
            "dec-restarts": params["n_restarts"], "dec-epochs": params["max_epochs"],
            "dec-testchr": params["test_chromosome"]}


# --- training -----------------------------------------------------------------

def _train(report, *, source: str, params: dict[str, Any]) -> dict:
    """Train the CNN and the ridge baseline on one dataset; evaluate on its test genes."""
    from core.decode.estimator import DecodeCNN
    from core.decode.evaluate import train_decode

    cnn = DecodeCNN(n_restarts=params["n_restarts"], max_epochs=params["max_epochs"],
                    patience=params["patience"], random_state=params["seed"])
    return train_decode(dataset(KIND, source), make_gene_split(params, source), min_genes=params["min_genes"],
                        cnn=cnn, progress=report).to_payload()


#: The trained model of a dataset: ``training.run(set_progress, params=, source=)`` with ``params`` from
#: :func:`training_params` (for the same ``source``); see :func:`load_fit` for the model itself.
training = CachedJob(TRAIN, KIND, _train, key_params=lambda params, source: params, code_version=CODE_VERSION)


@functools.lru_cache(maxsize=4)
def _load_fit(key: str):
    # ``key`` includes the dataset hash, so models of different datasets never share an entry.
    from core.decode.evaluate import DecodeFit

    payload = store().get(key)
    if payload is None:
        return None
    return DecodeFit.from_payload(payload)


def load_fit(params: dict[str, Any], source: str = DEFAULT_DATASET):
    """The trained :class:`~core.decode.evaluate.DecodeFit` of a dataset (kept in memory per process), or None."""
    key = training.key(params=params, source=source)
    fit = _load_fit(key)
    if fit is None:
        _load_fit.cache_clear()  # do not remember a miss
    return fit


def _require_fit(params: dict[str, Any], source: str):
    fit = load_fit(params, source)
    if fit is None:
        raise InputError("no trained DEcode model for these settings yet; press “Train model” first")
    return fit


# --- attribution --------------------------------------------------------------

def _attribution(report, *, source: str, params: dict[str, Any]) -> dict:
    from core.decode.attribution import regulator_attribution

    fit = _require_fit(params, source)
    X = fit.preprocessor.transform(dataset(KIND, source), fit.split.test)
    return {"scores": regulator_attribution(fit.cnn, fit.preprocessor, X, progress=report)}


#: Mean DeepLIFT regulator scores per tissue over the test genes of a trained model:
#: ``attribution.run(set_progress, params=, source=)``; ``attribution.result(...)`` is the regulator x tissue table.
attribution = CachedJob(ATTRIBUTION, KIND, _attribution, code_version=CODE_VERSION,
                        key_params=lambda params, source: {**params, "genes": "test"},
                        load=lambda payload, **_: payload["scores"])


def gene_attribution(params: dict[str, Any], gene: str, task: str, source: str = DEFAULT_DATASET):
    """One gene's regulator x position attribution for one task (fast: one DeepLIFT pass)."""
    from core.decode.attribution import gene_attribution as compute

    fit = _require_fit(params, source)
    if task not in fit.tasks:
        raise InputError(f"{task!r} is not a tissue of this model; choose one of {', '.join(fit.tasks[:5])}, ...")
    X = fit.preprocessor.transform(dataset(KIND, source), [gene])
    return compute(fit.cnn, fit.preprocessor, X, gene, task)


def measured_profile(gene: str, source: str = DEFAULT_DATASET) -> pd.DataFrame:
    """A gene's measured tissue profile (column ``actual``; index tissues + median)."""
    return dataset(KIND, source).targets.loc[[gene]].T.astype(float).set_axis(["actual"], axis=1)


def gene_profiles(params: dict[str, Any], gene: str, source: str = DEFAULT_DATASET) -> pd.DataFrame:
    """Predicted (CNN, ridge) and actual tissue profile of a gene: index tasks."""
    fit = _require_fit(params, source)
    data = dataset(KIND, source)
    return pd.DataFrame({"predicted": fit.predictions.loc[gene], "ridge": fit.ridge_predictions.loc[gene],
                         "actual": data.targets.loc[gene, fit.tasks].astype(float)})


def gene_split(params: dict[str, Any], gene: str, source: str = DEFAULT_DATASET) -> str:
    """Which part of the model's split a gene is in: ``test``, ``validate``, ``train`` or ``unused``."""
    fit = _require_fit(params, source)
    for name in ("test", "validate", "train"):
        if gene in set(getattr(fit.split, name)):
            return name
    return "unused"


# --- binding maps and edits ---------------------------------------------------

@functools.lru_cache(maxsize=64)
def binding(gene: str, source: str = DEFAULT_DATASET):
    """Raw binding of a gene (:class:`core.decode.edits.GeneBinding`)."""
    from core.decode.edits import gene_binding

    return gene_binding(dataset(KIND, source), gene)


def bound_regulators(gene: str, source: str = DEFAULT_DATASET) -> list[str]:
    """``promoter:TF`` / ``mrna:X`` names of the regulators bound to a gene, most bound first."""
    b = binding(gene, source)
    names = [(f"promoter:{n}", float(b.promoter[i].sum())) for i, n in enumerate(b.promoter_features) if i]
    names += [(f"mrna:{n}", float(b.mrna[i].sum())) for i, n in enumerate(b.mrna_features) if i]
    return [n for n, total in sorted(names, key=lambda x: -x[1]) if total > 0]


def edit_profile(params: dict[str, Any], gene: str, region: str, promoter_bins, mrna_bins, fraction: float,
                 knockout: list[str], source: str = DEFAULT_DATASET) -> pd.DataFrame:
    """Predicted tissue profile before and after an edit (one forward pass)."""
    from core.decode.edits import predict_edit

    fit = _require_fit(params, source)
    edit: dict[str, Any] = {"fraction": float(fraction), "knockout": list(knockout or [])}
    if region == "promoter" and promoter_bins:
        edit["promoter_bins"] = (int(promoter_bins[0]), int(promoter_bins[1]))
    elif region == "mrna" and mrna_bins:
        edit["mrna_bins"] = (int(mrna_bins[0]), int(mrna_bins[1]))
    return predict_edit(fit.cnn, fit.preprocessor, binding(gene, source), **edit)


# --- co-expression experiment ---------------------------------------------------

def coexpression_params(params: dict[str, Any], gene_a: str, gene_b: str, n: int) -> dict[str, Any]:
    """The cache parameters of one co-expression experiment."""
    return {**params, "gene_a": gene_a, "gene_b": gene_b, "n": int(n)}


def _coexpression(report, *, source: str, params: dict[str, Any], gene: str, partner: str, n: int) -> dict:
    from core.decode.edits import coexpression_experiment

    n_tissues = len(tissues(source, with_median=False))
    if n_tissues < MIN_COEXPRESSION_TISSUES:
        raise InputError(f"this dataset has {plural(n_tissues, 'tissue')}; co-expression is a correlation over tissues "
                         f"and needs at least {MIN_COEXPRESSION_TISSUES}")
    fit = _require_fit(params, source)
    res = coexpression_experiment(fit.cnn, fit.preprocessor, dataset(KIND, source), gene, partner, n=int(n),
                                  seed=params["seed"], progress=report)
    return {"effects": res.effects, "correlations": res.correlations, "baseline": res.baseline}


#: N random disruptions of ``gene`` and the regression of its co-expression with ``partner``:
#: ``coexpression.run(set_progress, params=, gene=, partner=, n=, source=)``.
coexpression = CachedJob(COEXPRESSION, KIND, _coexpression, code_version=CODE_VERSION,
                         key_params=lambda params, gene, partner, n, source: coexpression_params(params, gene,
                                                                                                 partner, n))

MAX_DISRUPTIONS = 100_000
DEFAULT_DISRUPTIONS = 1000


def disruptions_value(value) -> int:
    """Random disruptions of the co-expression experiment for a control (clipped), or the default."""
    return clamp_int(value, DEFAULT_DISRUPTIONS, 20, MAX_DISRUPTIONS)


def few_tissues_note(source: str = DEFAULT_DATASET) -> str | None:
    """A caution for datasets with few tissues (co-expression correlations rest on few values), else None."""
    n = len(tissues(source, with_median=False))
    if n >= FEW_TISSUES:
        return None
    return (f"This dataset has {n} tissues, so each co-expression correlation rests on {n} values: expect coarse "
            "correlations and wide error bars.")


# --- defaults -------------------------------------------------------------------

def planted_regulators(source: str = DEFAULT_DATASET) -> list[str]:
    """Promoter regulators the demo simulator planted (none for registered data)."""
    data = dataset(KIND, source)
    if not is_demo(source) or data.truth is None or data.truth.empty:
        return []
    features = set(map(str, data.promoter_features))
    return [str(r) for r in data.truth.get("regulator", []) if str(r) in features]


def _default_test_genes(source: str) -> list[str]:
    """Genes on the default test chromosome (all genes when the data carry no chromosomes)."""
    data = dataset(KIND, source)
    chromosome = default_test_chromosome(source)
    chrom = data.chromosome.reindex(data.genes).fillna("").astype(str)
    test = [str(g) for g, c in zip(data.genes, chrom) if c == chromosome] if chromosome else []
    return test or [str(g) for g in data.genes]


@functools.lru_cache(maxsize=16)
def default_gene(source: str = DEFAULT_DATASET) -> str:
    """The gene a page opens on: a held-out test gene worth looking at.

    Demo: the test gene most bound by the first planted promoter regulator.
    Registered data: the test gene with the most tissue-specific measured profile
    (largest standard deviation across tissues).
    """
    data = dataset(KIND, source)
    test = _default_test_genes(source)
    planted = planted_regulators(source)
    if planted:
        features = list(map(str, data.promoter_features))
        bound = data.promoter[data.promoter["feature"] == features.index(planted[0])]
        totals = bound.groupby("gene")["value"].sum()
        names = pd.Index(list(map(str, data.genes)))
        totals.index = names[totals.index.to_numpy()]
        on_test = totals[totals.index.isin(test)]
        return str((on_test if len(on_test) else totals).idxmax())
    spread = data.targets.loc[test, tissues(source, with_median=False)].astype(float).std(axis=1)
    return str(spread.idxmax()) if spread.notna().any() else test[0]


@functools.lru_cache(maxsize=16)
def default_partner(source: str = DEFAULT_DATASET) -> str:
    """The co-expression partner a page opens on (never the default gene).

    Demo: the most Liver-specific gene. Registered data: the gene whose measured
    tissue profile correlates best with the default gene's.
    """
    data = dataset(KIND, source)
    gene = default_gene(source)
    targets = data.targets[tissues(source, with_median=False)].astype(float)
    others = targets.drop(index=gene, errors="ignore")
    if is_demo(source) and "Liver" in targets.columns:
        return str(others["Liver"].idxmax())
    if targets.shape[1] >= MIN_COEXPRESSION_TISSUES:
        similarity = others.T.corrwith(targets.loc[gene])  # Pearson over tissues, one value per gene
        if similarity.notna().any():
            return str(similarity.idxmax())
    return str(others.index[0])


def tissues(source: str = DEFAULT_DATASET, with_median: bool = True) -> list[str]:
    """The dataset's targets: its tissues, then ``median`` unless ``with_median`` is False."""
    columns = [str(c) for c in dataset(KIND, source).targets.columns]
    return columns if with_median else [c for c in columns if c != "median"]
