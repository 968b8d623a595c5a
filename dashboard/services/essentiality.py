"""Modifier-gene services: screen, per-target analysis and genome-wide sweep as cached jobs."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.cache import make_key
from core.config import get_settings
from core.errors import InputError
from dashboard.services import DEFAULT_DATASET, CachedJob, clamp_int, dataset, dataset_hash, store

KIND = "essentiality"
SCREEN = "essentiality.screen"
UNANNOTATED = "unannotated"
ALL_LINES = "all cell lines"
#: A default target must be screened in at least this share of the best-screened target's cell lines.
SCREENED_SHARE = 0.9


# --- dataset helpers --------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def default_target(preferred: str, source: str = DEFAULT_DATASET) -> str:
    """The target a page opens on: ``preferred`` when the dataset screened it widely, else the first such gene.

    Parameters
    ----------
    preferred : str
        The page's usual default (a demo gene, also a real gene symbol).
    source : str
        Dataset id ("demo" or a registration id).

    Returns
    -------
    str
        ``preferred`` if it has a gene effect in at least :data:`SCREENED_SHARE`
        of the cell lines the best-screened target has; otherwise the
        alphabetically first target that has.
    """
    screened = dataset(KIND, source).effect.notna().sum()
    if screened.empty:
        return preferred
    enough = sorted(map(str, screened.index[screened >= SCREENED_SHARE * screened.max()]))
    return preferred if preferred in enough else enough[0]


def _named_lineages(data) -> pd.Series:
    return data.cells["lineage"].reindex(data.expression.index).fillna("").astype(str).str.strip()


def lineages(data) -> pd.Series:
    """Each cell line's lineage for grouping and colouring; unannotated lines form one group.

    The group is called "unannotated" beside annotated lineages, and "all cell
    lines" when the dataset has no lineage annotation at all.
    """
    named = _named_lineages(data)
    return named.replace("", UNANNOTATED if (named != "").any() else ALL_LINES)


def annotated_lineages(data) -> pd.Series:
    """Lineages with unannotated cell lines missing, so they never form a held-out lineage of their own."""
    named = _named_lineages(data)
    return named.where(named != "")


def _target_data(target: str, source: str):
    data = dataset(KIND, source)
    if target not in data.effect.columns:
        raise InputError(f"{target} has no gene-effect scores in this dataset; pick one of the target genes.")
    return data


# --- correlation screen -------------------------------------------------------------------

def _screen(report, *, source: str, target: str, n_permutations: int) -> dict:
    from core.essentiality import correlation_screen

    data = _target_data(target, source)
    table = correlation_screen(data.expression, data.effect[target], n_permutations=int(n_permutations),
                               progress=report)
    return {"table": table}


#: Correlate a target's effect with every gene's expression: ``screen.run(set_progress, target=,
#: n_permutations=, source=)``; ``screen.result(...)`` is the table.
screen = CachedJob(SCREEN, KIND, _screen, load=lambda payload, **_: payload["table"],
                   key_params=lambda target, n_permutations, source: {"target": target,
                                                                      "n_permutations": int(n_permutations)})

DEFAULT_PERMUTATIONS, MAX_PERMUTATIONS = 200, 100_000


def permutations_value(value) -> int:
    """Screen permutations for a control: its value clipped to 0..100,000, or the default."""
    return clamp_int(value, DEFAULT_PERMUTATIONS, 0, MAX_PERMUTATIONS)


# --- per-target analysis (Rosenski et al. 2023) ----------------------------------

ANALYSIS = "essentiality.analysis"
MODEL_SETS = {"all": "the paper's model zoo", "fast": "fast models (no MLP / Gaussian process)"}


@dataclass
class Analysis:
    """Everything the modifier-gene and tree pages draw for one target.

    ``models`` is ``"atlas"`` for the instant view (the atlas's fast models on
    the dataset's split, no held-out-lineage analysis: ``heldout`` is None).
    """

    report: object  # core.essentiality.GeneReport
    weights: pd.DataFrame
    tree: object  # core.essentiality.TreeResult
    heldout: pd.DataFrame | None
    models: str


def _models(models: str):
    from core.essentiality import ATLAS_MODELS, FAST_MODELS, MODEL_NAMES

    if models == ATLAS_SET:
        return list(ATLAS_MODELS)
    if models not in MODEL_SETS:
        raise InputError(f"models must be one of {sorted(MODEL_SETS)}; got {models!r}")
    return list(MODEL_NAMES) if models == "all" else list(FAST_MODELS)


def _analysis_params(target: str, models: str) -> dict:
    return {"target": target, "models": models, "test_size": 0.25, "random_state": 0}


def _analysis(report, *, source: str, target: str, models: str) -> dict:
    """Modifiers, model zoo, lineage weights, tree and held-out lineages of one target.

    Unannotated cell lines form one lineage group for the weights and only
    ever train in the held-out-lineage comparison.
    """
    from core.essentiality import evaluate_gene, fit_tree, heldout_lineage_errors, lineage_weights

    data = _target_data(target, source)
    effect, lineage = data.effect[target], lineages(data)
    gene_report = evaluate_gene(
        data.expression, effect, lineage=lineage, models=_models(models), random_state=0,
        progress=lambda f, m: report(0.6 * f, m),
    )
    report(0.62, "per-lineage weights")
    weights = lineage_weights(data.expression, effect, gene_report.modifiers, lineage)
    report(0.65, "decision tree")
    tree = fit_tree(data.expression, effect, gene_report.modifiers, random_state=0)
    heldout = heldout_lineage_errors(
        data.expression, effect, annotated_lineages(data), random_state=0,
        progress=lambda f, m: report(0.67 + 0.33 * f, m),
    )
    payload = {f"report.{k}": v for k, v in gene_report.to_payload().items()}
    payload.update({f"tree.{k}": v for k, v in tree.to_payload().items()})
    payload.update({"weights": weights, "heldout": heldout})
    return payload


def _analysis_from(payload: dict, models: str, **_) -> Analysis:
    from core.essentiality import GeneReport, TreeResult

    part = lambda prefix: {k[len(prefix):]: v for k, v in payload.items() if k.startswith(prefix)}  # noqa: E731
    return Analysis(
        report=GeneReport.from_payload(part("report.")),
        weights=payload["weights"],
        tree=TreeResult.from_payload(part("tree.")),
        heldout=payload.get("heldout"),
        models=models,
    )


class _AnalysisJob(CachedJob):
    """The per-target analysis; its ``"atlas"`` model set is the instant view, computed on request."""

    def result(self, *, source: str = DEFAULT_DATASET, target: str, models: str = "all") -> Analysis | None:
        if models == ATLAS_SET:
            return quick_analysis(target, source=source)
        return super().result(source=source, target=target, models=models)


#: A target's full analysis: ``analysis.run(set_progress, target=, models=, source=)``;
#: ``analysis.result(...)`` is an :class:`Analysis` (for ``models="atlas"`` the instant view).
analysis = _AnalysisJob(ANALYSIS, KIND, _analysis, load=_analysis_from,
                        key_params=lambda target, models, source: {"target": target, "models": models,
                                                                   "test_size": 0.25, "random_state": 0})


# --- the instant view: the atlas's protocol for one target ----------------------------------

QUICK = "essentiality.quick"
ATLAS_SET = "atlas"


def _atlas_split(source: str):
    from core.essentiality import atlas_split

    data = dataset(KIND, source)
    return atlas_split(data.expression.index.intersection(data.effect.index), **ATLAS_SPLIT)


def quick_analysis(target: str, *, source: str = DEFAULT_DATASET) -> Analysis:
    """A target's analysis with the atlas's fast models on the dataset's split: what a gene page opens with.

    The same computation as the target's atlas row (so the page and the atlas
    agree), plus the per-lineage weights and the tree. Takes a fraction of a
    second once the expression of the training cells is prepared, and is stored.

    Raises
    ------
    core.errors.InputError
        The target has no gene effect in the dataset, or too few cell lines.
    """
    from core.essentiality import evaluate_gene, fit_tree, lineage_weights

    params = {"target": target, **ATLAS_SPLIT, "models": list(_models(ATLAS_SET))}

    def compute():
        data = _target_data(target, source)
        effect, lineage = data.effect[target], lineages(data)
        split = _atlas_split(source)
        report = evaluate_gene(data.expression, effect, lineage=lineage, split=split, models=_models(ATLAS_SET),
                               random_state=ATLAS_SPLIT["random_state"])
        weights = lineage_weights(data.expression, effect, report.modifiers, lineage)
        tree = fit_tree(data.expression, effect, report.modifiers, random_state=0, split=split)
        payload = {f"report.{k}": v for k, v in report.to_payload().items()}
        payload.update({f"tree.{k}": v for k, v in tree.to_payload().items()})
        payload["weights"] = weights
        return payload

    key = make_key(QUICK, dataset_hash(KIND, source), params)
    return _analysis_from(store().get_or_compute(key, compute), ATLAS_SET)


# --- the atlas: every target, once per dataset --------------------------------------------

ATLAS = "essentiality.atlas"
ATLAS_SPLIT = {"test_size": 0.25, "random_state": 0}


def atlas_models_text() -> str:
    """The atlas's models by their labels, for page texts."""
    from core.essentiality import ATLAS_MODELS, MODEL_LABELS

    return ", ".join(MODEL_LABELS[m] for m in ATLAS_MODELS)


