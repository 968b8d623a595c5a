"""Figures of the modifier-gene pages (pure builders)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.text import plural
from dashboard.figures.common import (BLUE, DIVERGING, GREY, QUALITATIVE, RED, base_layout, csv_columns,
                                      diverging_colorbar, lineage_colours, per_point, per_row, per_trace,
                                      reference_line, scatter_type)
from dashboard.figures.fit import declare_content, declare_grid, label_chars


def effect_by_lineage_figure(effect: pd.Series, lineage: pd.Series, target: str) -> go.Figure:
    """Box plot of a target's gene effect per lineage, lineages sorted by median."""
    frame = pd.DataFrame({"effect": effect, "lineage": lineage.reindex(effect.index)}).dropna()
    order = frame.groupby("lineage")["effect"].median().sort_values().index
    rank = {name: i for i, name in enumerate(order)}
    frame = frame.sort_values("lineage", key=lambda names: names.map(rank), kind="stable")  # CSV in drawn order
    # One trace: Plotly draws a box per x category.
    fig = go.Figure(go.Box(
        y=frame["effect"].to_numpy(), x=frame["lineage"].to_numpy(), name="gene effect", boxpoints="outliers",
        marker={"color": BLUE, "size": 3}, line={"width": 1.2}, showlegend=False,
        text=frame.index.to_numpy(), hovertemplate="%{text}<br>effect %{y:.2f}<extra>%{x}</extra>",
        meta=csv_columns(cell_line="text", lineage="x", **{f"{target}_gene_effect": "y"}),
    ))
    reference_line(fig, y=0, color="#a0aec0", dash="dot")
    reference_line(fig, y=-1, color=RED, dash="dot", label="common-essential level (-1)")
    base_layout(fig, title=f"{target} gene effect by lineage (n = {len(frame):,} cell lines)",
                y_title=f"{target} CRISPR gene effect")
    fig.update_xaxes(tickangle=-40, automargin=True, categoryorder="array", categoryarray=list(order))
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
        meta=csv_columns(gene=per_point(top["gene"]), pearson_r="x", pearson_q_bh="customdata_0",
                         spearman_rho="customdata_1"),
    ))
    base_layout(fig, title=f"Genes whose expression tracks {target} essentiality (top {len(top)} by |r|)",
                x_title="Pearson r (expression vs gene effect)")
    fig.update_layout(margin={"l": 120})
    fig.update_xaxes(range=[-1, 1], zeroline=True, zerolinecolor="#4a5568")
    fig.update_yaxes(dtick=1)
    return declare_grid(fig, rows=labels)


def effect_scatter_figure(expression: pd.Series, effect: pd.Series, lineage: pd.Series,
                          gene: str, target: str, r: float | None = None, q: float | None = None) -> go.Figure:
    """Scatter of one gene's expression against the target's effect, coloured by lineage."""
    q_text = "< 1e-300" if q == 0 else f"= {q:.1e}"  # float64 underflow, not an exact zero
    stats = "" if r is None else f" (r = {r:.2f}, BH q {q_text})"
    return lineage_scatter_figure(
        expression, effect, lineage, title=f"{target} effect against {gene} expression{stats}",
        x_title=f"{gene} expression, log2(TPM + 1)", y_title=f"{target} gene effect",
        x_column=f"{gene}_expression_log2_tpm_plus_1", y_column=f"{target}_gene_effect",
    )


# --- modifier-gene report ------------------------------------------------------------

TEST_LABELS = {"pearson": "Pearson", "spearman": "Spearman", "chi2": "Chi-squared"}
# Three circles of radius 1 and where each of the seven regions' labels sit.
_CENTRES = {"pearson": (-0.55, 0.35), "spearman": (0.55, 0.35), "chi2": (0.0, -0.6)}
_REGION_XY = {
    ("pearson",): (-1.0, 0.7), ("spearman",): (1.0, 0.7), ("chi2",): (0.0, -1.15),
    ("pearson", "spearman"): (0.0, 0.95), ("pearson", "chi2"): (-0.72, -0.45),
    ("spearman", "chi2"): (0.72, -0.45), ("pearson", "spearman", "chi2"): (0.0, 0.0),
}
_CIRCLE_COLOURS = {"pearson": "#2b6cb0", "spearman": "#2f855a", "chi2": "#c05621"}
#: Spacing of the invisible points that make a whole region clickable (data units; circles have radius 1).
#: Plotly reports clicks on points only, not on shapes: a grid of transparent markers covers each region.
_HIT_STEP = 0.07


