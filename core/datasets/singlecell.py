"""Single-cell expression matrices (genes x cells) for DKO.

Reads DKO's ``Ptrain.csv`` (no header, genes in rows), CSV/TSV tables with gene
names in the first column and cell names in the header, and, through
:mod:`core.datasets.scverse`, AnnData ``.h5ad`` files and 10x Genomics output
(cells x genes, transposed on reading). Every reader ends in
:func:`check_expression`, which rejects what DKO cannot use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputError

TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": None}


def load_singlecell(path: str | Path, layer: str | None = None, use_raw: bool | None = None) -> pd.DataFrame:
    """Read a non-negative genes x cells expression matrix (every gene, dense).

    Parameters
    ----------
    path
        ``.csv`` / ``.tsv`` / ``.txt`` (with or without header; optionally
        gzipped), ``.h5ad``, a 10x Genomics ``.h5`` file, or a 10x matrix
        folder (or a ``.zip`` of one). A headerless table whose first cell is
        a number is DKO's ``Ptrain.csv`` format: genes are named ``gene_1 ...
        gene_N`` and cells ``cell_1 ... cell_M`` (1-based, as in DKO's README).
    layer
        An AnnData layer to read instead of the default matrix.
    use_raw
        True reads ``.raw``, False ``X``; None (and no ``layer``) takes the
        first non-negative matrix, preferring counts, then ``.raw`` (see
        :func:`core.datasets.scverse.read_singlecell_file`, which also lists
        every matrix of a file and keeps it sparse).

    Returns
    -------
    pandas.DataFrame
        float64, index ``gene``, columns ``cell``.

    Raises
    ------
    core.errors.InputError
        Unreadable or malformed file (see :func:`check_expression`).
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise InputError(f"{name}: file not found ({path})")
    if layer is not None and use_raw:
        raise InputError(f"{name}: choose either a layer or .raw, not both")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if path.is_dir() or suffix in (".h5ad", ".h5", ".zip"):
        from core.datasets.gene_selection import dense_expression
        from core.datasets.scverse import read_singlecell_file

        matrix = f"layer:{layer}" if layer is not None else {True: "raw", False: "X"}.get(use_raw)
        file = read_singlecell_file(path, matrix)
        frame = dense_expression(file, list(file.genes))
    elif layer is not None or use_raw:
        raise InputError(f"{name}: a text table holds one matrix; layers and .raw exist only in .h5ad files")
    elif suffix in TEXT_SUFFIXES or suffix == "":
        frame = _read_table(path, TEXT_SUFFIXES.get(suffix))
    else:
        raise InputError(f"{name}: unsupported file type {suffix!r}; use .csv, .tsv, .h5ad, a 10x Genomics .h5 "
                         "file or matrix folder (.zip)")
    return check_expression(frame, name)


def _read_table(path: Path, sep: str | None) -> pd.DataFrame:
    name = path.name
    try:
        first = pd.read_csv(path, sep=sep, header=None, nrows=1, engine="python", dtype=str)
    except pd.errors.EmptyDataError:
        raise InputError(f"{name}: the file is empty; expected genes in rows and cells in columns") from None
    except UnicodeDecodeError:
        raise InputError(f"{name}: the file is not UTF-8 text (another encoding such as UTF-16 or Latin-1, or a "
                         "binary file); save it as UTF-8 CSV/TSV") from None
    except Exception as exc:
        raise InputError(f"{name}: not a readable text table ({type(exc).__name__}: {str(exc)[:200]})") from None
    if first.empty:
        raise InputError(f"{name}: the file is empty")
    if first.shape[1] == 1 and first.iloc[0, 0] is not None and any(c in str(first.iloc[0, 0]) for c in ";\t"):
        kind = "semicolons" if ";" in str(first.iloc[0, 0]) else "tabs"
        raise InputError(f"{name}: the columns look separated by {kind}; use commas in a .csv file or tabs in a "
                         ".tsv file (genes in rows, cells in columns)")
    headerless = _is_number(first.iloc[0, 0])
    if not headerless:
        header = first.iloc[0, 1:].astype(str)
        dup = header[header.duplicated()]
        if len(dup):
            raise InputError(f"{name}: duplicated cell names in the header, e.g. {', '.join(dup.head(3))}; every "
                             "cell needs a unique name")
    try:
        if headerless:
            raw = pd.read_csv(path, sep=sep, header=None, engine="python", dtype=str)
            raw.index = [f"gene_{i + 1}" for i in range(len(raw))]
            raw.columns = [f"cell_{j + 1}" for j in range(raw.shape[1])]
        else:
            raw = pd.read_csv(path, sep=sep, header=0, index_col=0, engine="python", dtype=str)
            raw.index = raw.index.astype(str)
            raw.columns = raw.columns.astype(str)
    except Exception as exc:
        raise InputError(f"{name}: could not parse the table ({type(exc).__name__}: {str(exc)[:200]}); expected "
                         "genes in rows and cells in columns, comma- or tab-separated") from None
    numeric = raw.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & raw.notna() & ~raw.isin(["nan", "NaN", "NA"])
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise InputError(f"{name}: non-numeric value {raw.iat[row, col]!r} at gene {raw.index[row]!r}, cell "
                         f"{raw.columns[col]!r}; every entry must be a non-negative number (genes in rows, "
                         "cells in columns, gene names in the first column)")
    return numeric.astype(float)


def _is_number(text) -> bool:
    """True for a numeric string (an empty corner cell of a named table reads as NaN: not a number)."""
    if not isinstance(text, str) or not text.strip():
        return False
    try:
        return np.isfinite(float(text))
    except ValueError:
        return False


def check_expression(frame: pd.DataFrame, source: str = "expression matrix") -> pd.DataFrame:
    """Validate a genes x cells expression matrix for DKO and return it as float64.

    Parameters
    ----------
    frame
        genes x cells.
    source
        Name of the file or parameter, used in messages.

    Returns
    -------
    pandas.DataFrame
        The same values as float64 with index named ``gene`` and columns ``cell``.

    Raises
    ------
    core.errors.InputError
        Non-numeric, NaN or infinite values, negative values, duplicated gene or
        cell names, fewer than 2 genes or cells, or a cell with no expressed gene.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{source}: expected a table of genes x cells")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{source}: contains text where numbers are expected; every entry must be a "
                         "non-negative number") from exc
    n_genes, n_cells = values.shape
    if n_genes < 2 or n_cells < 2:
        raise InputError(f"{source}: needs at least 2 genes and 2 cells, found {n_genes} genes x {n_cells} cells "
                         "(genes must be rows, cells columns)")
    if not np.isfinite(values).all():
        gene, cell = _first(frame, ~np.isfinite(values))
        raise InputError(f"{source}: missing or infinite value at gene {gene!r}, cell {cell!r}; fill absent genes "
                         "with 0")
    if (values < 0).any():
        gene, cell = _first(frame, values < 0)
        raise InputError(f"{source}: negative value at gene {gene!r}, cell {cell!r}; DKO needs non-negative "
                         "expression (counts or normalised counts, not log fold changes or z-scores)")
    for axis, labels in (("gene", frame.index), ("cell", frame.columns)):
        dup = pd.Index(labels)[pd.Index(labels).duplicated()]
        if len(dup):
            raise InputError(f"{source}: duplicated {axis} names, e.g. {', '.join(map(str, dup[:3]))}; every "
                             f"{axis} needs a unique name")
    if (values.max(axis=1) == values.min(axis=1)).all():
        raise InputError(f"{source}: every gene has the same value in all cells; the matrix carries no "
                         "cell-to-cell variation (a placeholder or a failed export?)")
    empty = np.flatnonzero(values.sum(axis=0) == 0)
    if empty.size:
        names = ", ".join(map(str, frame.columns[empty[:3]]))
        raise InputError(f"{source}: {empty.size} cell(s) express no gene at all (e.g. {names}); remove them, "
                         "since a profile needs a non-zero total")
    out = pd.DataFrame(values, index=pd.Index(frame.index.astype(str), name="gene"),
                       columns=pd.Index(frame.columns.astype(str), name="cell"))
    return out


def _first(frame: pd.DataFrame, mask: np.ndarray) -> tuple[str, str]:
    row, col = np.argwhere(mask)[0]
    return str(frame.index[row]), str(frame.columns[col])


def save_ptrain(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a genes x cells matrix in DKO's ``Ptrain.csv`` format (no header, no names).

    Parameters
    ----------
    frame : pandas.DataFrame
        Expression, genes x cells.
    path : str or Path
        Output file.
    """
    np.savetxt(path, frame.to_numpy(dtype=float), delimiter=",")