def atlas_params() -> dict:
    from core.essentiality import ATLAS_MODELS

    return {**ATLAS_SPLIT, "models": list(ATLAS_MODELS), "top_k": 20, "fdr": 0.05}


def atlas_folder(source: str = DEFAULT_DATASET) -> Path:
    """Where an atlas build keeps its finished batches (resumable; partial results readable while it runs)."""
    return get_settings().cache_dir / "atlas" / dataset_hash(KIND, source)


def _atlas(report, *, source: str) -> dict:
    """Every target of dataset ``source`` (resumable; Dask when configured).

    Progress is also written to ``progress.json`` in :func:`atlas_folder`, so
    other processes (the Datasets and atlas pages) can say how far it has come
    without loading the dataset.
    """
    from core.essentiality import build_atlas

    folder = atlas_folder(source)
    folder.mkdir(parents=True, exist_ok=True)
    data = dataset(KIND, source)
    total = data.effect.shape[1]

    def progress(fraction, message):
        _write_json(folder / PROGRESS_FILE, {"done": int(round(fraction * total)), "total": total})
        report(fraction, message)

    params = atlas_params()
    table = build_atlas(data.expression, data.effect, store=folder, scheduler=get_settings().dask_scheduler,
                        progress=progress, models=params["models"], top_k=params["top_k"],
                        fdr=params["fdr"], **ATLAS_SPLIT)
    return {"table": table}


