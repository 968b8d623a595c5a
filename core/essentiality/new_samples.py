"""Essentiality of new samples (Rosenski, Shifman & Kaplan 2023, "predicting essentiality in new samples").

The paper's stated use: train a target's model on cell lines with measured gene effect, apply it to
expression profiles that were never screened (tumours, developmental tissues from the Descartes
atlas) and flag the groups of samples (tissues) whose predictions differ significantly from the mean
prediction (t-test, FDR corrected).

The protocol here:

1. :func:`fit_reference_model` runs :func:`~core.essentiality.evaluate_gene` on the reference
   (modifiers selected on 75 % of the cell lines, the model chosen on a validation split, test r on
   the other 25 %), then refits the chosen model on *all* reference cell lines with those modifiers.
2. The new samples are aligned to the modifier genes by gene symbol and put on the reference's
   expression scale (:func:`align_scale`).
3. :func:`group_test` compares each group's predictions with those of all other samples (Welch's
   t-test, BH over groups): a group is flagged when its mean prediction differs from the rest's.

The model extrapolates from cell lines to other material; nothing here corrects for batch or
tissue-composition differences beyond the scale transform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from core.errors import InputError
from core.essentiality.evaluate import NO_MODEL, GeneReport, evaluate_gene
from core.essentiality.models import FAST_MODELS, check_models, make_model
from core.stats import bh_fdr

GROUP_COLUMNS = ["group", "n", "mean_prediction", "t", "p", "q", "flagged"]
#: A table whose largest value exceeds this is taken to be linear (TPM, counts), not log2(TPM+1):
#: log2(TPM+1) of a protein-coding gene rarely exceeds 20 (TPM ~ 10^6), linear TPM of a sample's
#: highest gene is in the thousands.
LINEAR_SCALE_MAX = 50.0
SCALES = ("auto", "log", "linear")
ON_MISSING = ("raise", "retrain")
ALL_SAMPLES = "all samples"


# --- scale ---------------------------------------------------------------------------------------

def detect_scale(expression: pd.DataFrame) -> str:
    """``"linear"`` (TPM-like) when the largest finite value exceeds :data:`LINEAR_SCALE_MAX`, else ``"log"``.

    Parameters
    ----------
    expression : DataFrame
        Samples x genes.

    Returns
    -------
    str
        ``"linear"`` or ``"log"`` (log2(TPM+1)-like).

    Raises
    ------
    core.errors.InputError
        No finite value, or negative values in a table that looks linear.
    """
    values = expression.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InputError("the expression table has no numeric values")
    if finite.max() > LINEAR_SCALE_MAX:
        if finite.min() < 0:
            raise InputError(
                f"the expression has values above {LINEAR_SCALE_MAX:g} (linear TPM?) and below 0; linear TPM "
                "cannot be negative and log2(TPM+1) rarely exceeds 20. Give TPM or log2(TPM+1) values.")
        return "linear"
    return "log"


def align_scale(new: pd.DataFrame, reference: pd.DataFrame, scale: str = "auto") -> tuple[pd.DataFrame, str]:
    """Put ``new`` on the expression scale of ``reference``.

    Both scales are found with :func:`detect_scale` (``scale`` overrides it for ``new``). Linear new
    data and a log2(TPM+1) reference: ``log2(x + 1)``. Log new data and a linear reference:
    ``2**x - 1``. Equal scales: unchanged. No other normalisation is done (quantiles, batch).

    Parameters
    ----------
    new, reference : DataFrame
        Samples x genes.
    scale : {"auto", "log", "linear"}
        The scale of ``new``; ``"auto"`` detects it.

    Returns
    -------
    frame : DataFrame
        ``new`` on the reference's scale (float64).
    transform : str
        ``"none"``, ``"log2(x+1)"`` or ``"2^x-1"``.
    """
    if scale not in SCALES:
        raise InputError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    new_scale = detect_scale(new) if scale == "auto" else scale
    ref_scale = detect_scale(reference)
    frame = new.astype(np.float64)
    if new_scale == ref_scale:
        return frame, "none"
    if new_scale == "linear":
        if (frame < 0).any().any():
            raise InputError("linear expression (TPM) cannot be negative; check the new samples' values")
        return np.log2(frame + 1.0), "log2(x+1)"
    return np.exp2(frame) - 1.0, "2^x-1"


# --- the reference model -------------------------------------------------------------------------

@dataclass
class ReferenceModel:
    """A target's model, fitted on every reference cell line.

    Attributes
    ----------
    target
        Target gene.
    modifiers
        Features of the model (selected on the training cells of ``report``).
    chosen_model
        Zoo name chosen on validation (``"mean"``: no modifier was selected).
    estimator
        The chosen model refitted on all reference cells (None for ``"mean"``).
    mean_effect
        Mean gene effect over the reference cells (the ``"mean"`` model's prediction).
    report
        The :class:`~core.essentiality.GeneReport` of the held-out evaluation (test r and p).
    n_cells
        Reference cell lines the final model was fitted on.
    """

    target: str
    modifiers: list[str]
    chosen_model: str
    estimator: object
    mean_effect: float
    report: GeneReport
    n_cells: int

    def predict(self, expression: pd.DataFrame) -> np.ndarray:
        """Predicted gene effect of samples whose columns hold every modifier (same scale as the reference)."""
        if not self.modifiers or self.estimator is None:
            return np.full(len(expression), self.mean_effect)
        return np.asarray(self.estimator.predict(expression[self.modifiers].to_numpy(np.float64)), dtype=np.float64)


def fit_reference_model(expression: pd.DataFrame, effect: pd.Series, *, models: Sequence[str] | None = FAST_MODELS,
                        random_state: int = 0, genes: Sequence[str] | None = None,
                        **evaluate_options) -> ReferenceModel:
    """Evaluate the target's model on a held-out split, then refit the chosen model on all cell lines.

    Parameters
    ----------
    expression : DataFrame
        Reference cells x genes.
    effect : Series
        The target's gene effect by cell (named after the target).
    models : sequence of str
        Zoo names to choose from (default :data:`~core.essentiality.FAST_MODELS`).
    random_state : int
        Seed of the split and the models.
    genes : sequence of str, optional
        Restrict the candidate modifiers to these genes (e.g. those the new samples have).
    **evaluate_options
        Passed to :func:`~core.essentiality.evaluate_gene` (``top_k``, ``fdr``, ...).

    Returns
    -------
    ReferenceModel
    """
    models = check_models(models)
    if genes is not None:
        keep = expression.columns.intersection(pd.Index(list(genes)))
        if len(keep) == 0:
            raise InputError("the new samples share no gene with the reference expression; are both gene symbols?")
        expression = expression[keep]
    report = evaluate_gene(expression, effect, models=models, random_state=random_state, **evaluate_options)
    y = pd.to_numeric(effect, errors="coerce").dropna().astype(np.float64)
    cells = expression.index.intersection(y.index)
    y = y.loc[cells]
    estimator = None
    if report.chosen_model != NO_MODEL and report.modifiers:
        x = expression.loc[cells, report.modifiers].to_numpy(np.float64)
        estimator = make_model(report.chosen_model, random_state).fit(x, y.to_numpy())
    return ReferenceModel(target=report.target, modifiers=list(report.modifiers), chosen_model=report.chosen_model,
                          estimator=estimator, mean_effect=float(y.mean()), report=report, n_cells=len(cells))


# --- the group test ------------------------------------------------------------------------------

def group_test(predictions: pd.Series, groups: pd.Series | None = None, *, fdr: float = 0.05) -> pd.DataFrame:
    """Does each group's mean prediction differ from that of the other samples?

    For each group: Welch's two-sided t-test (:func:`scipy.stats.ttest_ind` with
    ``equal_var=False``, Welch-Satterthwaite degrees of freedom) of the group's predictions against
    the predictions of all other samples; Benjamini-Hochberg over the tested groups; ``flagged``
    when ``q < fdr``. Comparing with the rest rather than with the mean over all samples keeps the
    group out of its own reference value, and still gives a finite t when a model predicts one
    value for a whole group (a tree leaf, a lost driver). Samples without a prediction (NaN) are
    left out.

    Parameters
    ----------
    predictions : Series
        Predicted gene effect by sample.
    groups : Series, optional
        Group by sample (missing: one group, ``"all samples"``, with nothing to compare and so no test).
    fdr : float
        BH level for ``flagged``.

    Returns
    -------
    DataFrame
        :data:`GROUP_COLUMNS`, one row per group, sorted by ``p`` then ``group``: ``n`` samples,
        ``mean_prediction`` (the group's mean), Welch's ``t`` (positive: the group is predicted less
        essential than the rest), ``p``, BH ``q`` and ``flagged``. ``t``, ``p`` and ``q`` are NaN, and
        the group is not flagged, when the group or the rest has fewer than 2 samples or both are
        constant. ``attrs["mean_prediction"]`` holds the mean prediction over all samples.
    """
    from scipy.stats import ttest_ind

    if not 0 < fdr < 1:
        raise InputError(f"fdr must be between 0 and 1; got {fdr}")
    pred = pd.to_numeric(pd.Series(predictions), errors="coerce")
    if groups is None:
        labels = pd.Series(ALL_SAMPLES, index=pred.index)
    else:
        labels = pd.Series(groups).reindex(pred.index)
        labels = labels.astype(object).where(labels.notna(), "ungrouped").astype(str)
    ok = pred.notna().to_numpy()
    if not ok.any():
        raise InputError("no sample has a prediction")
    values, labels = pred[ok].to_numpy(np.float64), labels[ok].to_numpy()
    rows = []
    for group in sorted(set(labels)):
        inside = labels == group
        v, rest = values[inside], values[~inside]
        t = p = float("nan")
        if len(v) >= 2 and len(rest) >= 2 and (np.ptp(v) > 0 or np.ptp(rest) > 0):
            res = ttest_ind(v, rest, equal_var=False)
            t, p = float(res.statistic), float(res.pvalue)
        rows.append({"group": str(group), "n": int(len(v)), "mean_prediction": float(v.mean()), "t": t, "p": p})
    table = pd.DataFrame(rows, columns=GROUP_COLUMNS[:5])
    tested = table["p"].notna().to_numpy()
    table["q"] = np.nan
    if tested.any():
        table.loc[tested, "q"] = bh_fdr(table.loc[tested, "p"].to_numpy())
    table["flagged"] = (table["q"] < fdr).fillna(False).astype(bool)
    table = table.sort_values(["p", "group"], na_position="last", kind="stable").reset_index(drop=True)
    table.attrs["mean_prediction"] = float(values.mean())
    return table[GROUP_COLUMNS]


# --- the whole use case --------------------------------------------------------------------------

@dataclass
class NewSamplePrediction:
    """The result of :func:`predict_essentiality`.

    Attributes
    ----------
    target
        Target gene.
    predictions
        Predicted gene effect by new sample (NaN where a modifier's value is missing).
    groups
        :func:`group_test`'s table.
    mean_prediction
        Mean prediction over all predicted samples.
    model
        The :class:`ReferenceModel` applied.
    transform
        Scale transform applied to the new samples (see :func:`align_scale`).
    missing_modifiers
        Modifiers of the full-reference model absent from the new samples (non-empty only with
        ``on_missing="retrain"``).
    incomplete_samples
        Samples left unpredicted for a missing modifier value.
    fdr
        BH level of ``groups["flagged"]``.
    """

    target: str
    predictions: pd.Series
    groups: pd.DataFrame
    mean_prediction: float
    model: ReferenceModel
    transform: str
    missing_modifiers: list[str] = field(default_factory=list)
    incomplete_samples: list[str] = field(default_factory=list)
    fdr: float = 0.05


def _clean_new(new_expression: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(new_expression, pd.DataFrame) or new_expression.empty:
        raise InputError("the new samples must be a non-empty samples x genes table")
    frame = new_expression.copy()
    frame.columns = pd.Index([str(c).strip() for c in frame.columns])
    if frame.columns.has_duplicates:
        dup = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise InputError(f"the new samples repeat gene column(s) {', '.join(dup[:10])}; give each gene once")
    if frame.index.has_duplicates:
        raise InputError("the new samples repeat sample ids; give each sample once")
    frame = frame.apply(pd.to_numeric, errors="coerce").astype(np.float64)
    return frame.where(np.isfinite(frame))  # infinities count as missing values


def predict_essentiality(expression: pd.DataFrame, effect: pd.Series, new_expression: pd.DataFrame,
                         groups: pd.Series | None = None, *, models: Sequence[str] | None = FAST_MODELS,
                         random_state: int = 0, fdr: float = 0.05, scale: str = "auto", on_missing: str = "raise",
                         model: ReferenceModel | None = None, **evaluate_options) -> NewSamplePrediction:
    """Predict a target's gene effect in new samples and flag groups whose predictions differ from the rest.

    The model is trained on the reference (:func:`fit_reference_model`: modifier selection, model
    choice on validation, test on 25 % held out, then a refit on all cell lines); the new samples
    are aligned by gene symbol and put on the reference's scale (:func:`align_scale`); each group is
    tested by :func:`group_test`: Welch's two-sided t-test of the group's predictions against those
    of all other new samples, Benjamini-Hochberg over groups, flagged at ``q < fdr``.

    Parameters
    ----------
    expression : DataFrame
        Reference cell lines x genes (e.g. DepMap log2(TPM+1)).
    effect : Series
        The target's gene effect by reference cell line; its name is the target.
    new_expression : DataFrame
        New samples x genes, columns gene symbols (TPM or log2(TPM+1)).
    groups : Series, optional
        Group by new sample (tissue, tumour type); samples without one form ``"ungrouped"``.
    models : sequence of str
        Zoo names to choose from (default :data:`~core.essentiality.FAST_MODELS`).
    random_state : int
        Seed of the split and the models.
    fdr : float
        BH level for flagging a group.
    scale : {"auto", "log", "linear"}
        Scale of ``new_expression``; ``"auto"`` detects it (:func:`detect_scale`).
    on_missing : {"raise", "retrain"}
        When the new samples lack some of the model's modifier genes: ``"raise"`` an
        :class:`~core.errors.InputError` naming them, or ``"retrain"`` on the reference restricted to
        the genes the new samples have (the missing ones are then listed in ``missing_modifiers``).
    model : ReferenceModel, optional
        An already fitted reference model (skips training; ``expression`` is still used for the scale).
    **evaluate_options
        Passed to :func:`~core.essentiality.evaluate_gene`.

    Returns
    -------
    NewSamplePrediction
        ``.predictions`` (Series by sample) and ``.groups`` (:data:`GROUP_COLUMNS`).

    Raises
    ------
    core.errors.InputError
        Missing modifier genes (with ``on_missing="raise"``), no sample with every modifier, bad
        scale or too little reference data.
    """
    if on_missing not in ON_MISSING:
        raise InputError(f"on_missing must be one of {', '.join(ON_MISSING)}; got {on_missing!r}")
    new = _clean_new(new_expression)
    if model is None:
        model = fit_reference_model(expression, effect, models=models, random_state=random_state, **evaluate_options)
    missing = [g for g in model.modifiers if g not in new.columns]
    if missing:
        if on_missing == "raise":
            raise InputError(
                f"the new samples lack {len(missing)} of the {len(model.modifiers)} modifier genes of "
                f"{model.target}'s model: {', '.join(missing)}. Add these genes (gene symbols as column names) "
                "or retrain on the genes the new samples have.")
        model = fit_reference_model(expression, effect, models=models, random_state=random_state,
                                    genes=list(new.columns), **evaluate_options)
    aligned, transform = align_scale(new, expression, scale)
    values = aligned.reindex(columns=model.modifiers)
    complete = values.notna().all(axis=1).to_numpy() if model.modifiers else np.ones(len(values), dtype=bool)
    if not complete.any():
        raise InputError(f"no new sample has a value for every modifier gene of {model.target} "
                         f"({', '.join(model.modifiers)})")
    pred = np.full(len(values), np.nan)
    pred[complete] = model.predict(values[complete])
    predictions = pd.Series(pred, index=new.index, name=model.target)
    table = group_test(predictions, groups, fdr=fdr)
    return NewSamplePrediction(
        target=model.target, predictions=predictions, groups=table, mean_prediction=table.attrs["mean_prediction"],
        model=model, transform=transform, missing_modifiers=missing,
        incomplete_samples=[str(s) for s in new.index[~complete]], fdr=fdr)
