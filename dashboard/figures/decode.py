"""Figures of the DEcode pages (pure builders: results -> plotly figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.text import plural
from dashboard.figures.common import (BLUE, DIVERGING, GREY, RED, base_layout, csv_columns, diverging_colorbar,
                                      per_col, per_row, per_trace, reference_line)
from dashboard.figures.fit import declare_grid
CNN_COLOR, RIDGE_COLOR, ACTUAL_COLOR = "#2b6cb0", "#a0aec0", "#1a202c"


def performance_figure(performance: pd.DataFrame) -> go.Figure:
    """Test Spearman per tissue: the CNN beside the ridge baseline (horizontal grouped bars)."""
    order = performance.sort_values("cnn").index
    fig = go.Figure()
    for column, label, color in (("ridge", "ridge baseline (binding totals)", RIDGE_COLOR),
                                 ("cnn", "DEcode CNN", CNN_COLOR)):
        fig.add_trace(go.Bar(
            x=performance.loc[order, column].to_numpy(), y=[str(t) for t in order], orientation="h", name=label,
            marker={"color": color}, hovertemplate="%{y}: Spearman %{x:.3f}<extra>" + label + "</extra>",
            meta=csv_columns(tissue="y", model=per_trace(column), test_spearman_rho="x"),
        ))
    base_layout(fig, title="Held-out genes: Spearman of predicted vs actual, per tissue",
                x_title="Spearman correlation (test genes)")
    fig.update_layout(barmode="group", bargap=0.25, legend={"orientation": "h", "y": -0.08, "x": 0,
                                                             "yanchor": "top"})
    fig.update_yaxes(automargin=True, tickfont={"size": 12}, dtick=1)
    return declare_grid(fig, rows=order)


def profile_corr_figure(corr: pd.DataFrame) -> go.Figure:
    """Tissue x tissue Spearman of predicted (rows) against actual (columns) profiles (paper Fig. 2c)."""
    z = corr.to_numpy()
    limit = float(np.nanmax(np.abs(z))) if z.size else 1.0
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(c) for c in corr.columns], y=[str(r) for r in corr.index],
        colorscale=DIVERGING, zmid=0, zmin=-limit, zmax=limit,
        colorbar=diverging_colorbar("Spearman", "negative correlation", "positive correlation"),
        customdata=np.array([[f"{r} | {c}" for c in corr.columns] for r in corr.index]),
        hovertemplate="predicted %{y} vs actual %{x}: %{z:.2f}<extra></extra>",
        meta=csv_columns(predicted_tissue=per_row(corr.index.astype(str)), actual_tissue=per_col(corr.columns.astype(str)),
                         spearman_rho_test_genes="z"),
    ))
    base_layout(fig, title="Predicted (rows) against actual (columns) tissue profiles, test genes",
                x_title="actual tissue", y_title="predicted tissue")
    fig.update_xaxes(tickangle=-50, tickfont={"size": 10}, automargin=True, dtick=1)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 10}, automargin=True, dtick=1)
    return declare_grid(fig, rows=corr.index, cols=corr.columns)


def gene_profile_figure(profiles: pd.DataFrame, gene: str, split: str) -> go.Figure:
    """A gene's predicted (CNN, ridge) and actual log fold change per tissue."""
    tissues = profiles.drop(index="median", errors="ignore")
    order = tissues.sort_values("actual").index
    fig = go.Figure()
    for column, label, color, symbol in (("actual", "measured", ACTUAL_COLOR, "circle"),
                                         ("predicted", "DEcode CNN", CNN_COLOR, "diamond"),
                                         ("ridge", "ridge baseline", RIDGE_COLOR, "square")):
        if column not in tissues.columns:
            continue
        fig.add_trace(go.Scatter(
            x=tissues.loc[order, column].to_numpy(), y=[str(t) for t in order], mode="markers", name=label,
            marker={"color": color, "size": 10 if column != "ridge" else 8, "symbol": symbol},
            hovertemplate="%{y}: %{x:.2f}<extra>" + label + "</extra>",
            meta=csv_columns(tissue="y", source=per_trace(label), log2_fold_change_vs_median_tissue="x"),
        ))
    median = profiles.loc["median"] if "median" in profiles.index else None
    suffix = "" if median is None else f" · median log2 expression {median['actual']:.2f}"
    if median is not None and "predicted" in profiles.columns:
        suffix += f" (predicted {median['predicted']:.2f})"
    where = split if split.startswith("measured") else f"{split} gene"
    base_layout(fig, title=f"{gene} across tissues ({where}){suffix}",
                x_title="log2 fold change vs the gene's across-tissue median")
    reference_line(fig, x=0)
    fig.update_yaxes(automargin=True, tickfont={"size": 12}, dtick=1)
    fig.update_layout(legend={"orientation": "h", "y": -0.1, "x": 0, "yanchor": "top"})
    return declare_grid(fig, rows=order)