#: The atlas of a dataset: ``atlas.run(set_progress, source=)``; ``atlas.result(source=)`` is the table
#: indexed by target, or None while it is not built.
atlas = CachedJob(ATLAS, KIND, _atlas, key_params=lambda source: atlas_params(),
                  load=lambda payload: payload["table"].set_index("target", drop=False))


PROGRESS_FILE, BUILDER_FILE = "progress.json", "builder.pid"


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def _builder_alive(source: str) -> bool:
    try:
        os.kill(int((atlas_folder(source) / BUILDER_FILE).read_text()), 0)
        return True
    except (OSError, ValueError):
        return False


def start_atlas_build(source: str) -> bool:
    """Build the atlas of dataset ``source`` in a detached process, unless it is built or being built.

    The process (``python -m dashboard.services.prebuild --atlas SOURCE``)
    outlives the request that started it; :func:`atlas_progress` reads how far
    it has come. Returns whether a build was started.
    """
    import subprocess
    import sys

    if atlas.result(source=source) is not None or _builder_alive(source):
        return False
    folder = atlas_folder(source)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "builder.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "dashboard.services.prebuild", "--atlas", source],
                                   cwd=Path(__file__).resolve().parents[2], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    (folder / BUILDER_FILE).write_text(str(process.pid))
    return True


def atlas_progress(source: str = DEFAULT_DATASET) -> tuple[int, int] | None:
    """(targets finished, targets in all) of dataset ``source``'s atlas, or None when no build has started."""
    try:
        state = json.loads((atlas_folder(source) / PROGRESS_FILE).read_text())
        return int(state["done"]), int(state["total"])
    except (OSError, ValueError, KeyError):
        return None


def atlas_state(source: str) -> str:
    """A short description of a dataset's atlas: built, building (how far), stopped or not started."""
    if atlas.result(source=source) is not None:
        return "atlas built"
    progress = atlas_progress(source)
    if progress is None:
        return "atlas starting" if _builder_alive(source) else "no atlas yet"
    done, total = progress
    if _builder_alive(source):
        return f"atlas: {done:,} of {total:,} targets"
    return f"atlas: {done:,} of {total:,} targets (stopped; build it on the atlas page)"


def atlas_row(target: str, source: str = DEFAULT_DATASET) -> dict | None:
    """One target's atlas row, or None (no atlas yet, or not a target)."""
    table = atlas.result(source=source)
    if table is None or target not in table.index:
        return None
    return table.loc[target].to_dict()


# --- the paper's published results (real DepMap data, CC BY 4.0) ---------------------------------

@functools.lru_cache(maxsize=1)
def _published():
    from core.datasets.published import load_published

    return load_published()


