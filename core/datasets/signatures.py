"""Perturbation signatures (perturbed genes x L1000 landmark genes) from CSV, GCT and GCTX.

* CSV (optionally gzipped): first column the perturbed gene, other columns the landmarks
  (TranscriptionNet's ``GECs_*.csv`` layout).
* GCT text, versions 1.2 and 1.3 (CMap): rows are landmark genes, columns signatures.
* GCTX (CMap's HDF5 container): ``/0/DATA/0/matrix`` with row and column ids under ``/0/META``.

CMap files put genes in rows; :func:`load_signatures` always returns signatures in rows.
:func:`save_gct` and :func:`save_gctx` write the two CMap formats (for exports and tests).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from core.datasets.networks import map_gene_ids
from core.datasets.text_tables import readable_table
from core.errors import InputError


def _open_text(path: Path):
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)


def _read_gct(path: Path, sample_field: str | None) -> pd.DataFrame:
    """GCT 1.2 / 1.3 -> signatures x genes."""
    try:
        return _parse_gct(path, sample_field)
    except InputError:
        raise
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: not UTF-8 text (another encoding or a binary file); save the GCT as "
                         "UTF-8 text") from None
    except (OSError, ValueError, IndexError, KeyError) as exc:  # a bad .gz raises OSError (BadGzipFile)
        raise InputError(f"{path.name} is not a readable GCT file ({type(exc).__name__}: {str(exc)[:200]}); "
                         "expected the CMap GCT 1.2 / 1.3 text layout") from None


def _parse_gct(path: Path, sample_field: str | None) -> pd.DataFrame:
    with _open_text(path) as handle:
        version = handle.readline().strip()
        dims = handle.readline().split()
    if version not in ("#1.2", "#1.3"):
        raise InputError(f"{path.name} is not a GCT file: the first line must be #1.2 or #1.3, found {version!r}")
    try:
        n_rows, n_cols = int(dims[0]), int(dims[1])
        n_rhd, n_chd = (int(dims[2]), int(dims[3])) if version == "#1.3" else (1, 0)
    except (IndexError, ValueError):
        raise InputError(f"{path.name}: the second line of a GCT file must give the matrix dimensions") from None
    table = pd.read_csv(path, sep="\t", skiprows=2, header=0, dtype=str, keep_default_na=False)
    ids = table.columns[1 + n_rhd:] if version == "#1.3" else table.columns[2:]
    if len(ids) != n_cols:
        raise InputError(f"{path.name}: header has {len(ids)} signature columns, the dimension line says {n_cols}")
    col_meta = table.iloc[:n_chd]
    body = table.iloc[n_chd:]
    if len(body) != n_rows:
        raise InputError(f"{path.name}: found {len(body)} data rows, the dimension line says {n_rows}")
    names = list(ids)
    if sample_field is not None:
        meta = col_meta.set_index(col_meta.columns[0])
        if sample_field not in meta.index:
            raise InputError(f"{path.name} has no column metadata field {sample_field!r}; "
                             f"found: {', '.join(meta.index[:10]) or 'none'}")
        names = list(meta.loc[sample_field, ids])
    values = body[list(ids)].apply(pd.to_numeric, errors="coerce")
    return pd.DataFrame(values.to_numpy(np.float64).T, index=names, columns=body.iloc[:, 0].to_numpy())


def _read_gctx(path: Path, sample_field: str | None) -> pd.DataFrame:
    import h5py

    def text(values) -> list[str]:
        return [v.decode() if isinstance(v, bytes) else str(v) for v in values]

    try:
        with h5py.File(path, "r") as handle:
            matrix = np.asarray(handle["0/DATA/0/matrix"][...], dtype=np.float64)  # (columns, rows)
            rows = text(handle["0/META/ROW/id"][...])
            cols = text(handle["0/META/COL/id"][...])
            if sample_field is not None:
                if sample_field not in handle["0/META/COL"]:
                    raise InputError(f"{path.name} has no column metadata field {sample_field!r}; found: "
                                     f"{', '.join(handle['0/META/COL'].keys())}")
                cols = text(handle[f"0/META/COL/{sample_field}"][...])
    except InputError:
        raise
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path.name} is not a readable GCTX file ({str(exc)[:200]}); expected a numeric "
                         f"/0/DATA/0/matrix and /0/META/ROW/id, /0/META/COL/id") from None
    if matrix.shape != (len(cols), len(rows)):
        raise InputError(f"{path.name}: matrix shape {matrix.shape} does not match {len(cols)} column ids "
                         f"x {len(rows)} row ids")
    return pd.DataFrame(matrix, index=cols, columns=rows)


def _read_csv(path: Path) -> pd.DataFrame:
    sep = "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else ","
    with readable_table(path, "a comma-separated table of perturbed genes (rows) x landmark genes (columns)"):
        frame = pd.read_csv(path, index_col=0, sep=sep)
    label = str(frame.index.name or "")
    if frame.shape[1] == 0 and (";" in label or "\t" in label):
        kind = "semicolons" if ";" in label else "tabs"
        raise InputError(f"{path.name}: the columns are separated by {kind}; signature .csv files must be "
                         "comma-separated (or name a tab-separated file .tsv)")
    names = set(map(str, frame.columns))
    repeated = [str(c) for c in frame.columns
                if re.search(r"\.\d+$", str(c)) and re.sub(r"\.\d+$", "", str(c)) in names]
    if repeated:
        raise InputError(f"{path.name}: landmark {re.sub(r'[.][0-9]+$', '', repeated[0])!r} appears more than "
                         "once in the header; every landmark column must be unique")
    if frame.empty:
        raise InputError(f"{path.name} holds no signatures: expected one row per perturbed gene under the "
                         "landmark header")
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise InputError(f"{path.name}: landmark columns must be numbers; non-numeric: "
                         f"{', '.join(map(str, non_numeric[:5]))}")
    return frame


def _duplicates(labels: pd.Index) -> list[str]:
    return list(map(str, labels[labels.duplicated()].unique()[:5]))


def load_signatures(path: str | Path, *, genes: pd.DataFrame | str | Path | None = None, to: str = "symbol",
                    landmarks: Sequence[str] | None = None, sample_field: str | None = None) -> pd.DataFrame:
    """Read perturbation signatures as a perturbed-genes x landmarks table.

    Parameters
    ----------
    path
        ``.csv`` / ``.csv.gz`` (genes in rows), ``.gct`` / ``.gct.gz`` or ``.gctx`` (CMap: genes in
        rows, signatures in columns; transposed on reading).
    genes
        Optional gene table (see :func:`core.datasets.networks.gene_table`); when given, the
        perturbed genes and the landmarks are mapped to ``to`` naming.
    to
        ``symbol`` or ``entrez`` (only with ``genes``).
    landmarks
        Expected landmark genes; the columns are checked against them and put in their order.
    sample_field
        GCT 1.3 / GCTX column-metadata field naming the perturbed gene (e.g. ``cmap_name``);
        default: the column ids.

    Returns
    -------
    pandas.DataFrame
        float32, index ``gene`` (perturbed genes), columns ``landmark``.

    Raises
    ------
    core.errors.InputError
        Unknown format, unreadable file, non-numeric or missing values, unmapped or duplicated
        genes, duplicated landmarks, or landmarks that do not match ``landmarks``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"signature file {path} does not exist")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".txt", ".tsv", ".tsv.gz")):
        frame = _read_csv(path)
    elif name.endswith((".gct", ".gct.gz")):
        frame = _read_gct(path, sample_field)
    elif name.endswith(".gctx"):
        frame = _read_gctx(path, sample_field)
    else:
        raise InputError(f"{path.name}: unknown signature format; use .csv, .csv.gz, .gct or .gctx")
    frame.index = pd.Index(map_gene_ids(frame.index.to_numpy(), None).to_numpy(), name="gene")
    frame.columns = pd.Index(map_gene_ids(frame.columns.to_numpy(), None).to_numpy(), name="landmark")
    if genes is not None:
        rows = map_gene_ids(frame.index.to_numpy(), genes, to)
        cols = map_gene_ids(frame.columns.to_numpy(), genes, to)
        for what, mapped, original in (("perturbed genes", rows, frame.index), ("landmarks", cols, frame.columns)):
            if mapped.isna().any():
                missing = list(map(str, original[mapped.isna().to_numpy()][:5]))
                raise InputError(f"{path.name}: {int(mapped.isna().sum()):,} {what} are not in the gene table "
                                 f"(e.g. {', '.join(missing)}); use a gene table that covers them")
        frame.index = pd.Index(rows.to_numpy(), name="gene")
        frame.columns = pd.Index(cols.to_numpy(), name="landmark")
    if frame.index.has_duplicates:
        raise InputError(f"{path.name}: perturbed genes appear more than once (e.g. "
                         f"{', '.join(_duplicates(frame.index))}); keep one signature per gene (e.g. the consensus)")
    if frame.columns.has_duplicates:
        raise InputError(f"{path.name}: landmark genes appear more than once (e.g. "
                         f"{', '.join(_duplicates(frame.columns))})")
    if landmarks is not None:
        expected = pd.Index(map_gene_ids(list(landmarks), None).to_numpy())
        missing, extra = expected.difference(frame.columns), frame.columns.difference(expected)
        if len(missing) or len(extra):
            raise InputError(
                f"{path.name}: landmarks do not match the expected {len(expected):,}: {len(missing):,} missing "
                f"(e.g. {', '.join(map(str, missing[:5])) or '-'}), {len(extra):,} unexpected "
                f"(e.g. {', '.join(map(str, extra[:5])) or '-'}); use signatures over the same landmark genes"
            )
        frame = frame[expected]
    if frame.empty:
        raise InputError(f"{path.name} holds no signatures")
    values = frame.to_numpy(np.float64)
    if not np.isfinite(values).all():
        raise InputError(f"{path.name}: {int((~np.isfinite(values)).sum()):,} values are missing or not finite; "
                         f"signatures must be complete")
    return frame.astype(np.float32)


