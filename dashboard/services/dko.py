"""DKO services: training + full knockout sweep and double knockouts as cached background jobs.

The sweep trains twice, as the authors' two notebooks do: once on 80 % of the
cells to score held-out predictions (step 1), once on all cells for the
knockouts (step 2). The page uses ``val_every=5`` (validation every fifth step
instead of every step) to keep a sweep on the demo to seconds; the model
chosen is otherwise the authors' (best validation Bray-Curtis).

Every function takes the dataset as ``source``: ``"demo"`` or the id of a
registered single-cell matrix (see :mod:`core.datasets.registry`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import InputError
from dashboard.text import plural
from dashboard.services import DEFAULT_DATASET, CachedJob, check_int, clamp_int, dataset

KIND = "dko"
SWEEP = "dko.sweep"
DOUBLE = "dko.double"
DEFAULT_STEPS = 2000
STEPS_RANGE = (50, 20000)
VAL_EVERY = 5
SEED = 0
N_CLUSTERS = 8
MIN_CLUSTER_CELLS = 10  # fewer clusters than N_CLUSTERS on small datasets: about this many cells a cluster
CODE_VERSION = "1"


def sweep_params(steps: int) -> dict:
    return {"n_steps": int(steps), "val_every": VAL_EVERY, "seed": SEED, "n_clusters": N_CLUSTERS}


def steps_value(value) -> int:
    """Training steps for a control: its value clipped to the allowed range, or the default."""
    return clamp_int(value, DEFAULT_STEPS, *STEPS_RANGE)


def check_steps(steps) -> int:
    """Training steps from a control value (InputError when out of range)."""
    return check_int(steps, "training steps", *STEPS_RANGE, " (the authors use 5,000)")


def n_clusters(matrix: pd.DataFrame) -> int:
    """How many k-means clusters a genes x cells impact matrix supports.

    ``N_CLUSTERS`` on the demo; fewer when there are fewer than
    ``MIN_CLUSTER_CELLS`` cells per cluster or fewer distinct impact profiles
    than clusters (k-means would leave clusters empty).
    """
    distinct = len(np.unique(np.nan_to_num(matrix.to_numpy().T, nan=0.0), axis=0))
    return max(1, min(max_clusters(matrix.shape[1]), distinct))


def max_clusters(n_cells: int) -> int:
    """The most impact clusters a dataset of ``n_cells`` cells gets (``N_CLUSTERS`` unless cells are few)."""
    return max(1, min(N_CLUSTERS, n_cells // MIN_CLUSTER_CELLS))


def _sweep(report, *, source: str, steps: int) -> dict:
    """Held-out evaluation, training on all cells, all single knockouts, clustering (see :data:`sweep`)."""
    from core.dko import DKO, cell_embedding, cluster_impacts, heldout_evaluation, impact_matrix, knockout_impacts

    n_steps = check_steps(steps)
    expr = dataset(KIND, source).expression
    held = heldout_evaluation(expr, seed=SEED, n_steps=n_steps, val_every=VAL_EVERY,
                              progress=lambda f, m: report(0.4 * f, f"step 1 (held-out cells): {m}"))
    model = DKO(n_steps=n_steps, val_every=VAL_EVERY, random_state=SEED).fit(
        expr, progress=lambda f, m: report(0.4 + 0.4 * f, f"step 2 (all cells): {m}"))
    table = knockout_impacts(model, expr, progress=lambda f, m: report(0.8 + 0.15 * f, m))
    report(0.96, "clustering cells by impact")
    matrix = impact_matrix(table, expr.index, expr.columns)
    clusters = cluster_impacts(matrix, n_clusters=n_clusters(matrix), seed=SEED)
    weights = model.weights()
    return {
        "per_cell": held.per_cell, "per_gene": held.per_gene,
        "heldout_predicted": held.predicted.to_numpy(), "heldout_cells": list(map(str, held.predicted.columns)),
        "W1": weights["W1"], "b1": weights["b1"], "W2": weights["W2"], "b2": weights["b2"],
        "history": model.history_, "table": table,
        "cell_cluster": clusters.cell_cluster.rename_axis("cell").reset_index(),
        "cell_order": list(map(str, clusters.cell_order)), "gene_order": list(map(str, clusters.gene_order)),
        "embedding": cell_embedding(expr),
        "summary": {"n_steps": n_steps, "best_step": model.best_step_, "best_val_loss": model.best_val_loss_,
                    "fit_seconds": round(model.fit_seconds_, 2), "n_knockouts": int(len(table)),
                    "heldout_median": float(held.per_cell["bray_curtis"].median()),
                    "heldout_model_best_step": held.model.best_step_},
    }


#: Training (held-out cells, then all cells) and every single knockout: ``sweep.run(set_progress, steps=,
#: source=)``, ``sweep.result(steps=, source=)`` (the payload dict, or None).
sweep = CachedJob(SWEEP, KIND, _sweep, key_params=lambda steps, source: sweep_params(check_steps(steps)),
                  code_version=CODE_VERSION)


def cluster_names(payload: dict | None, source: str = DEFAULT_DATASET) -> list[str]:
    """Impact clusters in display order (``C1``, ``C2``, ...): a stored sweep's, or the most a sweep can give."""
    if payload is None:
        return [f"C{i + 1}" for i in range(max_clusters(dataset(KIND, source).expression.shape[1]))]
    return sorted(payload["cell_cluster"]["cluster"].unique(), key=lambda c: int(c[1:]))


