"""Figures of the DKO explorer (pure builders: results -> plotly Figure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.text import plural
from dashboard.figures.common import (BLUE, DIVERGING, GREY, QUALITATIVE, RED, base_layout, csv_columns,
                                      diverging_colorbar, lineage_colours, per_col, per_trace, scatter_type,
                                      split_counts)
from dashboard.figures.fit import declare_grid

IMPACT_SCALE = "Viridis"  # impacts are >= 0: a sequential scale
_COLUMN_NAMES = {"cluster": "cell_cluster", "group": "cell_group", "cell": "cell"}


def _snake(text: str) -> str:
    """An axis title as a CSV column name: "UMAP 1" -> "umap_1"."""
    import re

    plain = re.sub(r"\s*\(.*?\)", "", str(text))  # "PC2 (6%)": the share explained is no name
    return re.sub(r"[^0-9a-z]+", "_", plain.lower()).strip("_") or "axis"


def heldout_figure(per_cell: pd.DataFrame) -> go.Figure:
    """Histogram of held-out per-cell Bray-Curtis dissimilarities with the median marked."""
    values = per_cell["bray_curtis"].to_numpy()
    fig = go.Figure(go.Histogram(
        x=values, nbinsx=30, marker={"color": BLUE, "line": {"color": "white", "width": 0.5}},
        customdata=per_cell["cell"].to_numpy(), name="held-out cells",
        hovertemplate="Bray-Curtis %{x}<br>cells: %{y}<extra></extra>",
        meta=csv_columns(cell="customdata", bray_curtis_dissimilarity_predicted_vs_true="x"),
    ))
    median = float(np.median(values))
    fig.add_vline(x=median, line={"color": RED, "width": 2, "dash": "dash"},
                  annotation_text=f"median {median:.3f}", annotation_position="top right",
                  annotation_font={"size": 12, "color": RED})
    base_layout(fig, title=f"Held-out prediction error ({len(values):,} cells never seen in training)",
                x_title="Bray-Curtis dissimilarity, predicted vs true profile (0 = identical)", y_title="cells")
    fig.update_layout(bargap=0.05, showlegend=False)
    return fig


def cell_fit_figure(predicted: pd.Series, true: pd.Series, cell: str, heldout: bool) -> go.Figure:
    """Predicted against true relative abundance of the present genes of one cell."""
    mask = true > 0
    x, y = true[mask], predicted[mask]
    bc = float(np.abs(predicted - true).sum() / np.abs(predicted + true).sum())
    top = max(float(x.max()), float(y.max())) * 1.05
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"color": GREY, "dash": "dot", "width": 1},
                             name="y = x", hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=x.to_numpy(), y=y.to_numpy(), mode="markers", name="present genes", text=x.index.to_numpy(),
        marker={"color": BLUE, "size": 7, "opacity": 0.8, "line": {"color": "white", "width": 0.5}},
        hovertemplate="%{text}<br>true %{x:.4f}<br>predicted %{y:.4f}<extra></extra>",
        meta=csv_columns(gene="text", true_relative_abundance="x", predicted_relative_abundance="y"),
    ))
    where = "held out from training" if heldout else "seen in training"
    base_layout(fig, title=f"{cell} ({where}): {plural(mask.sum(), 'present gene')}, Bray-Curtis {bc:.3f}",
                x_title="true relative abundance", y_title="predicted relative abundance")
    fig.update_layout(legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.8)"})
    fig.update_xaxes(range=[0, top])
    fig.update_yaxes(range=[0, top])
    return fig


def impact_heatmap_figure(matrix: pd.DataFrame, kind: str, title: str, group_title: str | None = None) -> go.Figure:
    """Genes x (clusters, annotation groups or cells) knockout impact; blank = gene absent from the cell.

    ``kind`` is ``cluster``, ``group`` (columns are the groups of the annotation
    ``group_title``) or ``cell``.
    """
    many = matrix.shape[1] > 40
    columns, sizes = split_counts(matrix.columns)
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(), x=list(map(str, matrix.columns)), y=list(map(str, matrix.index)),
        colorscale=IMPACT_SCALE, zmin=0, colorbar={"title": {"text": "impact<br>(Bray-Curtis)", "side": "top"}},
        hovertemplate=f"{kind} %{{x}}<br>gene %{{y}}<br>impact %{{z:.4f}}<extra></extra>", hoverongaps=False,
        meta=csv_columns(gene="y", **{_COLUMN_NAMES.get(kind, kind): per_col(columns)},
                         **({"n_cells": per_col(sizes)} if any(n is not None for n in sizes) else {}),
                         knockout_impact_bray_curtis="z"),
    ))
    x_title = {"cell": "cells (in clustering order)", "group": group_title or "cell group"}.get(kind, "cell cluster")
    base_layout(fig, title=title, x_title=x_title, y_title=None)
    fig.update_xaxes(showticklabels=not many, tickangle=-40, automargin=True, showgrid=False)
    fig.update_yaxes(autorange="reversed", automargin=True, tickfont={"size": 10 if len(matrix) > 40 else 12},
                     showgrid=False, dtick=1)
    fig.update_layout(plot_bgcolor="#f0f0f0")
    return declare_grid(fig, rows=matrix.index, cols=[] if many else matrix.columns)


def impact_violin_figure(values: pd.DataFrame, gene: str, group_title: str | None = None) -> go.Figure:
    """One gene's knockout impact across the cells where it is present, grouped by ``values['cluster']``.

    ``group_title`` names the grouping (default: impact clusters ``C1 ...``; an
    annotation's groups come largest first).
    """
    fig = go.Figure()
    clusters = group_title in (None, "impact cluster")
    order = (sorted(values["cluster"].unique(), key=lambda c: int(str(c)[1:]) if str(c)[1:].isdigit() else str(c))
             if clusters else list(values["cluster"].value_counts().index))
    colours = lineage_colours(str(name) for name in order)
    for i, name in enumerate(order):
        part = values[values["cluster"] == name]
        fig.add_trace(go.Violin(
            x=[f"{name} (n={len(part)})"] * len(part), y=part["impact"].to_numpy(), name=str(name),
            text=part["cell"].to_numpy(), box_visible=True, meanline_visible=True, points="outliers",
            line={"color": QUALITATIVE[i % len(QUALITATIVE)] if clusters else colours[str(name)]}, showlegend=False,
            spanmode="hard",
            hovertemplate="%{text}<br>impact %{y:.4f}<extra>" + str(name) + "</extra>",
            meta=csv_columns(cell="text", **{"cell_cluster" if clusters else "cell_group": per_trace(str(name))},
                             knockout_impact_bray_curtis="y"),
        ))
    by = "cell cluster" if clusters else group_title
    base_layout(fig, title=f"Impact of knocking out {gene}, by {by} ({plural(len(values), 'cell')} where present)",
                x_title=f"{by} (n = cells expressing the gene)", y_title="impact (Bray-Curtis)")
    return fig


def top_genes_figure(cell_table: pd.DataFrame, cell: str, k: int) -> go.Figure:
    """The ``k`` genes whose knockout changes one cell's predicted profile most."""
    top = cell_table.nlargest(k, "impact").iloc[::-1]
    fig = go.Figure(go.Bar(
        x=top["impact"].to_numpy(), y=top["gene"].to_numpy(), orientation="h", marker={"color": BLUE},
        customdata=top["impact_others"].to_numpy(), name="impact",
        hovertemplate="%{y}<br>impact %{x:.4f}<br>on the other genes %{customdata:.4f}<extra></extra>",
        meta=csv_columns(knocked_out_gene="y", knockout_impact_bray_curtis="x",
                         impact_on_other_genes_bray_curtis="customdata"),
    ))
    base_layout(fig, title=f"Top {len(top)} knockouts in {cell} (of {plural(len(cell_table), 'present gene')})",
                x_title="impact (Bray-Curtis, predicted profile after vs before)")
    fig.update_yaxes(automargin=True, tickfont={"size": 12 if len(top) <= 25 else 10}, dtick=1)
    return declare_grid(fig, rows=top["gene"])


def embedding_figure(embedding: pd.DataFrame, impact: pd.Series, gene: str, axes: tuple[str, str] | None = None,
                     hover: pd.Series | None = None) -> go.Figure:
    """Cells in 2-D coloured by one gene's knockout impact.

    ``embedding`` has ``cell, pc1, pc2`` (PCA of Hellinger profiles by default;
    ``axes`` names the axes of another map, e.g. the file's UMAP); ``hover``
    adds text per cell (its group, text annotations).
    """
    frame = embedding.assign(impact=impact.reindex(embedding["cell"]).to_numpy())
    x_column, y_column = ("pc1_hellinger", "pc2_hellinger") if axes is None else (
        _snake(axes[0]), _snake(axes[1]))
    extra = (hover.reindex(frame["cell"]).fillna("").astype(str).to_numpy() if hover is not None
             else np.full(len(frame), ""))
    frame = frame.assign(label=[f"{c}<br>{e}" if e else c for c, e in zip(frame["cell"].astype(str), extra)])
    absent = frame[frame["impact"].isna()]
    present = frame[frame["impact"].notna()]
    explained = embedding.attrs.get("explained", [np.nan, np.nan])
    fig = go.Figure()
    trace = scatter_type(len(frame))
    fig.add_trace(trace(
        x=absent["pc1"].to_numpy(), y=absent["pc2"].to_numpy(), mode="markers", name=f"{gene} absent",
        marker={"color": "#cbd5e0", "size": 5}, text=absent["cell"].to_numpy(), hovertext=absent["label"].to_numpy(),
        hovertemplate="%{hovertext}<br>" + gene + " absent<extra></extra>",
        meta=csv_columns(cell="text", **{x_column: "x", y_column: "y"}, gene_present=per_trace(False)),
    ))
    fig.add_trace(trace(
        x=present["pc1"].to_numpy(), y=present["pc2"].to_numpy(), mode="markers", name=f"{gene} present",
        text=present["cell"].to_numpy(), hovertext=present["label"].to_numpy(),
        marker={"color": present["impact"].to_numpy(), "colorscale": IMPACT_SCALE, "size": 6, "cmin": 0,
                "colorbar": {"title": {"text": "impact", "side": "top"}}},
        hovertemplate="%{hovertext}<br>impact %{marker.color:.4f}<extra></extra>",
        meta=csv_columns(cell="text", **{x_column: "x", y_column: "y"}, gene_present=per_trace(True),
                         knockout_impact_bray_curtis="marker_color"),
    ))
    x_title, y_title = axes or (f"PC1 of Hellinger profiles ({explained[0]:.0%})", f"PC2 ({explained[1]:.0%})")
    base_layout(fig, title=f"Cells coloured by the impact of knocking out {gene}", x_title=x_title, y_title=y_title)
    fig.update_layout(legend={"orientation": "h", "y": -0.18, "x": 0})
    return fig


def epistasis_figure(mean: pd.DataFrame, count: pd.DataFrame) -> go.Figure:
    """Mean epistasis of every pair of a gene set (diverging scale centred at 0)."""
    z = mean.to_numpy(dtype=float)
    bound = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    text = np.where(np.isfinite(z), np.vectorize(lambda v: f"{v:+.3f}")(np.nan_to_num(z)), "")
    fig = go.Figure(go.Heatmap(
        z=z, x=list(mean.columns), y=list(mean.index), colorscale=DIVERGING, zmid=0, zmin=-bound, zmax=bound,
        text=text, texttemplate="%{text}" if len(mean) <= 10 else None, customdata=count.to_numpy(),
        colorbar=diverging_colorbar("epistasis", "less than additive", "more than additive", title={"side": "top"}),
        hoverongaps=False,
        hovertemplate="%{y} + %{x}<br>mean epistasis %{z:.4f}<br>cells: %{customdata}<extra></extra>",
        meta=csv_columns(gene_a="y", gene_b="x", mean_epistasis_bray_curtis="z", n_cells="customdata"),
    ))
    base_layout(fig, title="Double-knockout epistasis: impact(A+B) - impact(A) - impact(B), mean over cells")
    fig.update_xaxes(tickangle=-40, automargin=True, showgrid=False, dtick=1)
    fig.update_yaxes(autorange="reversed", automargin=True, showgrid=False, dtick=1)
    fig.update_layout(plot_bgcolor="#f0f0f0")
    return declare_grid(fig, rows=mean.index, cols=mean.columns)


def presence_figure(n_present: pd.Series, groups: pd.Series | None = None) -> go.Figure:
    """Histogram of the number of present genes per cell (the size of each assemblage)."""
    fig = go.Figure()
    if groups is None:
        groups = pd.Series("all cells", index=n_present.index)
    grouped = n_present.groupby(groups.reindex(n_present.index), sort=True)
    colours = lineage_colours(str(name) for name, _ in grouped)
    for name, part in grouped:
        fig.add_trace(go.Histogram(
            x=part.to_numpy(), name=f"{name} (n={len(part)})", customdata=part.index.to_numpy(),
            marker={"color": colours[str(name)]}, opacity=0.75,
            hovertemplate="genes present: %{x}<br>cells: %{y}<extra>" + str(name) + "</extra>",
            meta=csv_columns(cell="customdata", cell_type=per_trace(str(name)), n_present_genes="x"),
        ))
    base_layout(fig, title=f"Genes present per cell ({len(n_present):,} cells)",
                x_title="number of present genes (expression > 0)", y_title="cells")
    fig.update_layout(barmode="overlay", legend={"title": {"text": "cell type"}})
    return fig
