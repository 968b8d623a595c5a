"""Figures of the modifier-gene pages (pure builders)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.common import BLUE, QUALITATIVE, RED, base_layout


def effect_by_lineage_figure(effect: pd.Series, lineage: pd.Series, target: str) -> go.Figure:
    """Box plot of a target's gene effect per lineage, lineages sorted by median."""
    frame = pd.DataFrame({"effect": effect, "lineage": lineage.reindex(effect.index)}).dropna()
    order = frame.groupby("lineage")["effect"].median().sort_values().index
    fig = go.Figure()
    for name in order:
        values = frame.loc[frame["lineage"] == name, "effect"]
        fig.add_trace(go.Box(
            y=values.to_numpy(), x=[name] * len(values), name=name, boxpoints="outliers",
            marker={"color": BLUE, "size": 3}, line={"width": 1.2}, showlegend=False,
            text=values.index.to_numpy(), hovertemplate="%{text}<br>effect %{y:.2f}<extra>%{x}</extra>",
        ))
    fig.add_hline(y=0, line={"color": "#a0aec0", "width": 1, "dash": "dot"})
    fig.add_hline(y=-1, line={"color": RED, "width": 1, "dash": "dot"},
                  annotation_text="common-essential level (-1)", annotation_position="bottom left",
                  annotation_font_size=11)
    base_layout(fig, title=f"{target} gene effect by lineage (n = {len(frame):,} cell lines)",
                y_title=f"{target} CRISPR gene effect")
    fig.update_xaxes(tickangle=-40, automargin=True)
    return fig


def top_correlates_figure(table: pd.DataFrame, target: str, n: int = 25) -> go.Figure:
    """Horizontal bars of the genes whose expression correlates most with the effect."""
    top = table.head(n).iloc[::-1]
    colors = np.where(top["pearson_r"] > 0, RED, BLUE)
    significant = top["pearson_q"] < 0.05
    labels = [f"{g}{'' if s else ' (n.s.)'}" for g, s in zip(top["gene"], significant)]
    fig = go.Figure(go.Bar(
        x=top["pearson_r"].to_numpy(), y=labels, orientation="h", marker={"color": colors},
        customdata=np.stack([top["pearson_q"], top["spearman_rho"]], axis=1),
        hovertemplate="%{y}: r = %{x:.3f}<br>BH q = %{customdata[0]:.2e}<br>Spearman = %{customdata[1]:.3f}<extra></extra>",
        name="Pearson r",
    ))
    base_layout(fig, title=f"Genes whose expression tracks {target} essentiality (top {len(top)} by |r|)",
                x_title="Pearson r (expression vs gene effect)")
    fig.update_layout(margin={"l": 120})
    fig.update_xaxes(range=[-1, 1], zeroline=True, zerolinecolor="#4a5568")
    return fig


def effect_scatter_figure(expression: pd.Series, effect: pd.Series, lineage: pd.Series,
                          gene: str, target: str, r: float | None = None, q: float | None = None) -> go.Figure:
    """Scatter of one gene's expression against the target's effect, coloured by lineage."""
    frame = pd.DataFrame({"x": expression, "y": effect, "lineage": lineage.reindex(expression.index)}).dropna()
    fig = go.Figure()
    for i, (name, part) in enumerate(frame.groupby("lineage", sort=True)):
        fig.add_trace(go.Scattergl(
            x=part["x"].to_numpy(), y=part["y"].to_numpy(), mode="markers", name=str(name),
            marker={"size": 6, "color": QUALITATIVE[i % len(QUALITATIVE)], "opacity": 0.75},
            text=part.index.to_numpy(),
            hovertemplate="%{text}<br>expression %{x:.2f}<br>effect %{y:.2f}<extra>" + str(name) + "</extra>",
        ))
    q_text = "< 1e-300" if q == 0 else f"= {q:.1e}"  # float64 underflow, not an exact zero
    stats = "" if r is None else f" (r = {r:.2f}, BH q {q_text})"
    base_layout(fig, title=f"{target} effect against {gene} expression{stats}",
                x_title=f"{gene} expression, log2(TPM + 1)", y_title=f"{target} gene effect")
    return fig
