"""Validation of user files: every dataset kind is loaded with the pages' own loaders, then checked.

:func:`validate` gives what the loaders returned and a :class:`ValidationReport`
written for biologists: each check passed, warned about or failed, and the
headline figures. Minimum sizes are the smallest datasets the methods can work
with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.datasets.kinds import KINDS, SPECS
from core.errors import InputError

#: Smallest datasets the methods can work with.
MIN_CELL_LINES = 50
MIN_EXPRESSED_GENES = 10
MIN_SC_CELLS = 20
MIN_SC_GENES = 5
MAX_SC_GENES = 3000  # DKO's weights are genes x genes
MIN_DECODE_GENES = 100
MIN_SIGNATURE_GENES = 20


@dataclass
class ValidationReport:
    """The outcome of validating one set of files, for people.

    Attributes
    ----------
    kind
        Dataset kind (a key of :data:`SPECS`).
    checks
        ``(level, text)`` with level ``ok``, ``warning`` or ``error``, in the order checked.
    summary
        Headline figures (label -> formatted value).
    """

    kind: str
    checks: list[tuple[str, str]] = field(default_factory=list)
    summary: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not any(level == "error" for level, _ in self.checks)

    def add(self, level: str, text: str) -> None:
        self.checks.append((level, text))

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "checks": [list(c) for c in self.checks], "summary": self.summary}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ValidationReport":
        return cls(data["kind"], [tuple(c) for c in data["checks"]], dict(data["summary"]))


def _one(files: dict[str, list[Path]], role: str) -> Path | None:
    paths = files.get(role) or []
    return Path(paths[0]) if paths else None


def _check_roles(kind: str, files: dict[str, list[Path]]) -> None:
    spec = SPECS[kind]
    known = {r.key for r in spec.roles}
    unknown = sorted(set(files) - known)
    if unknown:
        raise InputError(f"unexpected file role(s) {', '.join(unknown)} for a {spec.label}")
    for role in spec.roles:
        given = files.get(role.key) or []
        if role.required and not given:
            raise InputError(f"{spec.label}: the {role.label.lower()} file is missing")
        if len(given) > 1 and not role.multiple:
            raise InputError(f"{spec.label}: give one {role.label.lower()} file, not {len(given)}")


def _validate_essentiality(files, report: ValidationReport):
    from core.datasets.depmap import load_depmap

    data = load_depmap(_one(files, "effect"), _one(files, "expression"), _one(files, "models"))
    n_cells = data.effect.shape[0]
    report.summary.update({"cell lines (in both files)": f"{n_cells:,}",
                           "expression genes": f"{data.expression.shape[1]:,}",
                           "gene-effect genes": f"{data.effect.shape[1]:,}"})
    report.add("ok", f"gene effect and expression share {n_cells:,} cell lines")
    if n_cells < MIN_CELL_LINES:
        report.add("error", f"only {n_cells} shared cell lines; the modifier-gene models split cell lines 75/25 and "
                            f"need at least {MIN_CELL_LINES}")
    varying = int((data.expression.std(axis=0) > 0).sum())
    if varying < MIN_EXPRESSED_GENES:
        report.add("error", f"only {varying} expression genes vary across cell lines; at least "
                            f"{MIN_EXPRESSED_GENES} are needed to look for modifiers")
    values = data.effect.to_numpy(dtype=float)
    median = float(np.nanmedian(values))
    report.summary["median gene effect"] = f"{median:.2f}"
    if abs(median) > 0.5:
        report.add("warning", f"the median gene effect is {median:.2f}; DepMap's scale has a median near 0 and "
                              "common-essential genes near -1. Is this a different score (for example a probability)?")
    else:
        report.add("ok", f"gene effect on DepMap's scale (median {median:.2f})")
    missing = float(np.isnan(values).mean())
    if missing > 0.2:
        report.add("warning", f"{missing:.0%} of gene-effect values are missing; targets with few screened cell "
                              "lines give unreliable modifiers")
    lineages = data.cells["lineage"]
    lineages = lineages[lineages != ""]
    if len(lineages):
        report.summary["lineages"] = f"{lineages.nunique()}"
        report.add("ok", f"{lineages.nunique()} lineages from the annotation")
    else:
        report.add("warning", "no cell-line annotation: per-lineage views will show a single group")
    return data


DKO_OPTION_KEYS = ("matrix", "genes", "n_genes", "keep")


def check_dko_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Single-cell reading options, validated and without defaults (so the defaults digest as before).

    ``matrix``: ``"X"``, ``"raw"`` or ``"layer:<name>"`` (default: the first
    non-negative one); ``genes``: a method of
    :data:`core.datasets.gene_selection.METHODS` (default ``auto``);
    ``n_genes``: how many (``hvg`` when computed, ``top_mean``); ``keep``:
    gene names always kept (the whole selection for ``list``).

    Parameters
    ----------
    options : dict or None
        The options as given (strings from a form, or values from the API).

    Returns
    -------
    dict
        The options that differ from the defaults, with their types checked.

    Raises
    ------
    InputError
        An unknown option, gene selection method or a non-integer number of genes.
    """
    from core.datasets.gene_selection import METHODS

    clean: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if key not in DKO_OPTION_KEYS:
            raise InputError(f"unknown single-cell option {key!r}; use {', '.join(DKO_OPTION_KEYS)}")
        if value in (None, "", [], "default", "auto"):
            continue
        if key == "keep":
            items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", str(value))
            names = list(dict.fromkeys(str(g).strip() for g in items if str(g).strip()))
            if names:
                clean[key] = names
        elif key == "n_genes":
            try:
                clean[key] = int(value)
            except (TypeError, ValueError):
                raise InputError(f"the number of genes must be a whole number, got {value!r}") from None
        elif key == "genes" and value not in METHODS:
            raise InputError(f"unknown gene selection {value!r}; choose one of {', '.join(METHODS)}")
        else:
            clean[key] = str(value)
    if "n_genes" in clean and clean.get("genes") not in ("hvg", "top_mean"):
        del clean["n_genes"]  # only these methods use it: the same selection digests the same
    return clean


