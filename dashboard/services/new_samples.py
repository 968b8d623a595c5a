"""Essentiality of new samples (Rosenski et al. 2023): the page's choices, uploads and predictions.

New samples come from one of three places: the demo's SIMULATED developmental tissues
(:mod:`core.datasets.new_samples_demo`), the expression table of a registered DepMap-like dataset
(grouped by lineage), or an uploaded CSV/TSV (samples x genes, optional group column). The target's
model is trained on the page's reference dataset with the fast models and kept in memory per process.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import pandas as pd

from core.errors import InputError
from dashboard import services
from dashboard.services import DEFAULT_DATASET, dataset, is_demo

KIND = "essentiality"
DEMO_SET = "demo-tissues"
UPLOAD = "upload"
#: Column names taken as the group column of an uploaded table (case-insensitive).
GROUP_NAMES = ("group", "tissue", "lineage", "cell_type", "celltype", "cluster", "tumour_type", "tumor_type")
MIN_SAMPLES = 3


@dataclass
class NewSamples:
    """A table of new samples and how the page names it."""

    expression: pd.DataFrame
    groups: pd.Series | None
    label: str
    simulated: bool


def sample_set_options(source: str = DEFAULT_DATASET) -> list[dict[str, str]]:
    """Dropdown options: the demo's simulated tissues, every registered expression table, an uploaded file."""
    options = [{"label": "Developmental tissues demo (simulated)", "value": DEMO_SET}]
    options += [{"label": f"{entry.name} (registered, by lineage)", "value": entry.ident}
                for entry in services.registry().entries(KIND) if entry.ident != source]
    options.append({"label": "Uploaded file", "value": UPLOAD})
    return options


def pick_sample_set(requested: str | None, source: str = DEFAULT_DATASET) -> str:
    values = [o["value"] for o in sample_set_options(source)]
    return requested if requested in values else DEMO_SET


def is_simulated(source: str, sample_set: str) -> bool:
    """True when the reference or the new samples are simulated (the page then shows the banner)."""
    return is_demo(source) or sample_set == DEMO_SET


@functools.lru_cache(maxsize=1)
def demo_samples():
    """The simulated developmental tissues, made in memory from the essentiality demo (seed 0)."""
    from core.datasets.new_samples_demo import make_new_samples_demo

    return make_new_samples_demo(dataset(KIND, DEFAULT_DATASET))


# --- uploads ---------------------------------------------------------------------------------------

def parse_table(data: bytes, name: str) -> tuple[pd.DataFrame, pd.Series | None]:
    """An uploaded samples x genes table: the first column holds sample ids, an optional group column.

    The group column is the one named like :data:`GROUP_NAMES`, or else the only non-numeric
    column. Raises :class:`InputError` naming what to fix.
    """
    text = data.decode("utf-8-sig", errors="replace")
    first = text.split("\n", 1)[0]
    sep = "\t" if name.lower().endswith((".tsv", ".txt", ".tab")) or first.count("\t") > first.count(",") else ","
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, index_col=0)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{name}: could not be read as a {'TSV' if sep == chr(9) else 'CSV'} table ({exc})") from None
    if table.shape[1] == 0 or len(table) < MIN_SAMPLES:
        raise InputError(f"{name}: needs at least {MIN_SAMPLES} samples (rows) and gene columns; the first column "
                         "must hold sample ids")
    table.index = table.index.astype(str)
    table.columns = [str(c).strip() for c in table.columns]
    named = [c for c in table.columns if c.lower() in GROUP_NAMES]
    numeric = table.apply(pd.to_numeric, errors="coerce")
    text_columns = [c for c in table.columns if numeric[c].isna().all() and table[c].notna().any()]
    group_column = named[0] if named else (text_columns[0] if len(text_columns) == 1 else None)
    other_text = [c for c in text_columns if c != group_column]
    if other_text:
        raise InputError(f"{name}: columns {', '.join(other_text[:5])} are not numbers; keep one group column "
                         f"(named e.g. 'group' or 'tissue') and numeric gene columns")
    genes = [c for c in table.columns if c != group_column]
    if not genes:
        raise InputError(f"{name}: has no gene columns (gene symbols as column names, one row per sample)")
    groups = None
    if group_column is not None:
        groups = table[group_column].astype(object).where(table[group_column].notna(), None)
        groups = groups.dropna().astype(str).reindex(table.index)
        groups.name = group_column
    return numeric[genes], groups


def stage(contents: str | None, filename: str | None) -> dict:
    """Stage an upload (see :func:`dashboard.services.datasets.stage_upload`) and check it parses.

    Returns ``token``, ``name``, ``n_samples``, ``n_genes`` and ``group_column`` for the page's store.
    """
    from dashboard.services.datasets import stage_upload

    staged = stage_upload(contents, filename)
    expression, groups = load_upload(staged["token"])
    return {**staged, "n_samples": len(expression), "n_genes": expression.shape[1],
            "group_column": None if groups is None else groups.name}


@functools.lru_cache(maxsize=4)
def load_upload(token: str) -> tuple[pd.DataFrame, pd.Series | None]:
    from dashboard.services.datasets import staged_path

    path = staged_path(token)
    return parse_table(path.read_bytes(), path.name)


def new_samples(sample_set: str, upload: dict | None = None) -> NewSamples:
    """The chosen new samples."""
    if sample_set == DEMO_SET:
        demo = demo_samples()
        return NewSamples(demo.expression, demo.groups, "developmental tissues demo (simulated)", True)
    if sample_set == UPLOAD:
        if not upload or not upload.get("token"):
            raise InputError("Upload a CSV or TSV of new samples (samples in rows, gene symbols as columns, "
                             "optionally a 'group' column) to predict their essentiality.")
        expression, groups = load_upload(upload["token"])
        return NewSamples(expression, groups, f"uploaded file {upload.get('name', '')}".strip(), False)
    from dashboard.services.essentiality import lineages

    data = dataset(KIND, sample_set)
    name = services.registry().find(KIND, sample_set).name
    return NewSamples(data.expression, lineages(data), f"registered dataset {name} (groups: lineages)", False)


# --- prediction ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def reference_model(target: str, source: str = DEFAULT_DATASET, genes: tuple[str, ...] | None = None):
    """The target's model on the reference (fast models, seed 0), restricted to ``genes`` when given."""
    from core.essentiality import FAST_MODELS, fit_reference_model

    data = dataset(KIND, source)
    if target not in data.effect.columns:
        raise InputError(f"{target} has no gene-effect scores in the reference dataset; pick one of its targets.")
    return fit_reference_model(data.expression, data.effect[target], models=FAST_MODELS, random_state=0,
                               genes=None if genes is None else list(genes))


def predict(target: str, source: str, sample_set: str, upload: dict | None = None, fdr: float = 0.05):
    """Predict ``target`` in the chosen new samples; returns (:class:`NewSamplePrediction`, :class:`NewSamples`).

    When the new samples lack some of the model's modifier genes the model is retrained on the
    genes they have, and the missing ones are listed in ``missing_modifiers``.
    """
    from core.essentiality import predict_essentiality

    samples = new_samples(sample_set, upload)
    data = dataset(KIND, source)
    model = reference_model(target, source)
    missing = [g for g in model.modifiers if g not in samples.expression.columns]
    if missing:
        shared = tuple(sorted(set(map(str, samples.expression.columns)) & set(map(str, data.expression.columns))))
        model = reference_model(target, source, shared)
    result = predict_essentiality(data.expression, data.effect[target], samples.expression, samples.groups,
                                  model=model, fdr=fdr)
    result.missing_modifiers = missing
    return result, samples