def published_text(gene: str, source: str = DEFAULT_DATASET) -> str:
    """What Rosenski et al. (2023) published for ``gene`` on DepMap, as one sentence with its source."""
    from core.datasets.published import CITATION

    try:
        row = _published().gene(gene)
    except InputError as exc:
        return str(exc)
    beside = " These are real published results, shown beside the simulated demo data." if source == DEFAULT_DATASET \
        else ""
    if row is None:
        return (f"Published (Rosenski et al. 2023, DepMap CRISPR): no result for {gene} among the paper's "
                f"{len(_published().performance):,} genes.")
    top = ", ".join(f"{name} ({importance:.2f})" for name, importance in row["modifiers"][:3])
    mods = f"; top modifiers by XGBoost importance: {top}" if top else ""
    return (f"Published (Rosenski et al. 2023, DepMap CRISPR): test r {row['test_pearson']:.2f} "
            f"(p = {row['test_pearson_p']:.1e}, BH q = {row['q']:.1e}) with {row['model']} on 200 held-out cell "
            f"lines{mods}.{beside} Source: {CITATION}.")


def published_comparison(source: str = DEFAULT_DATASET) -> pd.DataFrame | None:
    """Per gene in both this dataset's atlas and the paper's table: the two test Pearson r (None without an atlas).

    Columns ``gene, atlas_test_pearson, atlas_chosen_model, published_test_pearson, published_model``.
    On the simulated demo the overlap holds only the planted real symbols, whose numbers are simulated.
    """
    table = atlas.result(source=source)
    if table is None:
        return None
    performance = _published().performance
    shared = table.index.intersection(performance.index)
    frame = pd.DataFrame({
        "gene": shared,
        "atlas_test_pearson": table.loc[shared, "test_pearson"].to_numpy(float),
        "atlas_chosen_model": table.loc[shared, "chosen_model"].to_numpy(),
        "published_test_pearson": performance.loc[shared, "test_pearson"].to_numpy(float),
        "published_model": performance.loc[shared, "model"].to_numpy(),
    })
    return frame.dropna(subset=["atlas_test_pearson", "published_test_pearson"]).reset_index(drop=True)


# --- one vs many modifiers and cross-validation (Rosenski et al. 2023, Fig. 3C-E) ----------

CV = "essentiality.cv"
CV_FOLDS = 5


def modifier_counts(target: str, models: str = ATLAS_SET, *, source: str = DEFAULT_DATASET):
    """Linear models on the top 1, 5 and all modifiers of the shown analysis, on its own train/test split.

    Computed from the stored analysis (quick view or full run) in well under a
    second: three least-squares fits on at most the target's modifiers.

    Returns
    -------
    (core.essentiality.ModifierCounts, Analysis) or None
        None when the analysis has not been run.
    """
    from core.essentiality import report_modifier_counts

    shown = analysis.result(target=target, models=models, source=source)
    if shown is None:
        return None
    data = _target_data(target, source)
    return report_modifier_counts(data.expression, data.effect[target], shown.report), shown


def _cv(report, *, source: str, target: str, models: str) -> dict:
    """The target's analysis under 5-fold cross-validation (``evaluate_gene(cv=5)``).

    Every cell line is tested once; modifiers are selected and models chosen
    within each fold's training lines.
    """
    from core.essentiality import evaluate_gene

    data = _target_data(target, source)
    gene_report = evaluate_gene(data.expression, data.effect[target], lineage=lineages(data), cv=CV_FOLDS,
                                models=_models(models), random_state=0, progress=report)
    return {f"report.{k}": v for k, v in gene_report.to_payload().items()}


def _cv_from(payload: dict, **_):
    from core.essentiality import GeneReport, cv_folds

    report = GeneReport.from_payload({k[len("report."):]: v for k, v in payload.items() if k.startswith("report.")})
    return report, cv_folds(report)


#: A target's 5-fold cross-validation: ``cv.run(set_progress, target=, models=, source=)``; ``cv.result(...)``
#: is the report (pooled out-of-fold predictions) and :func:`core.essentiality.cv_folds`'s table.
cv = CachedJob(CV, KIND, _cv, load=_cv_from,
               key_params=lambda target, models, source: {"target": target, "models": models, "cv": CV_FOLDS,
                                                          "random_state": 0})


def pooled_interval(report) -> tuple[float, float]:
    """The 95% interval (Fisher z) of a report's test Pearson r over its test cell lines."""
    from core.essentiality.counts import pearson_ci

    return pearson_ci(report.test_pearson, int((report.predictions["split"] == "test").sum()))


def published_citation() -> str:
    """How texts cite the paper whose published results sit beside ours."""
    from core.datasets.published import CITATION

    return CITATION