def venn_hit_points() -> dict[tuple[str, ...], np.ndarray]:
    """Points on a regular grid covering each of the seven regions, keyed like :func:`venn_regions`."""
    axis_x = np.arange(-1.6, 1.6 + _HIT_STEP / 2, _HIT_STEP)
    axis_y = np.arange(-1.65, 1.4 + _HIT_STEP / 2, _HIT_STEP)
    xy = np.stack(np.meshgrid(axis_x, axis_y), axis=-1).reshape(-1, 2)
    inside = {test: np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) <= 1.0 for test, (cx, cy) in _CENTRES.items()}
    points = {}
    for key in _REGION_XY:
        mask = np.logical_and.reduce([inside[t] if t in key else ~inside[t] for t in _CENTRES])
        points[key] = np.round(xy[mask], 3)
    return points


def venn_regions(sets: dict[str, list[str]]) -> dict[tuple[str, ...], list[str]]:
    """Genes in exactly each combination of the three tests' sets (order kept)."""
    members = {test: set(genes) for test, genes in sets.items()}
    ordered = list(dict.fromkeys(g for genes in sets.values() for g in genes))
    regions: dict[tuple[str, ...], list[str]] = {key: [] for key in _REGION_XY}
    for gene in ordered:
        key = tuple(t for t in ("pearson", "spearman", "chi2") if gene in members.get(t, ()))
        if key in regions:
            regions[key].append(gene)
    return regions


def _region_text(genes: list[str], shown: int = 4) -> str:
    if not genes:
        return "0"
    names = "<br>".join(genes[:shown])
    more = f"<br>+{len(genes) - shown} more" if len(genes) > shown else ""
    return f"<b>{len(genes)}</b><br>{names}{more}"


def venn_figure(sets: dict[str, list[str]], target: str) -> go.Figure:
    """Venn diagram of the three tests' modifier sets with gene names in the regions."""
    fig = go.Figure()
    for test, (cx, cy) in _CENTRES.items():
        colour = _CIRCLE_COLOURS[test]
        fig.add_shape(type="circle", x0=cx - 1, x1=cx + 1, y0=cy - 1, y1=cy + 1,
                      line={"color": colour, "width": 2}, fillcolor=colour, opacity=0.12, layer="below")
        label_y = cy + 1.12 if test != "chi2" else cy - 1.12
        fig.add_annotation(x=cx * 1.6 if test != "chi2" else 0, y=label_y, showarrow=False,
                           text=f"<b>{TEST_LABELS[test]}</b> ({len(sets.get(test, []))})",
                           font={"size": 14, "color": colour})
    regions = venn_regions(sets)
    keys = list(_REGION_XY)
    for key, points in venn_hit_points().items():
        genes = ", ".join(regions[key]) or "no genes"
        fig.add_trace(go.Scatter(
            x=points[:, 0], y=points[:, 1], mode="markers", name=f"{' & '.join(key)}: click area",
            marker={"size": 11, "color": "rgba(0,0,0,0)"}, customdata=["&".join(key)] * len(points),
            hovertemplate=genes + "<extra>click to list</extra>", showlegend=False,
        ))
    fig.add_trace(go.Scatter(
        x=[_REGION_XY[k][0] for k in keys], y=[_REGION_XY[k][1] for k in keys], mode="markers+text",
        text=[_region_text(regions[k]) for k in keys], textfont={"size": 11},
        marker={"size": 44, "color": "rgba(0,0,0,0.01)"},
        customdata=["&".join(k) for k in keys],
        hovertext=[", ".join(regions[k]) or "no genes" for k in keys],
        hovertemplate="%{hovertext}<extra>click to list</extra>", name="genes per region",
        showlegend=False,
        meta=csv_columns(tests="customdata", n_genes=per_point([len(regions[k]) for k in keys]),
                         genes=per_point([";".join(regions[k]) for k in keys])),
    ))
    base_layout(fig, title=f"Modifier genes of {target} by test (click a region to list its genes)")
    fig.update_xaxes(visible=False, range=[-1.9, 1.9])
    fig.update_yaxes(visible=False, range=[-1.85, 1.65], scaleanchor="x", scaleratio=1)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 60, "b": 10}, dragmode=False)
    return fig


def lineage_scatter_figure(x: pd.Series, y: pd.Series, lineage: pd.Series, *, title: str,
                           x_title: str, y_title: str, x_column: str, y_column: str) -> go.Figure:
    """Scatter of two per-cell quantities, one trace (colour) per lineage; ``x_column``, ``y_column`` name them in the CSV."""
    frame = pd.DataFrame({"x": x, "y": y, "lineage": lineage.reindex(x.index)}).dropna()
    colours = lineage_colours(lineage.dropna().unique())
    fig = go.Figure()
    trace = scatter_type(len(frame))
    for name, part in frame.groupby("lineage", sort=True):
        fig.add_trace(trace(
            x=part["x"].to_numpy(), y=part["y"].to_numpy(), mode="markers", name=str(name),
            marker={"size": 6, "color": colours[str(name)], "opacity": 0.75},
            text=part.index.to_numpy(),
            hovertemplate="%{text}<br>x %{x:.2f}<br>y %{y:.2f}<extra>" + str(name) + "</extra>",
            meta=csv_columns(cell_line="text", lineage=per_trace(str(name)), **{x_column: "x", y_column: "y"}),
        ))
    base_layout(fig, title=title, x_title=x_title, y_title=y_title)
    fig.update_layout(legend={"font": {"size": 10}, "itemsizing": "constant"})
    return fig