@dataclass
class PreparedCells:
    """What a single-cell file gives DKO's page: dense expression of the chosen genes and the cell table.

    Attributes
    ----------
    expression : pandas.DataFrame
        Cells x chosen genes, dense.
    cells : pandas.DataFrame
        One row per cell: its annotations (cluster, cell type, ...).
    info : dict
        How the genes were chosen and from which matrix, for the validation report.
    """

    expression: pd.DataFrame
    cells: pd.DataFrame
    info: dict[str, Any]


def _validate_dko(files, report: ValidationReport, options: dict[str, Any] | None = None):
    from core.datasets.gene_selection import dense_expression, format_bytes, select_genes
    from core.datasets.cell_annotations import cell_table
    from core.datasets.scverse import read_singlecell_file
    from core.datasets.singlecell import check_expression

    options = check_dko_options(options)
    path = _one(files, "matrix")
    file = read_singlecell_file(path, options.get("matrix"))
    chosen = file.choice()
    how = "chosen" if options.get("matrix") else "default: the first non-negative, preferring counts, then .raw"
    if len(file.choices) > 1 or file.chosen != "X":
        report.add("ok", f"expression from {chosen.label} ({how}): {chosen.holds}")
        for other in file.choices:
            if other.key != file.chosen:
                report.add("ok", f"also in the file: {other.describe()}")
    report.summary["matrix"] = chosen.label
    selection = select_genes(file, options.get("genes", "auto"), options.get("n_genes"), options.get("keep", ()),
                             MAX_SC_GENES)
    if selection.method != "all" or len(selection.genes) < len(file.genes):
        report.add("ok", f"genes for DKO: {selection.note}, of {len(file.genes):,} in the file")
    frame = dense_expression(file, selection.genes)
    totals = frame.sum(axis=0)
    empty = totals[totals == 0].index
    if 0 < len(empty) < frame.shape[1] and selection.method != "all":
        frame = frame.drop(columns=empty)
        report.add("warning", f"{len(empty):,} cell(s) express none of the chosen genes and were left out "
                              f"(e.g. {', '.join(map(str, empty[:3]))})")
    frame = check_expression(frame, path.name)
    dense = frame.to_numpy().nbytes
    if file.is_sparse:
        report.add("ok", f"the file's matrix stays sparse ({format_bytes(file.stored_bytes())}, "
                         f"{chosen.nonzero:.0%} non-zero); DKO needs it dense: {frame.shape[0]:,} genes x "
                         f"{frame.shape[1]:,} cells = {format_bytes(dense)} (float64)")
    report.summary["dense matrix for DKO"] = format_bytes(dense)
    n_genes, n_cells = frame.shape
    present = (frame.to_numpy() > 0)
    report.summary.update({"genes": f"{n_genes:,}", "cells": f"{n_cells:,}",
                           "median genes present per cell": f"{int(np.median(present.sum(axis=0))):,}"})
    report.add("ok", f"non-negative matrix of {n_genes:,} genes x {n_cells:,} cells")
    if n_cells < MIN_SC_CELLS:
        report.add("error", f"only {n_cells} cells; DKO holds out 20 % for validation and needs at least "
                            f"{MIN_SC_CELLS}")
    if n_genes < MIN_SC_GENES:
        report.add("error", f"only {n_genes} genes; at least {MIN_SC_GENES} are needed")
    if n_genes > MAX_SC_GENES:
        report.add("error", f"{n_genes:,} genes: DKO learns a genes x genes matrix; select at most "
                            f"{MAX_SC_GENES:,} genes (highly variable genes, the top N by mean, or a list)")
    elif n_genes > 500:
        report.add("warning", f"{n_genes:,} genes: training and knocking out every gene will take a while; "
                              "highly variable genes or the top N by mean expression are quicker")
    always = int(present.all(axis=1).sum())
    if always == n_genes:
        report.add("error", "every gene is present in every cell, so no cell differs in which genes it has; "
                            "DKO learns from differences in presence (zeros)")
    elif always:
        report.add("warning", f"{always} genes are present in every cell")
    cells, info = cell_table(file)
    cells = cells.loc[frame.columns]
    if info["groupings"]:
        groups = ", ".join(f"{c} ({cells['obs:' + c].nunique()} groups)" for c in info["groupings"])
        report.add("ok", f"cell annotations to group by: {groups}")
        report.summary["cell annotations"] = ", ".join(info["groupings"])
    for column, count in info["text"].items():
        report.add("warning", f"the annotation {column!r} has {count:,} different values, too many to tell apart "
                              "by colour: it is kept as text (shown when pointing at a cell), not offered for "
                              "grouping")
    if info["embeddings"]:
        report.add("ok", f"the file's embeddings: {', '.join(info['embeddings'])}")
        report.summary["embeddings"] = ", ".join(info["embeddings"])
    info = {**info, "matrix": file.chosen, "genes_note": selection.note, "dense_bytes": int(dense),
            "sparse_bytes": int(file.stored_bytes()) if file.is_sparse else None}
    return PreparedCells(frame, cells, info)


