"""Figures of the perturbation-signature page (pure builders: results -> plotly figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.common import GREY, base_layout, csv_columns, per_point, per_trace, reference_line, scatter_type
from dashboard.figures.fit import declare_grid

PREDICTED, MEASURED = "#4c51bf", "#dd6b20"
MODEL_COLORS = {"fundnn": "#4c51bf", "refined": "#2c7a7b", "mean": "#a0aec0", "ridge": "#dd6b20", "knn": "#b83280"}
LAYER_COLORS = ["#2b6cb0", "#dd6b20", "#2f855a", "#b83280", "#6b46c1"]


def signature_bars_figure(predicted: pd.Series | None, measured: pd.Series | None, gene: str, kind: str,
                          n: int = 12) -> go.Figure:
    """The n most up- and down-regulated landmarks (by prediction, else by measurement), both side by side."""
    lead = predicted if predicted is not None else measured
    order = lead.sort_values()
    picked = pd.Index(list(order.index[:n]) + list(order.index[-n:])).unique()
    fig = go.Figure()
    for series, name, color in ((predicted, "predicted", PREDICTED), (measured, "measured", MEASURED)):
        if series is None:
            continue
        values = series.reindex(picked)
        fig.add_trace(go.Bar(
            x=values.to_numpy(), y=list(picked), orientation="h", name=name, marker={"color": color},
            hovertemplate="%{y}: %{x:.3f}<extra>" + name + "</extra>",
            meta=csv_columns(landmark="y", perturbation_type=per_trace(kind), source=per_trace(name),
                             signature_z_score="x"),
        ))
    what = "predicted" if predicted is not None else "measured"
    base_layout(fig, title=f"{gene} {kind}: top {n} down- and up-regulated landmarks ({what})",
                x_title="signature value (down < 0 < up)")
    fig.update_layout(barmode="group", bargap=0.25, legend={"orientation": "h", "y": -0.12, "x": 0},
                      margin={"l": 110, "b": 90})
    fig.update_xaxes(zeroline=True, zerolinecolor="#4a5568", zerolinewidth=1)
    fig.update_yaxes(automargin=True, tickfont={"size": 11}, dtick=1)
    return declare_grid(fig, rows=picked)


def predicted_vs_measured_figure(predicted: pd.Series, measured: pd.Series, gene: str, kind: str,
                                 status: str) -> go.Figure:
    """Every landmark: predicted against measured, with the identity line and Pearson r."""
    frame = pd.DataFrame({"measured": measured, "predicted": predicted.reindex(measured.index)}).dropna()
    r = float(np.corrcoef(frame["measured"], frame["predicted"])[0, 1]) if len(frame) > 2 else float("nan")
    fig = go.Figure(scatter_type(len(frame))(
        x=frame["measured"].to_numpy(), y=frame["predicted"].to_numpy(), mode="markers", name="landmark",
        marker={"size": 6, "color": PREDICTED, "opacity": 0.6}, text=frame.index.to_numpy(),
        hovertemplate="%{text}<br>measured %{x:.3f}<br>predicted %{y:.3f}<extra></extra>",
        meta=csv_columns(landmark="text", perturbation_type=per_trace(kind), measured_signature_z_score="x",
                         predicted_signature_z_score="y"),
    ))
    lo = float(min(frame.min().min(), 0)) if len(frame) else -1.0
    hi = float(max(frame.max().max(), 0)) if len(frame) else 1.0
    fig.add_shape(type="line", x0=lo, y0=lo, x1=hi, y1=hi, line={"color": GREY, "dash": "dot", "width": 1})
    note = {"held-out": "held-out gene: never seen in training",
            "measured": "training gene: this is a fit, not a test"}.get(status, status)
    base_layout(fig, title=f"{gene} {kind}: predicted vs measured, r = {r:.2f} ({note})",
                x_title="measured signature", y_title="predicted signature")
    return fig


def model_comparison_figure(summary: pd.DataFrame, metric: str = "pearson_delta") -> go.Figure:
    """Mean held-out score of each model per perturbation type (grouped bars)."""
    from core.transcriptionnet.pipeline import MODEL_LABELS

    fig = go.Figure()
    for model in summary["model"].unique():
        part = summary[summary["model"] == model]
        fig.add_trace(go.Bar(
            x=part["type"].to_numpy(), y=part[metric].to_numpy(), name=MODEL_LABELS.get(model, model),
            marker={"color": MODEL_COLORS.get(model, GREY)}, customdata=part["n_genes"].to_numpy(),
            hovertemplate="%{x}: %{y:.3f} (%{customdata} held-out genes)<extra>" + MODEL_LABELS.get(model, model)
            + "</extra>",
            meta=csv_columns(perturbation_type="x", model=per_trace(str(model)),
                             **{f"mean_{metric}_held_out_genes": "y"}, n_held_out_genes="customdata"),
        ))
    label = {"pearson_delta": "Pearson delta (after removing the training mean)", "pearson": "Pearson r"}.get(
        metric, metric)
    base_layout(fig, title=f"Held-out genes: {label}, model vs baselines", y_title=label)
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.15, "x": 0}, margin={"b": 90})
    reference_line(fig, y=0, color="#4a5568")
    return fig


def neighbourhood_figure(edges: pd.DataFrame, gene: str) -> go.Figure:
    """A gene and its strongest neighbours in every layer; edges coloured by layer."""
    fig = go.Figure()
    if edges.empty:
        base_layout(fig, title=f"{gene} has no neighbours in any layer")
        return fig
    nodes = [g for g in pd.unique(pd.concat([edges["gene1"], edges["gene2"]])) if g != gene]
    angle = np.linspace(0, 2 * np.pi, len(nodes), endpoint=False)
    pos = {g: (float(np.cos(a)), float(np.sin(a))) for g, a in zip(nodes, angle)}
    pos[gene] = (0.0, 0.0)
    layers = list(pd.unique(edges["layer"]))
    direct = edges["direct"] if "direct" in edges else edges[["gene1", "gene2"]].eq(gene).any(axis=1)
    for i, layer in enumerate(layers):
        color = LAYER_COLORS[i % len(LAYER_COLORS)]
        for is_direct in (False, True):  # edges among neighbours faint, edges to the gene bold
            part = edges[(edges["layer"] == layer) & (direct == is_direct)]
            if part.empty:
                continue
            xs, ys, text = [], [], []
            for a, b, w in part[["gene1", "gene2", "weight"]].itertuples(index=False):
                xs += [pos[a][0], pos[b][0], None]
                ys += [pos[a][1], pos[b][1], None]
                text += [f"{a}-{b} ({w:.2f})"] * 2 + [None]
            n_direct = int(((edges["layer"] == layer) & direct).sum())
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines", text=text, hoverinfo="text", legendgroup=layer,
                name=f"{layer} ({n_direct} neighbours)" if is_direct else f"{layer} (among neighbours)",
                showlegend=is_direct, line={"color": color, "width": 2.4 if is_direct else 0.7},
                opacity=0.9 if is_direct else 0.3,
                # one CSV row per edge, not per drawn line end
                meta=csv_columns(layer=per_trace(str(layer)), gene_1=per_point(part["gene1"]),
                                 gene_2=per_point(part["gene2"]), edge_weight=per_point(part["weight"]),
                                 edge_to_query_gene=per_trace(is_direct)),
            ))
    fig.add_trace(go.Scatter(
        x=[pos[g][0] for g in nodes], y=[pos[g][1] for g in nodes], mode="markers+text", name="neighbour",
        text=nodes, textposition=["middle right" if pos[g][0] >= 0 else "middle left" for g in nodes],
        textfont={"size": 10}, marker={"size": 9, "color": "#edf2f7", "line": {"color": "#4a5568", "width": 1}},
        hovertemplate="%{text}<extra></extra>", showlegend=False,
    ))
    fig.add_trace(go.Scatter(
        x=[0.0], y=[0.0], mode="markers", name=gene, marker={"size": 18, "color": "#e53e3e"},
        hovertemplate=gene + "<extra></extra>", showlegend=False,
    ))
    fig.add_annotation(x=0, y=0, text=f"<b>{gene}</b>", showarrow=False, yshift=20, bgcolor="rgba(255,255,255,0.9)",
                       font={"size": 14, "color": "#1a202c"})
    base_layout(fig, title=f"{gene}'s strongest neighbours in {len(layers)} network layers")
    fig.update_xaxes(visible=False, range=[-1.6, 1.6])
    fig.update_yaxes(visible=False, range=[-1.25, 1.25], scaleanchor="x")
    fig.update_layout(legend={"orientation": "h", "y": -0.05, "x": 0})
    return fig


SET_COLORS = {"measured": MEASURED, "predicted": PREDICTED}


def connectivity_figure(table: pd.DataFrame, query_label: str, n: int = 15) -> go.Figure:
    """The n most mimicking and n most reversing signatures: connectivity score bars, hover with p and q.

    ``table`` has the page's columns (``gene`` may be a markdown link), ranked by score.
    """
    picked = pd.concat([table.head(n), table.tail(n)]).drop_duplicates("rank").sort_values("score")
    names = picked["gene"].str.replace(r"^\[([^\]]+)\].*$", r"\1", regex=True)
    fig = go.Figure()
    for kind, color in SET_COLORS.items():
        part = picked["signature"] == kind
        if not part.any():
            continue
        labels = [f"{g} {t} {kind[:4]}. (#{r})" for g, t, r in zip(names[part], picked["type"][part],
                                                                    picked["rank"][part])]
        fig.add_trace(go.Bar(
            x=picked["score"][part].to_numpy(), y=labels, orientation="h", name=f"{kind} signature",
            marker={"color": color},
            customdata=picked.loc[part, ["normalized_score", "perm_p", "q", "status"]].to_numpy(),
            hovertemplate="%{y}<br>connectivity score %{x:.3f}<br>normalized score %{customdata[0]:.2f}"
                          "<br>permutation p %{customdata[1]:.2e}<br>q %{customdata[2]:.2e}"
                          "<br>status: %{customdata[3]}<extra></extra>",
            meta=csv_columns(rank=per_point(picked["rank"][part]), gene=per_point(names[part]),
                             perturbation_type=per_point(picked["type"][part]), signature=per_trace(kind),
                             connectivity_score="x", normalized_score="customdata_0", permutation_p="customdata_1",
                             q_bh="customdata_2", status="customdata_3"),
        ))
    base_layout(fig, title=f"Signatures that mimic (> 0) or reverse (< 0) {query_label}",
                x_title="connectivity score (weighted KS, -1 to 1)")
    order = [f"{g} {t} {k[:4]}. (#{r})" for g, t, k, r in zip(names, picked["type"], picked["signature"],
                                                              picked["rank"])]
    fig.update_yaxes(categoryorder="array", categoryarray=order, automargin=True, tickfont={"size": 11}, dtick=1)
    declare_grid(fig, rows=order)
    fig.update_xaxes(range=[-1.05, 1.05], zeroline=True, zerolinecolor="#4a5568", zerolinewidth=1)
    fig.update_layout(barmode="overlay", legend={"orientation": "h", "y": -0.12, "x": 0}, margin={"l": 160, "b": 90})
    return fig