def model_from(payload: dict, source: str = DEFAULT_DATASET):
    """The all-cells model of a stored sweep of this dataset."""
    from core.dko import DKO

    weights = {k: payload[k] for k in ("W1", "b1", "W2", "b2")}
    return DKO.from_weights(weights, dataset(KIND, source).expression.index,
                            {"n_steps": payload["summary"].get("n_steps", DEFAULT_STEPS)},
                            payload["summary"]["best_step"], payload["summary"]["best_val_loss"])


def default_gene_set(payload: dict | None, n: int = 6, source: str = DEFAULT_DATASET) -> list[str]:
    """Genes to start with: the largest mean impact after a sweep.

    Before a sweep: the demo's planted keystones, or on a dataset without
    planted truth the genes present in most cells (ties in dataset order),
    which also gives double knockouts the most cells to work on.
    """
    if payload is not None:
        means = payload["table"].groupby("gene")["impact"].mean().sort_values(ascending=False)
        return list(means.index[:n])
    data = dataset(KIND, source)
    if data.keystones:
        return list(data.keystones)[:n]
    present = (data.expression > 0).sum(axis=1)
    return list(map(str, present.sort_values(ascending=False, kind="stable").index[:n]))


def cell_groups(source: str = DEFAULT_DATASET) -> pd.Series | None:
    """Cell type per cell, or None when the dataset names no cell types (one group then).

    Cells without a type in a partly annotated dataset are called ``unlabelled``.
    """
    types = dataset(KIND, source).cells["cell_type"].astype(str)
    if not (types != "").any():
        return None
    return types.replace("", "unlabelled")


def check_gene_set(genes, source: str = DEFAULT_DATASET) -> tuple[str, ...]:
    """A validated, de-duplicated gene set in dataset order."""
    available = list(dataset(KIND, source).expression.index)
    chosen = [g for g in (genes or []) if g]
    unknown = [g for g in chosen if g not in available]
    if unknown:
        raise InputError(f"not in the DKO dataset: {', '.join(unknown[:5])}")
    chosen = [g for g in available if g in set(chosen)]
    if len(chosen) < 2:
        raise InputError("choose at least 2 genes for the double-knockout matrix")
    if len(chosen) > 15:
        raise InputError(f"choose at most 15 genes for the double-knockout matrix ({len(chosen)} chosen)")
    return tuple(chosen)


def double_params(steps: int, genes) -> dict:
    return {**sweep_params(steps), "genes": list(genes)}


def _double(report, *, source: str, steps: int, genes) -> dict:
    from core.dko import double_knockout_impacts

    chosen = check_gene_set(genes, source)
    payload = sweep.result(steps=steps, source=source)
    if payload is None:
        raise InputError("train the model first (Train and knock out), then run the double knockouts")
    table = double_knockout_impacts(model_from(payload, source), dataset(KIND, source).expression,
                                    genes=chosen, progress=report)
    return {"table": table}


#: All pairs of a gene set knocked out together in every cell, with the stored sweep's model (same ``steps``
#: and ``source``): ``double.run(set_progress, steps=, genes=, source=)``, ``double.result(...)`` (the table).
double = CachedJob(DOUBLE, KIND, _double, code_version=CODE_VERSION,
                   key_params=lambda steps, genes, source: double_params(check_steps(steps),
                                                                         check_gene_set(genes, source)),
                   load=lambda payload, **_: payload["table"])


