"""Loaders for DepMap CRISPR gene effect, expression and cell-line annotation.

Two layouts are read:

* current releases (22Q2 and later): ``CRISPRGeneEffect.csv``,
  ``OmicsExpressionProteinCodingGenesTPMLogp1.csv`` and ``Model.csv``; rows
  are DepMap ``ModelID`` s (``ACH-000001``), gene columns ``SYMBOL (ENTREZ)``,
  lineage from ``OncotreeLineage``. Newer expression files with one row per
  sequencing run (columns ``ModelID`` and ``IsDefaultEntryForModel``) are
  reduced to each model's default entry.
* older releases (up to 22Q1, the paper's data): ``Achilles_gene_effect.csv``
  (first column ``DepMap_ID``), ``CCLE_expression.csv`` and ``sample_info.csv``
  (``DepMap_ID``, ``lineage``).

The result has the same fields as the demo data (``expression``, ``effect``,
``cells``), so the modifier-gene code runs on either.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.datasets.storage import Persistable
from core.datasets.text_tables import readable_table
from core.errors import InputError

GENE_COLUMN = re.compile(r"^\s*(?P<symbol>[^\s()]+)\s*\((?P<entrez>\d+)\)\s*$")
MODEL_ID = re.compile(r"^ACH-\d{6}$")
ID_COLUMNS = ("ModelID", "DepMap_ID", "")
SEQUENCING_COLUMNS = ("SequencingID", "ModelConditionID", "IsDefaultEntryForModel", "IsDefaultEntryForMC",
                      "ModelID")


@dataclass
class DepMapData(Persistable):
    """Real DepMap data in the layout of the demo datasets.

    Attributes
    ----------
    expression
        cells x genes float32 log2(TPM+1); index ``cell`` (ModelID), columns gene symbols.
    effect
        cells x genes float32 CRISPR gene effect (Chronos / CERES); NaN where not screened.
    cells
        Index ``cell``: ``lineage`` and ``cell_line_name`` ("" when no annotation file was given).
    genes
        One row per gene symbol: ``entrez`` id and where it was found (``in_effect``, ``in_expression``).
    params
        Source file names, detected ``layout`` (``current`` or ``achilles``) and sizes.
    """

    expression: pd.DataFrame
    effect: pd.DataFrame
    cells: pd.DataFrame
    genes: pd.DataFrame
    params: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        """One line for the UI."""
        return (f"DepMap data ({self.params.get('layout', '?')} layout): {self.effect.shape[0]:,} cell lines with "
                f"gene effect of {self.effect.shape[1]:,} genes and expression of {self.expression.shape[1]:,} "
                f"genes, {self.cells['lineage'].replace('', np.nan).nunique()} lineages.")


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path.name}: file not found at {path}")
    with readable_table(path, "a comma-separated DepMap table with one header line"):
        frame = pd.read_csv(path, low_memory=False)
    header = str(frame.columns[0]) if frame.shape[1] else ""
    if frame.shape[1] == 1 and (";" in header or "\t" in header):
        kind = "semicolons" if ";" in header else "tabs"
        raise InputError(f"{path.name}: the columns are separated by {kind}, but DepMap files are comma-separated "
                         "CSV; re-export the file with commas")
    # pandas renames a repeated header 'X' to 'X.1': catch columns that were duplicated in the file
    names = set(map(str, frame.columns))
    repeated = [str(c) for c in frame.columns if re.search(r"\.\d+$", str(c)) and
                re.sub(r"\.\d+$", "", str(c)) in names]
    if repeated:
        original = re.sub(r"\.\d+$", "", repeated[0])
        raise InputError(f"{path.name}: column {original!r} appears more than once in the header; every gene "
                         "(or annotation) column must be unique")
    return frame


def _index_by_model(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Set the DepMap model id column as index, whatever the release calls it."""
    if "IsDefaultEntryForModel" in frame.columns and "ModelID" in frame.columns:
        flag = frame["IsDefaultEntryForModel"].astype(str).str.lower().isin(["yes", "true", "1"])
        frame = frame[flag].drop(columns=[c for c in SEQUENCING_COLUMNS if c in frame.columns and c != "ModelID"])
    first = frame.columns[0]
    for candidate in ("ModelID", "DepMap_ID"):
        if candidate in frame.columns:
            first = candidate
            break
    ids = frame[first].astype(str).str.strip()
    if not len(ids):
        raise InputError(f"{name}: the file has no rows")
    good = ids.map(lambda s: bool(MODEL_ID.match(s)))
    if good.mean() < 0.5:
        raise InputError(
            f"{name}: the first column ({first or 'unnamed'}) should hold DepMap model ids such as ACH-000001, "
            f"but holds values like {', '.join(ids.head(3))}. Is this the right file? Rows must be cell lines "
            "(ModelID / DepMap_ID) and columns genes."
        )
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise InputError(f"{name}: cell line(s) {', '.join(duplicated.head(3))} appear more than once")
    frame = frame.drop(columns=[first])
    frame.index = pd.Index(ids.to_numpy(), name="cell")
    return frame