def regulator_heatmap_figure(scores: pd.DataFrame, top_k: int = 20) -> go.Figure:
    """Top-k regulators (rows) by tissue (columns): mean DeepLIFT attribution, diverging at 0."""
    tissues = [c for c in scores.columns if c != "median"] + (["median"] if "median" in scores.columns else [])
    strength = scores[tissues].abs().max(axis=1)
    top = strength.sort_values(ascending=False).index[: int(top_k)]
    shown = scores.loc[top, tissues]
    z = shown.to_numpy()
    limit = float(np.abs(z).max()) if z.size else 1.0
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(t) for t in tissues], y=[str(r) for r in shown.index], colorscale=DIVERGING,
        zmid=0, zmin=-limit, zmax=limit,
        colorbar=diverging_colorbar("mean attribution", "lowers expression", "raises expression"),
        hovertemplate="%{y} in %{x}: %{z:.3f}<extra></extra>",
        meta=csv_columns(regulator="y", tissue=per_col(tissues), mean_deeplift_attribution="z"),
    ))
    base_layout(fig, title=f"Top {len(shown)} regulators by mean DeepLIFT attribution per tissue (test genes)")
    fig.update_xaxes(tickangle=-50, tickfont={"size": 10}, automargin=True, dtick=1)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 11}, automargin=True, dtick=1)
    return declare_grid(fig, rows=shown.index, cols=tissues)


def attribution_map_figure(promoter: pd.DataFrame, mrna: pd.DataFrame, gene: str, task: str,
                           max_rows: int = 12) -> go.Figure:
    """One gene's regulator x position attribution: promoter (left) and mRNA (right), diverging at 0."""
    from plotly.subplots import make_subplots

    def top(frame: pd.DataFrame) -> pd.DataFrame:
        strength = frame.abs().sum(axis=1)
        return frame.loc[strength[strength > 0].sort_values(ascending=False).index[:max_rows]]

    p, m = top(promoter), top(mrna)
    values = np.concatenate([p.to_numpy().ravel(), m.to_numpy().ravel(), [0.0]])
    limit = float(np.abs(values).max()) or 1.0
    fig = make_subplots(rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.2,
                        subplot_titles=("promoter (bp from TSS)", "mRNA (nt from 5' end)"))
    for col, frame, name in ((1, p, "promoter"), (2, m, "mRNA")):
        if frame.empty:
            continue
        fig.add_trace(go.Heatmap(
            z=frame.to_numpy(), x=[str(c) for c in frame.columns], y=[str(r) for r in frame.index], name=name,
            colorscale=DIVERGING, zmid=0, zmin=-limit, zmax=limit, showscale=col == 2,
            colorbar=diverging_colorbar("attribution", "lowers expression", "raises expression"),
            hovertemplate="%{y} at %{x}: %{z:.3f}<extra>" + name + "</extra>",
            meta=csv_columns(region=per_trace(name), regulator="y",
                             **{"bin_start_bp_from_tss" if name == "promoter" else "bin_start_nt_from_5_prime": "x"},
                             deeplift_attribution="z"),
        ), row=1, col=col)
    base_layout(fig, title=f"{gene}: DeepLIFT attribution to {task} by regulator and position")
    fig.update_layout(margin={"t": 90})
    fig.update_yaxes(autorange="reversed", tickfont={"size": 11}, automargin=True, dtick=1)
    fig.update_xaxes(tickangle=-50, tickfont={"size": 10}, nticks=12)
    if p.empty and m.empty:
        fig.add_annotation(text="No regulator binding the model uses", xref="paper", yref="paper", x=0.5, y=0.5,
                           showarrow=False, font={"color": GREY})
    return declare_grid(fig, rows=max([p.index, m.index], key=len))