def epistasis_matrix(table: pd.DataFrame, genes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean epistasis and number of cells per gene pair, as symmetric genes x genes matrices."""
    genes = list(genes)
    mean = pd.DataFrame(np.nan, index=genes, columns=genes)
    count = pd.DataFrame(0, index=genes, columns=genes)
    for (g1, g2), part in table.groupby(["gene1", "gene2"]):
        mean.loc[g1, g2] = mean.loc[g2, g1] = part["epistasis"].mean()
        count.loc[g1, g2] = count.loc[g2, g1] = len(part)
    return mean, count


def full_impact_table(steps: int, source: str = DEFAULT_DATASET, grouping: str | None = None) -> pd.DataFrame | None:
    """The sweep's impact table for download (DKO's 1-based ids plus names), or None.

    A last column carries each cell's group under ``grouping`` (see
    :func:`grouping_choices`): named after the file's annotation, or ``cluster``.
    """
    from core.dko import impact_export

    payload = sweep.result(steps=steps, source=source)
    if payload is None:
        return None
    expr = dataset(KIND, source).expression
    table = impact_export(payload["table"], expr.index, expr.columns)
    grouping = check_grouping(grouping, source)
    labels = cell_labels(payload, grouping, source)
    column = "cluster" if grouping == KMEANS else grouping[len(OBS):]
    if column in table.columns:
        column = f"{column} (annotation)"
    table[column] = labels.reindex(table["cell"].astype(str)).to_numpy()
    return table


# --- groupings and embeddings: k-means impact clusters and PCA, or the file's own ---------------------

KMEANS = "kmeans"
OBS = "obs:"
HELLINGER_PCA = "pca"


def grouping_choices(source: str = DEFAULT_DATASET) -> list[dict]:
    """Dropdown options for grouping cells: k-means impact clusters, then the file's annotations."""
    from core.datasets.cell_annotations import cell_groupings

    options = [{"label": "impact clusters (k-means)", "value": KMEANS}]
    for column, labels in cell_groupings(dataset(KIND, source).cells).items():
        options.append({"label": f"{column} ({plural(labels.nunique(), 'group')}, from the file)", "value": f"{OBS}{column}"})
    return options


def default_grouping(source: str = DEFAULT_DATASET) -> str:
    """The file's cell-type-like annotation when it has one, else k-means clusters."""
    column = dataset(KIND, source).params.get("default_grouping")
    values = [o["value"] for o in grouping_choices(source)]
    return f"{OBS}{column}" if column and f"{OBS}{column}" in values else KMEANS


def check_grouping(grouping: str | None, source: str = DEFAULT_DATASET) -> str:
    """A grouping value (None: the default); InputError for an annotation that cannot be a grouping."""
    from core.datasets.cell_annotations import cell_grouping

    if not grouping:
        return default_grouping(source)
    if grouping == KMEANS:
        return grouping
    column = grouping[len(OBS):] if grouping.startswith(OBS) else grouping
    cell_grouping(dataset(KIND, source).cells, column, _name(source))
    return f"{OBS}{column}"


def _name(source: str) -> str:
    from dashboard.services import is_demo, registry

    return "the demo data" if is_demo(source) else registry().find(KIND, source).name


def cell_labels(payload: dict | None, grouping: str, source: str = DEFAULT_DATASET) -> pd.Series:
    """Each cell's group (index: cell): its k-means cluster (needs a sweep) or its annotation."""
    from core.datasets.cell_annotations import cell_grouping

    if grouping == KMEANS:
        if payload is None:
            return pd.Series(dtype=object)
        return payload["cell_cluster"].set_index("cell")["cluster"].rename("cluster")
    return cell_grouping(dataset(KIND, source).cells, grouping[len(OBS):], _name(source))


def group_names(payload: dict | None, grouping: str, source: str = DEFAULT_DATASET) -> list[str]:
    """Groups in display order: ``C1, C2 ...`` for k-means, the annotation's values (largest first) otherwise."""
    if grouping == KMEANS:
        return cluster_names(payload, source)
    return list(cell_labels(payload, grouping, source).value_counts(sort=True).index)


def grouping_title(grouping: str) -> str:
    """How axis titles and methods text name a grouping."""
    return "impact cluster" if grouping == KMEANS else grouping[len(OBS):]


