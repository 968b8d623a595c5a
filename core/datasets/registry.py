"""Datasets that users bring: validate, store by content hash, register under a name, load.

A registration is one kind of dataset, the kinds the method pages use:

==================  ===========================================  ==========================
kind                files (roles)                                 read by
==================  ===========================================  ==========================
``essentiality``    DepMap gene effect + expression (+ models)   :func:`load_depmap`
``dko``             one single-cell matrix (CSV/TSV/h5ad/10x)    :func:`read_singlecell_file`
``decode``          one DEcode bundle (.npz) or toy folder        :func:`load_decode_any`
``perturbation``    network edge lists + RNAi/CRISPR/OE           :func:`load_network`,
                    signatures (+ gene table)                     :func:`load_signatures`
``genesets``        one GMT gene-set library (MSigDB, Reactome,   :func:`load_gmt`
                    KEGG, GO exports)
==================  ===========================================  ==========================

Files are copied to ``<root>/<kind>/<digest>/`` where ``digest`` is the SHA-256
of the kind, each role and each file's bytes, so registering the same files
twice stores nothing new. Validation is loading: the files go through the same
loaders the pages use, then through minimum-size and plausibility checks, and
the outcome is a :class:`ValidationReport` written for biologists. Nothing is
unpickled; entries are JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.datasets.storage import SCHEMA_FILE
from core.errors import InputError

ENTRY_FILE = "entry.json"
PARSED_DIR = "parsed"  # the typed binary copy of a registration's page data
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,59}$")


@dataclass(frozen=True)
class Role:
    """One file slot of a dataset kind."""

    key: str
    label: str
    required: bool = True
    multiple: bool = False
    hint: str = ""


@dataclass(frozen=True)
class KindSpec:
    """What one kind of dataset is made of and which page uses it."""

    kind: str
    label: str
    page: str
    roles: tuple[Role, ...]
    about: str
    #: the page opens a registration by its id (``?data=``); False for libraries the page offers itself
    opens_by_id: bool = True


SPECS: dict[str, KindSpec] = {
    "essentiality": KindSpec(
        "essentiality", "DepMap release", "/essentiality",
        (Role("effect", "CRISPR gene effect", hint="CRISPRGeneEffect.csv or Achilles_gene_effect.csv"),
         Role("expression", "Expression, log2(TPM+1)",
              hint="OmicsExpressionProteinCodingGenesTPMLogp1.csv or CCLE_expression.csv"),
         Role("models", "Cell-line annotation (optional)", required=False, hint="Model.csv or sample_info.csv")),
        "Gene effect and expression of the same DepMap release; the annotation adds lineages.",
    ),
    "dko": KindSpec(
        "dko", "Single-cell matrix", "/dko",
        (Role("matrix", "Expression matrix", hint="genes x cells .csv/.tsv (or DKO's Ptrain.csv), .h5ad, 10x .h5, "
                                                  "or a 10x matrix folder (.zip, or its server path)"),),
        "Non-negative expression: genes in rows and cells in columns, or an AnnData .h5ad (X, .raw or a layer, "
        "with its cell annotations and embeddings), or 10x Genomics Cell Ranger output.",
    ),
    "decode": KindSpec(
        "decode", "DEcode bundle", "/decode",
        (Role("bundle", "DEcode bundle", hint=".npz written by core.datasets.write_decode, or a toy-layout folder "
                                              "(server path only)"),),
        "Promoter and mRNA binding sites with tissue expression targets.",
    ),
    "perturbation": KindSpec(
        "perturbation", "L1000 signatures + networks", "/perturbation",
        (Role("network", "Network layers", multiple=True, hint="edge lists: gene1 gene2 [weight], one file a layer"),
         Role("RNAi", "RNAi signatures", required=False, hint="CSV, GCT or GCTX: perturbed genes x landmarks"),
         Role("CRISPR", "CRISPR signatures", required=False, hint="CSV, GCT or GCTX"),
         Role("OE", "Overexpression signatures", required=False, hint="CSV, GCT or GCTX"),
         Role("genes", "Gene table (optional)", required=False,
              hint="entrez and symbol columns, to map Entrez ids to symbols")),
        "One file per network layer and at least one signature type, all with the same landmark genes.",
    ),
    "genesets": KindSpec(
        "genesets", "Gene-set library (GMT)", "/essentiality",
        (Role("gmt", "Gene sets (GMT)", hint=".gmt or .gmt.gz: MSigDB, Reactome, KEGG or GO export, gene symbols"),),
        "A gene-set library for the pathway enrichment of modifier genes on the Modifier genes page (nothing is "
        "downloaded there): one set per line, name<TAB>description<TAB>genes, with gene symbols as in the "
        "expression tables.",
        opens_by_id=False,
    ),
}
KINDS: tuple[str, ...] = tuple(SPECS)

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


@dataclass(frozen=True)
class Registration:
    """A stored, registered dataset.

    Attributes
    ----------
    kind, name
        Dataset kind and the user's name for it.
    digest
        SHA-256 over the kind, roles and file contents (hex).
    files
        role -> file names inside the entry's folder.
    original
        role -> the names the files had when they were given.
    options
        How the files were read (single-cell: matrix and gene selection, see
        :func:`check_dko_options`); empty for the defaults.
    created
        Unix time of registration.
    report
        The validation report (JSON form).
    """

    kind: str
    name: str
    digest: str
    files: dict[str, list[str]]
    original: dict[str, list[str]]
    created: float
    report: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> str:
        """Short id used in URLs and cache keys (first 16 hex digits of the digest)."""
        return self.digest[:16]


# --- paths ----------------------------------------------------------------------------------------

def resolve_inside(root: str | Path, user_path: str) -> Path:
    """Resolve a user-given path so that it cannot leave ``root``.

    Relative paths are taken from ``root``; absolute ones must lie inside it.
    Symbolic links are followed before the check, so a link pointing outside is
    refused too.

    Raises
    ------
    core.errors.InputError
        Empty path, a path outside ``root``, or one that does not exist.
    """
    text = (user_path or "").strip()
    if not text:
        raise InputError("give a path to a file inside the data folder")
    if "\x00" in text:
        raise InputError("the path contains a NUL character")
    base = Path(root).resolve()
    candidate = Path(text).expanduser()
    target = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if not target.is_relative_to(base):
        raise InputError(f"{text}: only paths inside the data folder {base} can be read; copy the file there first")
    if not target.exists():
        raise InputError(f"{text}: no such file or folder inside {base}")
    return target


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_dir():
        for part in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(part.relative_to(path).as_posix().encode() + b"\0")
            digest.update(_file_digest(part).encode())
        return digest.hexdigest()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_digest(kind: str, files: dict[str, list[Path]], options: dict[str, Any] | None = None) -> str:
    """SHA-256 of a dataset: its kind, each role, the bytes of each file (names do not count) and the
    reading options when there are any (the same file read another way is another dataset)."""
    digest = hashlib.sha256(f"perturbscope-dataset-v1\0{kind}\0".encode())
    for role in sorted(files):
        for path in files[role]:
            digest.update(f"{role}\0{_file_digest(Path(path))}\0".encode())
    if options:
        digest.update(f"options\0{json.dumps(options, sort_keys=True)}\0".encode())
    return digest.hexdigest()


def check_name(name: str | None) -> str:
    """A dataset name as typed, validated (letters, digits, space and ``._()+-``; at most 60 characters)."""
    text = (name or "").strip()
    if not text:
        raise InputError("give the dataset a name (for example 'DepMap 24Q4')")
    if not NAME_PATTERN.match(text):
        raise InputError(f"{text[:80]!r} is not a usable name: use at most 60 letters, digits, spaces and . _ ( ) + -, "
                         "starting with a letter or digit")
    if text.lower() == "demo":
        raise InputError("'demo' is the name of the built-in demo dataset; choose another name")
    return text


# --- validation -----------------------------------------------------------------------------------

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
            raise InputError(f"{spec.label}: the {role.label.lower()} file is missing ({role.hint})")
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
    """What a single-cell file gives DKO's page: dense expression of the chosen genes and the cell table."""

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
                            truth=pd.DataFrame(index=genes.index), params={"source": "registered"})


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