def save_gct(frame: pd.DataFrame, path: str | Path) -> None:
    """Write signatures (genes x landmarks) as GCT 1.2 (landmarks in rows, as CMap does).

    Parameters
    ----------
    frame : pandas.DataFrame
        Signatures, genes x landmarks.
    path : str or Path
        Output file.
    """
    matrix = frame.T
    with open(path, "w") as handle:
        handle.write(f"#1.2\n{matrix.shape[0]}\t{matrix.shape[1]}\n")
        handle.write("Name\tDescription\t" + "\t".join(map(str, matrix.columns)) + "\n")
        for rid, row in matrix.iterrows():
            handle.write(f"{rid}\tna\t" + "\t".join(f"{v:.6g}" for v in row.to_numpy()) + "\n")


def save_gctx(frame: pd.DataFrame, path: str | Path) -> None:
    """Write signatures (genes x landmarks) as GCTX (HDF5, CMap layout).

    Parameters
    ----------
    frame, path
        As in :func:`save_gct`.
    """
    import h5py

    with h5py.File(path, "w") as handle:
        handle.attrs["version"] = "GCTX1.0"
        handle.create_dataset("0/DATA/0/matrix", data=frame.to_numpy(np.float32))  # (columns, rows)
        handle.create_dataset("0/META/ROW/id", data=np.array(frame.columns.astype(str), dtype="S"))
        handle.create_dataset("0/META/COL/id", data=np.array(frame.index.astype(str), dtype="S"))