def predicted_actual_figure(predictions: pd.DataFrame, target: str, model: str, r: float, p: float) -> go.Figure:
    """Predicted against actual effect: training and validation blue, test red."""
    fig = go.Figure()
    styles = {"train": ("training", BLUE, 0.35), "validation": ("validation", BLUE, 0.7), "test": ("test", RED, 0.85)}
    trace = scatter_type(len(predictions))
    for split, (label, colour, opacity) in styles.items():
        part = predictions[predictions["split"] == split]
        if part.empty:
            continue
        fig.add_trace(trace(
            x=part["actual"].to_numpy(), y=part["predicted"].to_numpy(), mode="markers", name=f"{label} (n = {len(part)})",
            marker={"size": 6 if split == "test" else 5, "color": colour, "opacity": opacity,
                    "symbol": "diamond" if split == "validation" else "circle"},
            text=part["cell"].to_numpy(), hovertemplate="%{text}<br>actual %{x:.2f}<br>predicted %{y:.2f}<extra></extra>",
            meta=csv_columns(cell_line="text",
                             **({"lineage": per_point(part["lineage"])} if "lineage" in part else {}),
                             split=per_trace(split), actual_gene_effect="x", predicted_gene_effect="y"),
        ))
    lo = float(min(predictions["actual"].min(), predictions["predicted"].min()))
    hi = float(max(predictions["actual"].max(), predictions["predicted"].max()))
    fig.add_shape(type="line", x0=lo, y0=lo, x1=hi, y1=hi, line={"color": GREY, "dash": "dot", "width": 1})
    score = "test r undefined: constant prediction" if np.isnan(r) else f"test r = {r:.2f}, p = {_p_text(p)}"
    base_layout(fig, title=f"{target}: {model} on held-out cell lines ({score})",
                x_title=f"actual {target} gene effect", y_title="predicted gene effect")
    return fig


def _p_text(p: float) -> str:
    return "< 1e-300" if p == 0 else f"{p:.1e}"


def validation_rmse_figure(rmse: dict[str, float], chosen: str, baseline: float | None = None) -> go.Figure:
    """Validation RMSE of every model; the chosen (lowest) one highlighted."""
    names = sorted(rmse, key=rmse.get)
    fig = go.Figure(go.Bar(
        x=names, y=[rmse[n] for n in names], name="validation RMSE",
        marker={"color": [RED if n == chosen else "#a0aec0" for n in names]},
        hovertemplate="%{x}: RMSE %{y:.3f}<extra></extra>",
        meta=csv_columns(model="x", validation_rmse_gene_effect="y",
                         chosen=per_point([n == chosen for n in names])),
    ))
    if baseline is not None:
        reference_line(fig, y=baseline, color="#4a5568", dash="dot", label="training-mean baseline (test RMSE)",
                       label_above=True)
    base_layout(fig, title=f"Validation RMSE by model (chosen: {chosen})", y_title="RMSE (gene effect)")
    return fig


def lineage_weights_figure(weights: pd.DataFrame, target: str) -> go.Figure:
    """Heatmap of standardised per-lineage regression weights (:data:`DIVERGING`: red positive, blue negative)."""
    matrix = weights.drop(columns=[c for c in ("n_cells", "r2") if c in weights.columns])
    bound = float(np.nanmax(np.abs(matrix.to_numpy()))) if matrix.size else 1.0
    labels = [f"{name} (n = {int(n)})" for name, n in zip(matrix.index, weights.get("n_cells", pd.Series(index=matrix.index, data=0)))]
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(), x=list(matrix.columns), y=labels, colorscale=DIVERGING, zmid=0, zmin=-bound, zmax=bound,
        colorbar=diverging_colorbar("weight", "negative weight", "positive weight"),
        hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>",
        meta=csv_columns(lineage=per_row(matrix.index.astype(str)),
                         n_cell_lines=per_row(weights.get("n_cells", pd.Series(0, index=matrix.index)).astype(int)),
                         modifier_gene="x", standardised_weight="z"),
    ))
    base_layout(fig, title=f"Per-lineage weights of {target}'s modifiers (standardised linear regression)")
    fig.update_xaxes(tickangle=-45, automargin=True, dtick=1)
    fig.update_yaxes(automargin=True, autorange="reversed", dtick=1, tickfont={"size": 11})
    return declare_grid(fig, rows=labels, cols=matrix.columns)