def _validate_decode(files, report: ValidationReport):
    from core.datasets.decode_bundle import load_decode_any

    data = load_decode_any(_one(files, "bundle"))
    n_genes = len(data.genes)
    tissues = [t for t in data.targets.columns]
    report.summary.update({"genes": f"{n_genes:,}", "promoter features": f"{len(data.promoter_features):,}",
                           "mRNA features": f"{len(data.mrna_features):,}", "targets": f"{len(tissues):,}"})
    report.add("ok", f"{n_genes:,} genes with binding sites and {len(tissues)} expression targets")
    if n_genes < MIN_DECODE_GENES:
        report.add("error", f"only {n_genes} genes; the CNN is trained, validated and tested on genes split by "
                            f"chromosome and needs at least {MIN_DECODE_GENES}")
    split = data.params.get("split")
    chromosomes = pd.Series(data.chromosome).astype(str)
    report.summary["chromosomes"] = f"{chromosomes.nunique()}"
    if split:
        sizes = ", ".join(f"{name} {len(genes):,}" for name, genes in split.items())
        report.add("ok", f"the bundle's own gene split is used ({sizes})")
    elif chromosomes.nunique() < 3:
        report.add("error", f"genes lie on {chromosomes.nunique()} chromosome(s); the chromosome split needs "
                            "at least 3 (test, validation, training)")
    elif not (chromosomes == "chr1").any():
        report.add("warning", "no gene on chr1, the paper's test chromosome; choose the test chromosome on the "
                              "DEcode page")
    return data


