"""Modifier genes of CRISPR essentiality (Rosenski, Shifman & Kaplan, BMC Med Genomics 16:26, 2023).

* :func:`select_modifiers` -- Pearson / Spearman / chi-squared screens, BH-FDR, top-k union
  (:mod:`~core.essentiality.selection`); :func:`select_modifiers_all` for every target at once.
* :data:`MODEL_NAMES`, :func:`make_model` -- the model zoo (:mod:`~core.essentiality.models`,
  torch MLP in :mod:`~core.essentiality.mlp`).
* :func:`evaluate_gene` -- split, select, fit the zoo, choose on validation, test
  (:mod:`~core.essentiality.evaluate`).
* :func:`lineage_weights`, :func:`fit_tree`, :func:`heldout_lineage_errors` -- the paper's Fig. 5A-F,
  5G and 4.
* :func:`sweep` -- genome-wide, resumable, joblib or Dask.
* :func:`report_modifier_counts`, :func:`cv_folds` -- linear models on the top 1, 5 and all modifiers
  (Fig. 3C-E) and the per-fold view of a cross-validated report (:mod:`~core.essentiality.counts`).
* :func:`enrich_modifiers` -- pathway enrichment of a modifier set (hypergeometric, BH;
  :mod:`~core.essentiality.enrichment`); :func:`top_terms` -- the top term of every target at once.
* :func:`predict_essentiality` -- apply a target's model to new samples and flag groups whose
  predictions differ from the other samples' (Welch's t-test, BH;
  :mod:`~core.essentiality.new_samples`).
* :func:`build_atlas` -- every target with fast models on one split, selection as matrix products
  (:mod:`~core.essentiality.atlas`).

Heavy libraries (torch, xgboost) are imported inside the functions that need them.
"""

from core.essentiality.atlas import ATLAS_COLUMNS, atlas_split, build_atlas
from core.essentiality.counts import (
    COUNT_COLUMNS, FOLD_COLUMNS, ModifierCounts, cv_folds, modifier_counts, rank_modifiers, report_modifier_counts,
)
from core.essentiality.enrichment import ENRICHMENT_COLUMNS, TOP_TERM_COLUMNS, enrich_modifiers, top_terms
from core.essentiality.evaluate import NO_MODEL, GeneReport, evaluate_gene
from core.essentiality.heldout import GLOBAL, heldout_lineage_errors
from core.essentiality.lineage import lineage_weights
from core.essentiality.models import ATLAS_MODELS, FAST_MODELS, MODEL_LABELS, MODEL_NAMES, make_model
from core.essentiality.new_samples import (
    GROUP_COLUMNS, NewSamplePrediction, ReferenceModel, align_scale, detect_scale, fit_reference_model, group_test,
    predict_essentiality,
)
from core.essentiality.screen import correlation_screen
from core.essentiality.selection import TABLE_COLUMNS, TESTS, ModifierSelection, select_modifiers, select_modifiers_all
from core.essentiality.sweep import SWEEP_COLUMNS, add_target_q, summarise_sweep, sweep
from core.essentiality.tree import NODE_COLUMNS, TreeResult, fit_tree

__all__ = [
    "COUNT_COLUMNS", "FOLD_COLUMNS", "ModifierCounts", "cv_folds", "modifier_counts", "rank_modifiers",
    "report_modifier_counts", "TOP_TERM_COLUMNS", "top_terms",
    "ATLAS_COLUMNS", "ATLAS_MODELS", "ENRICHMENT_COLUMNS", "enrich_modifiers", "atlas_split", "build_atlas", "FAST_MODELS", "GLOBAL", "GeneReport", "MODEL_LABELS", "MODEL_NAMES", "ModifierSelection", "NODE_COLUMNS",
    "NO_MODEL", "SWEEP_COLUMNS", "TABLE_COLUMNS", "TESTS", "TreeResult", "correlation_screen", "evaluate_gene",
    "add_target_q", "fit_tree", "heldout_lineage_errors", "lineage_weights", "make_model", "select_modifiers", "select_modifiers_all",
    "summarise_sweep", "sweep",
    "GROUP_COLUMNS", "NewSamplePrediction", "ReferenceModel", "align_scale", "detect_scale", "fit_reference_model",
    "group_test", "predict_essentiality",
]