def heldout_figure(errors: pd.DataFrame, target: str) -> go.Figure:
    """Absolute errors on each held-out lineage beside the Global random split."""
    groups = ["Global"] + sorted(g for g in errors["group"].unique() if g != "Global")
    colours = {"Global": GREY, **lineage_colours(groups[1:])}
    fig = go.Figure()
    for group in groups:
        values = errors.loc[errors["group"] == group, "abs_error"].to_numpy()
        if len(values) == 0:
            continue
        fig.add_trace(go.Violin(
            y=values, name=group, box_visible=True, meanline_visible=True, points=False, spanmode="hard",
            line={"color": colours[group]}, showlegend=False,
            meta=csv_columns(held_out=per_trace(group), absolute_error_gene_effect="y"),
        ))
    base_layout(fig, title=f"{target}: error on held-out lineages (each trained without it) vs a random split",
                y_title="absolute error (gene effect)")
    fig.update_xaxes(tickangle=-40, automargin=True)
    return fig


# --- decision tree -------------------------------------------------------------------------

def tree_layout(nodes: pd.DataFrame) -> pd.DataFrame:
    """x (in-order leaf position) and y (-depth) of every node."""
    children: dict[int, list[tuple[str, int]]] = {}
    for row in nodes.itertuples():
        if row.parent >= 0:
            children.setdefault(int(row.parent), []).append((row.side, int(row.node_id)))
    x: dict[int, float] = {}
    next_leaf = [0]

    def place(node: int) -> float:
        kids = sorted(children.get(node, []), key=lambda item: item[0] != "<=")
        if not kids:
            x[node] = float(next_leaf[0])
            next_leaf[0] += 1
        else:
            x[node] = float(np.mean([place(child) for _, child in kids]))
        return x[node]

    root = int(nodes.loc[nodes["parent"] < 0, "node_id"].iloc[0])
    place(root)
    out = nodes.copy()
    out["x"] = out["node_id"].map(x)
    out["y"] = -out["depth"].astype(float)
    return out


def tree_figure(nodes: pd.DataFrame, target: str, test_r: float, test_p: float,
                path: list[int] | None = None, cell: str | None = None) -> go.Figure:
    """The decision tree: split nodes as 'gene <= threshold', leaves coloured by mean effect."""
    placed = tree_layout(nodes).set_index("node_id")
    on_path = set(path or [])
    fig = go.Figure()
    for highlighted in (False, True):
        xs, ys = [], []
        for node_id, row in placed.iterrows():
            if row["parent"] < 0:
                continue
            if (node_id in on_path and row["parent"] in on_path) != highlighted:
                continue
            parent = placed.loc[row["parent"]]
            xs += [parent["x"], row["x"], None]
            ys += [parent["y"], row["y"], None]
        if xs:
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=highlighted,
                name=f"path of {cell}" if highlighted else "branches",
                line={"color": "#d69e2e" if highlighted else "#a0aec0", "width": 5 if highlighted else 1.5},
            ))
    splits = placed[~placed["is_leaf"].astype(bool)]
    # three short lines rather than one long one: eight level-3 labels fit across a 7-inch page
    split_text = [f"<b>{g} ≤ {t:.2f}</b><br>n = {int(n)}<br>mean {m:.2f}"
                  for g, t, n, m in zip(splits["gene"], splits["threshold"], splits["n_cells"], splits["mean_effect"])]
    fig.add_trace(go.Scatter(
        x=splits["x"], y=splits["y"], mode="markers+text", name="split",
        marker={"symbol": "square", "size": 14, "color": "#edf2f7", "line": {"color": "#4a5568", "width": 1}},
        text=split_text,
        textposition="top center", textfont={"size": 11}, showlegend=False, cliponaxis=False,
        customdata=splits.index.to_numpy(), hovertemplate="node %{customdata}<extra></extra>",
        meta=csv_columns(node_id="customdata", node_type=per_trace("split"), depth=per_point(splits["depth"]),
                         parent_node_id=per_point(splits["parent"]), split_gene=per_point(splits["gene"]),
                         split_threshold_log2_tpm_plus_1=per_point(splits["threshold"]),
                         n_cell_lines=per_point(splits["n_cells"].astype(int)),
                         mean_gene_effect=per_point(splits["mean_effect"])),
    ))
    leaves = placed[placed["is_leaf"].astype(bool)]
    bound = float(np.nanmax(np.abs(leaves["mean_effect"]))) if len(leaves) else 1.0
    fig.add_trace(go.Scatter(
        x=leaves["x"], y=leaves["y"], mode="markers+text", name="leaf",
        marker={"size": 26, "color": leaves["mean_effect"], "colorscale": DIVERGING, "cmid": 0, "cmin": -bound,
                "cmax": bound, "line": {"color": "#2d3748", "width": 1},
                "colorbar": diverging_colorbar("mean gene effect", "more essential", "less essential")},
        text=[f"{m:.2f}<br>n = {int(n)}" for m, n in zip(leaves["mean_effect"], leaves["n_cells"])],
        textposition="bottom center", textfont={"size": 11}, showlegend=False, cliponaxis=False,
        customdata=leaves.index.to_numpy(), hovertemplate="leaf %{customdata}: mean %{marker.color:.2f}<extra></extra>",
        meta=csv_columns(node_id="customdata", node_type=per_trace("leaf"), depth=per_point(leaves["depth"]),
                         parent_node_id=per_point(leaves["parent"]), n_cell_lines=per_point(leaves["n_cells"].astype(int)),
                         mean_gene_effect="marker_color"),
    ))
    # which way is "yes": the <= branch is always drawn on the left
    score = "test r undefined" if np.isnan(test_r) else f"test r = {test_r:.2f}, p = {_p_text(test_p)}"
    base_layout(fig, title=f"Decision tree for {target} (depth {int(placed['depth'].max())}; {score}); "
                           "left branch: ≤, right: >")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, range=[placed["y"].min() - 0.6, 0.6])
    fig.update_layout(legend={"orientation": "h", "y": -0.02})
    leaf_text = fig.data[-1].text
    return declare_content(fig, tree={"levels": int(placed["depth"].max()) + 1, "leaves": len(leaves),
                                      "label_chars": label_chars([*split_text, *leaf_text]), "label_lines": 3})