# --- the registry ---------------------------------------------------------------------------------

def to_page_data(kind: str, loaded: Any, name: str):
    """The dataclass a method page works on, from what :func:`validate` loaded."""
    if kind == "genesets":
        from core.datasets.gene_sets import GeneSetLibrary

        return GeneSetLibrary.from_sets(loaded, name)
    if kind == "essentiality":
        from core.datasets.essentiality_demo import EssentialityData

        truth = pd.DataFrame(columns=["target", "kind", "modifiers", "weights", "excluded_lineage", "lineage",
                                      "description"])
        return EssentialityData(expression=loaded.expression, effect=loaded.effect, cells=loaded.cells,
                                truth=truth, params={**loaded.params, "registered": name})
    if kind == "dko":
        from core.datasets.dko_demo import DKOData

        empty = pd.DataFrame()
        return DKOData(expression=loaded.expression, cells=loaded.cells,
                       network=pd.DataFrame(columns=["regulator", "target", "weight"]),
                       growth_rates=empty, knockouts=pd.DataFrame(columns=["sample", "gene", "cell"]),
                       knockout_profiles=empty, keystones=[], params={"registered": name, **loaded.info})
    loaded.params = {**loaded.params, "registered": name}
    return loaded


class DatasetRegistry:
    """Registered datasets under one folder (``<data dir>/registry`` in the app).

    Parameters
    ----------
    root
        Folder holding ``<kind>/<digest>/entry.json`` and the stored files.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def entries(self, kind: str | None = None) -> list[Registration]:
        """Registered datasets (of one kind), oldest first; unreadable entries are skipped."""
        found = []
        kinds = [kind] if kind else list(KINDS)
        for k in kinds:
            for entry in sorted((self.root / k).glob(f"*/{ENTRY_FILE}")):
                try:
                    found.append(Registration(**json.loads(entry.read_text())))
                except (OSError, ValueError, TypeError):
                    continue
        return sorted(found, key=lambda r: r.created)

    def find(self, kind: str, ident: str) -> Registration:
        """The registration of ``kind`` whose id (digest prefix) or name is ``ident``."""
        for entry in self.entries(kind):
            if ident in (entry.ident, entry.digest, entry.name):
                return entry
        raise InputError(f"no {SPECS[kind].label if kind in SPECS else kind} dataset {ident!r} is registered")

    def folder(self, entry: Registration) -> Path:
        return self.root / entry.kind / entry.digest

    def paths(self, entry: Registration) -> dict[str, list[Path]]:
        """role -> stored paths of a registration."""
        folder = self.folder(entry)
        return {role: [folder / name for name in names] for role, names in entry.files.items()}

    def register(self, kind: str, name: str, files: dict[str, list[str | Path]],
                 original: dict[str, list[str]] | None = None,
                 options: dict[str, Any] | None = None) -> tuple[Registration | None, ValidationReport, bool]:
        """Validate files and store them under their content hash.

        Parameters
        ----------
        kind
            A key of :data:`SPECS`.
        name
            The name users will pick the dataset by (see :func:`check_name`).
        files
            role -> paths; read, never moved.
        original
            role -> the names the user knows the files by (default: the paths' names).
        options
            How to read the files (single-cell: matrix and genes, see :func:`check_dko_options`).

        Returns
        -------
        (registration, report, created)
            ``registration`` is None when validation failed; ``created`` is False
            when the same files were registered before (nothing is stored then).

        Raises
        ------
        core.errors.InputError
            Unknown kind, unusable name, or a name already used for other files.
        """
        if kind not in SPECS:
            raise InputError(f"unknown dataset kind {kind!r}; choose one of {', '.join(KINDS)}")
        name = check_name(name)
        clean = {role: [Path(p) for p in paths] for role, paths in files.items() if paths}
        missing = [str(p.name) for paths in clean.values() for p in paths if not p.exists()]
        if missing:
            raise InputError(f"file(s) not found: {', '.join(missing)}")
        options = check_dko_options(options) if kind == "dko" else (options or {})
        digest = content_digest(kind, clean, options)
        for entry in self.entries(kind):
            if entry.digest == digest:
                report = ValidationReport.from_json(entry.report)
                report.add("ok", f"these files are already registered as {entry.name!r}; nothing new was stored")
                return entry, report, False
            if entry.name.lower() == name.lower():
                raise InputError(f"the name {name!r} is already used by another {SPECS[kind].label} dataset; "
                                 "choose another name")
        data, report = validate(kind, clean, options)
        if data is None or not report.ok:
            return None, report, False
        entry = self._store(kind, name, digest, clean, original, report, to_page_data(kind, data, name), options)
        return entry, report, True

    def _store(self, kind, name, digest, files, original, report, parsed=None, options=None) -> Registration:
        final = self.root / kind / digest
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{digest[:8]}-{uuid.uuid4().hex[:6]}-", dir=final.parent))
        stored: dict[str, list[str]] = {}
        try:
            for role, paths in files.items():
                stored[role] = []
                for i, path in enumerate(paths):
                    suffix = "".join(s for s in path.suffixes[-2:] if re.fullmatch(r"\.[A-Za-z0-9]{1,6}", s))
                    target = f"{role}_{i}{suffix.lower()}"
                    if path.is_dir():
                        shutil.copytree(path, staging / target)
                    else:
                        shutil.copyfile(path, staging / target)
                    stored[role].append(target)
            if parsed is not None:
                # parsed once, read fast: typed binary files beside the originals (see load)
                parsed.save(staging / PARSED_DIR)
            entry = Registration(kind=kind, name=name, digest=digest, files=stored,
                                 original=original or {r: [p.name for p in ps] for r, ps in files.items()},
                                 created=time.time(), report=report.to_json(), options=options or {})
            (staging / ENTRY_FILE).write_text(json.dumps(asdict(entry), indent=1))
            os.replace(staging, final)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if (final / ENTRY_FILE).is_file():  # a concurrent registration of the same files won
                return Registration(**json.loads((final / ENTRY_FILE).read_text()))
            raise
        return entry

    def load(self, kind: str, ident: str):
        """The page dataclass (EssentialityData, DKOData, DecodeData, PerturbationData, GeneSetLibrary) of a
        registration.

        Read from the typed binary copy made at registration (a full DepMap
        release in about a second); registrations made before such copies
        existed are parsed from their original files, and get one.
        """
        entry = self.find(kind, ident)
        parsed = self.folder(entry) / PARSED_DIR
        if (parsed / SCHEMA_FILE).is_file():
            try:
                return _page_class(kind).load(parsed)
            except (InputError, OSError, ValueError):
                pass  # damaged or from another format: parse the originals again below
        data, report = validate(kind, self.paths(entry), entry.options)
        if data is None:
            problems = "; ".join(text for level, text in report.checks if level == "error")
            raise InputError(f"the stored dataset {entry.name!r} no longer loads: {problems}")
        page_data = to_page_data(kind, data, entry.name)
        _write_parsed(page_data, parsed)
        return page_data


def _page_class(kind: str):
    """The page dataclass of a kind (imported on demand: each pulls in its generator module)."""
    import importlib

    module, name = {"essentiality": ("essentiality_demo", "EssentialityData"), "dko": ("dko_demo", "DKOData"),
                    "decode": ("decode_demo", "DecodeData"),
                    "perturbation": ("perturbation_demo", "PerturbationData"),
                    "genesets": ("gene_sets", "GeneSetLibrary")}[kind]
    return getattr(importlib.import_module(f"core.datasets.{module}"), name)


def _write_parsed(data, folder: Path) -> None:
    """Write the parsed copy of an older registration atomically; a failure only costs speed."""
    staging = folder.parent / f".{PARSED_DIR}-{uuid.uuid4().hex[:8]}"
    try:
        data.save(staging)
        os.replace(staging, folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