def _validate_perturbation(files, report: ValidationReport):
    from core.datasets.networks import gene_table, load_network
    from core.datasets.perturbation_demo import PerturbationData
    from core.datasets.signatures import load_signatures

    table = gene_table(_one(files, "genes")) if _one(files, "genes") is not None else None
    types = [t for t in ("RNAi", "CRISPR", "OE") if files.get(t)]
    if not types:
        raise InputError("give at least one signature file (RNAi, CRISPR or OE)")
    layers: dict[str, pd.DataFrame] = {}
    for path in files["network"]:
        name = Path(path).name.split(".")[0] or "layer"
        while name in layers:
            name += "_2"
        layers[name] = load_network(path, table)
    nodes = set().union(*[set(e["gene1"]) | set(e["gene2"]) for e in layers.values()])
    report.add("ok", f"{len(layers)} network layer(s) with {len(nodes):,} genes")
    signatures: dict[str, pd.DataFrame] = {}
    landmarks: list[str] | None = None
    for kind in types:
        frame = load_signatures(_one(files, kind), genes=table, landmarks=landmarks)
        landmarks = list(frame.columns) if landmarks is None else landmarks
        signatures[kind] = frame
        in_network = int(frame.index.isin(list(nodes)).sum())
        report.summary[f"{kind} signatures"] = f"{len(frame):,} ({in_network:,} in the networks)"
        if in_network < MIN_SIGNATURE_GENES:
            report.add("error", f"{kind}: only {in_network} of {len(frame):,} perturbed genes are in the networks; "
                                f"at least {MIN_SIGNATURE_GENES} are needed to train. Are the ids of the two files the "
                                "same kind (symbols vs Entrez)? A gene table maps one to the other.")
        else:
            report.add("ok", f"{kind}: {in_network:,} of {len(frame):,} perturbed genes are in the networks")
    report.summary["landmark genes"] = f"{len(landmarks):,}"
    report.summary["network genes"] = f"{len(nodes):,}"
    names = sorted(nodes | set().union(*[set(s.index) for s in signatures.values()]) | set(landmarks))
    genes = pd.DataFrame(index=pd.Index(names, name="gene"))
    genes["entrez"] = -1
    if table is not None and "symbol" in table.columns and "entrez" in table.columns:
        mapping = table.drop_duplicates("symbol").set_index("symbol")["entrez"]
        genes["entrez"] = pd.to_numeric(mapping.reindex(genes.index), errors="coerce").fillna(-1).astype(int)
    return PerturbationData(genes=genes, layers=layers, landmarks=landmarks, signatures=signatures,
                            params={"source": "registered"})


#: Sets smaller than this are kept but counted: a hypergeometric test on them has little power.
MIN_SET_GENES = 5


def _validate_genesets(files, report: ValidationReport):
    from core.datasets.gene_sets import load_gmt

    sets = load_gmt(_one(files, "gmt"))
    sizes = pd.Series({name: len(genes) for name, genes in sets.items()})
    genes = {g for members in sets.values() for g in members}
    report.summary.update({"gene sets": f"{len(sets):,}", "genes": f"{len(genes):,}",
                           "median set size": f"{int(sizes.median()):,}"})
    report.add("ok", f"{len(sets):,} gene sets over {len(genes):,} genes (sizes {sizes.min():,} to {sizes.max():,})")
    small = int((sizes < MIN_SET_GENES).sum())
    if small:
        report.add("warning", f"{small:,} set(s) have fewer than {MIN_SET_GENES} genes; they can rarely reach "
                              "significance")
    numeric = sum(g.isdigit() for g in genes)
    if numeric > 0.5 * len(genes):
        report.add("error", f"{numeric:,} of {len(genes):,} genes are numbers (Entrez ids?); the expression tables "
                            "use gene symbols: export the library with symbols (e.g. MSigDB's *.symbols.gmt)")
    return sets


VALIDATORS = {"essentiality": _validate_essentiality, "dko": _validate_dko, "decode": _validate_decode,
              "perturbation": _validate_perturbation, "genesets": _validate_genesets}


def validate(kind: str, files: dict[str, list[str | Path]],
             options: dict[str, Any] | None = None) -> tuple[Any, ValidationReport]:
    """Load and check one dataset's files.

    Parameters
    ----------
    kind
        A key of :data:`SPECS`.
    files
        role -> list of paths (see the kind's :class:`Role` entries).
    options
        How to read them (single-cell matrices only, see :func:`check_dko_options`).

    Returns
    -------
    (data, report)
        ``data`` is what the loaders returned (None when a loader refused the
        files); ``report.ok`` says whether it can be registered.
    """
    if kind not in SPECS:
        raise InputError(f"unknown dataset kind {kind!r}; choose one of {', '.join(KINDS)}")
    report = ValidationReport(kind)
    clean = {role: [Path(p) for p in paths] for role, paths in files.items() if paths}
    try:
        _check_roles(kind, clean)
        if kind == "dko":
            data = _validate_dko(clean, report, options)
        elif options:
            raise InputError(f"a {SPECS[kind].label} takes no reading options")
        else:
            data = VALIDATORS[kind](clean, report)
    except InputError as exc:
        report.add("error", str(exc))
        return None, report
    return data, report