# --- genome-wide sweep ------------------------------------------------------------------

def sweep_histogram_figure(table: pd.DataFrame, fdr: float = 0.05) -> go.Figure:
    """Histogram of test Pearson r, stacked by the chosen model type (paper Fig. 3A)."""
    # Counts are computed here, not by plotly.js, so the CSV holds exactly the bars drawn.
    edges = np.linspace(-1.0, 1.0, 41)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    colours = lineage_colours(table["chosen_model"].astype(str).unique())
    for model, part in table.groupby("chosen_model", sort=True):
        counts, _ = np.histogram(part["test_pearson"].dropna().to_numpy(), bins=edges)
        fig.add_trace(go.Bar(
            x=centres, y=counts, width=edges[1] - edges[0], name=f"{model} ({len(part)})",
            marker={"color": colours[str(model)], "line": {"width": 0}},
            hovertemplate="r %{x:.3f}<br>targets: %{y}<extra>" + str(model) + "</extra>",
            meta=csv_columns(chosen_model=per_trace(str(model)), test_pearson_r_bin_centre="x",
                             bin_width=per_trace(float(edges[1] - edges[0])), n_targets="y"),
        ))
    n_sig = int((table["q"] < fdr).sum())
    undefined = int(table["test_pearson"].isna().sum())  # constant predictions have no correlation
    extra = f"; {undefined} without a defined r (no modifier: constant prediction)" if undefined else ""
    base_layout(fig, title=f"Test Pearson r of {len(table):,} targets by chosen model<br><sup>{n_sig:,} significant at "
                           f"BH q < {fdr}{extra}</sup>",
                x_title="test Pearson r (predicted vs actual on held-out cell lines)", y_title="target genes")
    fig.update_layout(barmode="stack")
    return fig


def single_vs_model_figure(table: pd.DataFrame, fdr: float = 0.05) -> go.Figure:
    """Test r of each target's single best modifier against its chosen model's (paper Fig. 1A).

    Points above the diagonal are targets whose model of several modifiers
    predicts better than their best gene alone; BH-significant targets are filled.
    """
    rows = table[table["test_pearson"].notna() & table["single_best_pearson"].notna()]
    fig = go.Figure()
    significant = rows["q"] < fdr
    trace = scatter_type(len(rows))
    for label, part, filled in ((f"BH q < {fdr}", rows[significant], True),
                                (f"BH q ≥ {fdr}", rows[~significant], False)):
        fig.add_trace(trace(
            x=part["single_best_pearson"].to_numpy(), y=part["test_pearson"].to_numpy(), mode="markers",
            name=f"{label} ({len(part)})", text=part["target"].to_numpy(),
            customdata=np.column_stack([part["single_best_modifier"].to_numpy(), part["chosen_model"].to_numpy()])
            if len(part) else None,
            marker={"size": 6, "color": BLUE if filled else "rgba(0,0,0,0)",
                    "line": {"width": 1, "color": BLUE if filled else GREY}},
            hovertemplate="%{text}: model r %{y:.3f} (%{customdata[1]}) vs best single modifier "
                          "%{customdata[0]} r %{x:.3f}<extra></extra>",
            meta=csv_columns(target="text", significant_bh=per_trace(filled), chosen_model="customdata_1",
                             single_best_modifier="customdata_0", single_best_modifier_test_pearson_r="x",
                             chosen_model_test_pearson_r="y"),
        ))
    better = int((rows["test_pearson"] > rows["single_best_pearson"]).sum())
    fig.add_shape(type="line", x0=-1, y0=-1, x1=1, y1=1, line={"color": GREY, "dash": "dot", "width": 1})
    base_layout(fig, title=f"Chosen model vs best single modifier<br><sup>{better:,} of {len(rows):,} targets above "
                           "the diagonal: several modifiers predict better than the best one alone</sup>",
                x_title="test Pearson r, linear model on the single best modifier",
                y_title="test Pearson r, chosen model on all modifiers")
    fig.update_xaxes(range=[-0.3, 1.0])
    fig.update_yaxes(range=[-0.3, 1.0], scaleanchor="x")
    return fig


