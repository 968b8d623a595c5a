"""A depth-4 regression tree on a target's modifiers, as a table of nodes (paper Fig. 5G)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from core.errors import InputError
from core.essentiality.lineage import _check_modifiers

NODE_COLUMNS = ["node_id", "parent", "side", "depth", "gene", "threshold", "n_cells", "mean_effect", "is_leaf"]


@dataclass
class TreeResult:
    """A fitted decision tree as plain data.

    Attributes
    ----------
    nodes
        One row per node: ``node_id, parent`` (-1 for the root), ``side``
        (``"<="`` or ``">"`` relative to the parent's split, ``""`` for the
        root), ``depth, gene`` (``""`` for leaves), ``threshold`` (NaN for
        leaves), ``n_cells`` and ``mean_effect`` (training cells reaching the
        node) and ``is_leaf``. A leaf's mean effect is its prediction.
    test_pearson, test_pearson_p
        Pearson r (and p) of the tree's predictions on the held-out cells.
    modifiers
        The genes the tree could split on.
    test_rmse
        RMSE on the held-out cells.
    """

    nodes: pd.DataFrame
    test_pearson: float
    test_pearson_p: float
    modifiers: list[str]
    test_rmse: float = float("nan")
    n_train: int = 0
    n_test: int = 0

    def decision_path(self, expression_row: pd.Series) -> list[int]:
        """Node ids from the root to the leaf a cell line reaches.

        Parameters
        ----------
        expression_row : Series
            That cell line's expression, indexed by gene.
        """
        nodes = self.nodes.set_index("node_id")
        children: dict[tuple[int, str], int] = {
            (int(r.parent), r.side): int(i) for i, r in nodes.iterrows() if r.parent >= 0}
        node = int(self.nodes.loc[self.nodes["parent"] == -1, "node_id"].iloc[0])
        path = [node]
        while not bool(nodes.at[node, "is_leaf"]):
            gene = nodes.at[node, "gene"]
            if gene not in expression_row.index or pd.isna(expression_row[gene]):
                raise InputError(f"this cell line has no expression value for {gene}, which the tree splits on")
            side = "<=" if float(expression_row[gene]) <= float(nodes.at[node, "threshold"]) else ">"
            node = children[(node, side)]
            path.append(node)
        return path

    def to_payload(self) -> dict:
        return {"tree_nodes": self.nodes,
                "tree_meta": {"test_pearson": self.test_pearson, "test_pearson_p": self.test_pearson_p,
                              "modifiers": self.modifiers, "test_rmse": self.test_rmse,
                              "n_train": self.n_train, "n_test": self.n_test}}

    @classmethod
    def from_payload(cls, payload: dict) -> "TreeResult":
        meta = payload["tree_meta"]
        nodes = payload["tree_nodes"].copy()
        nodes["gene"] = nodes["gene"].fillna("").astype(str)
        nodes["side"] = nodes["side"].fillna("").astype(str)
        return cls(nodes=nodes, test_pearson=meta["test_pearson"], test_pearson_p=meta["test_pearson_p"],
                   modifiers=list(meta["modifiers"]), test_rmse=meta["test_rmse"], n_train=meta["n_train"],
                   n_test=meta["n_test"])


def fit_tree(
    expression: pd.DataFrame,
    effect: pd.Series,
    modifiers: Sequence[str],
    *,
    max_depth: int = 4,
    test_size: float = 0.25,
    random_state: int = 0,
    split: tuple[Sequence, Sequence] | None = None,
) -> TreeResult:
    """Fit a regression tree of the target's effect on its modifiers' expression.

    Parameters
    ----------
    expression : DataFrame
        Cells x genes expression.
    effect : Series
        The target's gene effect by cell (missing values dropped).
    modifiers : sequence of str
        Candidate split genes.
    max_depth : int
        Tree depth (the paper draws depth 4).
    test_size : float
        Share of cell lines held out to report the tree's test Pearson.
    random_state : int
        Seed of the split and the tree.
    split : (train cells, test cells), optional
        A fixed partition of cell-line ids (the atlas's) instead of a random one.

    Returns
    -------
    TreeResult
        Without modifiers (a target with none selected) the tree is a single
        leaf predicting the training mean, and its test Pearson is NaN.
    """
    from scipy.stats import pearsonr
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeRegressor

    modifiers = _check_modifiers(expression, modifiers)
    if not 1 <= max_depth <= 8:
        raise InputError(f"max_depth must be between 1 and 8; got {max_depth}")
    if not 0.05 <= test_size <= 0.5:
        raise InputError(f"test_size must be between 0.05 and 0.5; got {test_size}")
    effect = pd.to_numeric(effect, errors="coerce").dropna()
    frame = expression.loc[:, modifiers].join(effect.rename("__effect__"), how="inner").dropna()
    if len(frame) < 20:
        raise InputError(f"only {len(frame)} cell lines have the modifiers' expression and a gene effect; "
                         "at least 20 are needed for a tree")
    if split is None:
        train, test = train_test_split(frame.index, test_size=test_size, random_state=random_state)
    else:
        train, test = frame.index.intersection(pd.Index(split[0])), frame.index.intersection(pd.Index(split[1]))
    x = frame[modifiers].to_numpy(np.float64)
    if not modifiers:
        x = np.zeros((len(frame), 1))  # a constant feature: the tree stays one leaf
    y = frame["__effect__"].to_numpy(np.float64)
    at = {c: i for i, c in enumerate(frame.index)}
    tr = np.array([at[c] for c in train])
    te = np.array([at[c] for c in test])
    model = DecisionTreeRegressor(max_depth=max_depth, random_state=random_state).fit(x[tr], y[tr])
    t = model.tree_
    rows = []
    stack = [(0, -1, "", 0)]
    while stack:
        node, parent, side, depth = stack.pop()
        leaf = t.children_left[node] == -1
        rows.append({"node_id": int(node), "parent": int(parent), "side": side, "depth": depth,
                     "gene": "" if leaf else modifiers[t.feature[node]],
                     "threshold": float("nan") if leaf else float(t.threshold[node]),
                     "n_cells": int(t.n_node_samples[node]), "mean_effect": float(t.value[node].ravel()[0]),
                     "is_leaf": bool(leaf)})
        if not leaf:
            stack.append((int(t.children_right[node]), int(node), ">", depth + 1))
            stack.append((int(t.children_left[node]), int(node), "<=", depth + 1))
    nodes = pd.DataFrame(rows, columns=NODE_COLUMNS).sort_values("node_id").reset_index(drop=True)
    pred = model.predict(x[te])
    if np.ptp(pred) > 0 and np.ptp(y[te]) > 0:
        r, p = pearsonr(y[te], pred)
    else:
        r, p = float("nan"), float("nan")
    return TreeResult(nodes=nodes, test_pearson=float(r), test_pearson_p=float(p), modifiers=modifiers,
                      test_rmse=float(np.sqrt(np.mean((pred - y[te]) ** 2))), n_train=len(tr), n_test=len(te))
