"""Figures of one gene across the four methods (the gene card) and of a gene list."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.common import BLUE, GREY, RED, base_layout, csv_columns, per_col, per_point, per_row, per_trace
from dashboard.figures.fit import declare_content, declare_grid, label_chars

PANEL_TITLES = {
    "essentiality": "Essentiality: predicted vs actual",
    "decode": "DEcode: tissue profile",
    "dko": "DKO: knockout impact by cell type",
    "perturbation": "Signature: predicted vs measured",
}
#: The headline number appended to each panel's title.
PANEL_NUMBERS = {"essentiality": "test r {:.2f}", "decode": "r {:.2f}", "dko": "mean {:.3f}",
                 "perturbation": "mean r {:.2f}"}


def _wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "<br>".join(textwrap.wrap(text, width))


def _note(fig: go.Figure, row: int, col: int, text: str) -> None:
    """A panel with no data: its reason, centred, and no axes."""
    panel = fig.get_subplot(row, col)
    fig.add_annotation(text=_wrap(text), x=sum(panel.xaxis.domain) / 2, y=sum(panel.yaxis.domain) / 2,
                       xref="paper", yref="paper", showarrow=False, font={"size": 12, "color": GREY})
    fig.update_xaxes(visible=False, row=row, col=col)
    fig.update_yaxes(visible=False, row=row, col=col)


def gene_card_figure(gene: str, frames: dict[str, pd.DataFrame], notes: dict[str, str],
                     headlines: dict[str, str]) -> go.Figure:
    """Four panels, one per method, from a gene card's tables.

    Parameters
    ----------
    gene
        The gene symbol (figure title).
    frames
        The card's tables by ``<method>_<table>`` name (see ``GeneCard.frames``).
    notes
        Per method, the message drawn in place of a panel that has no data.
    headlines
        Per method, the headline number appended to the panel title (``"r = 0.85"``).
    """
    titles = [f"{PANEL_TITLES[m]}{' (' + headlines[m] + ')' if headlines.get(m) else ''}" for m in PANEL_TITLES]
    fig = make_subplots(rows=2, cols=2, subplot_titles=titles, horizontal_spacing=0.12, vertical_spacing=0.2)

    pred = frames.get("essentiality_predictions")
    if pred is not None:
        test = pred[pred["split"] == "test"]
        fig.add_trace(go.Scatter(x=test["actual_gene_effect"], y=test["predicted_gene_effect"], mode="markers",
                                 name="test cell lines", marker={"size": 5, "color": BLUE, "opacity": 0.7},
                                 text=test["cell"], showlegend=False,
                                 hovertemplate="%{text}<br>actual %{x:.2f}<br>predicted %{y:.2f}<extra></extra>",
                                 meta=csv_columns(panel=per_trace("essentiality"), cell_line="text",
                                                  split=per_trace("test"), actual_gene_effect="x",
                                                  predicted_gene_effect="y")),
                      row=1, col=1)
        lo = float(np.nanmin(test[["actual_gene_effect", "predicted_gene_effect"]].to_numpy()))
        hi = float(np.nanmax(test[["actual_gene_effect", "predicted_gene_effect"]].to_numpy()))
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"color": GREY, "dash": "dot"},
                                 name="y = x", showlegend=False, hoverinfo="skip"), row=1, col=1)
        fig.update_xaxes(title_text="actual gene effect (test lines)", row=1, col=1)
        fig.update_yaxes(title_text="predicted gene effect", row=1, col=1)
    else:
        _note(fig, 1, 1, notes.get("essentiality", "no data"))

    profile = frames.get("decode_tissue_profile")
    if profile is not None:
        tissues = profile[profile["tissue"] != "median"].sort_values("measured_log2fc")
        fig.add_trace(go.Scatter(x=tissues["measured_log2fc"], y=tissues["tissue"], mode="markers",
                                 name="measured", marker={"color": GREY, "size": 8, "symbol": "circle-open"},
                                 showlegend=False, hovertemplate="%{y}: measured %{x:.2f}<extra></extra>",
                                 meta=csv_columns(panel=per_trace("decode"), tissue="y", source=per_trace("measured"),
                                                  log2_fold_change_vs_median_tissue="x")),
                      row=1, col=2)
        fig.add_trace(go.Scatter(x=tissues["predicted_log2fc_cnn"], y=tissues["tissue"], mode="markers",
                                 name="predicted (CNN)", marker={"color": RED, "size": 7}, showlegend=False,
                                 hovertemplate="%{y}: predicted %{x:.2f}<extra></extra>",
                                 meta=csv_columns(panel=per_trace("decode"), tissue="y",
                                                  source=per_trace("predicted (CNN)"),
                                                  log2_fold_change_vs_median_tissue="x")), row=1, col=2)
        fig.update_xaxes(title_text="log2 FC vs median tissue (○ measured, ● predicted)", row=1, col=2)
        fig.update_yaxes(tickfont={"size": 9}, tickmode="array", tickvals=list(tissues["tissue"]), row=1, col=2)
        declare_content(fig, rows=len(tissues), row_label_chars=label_chars(tissues["tissue"]), row_axes=["yaxis2"],
                        row_share=0.42)
    else:
        _note(fig, 1, 2, notes.get("decode", "no data"))

    impact = frames.get("dko_impact_per_cell")
    if impact is not None:
        order = impact.groupby("cell_type")["impact_bray_curtis"].median().sort_values(ascending=False).index
        for kind in order:
            values = impact.loc[impact["cell_type"] == kind, "impact_bray_curtis"]
            fig.add_trace(go.Box(y=values, name=str(kind), marker={"color": BLUE, "size": 3}, boxpoints="outliers",
                                 showlegend=False,
                                 meta=csv_columns(panel=per_trace("dko"), cell_type=per_trace(str(kind)),
                                                  knockout_impact_bray_curtis="y")), row=2, col=1)
        fig.update_yaxes(title_text="impact (Bray-Curtis)", row=2, col=1)
    else:
        _note(fig, 2, 1, notes.get("dko", "no data"))

    signatures = frames.get("perturbation_signatures")
    drawn = signatures.dropna(subset=["predicted_z", "measured_z"]) if signatures is not None else None
    if drawn is not None and len(drawn):
        kind = drawn["type"].iloc[0]
        one = drawn[drawn["type"] == kind]
        fig.add_trace(go.Scatter(x=one["measured_z"], y=one["predicted_z"], mode="markers", name=kind,
                                 marker={"size": 4, "color": BLUE, "opacity": 0.6}, text=one["landmark"],
                                 showlegend=False,
                                 hovertemplate="%{text}<br>measured %{x:.2f}<br>predicted %{y:.2f}<extra></extra>",
                                 meta=csv_columns(panel=per_trace("perturbation"), landmark="text",
                                                  perturbation_type=per_trace(kind), measured_signature_z_score="x",
                                                  predicted_signature_z_score="y")),
                      row=2, col=2)
        fig.update_xaxes(title_text=f"measured {kind} z-score (landmarks)", row=2, col=2)
        fig.update_yaxes(title_text=f"predicted {kind} z-score", row=2, col=2)
    else:
        _note(fig, 2, 2, notes.get("perturbation", "no data"))

    base_layout(fig, title=f"{gene} across four methods")
    # a size of its own: the print export keeps this aspect, so four panels keep room at 7 in wide
    fig.update_layout(margin={"l": 70, "r": 30, "t": 90, "b": 60}, width=1100, height=860)
    return fig


def card_figure(card) -> go.Figure:
    """The four-panel figure of a gene card (:class:`dashboard.services.gene.GeneCard`), as the gene page draws it.

    A method without data shows its summary in place of the panel; the
    available ones add their headline number to the panel title.
    """
    notes = {m: s.summary for m, s in card.sections.items()}
    shown = {m: PANEL_NUMBERS[m].format(s.headline) for m, s in card.sections.items()
             if s.available and math.isfinite(s.headline)}
    return gene_card_figure(card.gene, card.frames(), notes, shown)


def gene_matrix_figure(matrix: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Genes x methods heatmap of each method's headline number, each column scaled to its own range.

    Parameters
    ----------
    matrix
        Index = genes, columns = methods (NaN where a method has no result).
    labels
        Column name -> the headline's full name (axis labels and hover).
    """
    values = matrix.astype(float)
    span = (values.max() - values.min()).replace(0, 1.0)
    scaled = (values - values.min()) / span
    text = values.map(lambda v: "no data" if not np.isfinite(v) else f"{v:.3g}")
    fig = go.Figure(go.Heatmap(
        z=scaled.T.to_numpy(), x=list(values.index), y=[labels[c] for c in values.columns],
        text=text.T.to_numpy(), texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
        colorbar={"title": {"text": "scaled within<br>method (lowest 0,<br>highest 1)"}},
        hovertemplate="%{x}<br>%{y}: %{text}<extra></extra>", xgap=2, ygap=2,
        meta=csv_columns(gene=per_col(values.index), method=per_row(values.columns), measure="y",
                         value=per_point(values.T.to_numpy().ravel()), scaled_within_method="z"),
    ))
    base_layout(fig, title=f"{len(values)} genes x {values.shape[1]} methods (headline number per method)")
    fig.update_yaxes(autorange="reversed", automargin=True, dtick=1)
    fig.update_xaxes(tickangle=-45 if len(values) > 8 else 0, automargin=True, dtick=1)
    return declare_grid(fig, rows=[labels[c] for c in values.columns], cols=values.index)
