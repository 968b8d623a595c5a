"""A single-cell file's own cell annotations and embeddings, as DKO's cell table carries them.

The annotations and embeddings travel as columns of the cell table
(``DKOData.cells``): ``obs:<column>`` for each annotation with 2 to
:data:`MAX_GROUPS` values (a grouping: heatmap, violins, cell picker),
``text:<column>`` for one with more (shown as text, not colours), and
``obsm:<key>:1``, ``obsm:<key>:2`` for the first two coordinates of each
embedding; :func:`cell_groupings`, :func:`text_annotations` and
:func:`cell_embeddings` read them back.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.errors import InputError

MAX_GROUPS = 40  # an obs column with more categories is kept as text, not offered as colours
OBS_PREFIX = "obs:"
OBSM_PREFIX = "obsm:"
TEXT_PREFIX = "text:"


@dataclass
class Annotations:
    """A file's cell annotations, split by how the DKO page can show them.

    Attributes
    ----------
    groupings
        Column -> labels of each cell, for columns with 2 to :data:`MAX_GROUPS` categories.
    text
        Column -> labels of columns with more categories (shown as text, not colours).
    """

    groupings: dict[str, pd.Series]
    text: dict[str, pd.Series]


def annotations(obs: pd.DataFrame) -> Annotations:
    """Categorical (and text or boolean) ``obs`` columns as groupings or, when they have many values, text.

    Parameters
    ----------
    obs : pandas.DataFrame
        Per-cell annotations (AnnData's ``obs``).
    """
    groupings, text = {}, {}
    for column in obs.columns:
        values = obs[column]
        if not (isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object or values.dtype == bool
                or pd.api.types.is_string_dtype(values.dtype)):
            continue
        labels = values.astype(str).where(values.notna(), "unlabelled")
        n = labels.nunique()
        if isinstance(values.dtype, pd.CategoricalDtype):
            n = max(n, len(values.cat.categories))
        if n > MAX_GROUPS:
            text[str(column)] = labels
        elif n >= 2:
            groupings[str(column)] = labels
    return Annotations(groupings, text)


def default_grouping(names) -> str | None:
    """The annotation shown first: a cell-type-like column name if there is one, else the first.

    Parameters
    ----------
    names : sequence of str
        Annotation names.
    """
    names = list(names)
    for hint in ("cell_type", "celltype", "cell type", "bulk_labels", "labels", "leiden", "louvain", "cluster"):
        for name in names:
            if hint in name.lower():
                return name
    return names[0] if names else None


def cell_table(file) -> tuple[pd.DataFrame, dict]:
    """The cell table of DKO's page data and what it holds.

    Parameters
    ----------
    file
        A :class:`core.datasets.scverse.SingleCellFile`.

    Returns
    -------
    (cells, info)
        ``cells`` has index ``cell``, column ``cell_type`` (the default grouping,
        or empty text), one ``obs:<column>`` column per annotation and
        ``obsm:<key>:1``/``:2`` per embedding. ``info`` lists ``groupings``,
        ``text`` columns (with their numbers of values) and ``embeddings``.
    """
    notes = annotations(file.obs.reindex(file.cells) if len(file.obs.columns) else pd.DataFrame(index=file.cells))
    default = default_grouping(notes.groupings)
    cells = pd.DataFrame({"cell_type": notes.groupings[default].to_numpy() if default else ""},
                         index=pd.Index(file.cells, name="cell"))
    for column, labels in notes.groupings.items():
        cells[f"{OBS_PREFIX}{column}"] = labels.to_numpy()
    for column, labels in notes.text.items():
        cells[f"{TEXT_PREFIX}{column}"] = labels.to_numpy()
    for key, xy in file.obsm.items():
        cells[f"{OBSM_PREFIX}{key}:1"] = xy[:, 0]
        cells[f"{OBSM_PREFIX}{key}:2"] = xy[:, 1]
    info = {"groupings": list(notes.groupings), "default_grouping": default,
            "text": {c: int(v.nunique()) for c, v in notes.text.items()}, "embeddings": list(file.obsm)}
    return cells, info


def cell_groupings(cells: pd.DataFrame) -> dict[str, pd.Series]:
    """Annotation column -> label per cell, for the annotations that can be colours (see :func:`cell_table`).

    Parameters
    ----------
    cells : pandas.DataFrame
        A cell table.
    """
    return {str(c)[len(OBS_PREFIX):]: cells[c].astype(str) for c in cells.columns if str(c).startswith(OBS_PREFIX)}


def text_annotations(cells: pd.DataFrame) -> dict[str, pd.Series]:
    """Annotation columns with more than :data:`MAX_GROUPS` values (shown as text).

    Parameters
    ----------
    cells : pandas.DataFrame
        A cell table.
    """
    return {str(c)[len(TEXT_PREFIX):]: cells[c].astype(str) for c in cells.columns if str(c).startswith(TEXT_PREFIX)}


def cell_embeddings(cells: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Embedding name -> ``cell, x, y`` from the ``obsm:`` columns of a cell table.

    Parameters
    ----------
    cells : pandas.DataFrame
        A cell table.
    """
    out = {}
    for column in cells.columns:
        text = str(column)
        if text.startswith(OBSM_PREFIX) and text.endswith(":1"):
            key = text[len(OBSM_PREFIX):-2]
            second = f"{OBSM_PREFIX}{key}:2"
            if second in cells.columns:
                out[key] = pd.DataFrame({"cell": cells.index.astype(str), "x": cells[column].to_numpy(dtype=float),
                                         "y": cells[second].to_numpy(dtype=float)})
    return out


def embedding_title(key: str) -> str:
    """``X_umap`` -> ``UMAP``, ``X_tsne`` -> ``t-SNE``, ``X_pca`` -> ``PCA``; other keys as they are.

    Parameters
    ----------
    key : str
        An ``obsm`` key.
    """
    base = key[2:] if key.lower().startswith("x_") else key
    return {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA", "diffmap": "diffusion map", "draw_graph_fa": "FA2 graph"
            }.get(base.lower(), base)


def cell_grouping(cells: pd.DataFrame, column: str, source: str = "this dataset") -> pd.Series:
    """The labels of one annotation to group cells by (from a cell table, see :func:`cell_table`).

    Parameters
    ----------
    cells : pandas.DataFrame
        A cell table.
    column : str
        The annotation.
    source : str
        The dataset's name, for messages.

    Raises
    ------
    core.errors.InputError
        An annotation with too many values to colour (kept as text), or an unknown one.
    """
    groupings = cell_groupings(cells)
    if column in groupings:
        return groupings[column].rename(column)
    choices = ", ".join(groupings) or "none (k-means clusters only)"
    text = text_annotations(cells)
    if column in text:
        raise InputError(f"{source}: the annotation {column!r} has {text[column].nunique():,} different values, too "
                         f"many to tell apart by colour, so it is shown as text only; group cells by one with at most "
                         f"{MAX_GROUPS} values: {choices}")
    raise InputError(f"{source}: no cell annotation {column!r}; annotations to group by: {choices}")