def published_comparison_figure(frame: pd.DataFrame, simulated: bool) -> go.Figure:
    """Test r per gene: this dataset's atlas against the published table (Rosenski et al. 2023).

    Parameters
    ----------
    frame
        ``gene, atlas_test_pearson, published_test_pearson`` (see ``published_comparison``).
    simulated
        The atlas is of simulated data: the title says the comparison is only illustrative.
    """
    from scipy import stats

    fig = go.Figure()
    n = len(frame)
    trace = scatter_type(n)
    fig.add_trace(trace(x=frame["published_test_pearson"].to_numpy(), y=frame["atlas_test_pearson"].to_numpy(),
                        mode="markers", name=f"genes in both ({n:,})", text=frame["gene"].to_numpy(),
                        marker={"size": 6, "color": BLUE, "opacity": 0.7},
                        hovertemplate="%{text}: this atlas r %{y:.3f}, published r %{x:.3f}<extra></extra>",
                        meta=csv_columns(gene="text", published_test_pearson_r="x", atlas_test_pearson_r="y")))
    fig.add_shape(type="line", x0=-1, y0=-1, x1=1, y1=1, line={"color": GREY, "dash": "dot", "width": 1})
    if n >= 3:
        r, p = stats.pearsonr(frame["published_test_pearson"], frame["atlas_test_pearson"])
        agreement = f"agreement r = {r:.2f} (p = {p:.1e}) over {n:,} genes"
    else:
        agreement = f"{plural(n, 'gene')} in both: too few to correlate"
    caveat = " · the demo is simulated: illustration only" if simulated else ""
    base_layout(fig, title=f"This atlas vs the published results<br><sup>{agreement}{caveat}</sup>",
                x_title="published test Pearson r (Rosenski et al. 2023, DepMap)",
                y_title="test Pearson r, this atlas")
    fig.update_xaxes(range=[-0.3, 1.0])
    fig.update_yaxes(range=[-0.3, 1.0])
    return fig


def enrichment_figure(table: pd.DataFrame, target: str, n: int = 5) -> go.Figure:
    """The paper's Fig. 1B: -log10 p of the top ``n`` gene sets, overlapping genes on hover."""
    top = table.head(n).iloc[::-1]
    fig = go.Figure(go.Bar(
        x=-np.log10(top["p"].clip(lower=1e-300)).to_numpy(), y=top["term"].to_numpy(), orientation="h",
        name="gene set", marker={"color": ["#2c7a7b" if q < 0.05 else "#a0aec0" for q in top["q"]]},
        customdata=top[["overlap", "set_size", "q", "genes"]].to_numpy(),
        hovertemplate="%{y}<br>-log10 p %{x:.2f}<br>%{customdata[0]} of %{customdata[1]} genes are modifiers"
                      "<br>q %{customdata[2]:.2e}<br>%{customdata[3]}<extra></extra>",
        meta=csv_columns(gene_set="y", minus_log10_p="x", p_hypergeometric=per_point(top["p"]),
                         q_bh="customdata_2", n_modifiers_in_set="customdata_0", set_size="customdata_1",
                         overlapping_genes="customdata_3"),
    ))
    n_mod = table.attrs.get("n_modifiers", "?")
    base_layout(fig, title=f"Gene sets enriched in {target}'s {plural(n_mod, 'modifier gene')} (teal: q < 0.05)",
                x_title="-log10 p (one-sided hypergeometric)")
    fig.update_yaxes(automargin=True, dtick=1)
    return declare_grid(fig, rows=top["term"])


# --- one vs many modifiers and cross-validation (paper Fig. 3C-E) -------------------------

def _lower_subplot_titles(fig: go.Figure, top: float = 0.84) -> None:
    """Make room above the panels (for the simulated-data stamp): plots end at ``top``, their titles just above."""
    for annotation in fig.layout.annotations:
        annotation.y = top
    fig.update_yaxes(domain=[0, top])


