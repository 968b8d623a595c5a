"""Figures of the DEcode, DKO and perturbation overview pages (pure builders)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.common import BLUE, QUALITATIVE, RED, base_layout


def tissue_profile_figure(profile: pd.Series, gene: str, median: float | None = None) -> go.Figure:
    """Bars of a gene's log fold change per tissue against its across-tissue median."""
    profile = profile.sort_values()
    fig = go.Figure(go.Bar(
        x=profile.to_numpy(), y=profile.index.to_numpy(), orientation="h", name="measured",
        marker={"color": np.where(profile.to_numpy() >= 0, RED, BLUE)},
        hovertemplate="%{y}: %{x:.2f}<extra></extra>",
    ))
    suffix = "" if median is None else f" (median log expression {median:.2f})"
    base_layout(fig, title=f"{gene} expression across tissues{suffix}",
                x_title="log fold change vs the gene's across-tissue median")
    fig.update_yaxes(automargin=True)
    return fig


def binding_map_figure(matrix: pd.DataFrame, gene: str, region: str, x_title: str) -> go.Figure:
    """Heatmap of binding signal: regulators (rows) by position bins (columns)."""
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(), x=[str(c) for c in matrix.columns], y=matrix.index.to_numpy(),
        colorscale="Blues", zmin=0, colorbar={"title": {"text": "binding"}},
        hovertemplate="%{y} at %{x}: %{z:.2f}<extra></extra>",
    ))
    base_layout(fig, title=f"{gene} {region} binding sites ({len(matrix)} regulators bound)", x_title=x_title)
    fig.update_yaxes(automargin=True, autorange="reversed", dtick=1, tickfont={"size": 11})
    return fig


def expression_by_group_figure(values: pd.Series, groups: pd.Series, gene: str, group_label: str) -> go.Figure:
    """Violins of one gene's expression per group, with the fraction of cells expressing it."""
    fig = go.Figure()
    for i, (name, part) in enumerate(values.groupby(groups.reindex(values.index), sort=True)):
        present = float((part > 0).mean())
        fig.add_trace(go.Violin(
            y=part.to_numpy(), name=f"{name} ({present:.0%} expressing)", box_visible=True,
            points=False, line={"color": QUALITATIVE[i % len(QUALITATIVE)]}, meanline_visible=True,
            spanmode="hard",  # expression is non-negative: no density below the data
        ))
    base_layout(fig, title=f"{gene} expression per {group_label} (n = {len(values):,} cells)",
                y_title=f"{gene} expression")
    fig.update_layout(showlegend=False)
    return fig


def group_mean_heatmap_figure(means: pd.DataFrame, title: str) -> go.Figure:
    """Heatmap of mean expression: genes (rows) by groups (columns), z-scored per gene."""
    z = means.sub(means.mean(axis=1), axis=0).div(means.std(axis=1).replace(0, 1), axis=0)
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(), x=[str(c) for c in z.columns], y=z.index.to_numpy(), colorscale="RdBu_r", zmid=0,
        colorbar={"title": {"text": "z-score"}}, hovertemplate="%{y} in %{x}: z = %{z:.2f}<extra></extra>",
    ))
    base_layout(fig, title=title)
    fig.update_yaxes(automargin=True, autorange="reversed", dtick=1, tickfont={"size": 11})
    return fig


def signature_bars_figure(signature: pd.Series, gene: str, kind: str, n: int = 15) -> go.Figure:
    """The most up- and down-regulated landmark genes of one signature."""
    ordered = signature.sort_values()
    shown = pd.concat([ordered.head(n), ordered.tail(n)])
    shown = shown[~shown.index.duplicated()]
    fig = go.Figure(go.Bar(
        x=shown.to_numpy(), y=shown.index.to_numpy(), orientation="h", name=f"{kind} measured",
        marker={"color": np.where(shown.to_numpy() >= 0, RED, BLUE)},
        hovertemplate="%{y}: %{x:.2f}<extra></extra>",
    ))
    base_layout(fig, title=f"Measured {kind} signature of {gene}: top {n} down and up landmarks",
                x_title="moderated z-score")
    fig.update_yaxes(automargin=True)
    return fig


def layer_degree_figure(degrees: pd.Series, gene: str) -> go.Figure:
    """Number of neighbours of a gene in each network layer."""
    fig = go.Figure(go.Bar(
        x=degrees.index.to_numpy(), y=degrees.to_numpy(), marker={"color": QUALITATIVE[: len(degrees)]},
        hovertemplate="%{x}: %{y} neighbours<extra></extra>", name="neighbours",
    ))
    base_layout(fig, title=f"{gene}'s neighbours in each network layer", y_title="neighbours")
    return fig