def _gene_matrix(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric float32 matrix with symbol columns, and the symbol -> Entrez map."""
    matches = [GENE_COLUMN.match(str(c)) for c in frame.columns]
    bad = [str(c) for c, m in zip(frame.columns, matches) if m is None]
    if not frame.shape[1]:
        raise InputError(f"{name}: no gene columns found")
    if len(bad) > 0.5 * frame.shape[1]:
        raise InputError(
            f"{name}: gene columns should be named 'SYMBOL (ENTREZ)', e.g. 'TP53 (7157)'; found "
            f"{', '.join(bad[:3])}. Is this a DepMap gene-effect or expression matrix?"
        )
    keep = [m is not None for m in matches]
    frame = frame.loc[:, keep]
    symbols = [m.group("symbol") for m in matches if m is not None]
    entrez = [int(m.group("entrez")) for m in matches if m is not None]
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        column = text[0]
        example = frame[column][pd.to_numeric(frame[column], errors="coerce").isna() & frame[column].notna()]
        raise InputError(f"{name}: column {column} holds non-numeric values (e.g. {example.iloc[0]!r}); every "
                         "gene column must hold numbers")
    values = frame.to_numpy(np.float32)
    if np.isinf(values).any():
        row, col = np.argwhere(np.isinf(values))[0]
        raise InputError(f"{name}: infinite value at cell line {frame.index[row]}, gene {frame.columns[col]}; "
                         "values must be finite numbers (leave a cell empty when it was not measured)")
    if values.shape[1] < 2:
        raise InputError(f"{name}: only {values.shape[1]} gene column; a DepMap matrix needs many genes "
                         "(columns 'SYMBOL (ENTREZ)'), so this looks truncated")
    with warnings.catch_warnings():  # all-NaN columns (genes not screened) warn
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.nanmax(values, axis=0) - np.nanmin(values, axis=0) if values.shape[0] else np.zeros(0)
    if values.shape[0] > 1 and not (np.nan_to_num(spread) > 0).any():
        raise InputError(f"{name}: every gene column is constant (or empty) across cell lines; the file holds no "
                         "measurements. Is it a placeholder or a failed export?")
    out = pd.DataFrame(values, index=frame.index, columns=pd.Index(symbols, name="gene"))
    first = ~out.columns.duplicated()  # the same symbol with two Entrez ids: keep the first
    return out.loc[:, first], pd.Series(np.asarray(entrez)[first], index=out.columns[first], name="entrez")


def _cells(path: Path | None, cells: pd.Index) -> tuple[pd.DataFrame, str | None]:
    if path is None:
        return pd.DataFrame({"lineage": "", "cell_line_name": ""}, index=cells), None
    frame = _read_csv(path)
    if "ModelID" in frame.columns:
        lineage, names, layout = "OncotreeLineage", ("CellLineName", "StrippedCellLineName"), "current"
    elif "DepMap_ID" in frame.columns:
        lineage, names, layout = "lineage", ("cell_line_name", "stripped_cell_line_name"), "achilles"
    else:
        raise InputError(f"{path.name}: no ModelID (Model.csv) or DepMap_ID (sample_info.csv) column; found "
                         f"{', '.join(map(str, frame.columns[:6]))}")
    if lineage not in frame.columns:
        raise InputError(f"{path.name}: column {lineage!r} not found; it gives each cell line's lineage. Is this "
                         f"the {'Model.csv' if layout == 'current' else 'sample_info.csv'} annotation file?")
    frame = _index_by_model(frame, path.name)
    name_col = next((c for c in names if c in frame.columns), None)
    out = pd.DataFrame({
        "lineage": frame[lineage].fillna("").astype(str),
        "cell_line_name": frame[name_col].fillna("").astype(str) if name_col else "",
    })
    if layout == "achilles":  # sample_info lineages are lower_snake_case
        out["lineage"] = out["lineage"].str.replace("_", " ").str.strip().str.capitalize()
    return out.reindex(cells).fillna(""), layout


def load_depmap(effect: str | Path, expression: str | Path, models: str | Path | None = None, *,
                min_shared_cells: int = 10) -> DepMapData:
    """Read DepMap gene effect and expression (and optionally the cell-line annotation).

    Parameters
    ----------
    effect : path
        ``CRISPRGeneEffect.csv`` (current) or ``Achilles_gene_effect.csv`` (older).
    expression : path
        ``OmicsExpressionProteinCodingGenesTPMLogp1.csv`` (current) or ``CCLE_expression.csv`` (older).
    models : path, optional
        ``Model.csv`` (current; lineage from ``OncotreeLineage``) or
        ``sample_info.csv`` (older; ``lineage``).
    min_shared_cells : int
        Fewest cell lines the two matrices must share.

    Returns
    -------
    DepMapData
        Expression and effect restricted to the shared cell lines (same
        order), with the cell annotation.

    Raises
    ------
    core.errors.InputError
        A missing, malformed or mismatched file; the message names the file.
    """
    effect_path, expression_path = Path(effect), Path(expression)
    model_path = None if models is None else Path(models)
    effect_raw = _read_csv(effect_path)
    layout = "achilles" if "DepMap_ID" in effect_raw.columns else "current"
    eff, eff_entrez = _gene_matrix(_index_by_model(effect_raw, effect_path.name), effect_path.name)
    expr, expr_entrez = _gene_matrix(_index_by_model(_read_csv(expression_path), expression_path.name),
                                     expression_path.name)
    if np.isnan(expr.to_numpy()).all(axis=0).any():
        expr = expr.loc[:, ~np.isnan(expr.to_numpy()).all(axis=0)]
    if not expr.shape[1]:
        raise InputError(f"{expression_path.name}: every expression value is missing; expected log2(TPM+1) "
                         "numbers for each cell line and gene")
    finite = expr.to_numpy()
    if np.nanmax(finite) > 30 or np.nanmin(finite) < -1e-6:
        raise InputError(
            f"{expression_path.name}: values run from {np.nanmin(finite):.3g} to {np.nanmax(finite):.3g}, "
            "but log2(TPM+1) expression lies between 0 and about 20. Is this the TPM (not log) file, or a "
            "gene-effect file given as expression?"
        )
    shared = eff.index.intersection(expr.index)
    if len(shared) < min_shared_cells:
        raise InputError(
            f"{effect_path.name} and {expression_path.name} share only {len(shared)} cell lines "
            f"({len(eff)} and {len(expr)} rows); at least {min_shared_cells} are needed. Are they from the "
            "same DepMap release?"
        )
    cells, model_layout = _cells(model_path, shared)
    if model_path is not None and (cells["lineage"] == "").mean() > 0.5:
        raise InputError(f"{model_path.name}: no lineage for most cell lines of {effect_path.name}; is it the "
                         "annotation file of the same release?")
    genes = pd.DataFrame({"entrez": pd.concat([eff_entrez, expr_entrez]).groupby(level=0).first()})
    genes["in_effect"] = genes.index.isin(eff.columns)
    genes["in_expression"] = genes.index.isin(expr.columns)
    genes.index.name = "gene"
    params = {"layout": layout, "annotation_layout": model_layout, "effect_file": effect_path.name,
              "expression_file": expression_path.name, "models_file": model_path.name if model_path else None,
              "n_cells": int(len(shared)), "n_effect_genes": int(eff.shape[1]),
              "n_expression_genes": int(expr.shape[1])}
    cells.index.name = "cell"
    return DepMapData(expression=expr.loc[shared], effect=eff.loc[shared], cells=cells, genes=genes, params=params)