def _score_text(r: float, p: float, n: int) -> str:
    return f"r undefined (n = {n})" if not np.isfinite(r) else f"r = {r:.2f}, p = {_p_text(p)}, n = {n}"


def modifier_counts_figure(summary: pd.DataFrame, predictions: pd.DataFrame, chosen: pd.DataFrame, target: str,
                           chosen_model: str, chosen_r: float, chosen_p: float) -> go.Figure:
    """Predicted against actual on the test cells: linear models on the top 1, 5 and all modifiers, and the chosen model.

    Parameters
    ----------
    summary, predictions
        :class:`core.essentiality.ModifierCounts` parts (one row / set of points per linear model).
    chosen
        The chosen model's test rows (``cell, actual, predicted``).
    chosen_model, chosen_r, chosen_p
        Its name and test Pearson r and p.
    """
    from plotly.subplots import make_subplots

    panels = []
    for row in summary.itertuples():
        genes = row.genes.split(";") if row.genes else []
        label = f"{row.model}: {genes[0]}" if row.k == 1 and genes else f"{row.model} ({plural(row.n_modifiers, 'gene')})"
        if row.k is not None and row.n_modifiers < row.k:
            label = f"{row.model}: only {plural(row.n_modifiers, 'modifier')}"
        panels.append((f"linear, {label}", predictions[predictions["model"] == row.model],
                       _score_text(row.test_pearson, row.test_pearson_p, row.n_test), BLUE))
    panels.append((f"chosen: {chosen_model}", chosen, _score_text(chosen_r, chosen_p, len(chosen)), RED))
    fig = make_subplots(rows=1, cols=len(panels), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[f"{name}<br>{score}" for name, _, score, _ in panels])
    _lower_subplot_titles(fig)
    values = np.concatenate([predictions[["actual", "predicted"]].to_numpy().ravel(),
                             chosen[["actual", "predicted"]].to_numpy().ravel()])
    values = values if np.isfinite(values).any() else np.array([0.0, 1.0])
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.04 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    for col, (name, part, score, colour) in enumerate(panels, start=1):
        fig.add_trace(scatter_type(len(part))(
            x=part["actual"].to_numpy(), y=part["predicted"].to_numpy(), mode="markers", name=name,
            marker={"size": 5, "color": colour, "opacity": 0.7}, text=part["cell"].to_numpy(), showlegend=False,
            hovertemplate="%{text}<br>actual %{x:.2f}<br>predicted %{y:.2f}<extra>" + name + "</extra>",
            meta=csv_columns(model=per_trace(name), cell_line="text", actual_gene_effect="x",
                             predicted_gene_effect="y"),
        ), row=1, col=col)
        fig.add_shape(type="line", x0=lo, y0=lo, x1=hi, y1=hi, line={"color": GREY, "dash": "dot", "width": 1},
                      row=1, col=col)
        fig.update_xaxes(title_text="actual", range=[lo, hi], row=1, col=col)
    base_layout(fig, title=f"{target}: one modifier or many, on the held-out cell lines")
    fig.update_yaxes(title_text="predicted gene effect", range=[lo, hi], row=1, col=1)
    fig.update_annotations(font={"size": 11})
    fig.update_layout(margin={"t": 70})
    return fig