def binding_map_figure(matrix: pd.DataFrame, gene: str, region: str, x_title: str,
                       highlight: tuple[int, int] | None = None, max_rows: int = 25) -> go.Figure:
    """Binding of a gene: regulators (rows) by bins (columns); the disrupted bins outlined."""
    matrix = matrix.loc[matrix.sum(axis=1).sort_values(ascending=False).index[:max_rows]]
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(), x=[str(c) for c in matrix.columns], y=[str(r) for r in matrix.index],
        colorscale="Blues", zmin=0, zmax=max(1e-9, float(matrix.to_numpy().max(initial=0))),
        colorbar={"title": {"text": "binding"}}, hovertemplate="%{y} at %{x}: %{z:.2f}<extra></extra>",
        meta=csv_columns(feature="y", **{"bin_start_bp_from_tss" if region == "promoter" else
                                         "bin_start_nt_from_5_prime": "x"}, binding_covered_fraction="z",
                         disrupted=per_col([highlight is not None and highlight[0] <= i <= highlight[1]
                                            for i in range(len(matrix.columns))])),
    ))
    base_layout(fig, title=f"{gene} {region} binding ({plural(len(matrix), 'feature')} shown)", x_title=x_title)
    fig.update_yaxes(automargin=True, autorange="reversed", dtick=1, tickfont={"size": 11})
    fig.update_xaxes(tickangle=-50, tickfont={"size": 10}, nticks=15)
    if highlight is not None and len(matrix.columns):
        lo, hi = highlight
        fig.add_vrect(x0=lo - 0.5, x1=hi + 0.5, line={"color": RED, "width": 2}, fillcolor=RED, opacity=0.12)
    return declare_grid(fig, rows=matrix.index)


def edit_profile_figure(frame: pd.DataFrame, gene: str, description: str) -> go.Figure:
    """Predicted tissue profile before and after an in-silico edit."""
    tissues = frame.drop(index="median", errors="ignore").sort_values("before")
    fig = go.Figure()
    for column, name, colour in (("before", "before", RIDGE_COLOR), ("after", "after edit", RED)):
        fig.add_trace(go.Bar(x=tissues[column].to_numpy(), y=[str(t) for t in tissues.index], orientation="h",
                             name=name, marker={"color": colour},
                             hovertemplate="%{y}: %{x:.2f}<extra>" + column + "</extra>",
                             meta=csv_columns(tissue="y", edit=per_trace(column),
                                              predicted_log2_fold_change_vs_median_tissue="x")))
    med = frame.loc["median"] if "median" in frame.index else None
    extra = "" if med is None else f" · median {med['before']:.2f} → {med['after']:.2f}"
    base_layout(fig, title=f"{gene}: predicted profile before and after {description}{extra}",
                x_title="predicted log2 fold change vs across-tissue median")
    fig.update_layout(barmode="group", bargap=0.25, legend={"orientation": "h", "y": -0.1, "x": 0,
                                                             "yanchor": "top"})
    fig.update_yaxes(automargin=True, tickfont={"size": 12}, dtick=1)
    return declare_grid(fig, rows=tissues.index)


def effects_figure(effects: pd.DataFrame, kind: str, gene_a: str, gene_b: str, max_rows: int = 25) -> go.Figure:
    """Effect of removing each region / regulator on the A-B co-expression (OLS, Bonferroni)."""
    part = effects[effects["kind"] == kind]
    part = part.loc[part["effect"].abs().sort_values(ascending=False).index[:max_rows]].sort_values("effect")
    significant = part["p_bonferroni"].to_numpy() < 0.05
    colors = np.where(significant, np.where(part["effect"].to_numpy() < 0, BLUE, RED), GREY)
    fig = go.Figure(go.Bar(
        x=part["effect"].to_numpy(), y=part["term"].astype(str).to_numpy(), orientation="h", name=kind,
        marker={"color": colors}, error_x={"type": "data", "array": (1.96 * part["se"]).to_numpy(),
                                           "color": "#4a5568", "thickness": 1},
        customdata=np.column_stack([part["se"].to_numpy(), part["p_bonferroni"].to_numpy()]),
        hovertemplate="%{y}: %{x:.3f} (SE %{customdata[0]:.3f}, Bonferroni p %{customdata[1]:.2g})<extra></extra>",
        meta=csv_columns(**{"region" if kind == "region" else "regulator": "y"},
                         effect_on_spearman_rho="x", standard_error="customdata_0", p_bonferroni="customdata_1"),
    ))
    label = "region" if kind == "region" else "regulator"
    base_layout(fig, title=f"Removing each {label} of {gene_a}: change in its co-expression with {gene_b}"
                           "<br><sup>bars ±1.96 SE; red / blue: Bonferroni p < 0.05, grey: not significant</sup>",
                x_title=f"effect on Spearman({gene_a}, {gene_b}) across tissues")
    reference_line(fig, x=0)
    fig.update_yaxes(automargin=True, tickfont={"size": 11}, dtick=1)
    return declare_grid(fig, rows=part["term"])