def cell_hover(labels: pd.Series, grouping: str, source: str = DEFAULT_DATASET) -> pd.Series | None:
    """Text shown when pointing at a cell: its group and the file's text annotations (too many values to colour)."""
    from core.datasets.cell_annotations import text_annotations

    parts = [] if labels.empty else [grouping_title(grouping) + ": " + labels.astype(str)]
    for column, values in text_annotations(dataset(KIND, source).cells).items():
        parts.append(column + ": " + values.astype(str))
    if not parts:
        return None
    hover = parts[0]
    for part in parts[1:]:
        hover = hover.str.cat(part.reindex(hover.index), sep="<br>")
    return hover


def embedding_choices(source: str = DEFAULT_DATASET) -> list[dict]:
    """Dropdown options for the cell map: PCA of Hellinger profiles, then the file's embeddings."""
    from core.datasets.cell_annotations import cell_embeddings, embedding_title

    options = [{"label": "PCA of Hellinger profiles (computed here)", "value": HELLINGER_PCA}]
    for key in cell_embeddings(dataset(KIND, source).cells):
        options.append({"label": f"{embedding_title(key)} (the file's {key})", "value": key})
    return options


def default_embedding(source: str = DEFAULT_DATASET) -> str:
    """The file's UMAP, else its t-SNE, else the first of its embeddings, else the PCA computed here."""
    values = [o["value"] for o in embedding_choices(source)]
    for preferred in ("X_umap", "X_tsne"):
        if preferred in values:
            return preferred
    return values[1] if len(values) > 1 else HELLINGER_PCA


def embedding_frame(payload: dict, key: str | None, source: str = DEFAULT_DATASET) -> tuple[pd.DataFrame, tuple]:
    """``cell, pc1, pc2`` of the chosen embedding and its two axis titles."""
    from core.datasets.cell_annotations import cell_embeddings, embedding_title

    key = key or default_embedding(source)
    if key == HELLINGER_PCA:
        frame = payload["embedding"]
        explained = frame.attrs.get("explained", [np.nan, np.nan])
        return frame, (f"PC1 of Hellinger profiles ({explained[0]:.0%})", f"PC2 ({explained[1]:.0%})")
    found = cell_embeddings(dataset(KIND, source).cells)
    if key not in found:
        raise InputError(f"this dataset has no embedding {key!r}; choose one of "
                         f"{', '.join(o['value'] for o in embedding_choices(source))}")
    title = embedding_title(key)
    return found[key].rename(columns={"x": "pc1", "y": "pc2"}), (f"{title} 1", f"{title} 2")


def heatmap_block(payload: dict, cluster: str | None, max_genes: int = 40, max_cells: int = 400,
                  labels: pd.Series | None = None):
    """What the impact heatmap draws: group means, or one group's cells (drill-down).

    Groups are the sweep's k-means clusters, or ``labels`` (a cell's
    annotation, index: cell) when given. Genes are the ``max_genes`` with the
    largest mean impact, in clustering order; a drilled-into group larger than
    ``max_cells`` is thinned evenly along its display order (the title says so).

    Returns
    -------
    (matrix genes x columns, column labels kind, note)
    """
    table = payload["table"]
    top = set(table.groupby("gene")["impact"].mean().nlargest(max_genes).index)
    genes = [g for g in payload["gene_order"] if g in top]
    kmeans = labels is None
    clusters = payload["cell_cluster"].set_index("cell")["cluster"] if kmeans else labels.astype(str)
    if not cluster or cluster == "all":
        matrix = table.pivot(index="gene", columns="cell", values="impact").reindex(columns=clusters.index)
        means = matrix.fillna(0.0).T.groupby(clusters).mean().T
        sizes = clusters.value_counts()
        order = (sorted(means.columns, key=lambda c: int(c[1:])) if kmeans
                 else list(sizes.index[sizes.index.isin(means.columns)]))
        means = means.reindex(index=genes, columns=order)
        means.columns = [f"{c} (n={sizes[c]})" for c in order]
        return means, "cluster" if kmeans else "group", ""
    members = [c for c in payload["cell_order"] if clusters.get(c) == cluster]
    if not members:
        raise InputError(f"{'cluster' if kmeans else 'group'} {cluster} does not exist in this sweep")
    note = ""
    if len(members) > max_cells:
        keep = np.linspace(0, len(members) - 1, max_cells).round().astype(int)
        note = f" (every {len(members) / max_cells:.1f}th of {len(members):,} cells)"
        members = [members[i] for i in keep]
    sub = table[table["cell"].isin(members) & table["gene"].isin(genes)]
    matrix = sub.pivot(index="gene", columns="cell", values="impact").reindex(index=genes, columns=members)
    return matrix, "cell", note