def cv_figure(predictions: pd.DataFrame, folds: pd.DataFrame, target: str, r: float, p: float,
              ci: tuple[float, float]) -> go.Figure:
    """Pooled out-of-fold predictions coloured by fold (left) and each fold's test r (right).

    Parameters
    ----------
    predictions
        A cross-validated report's predictions (``split == "test"`` rows carry ``fold``).
    folds
        :func:`core.essentiality.cv_folds`.
    r, p, ci
        Pooled test Pearson r, its p and 95% interval.
    """
    from plotly.subplots import make_subplots

    test = predictions[predictions["split"] == "test"]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.68, 0.32], horizontal_spacing=0.12,
                        subplot_titles=("pooled out-of-fold predictions", "test r of each fold"))
    _lower_subplot_titles(fig, 0.88)
    for i, (fold, part) in enumerate(test.groupby("fold", sort=True)):
        fig.add_trace(scatter_type(len(part))(
            x=part["actual"].to_numpy(), y=part["predicted"].to_numpy(), mode="markers",
            name=f"fold {int(fold) + 1} (n = {len(part)})", text=part["cell"].to_numpy(),
            marker={"size": 5, "color": QUALITATIVE[i % len(QUALITATIVE)], "opacity": 0.75},
            hovertemplate="%{text}<br>actual %{x:.2f}<br>predicted %{y:.2f}<extra>fold " + str(int(fold) + 1)
                          + "</extra>",
            meta=csv_columns(panel=per_trace("predictions"), fold=per_trace(int(fold) + 1), cell_line="text",
                             actual_gene_effect="x", predicted_gene_effect="y"),
        ), row=1, col=1)
    if len(test):
        lo = float(min(test["actual"].min(), test["predicted"].min()))
        hi = float(max(test["actual"].max(), test["predicted"].max()))
        fig.add_shape(type="line", x0=lo, y0=lo, x1=hi, y1=hi, line={"color": GREY, "dash": "dot", "width": 1},
                      row=1, col=1)
    fig.add_trace(go.Bar(
        x=[f"fold {int(f) + 1}" for f in folds["fold"]], y=folds["test_pearson"].to_numpy(), name="fold r",
        marker={"color": [QUALITATIVE[i % len(QUALITATIVE)] for i in range(len(folds))]}, showlegend=False,
        customdata=folds[["n_test", "test_pearson_p", "chosen_model", "n_modifiers"]].to_numpy(),
        hovertemplate="%{x}: r %{y:.3f} (p %{customdata[1]:.1e}, n = %{customdata[0]})<br>%{customdata[2]} on "
                      "%{customdata[3]} modifiers<extra></extra>",
        meta=csv_columns(panel=per_trace("folds"), fold=per_point(folds["fold"].astype(int) + 1), test_pearson_r="y",
                         test_pearson_p="customdata_1", n_test_cell_lines="customdata_0",
                         chosen_model="customdata_2", n_modifiers="customdata_3"),
    ), row=1, col=2)
    if np.isfinite(r):
        fig.add_shape(type="line", xref="x2 domain", x0=0, x1=1, yref="y2", y0=r, y1=r,
                      line={"color": GREY, "dash": "dash", "width": 1})
    pooled = "pooled r undefined" if not np.isfinite(r) else \
        f"pooled r = {r:.2f} (95% CI {ci[0]:.2f} to {ci[1]:.2f}), p = {_p_text(p)}, n = {len(test)}"
    values = folds["test_pearson"].dropna()
    spread = f"; fold r {values.mean():.2f} ± {values.std(ddof=1):.2f} (mean ± SD)" if len(values) > 1 else ""
    base_layout(fig, title=f"{target}: {len(folds)}-fold cross-validation<br><sup>{pooled}{spread}</sup>")
    fig.update_xaxes(title_text=f"actual {target} gene effect", row=1, col=1)
    fig.update_yaxes(title_text="predicted gene effect", row=1, col=1)
    fig.update_yaxes(title_text="test Pearson r", range=[min(0.0, float(values.min()) - 0.05) if len(values) else 0,
                                                         1.0], row=1, col=2)
    fig.update_annotations(font={"size": 12})
    fig.update_layout(margin={"t": 80})
    return fig


# --- essentiality of new samples --------------------------------------------------------------------

def new_samples_figure(predictions: pd.Series, groups: pd.Series, table: pd.DataFrame, target: str,
                       mean_prediction: float, fdr: float = 0.05) -> go.Figure:
    """Predicted gene effect of new samples, one box with its points per group, flagged groups in red.

    ``table`` is :func:`core.essentiality.group_test`'s; groups are ordered by mean prediction (most
    essential first) and a flagged group's label carries its q.
    """
    order = table.sort_values(["mean_prediction", "group"])
    labels = groups.reindex(predictions.index)
    fig = go.Figure()
    for row in order.itertuples(index=False):
        values = predictions[(labels == row.group).to_numpy()].dropna()
        flagged = bool(row.flagged)
        name = f"{row.group} *" if flagged else str(row.group)
        fig.add_trace(go.Box(
            y=values.to_numpy(), name=name, boxpoints="all", jitter=0.4, pointpos=0, text=values.index.astype(str),
            marker={"color": RED if flagged else BLUE, "size": 5}, line={"color": RED if flagged else BLUE},
            showlegend=False,
            hovertemplate=(f"%{{text}} ({row.group})<br>predicted effect %{{y:.3f}}<br>group mean "
                           f"{row.mean_prediction:.3f}, n {row.n}<br>t {row.t:.2f}, p {row.p:.2e}, q {row.q:.2e}"
                           "<extra></extra>"),
            meta=csv_columns(sample="text", group=per_trace(str(row.group)), flagged=per_trace(flagged),
                             **{f"predicted_{target}_gene_effect": "y"}),
        ))
    reference_line(fig, y=mean_prediction, dash="dash", label=f"mean prediction {mean_prediction:.3f}", label_above=True)
    n_flagged = int(table["flagged"].sum())
    base_layout(fig, title=(f"{target}: predicted essentiality of new samples by group (red *: differs from the "
                            f"other samples, Welch t-test, BH q < {fdr:g}; {n_flagged} of {len(table)} groups)"),
                y_title=f"predicted {target} gene effect (lower = more essential)")
    fig.update_xaxes(tickangle=-40, automargin=True)
    return fig
