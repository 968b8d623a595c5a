"""Single-cell files as scverse users have them: AnnData (``X``, ``.raw``, layers), 10x output, annotations.

:func:`read_singlecell_file` reads ``.h5ad``, 10x Genomics ``.h5`` and matrix
folders (or a ``.zip`` of one) and the text tables of :mod:`core.datasets.singlecell`
into a :class:`SingleCellFile`: the chosen matrix kept sparse (cells x genes),
every matrix the file offers with its value range (:class:`MatrixChoice`), the
file's cell annotations (``obs``) and embeddings (``obsm``), which
:mod:`core.datasets.cell_annotations` turns into DKO's cell table.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputError

COUNT_LAYERS = ("counts", "raw_counts", "count", "umi", "umis")


@dataclass(frozen=True)
class MatrixChoice:
    """One expression matrix of a file (``X``, ``.raw`` or a layer) and what it holds.

    Attributes
    ----------
    key
        ``"X"``, ``"raw"`` or ``"layer:<name>"``.
    n_cells, n_genes
        Shape (cells x genes).
    low, high
        Smallest and largest value (NaN when the matrix holds NaN or text).
    integer
        All values are whole numbers (counts).
    sparse
        Stored as a sparse matrix.
    nonzero
        Fraction of non-zero entries.
    """

    key: str
    n_cells: int
    n_genes: int
    low: float
    high: float
    integer: bool
    sparse: bool
    nonzero: float

    @property
    def usable(self) -> bool:
        """Finite and non-negative: what DKO can train on."""
        return bool(np.isfinite(self.low) and np.isfinite(self.high) and self.low >= 0)

    @property
    def label(self) -> str:
        """``X``, ``.raw`` or ``layer 'counts'``."""
        if self.key == "raw":
            return ".raw"
        return f"layer '{self.key[6:]}'" if self.key.startswith("layer:") else self.key

    @property
    def holds(self) -> str:
        """What the values look like, in words."""
        if not (np.isfinite(self.low) and np.isfinite(self.high)):
            return "missing or infinite values (not usable)"
        if self.low < 0:
            return f"values {self.low:.3g} to {self.high:.3g}: negative, e.g. scaled z-scores (not usable by DKO)"
        if self.integer:
            return f"counts 0 to {self.high:,.0f}"
        if self.high < 30:
            return f"values 0 to {self.high:.3g}, e.g. log-normalised expression"
        return f"values 0 to {self.high:,.4g}, e.g. normalised expression"

    def describe(self) -> str:
        """One line for a control: name, shape, storage and what it holds."""
        store = f"sparse, {self.nonzero:.0%} non-zero" if self.sparse else "dense"
        return f"{self.label}: {self.n_cells:,} cells x {self.n_genes:,} genes ({store}), {self.holds}"


@dataclass
class SingleCellFile:
    """A single-cell file read for DKO.

    Attributes
    ----------
    matrix
        cells x genes of the chosen matrix (scipy sparse CSR or numpy array).
    genes, cells
        Gene and cell names (unique, text).
    choices
        Every matrix the file offers (one for text tables and 10x files).
    chosen
        The key of :attr:`matrix` among ``choices``.
    obs
        Cell annotations (index = cells; empty without annotations).
    obsm
        Embedding name -> cells x 2 coordinates.
    highly_variable
        The file's own ``var['highly_variable']`` flags over :attr:`genes`, or None.
    source
        File name, for messages.
    """

    matrix: object
    genes: pd.Index
    cells: pd.Index
    choices: list[MatrixChoice]
    chosen: str
    obs: pd.DataFrame = field(default_factory=pd.DataFrame)
    obsm: dict = field(default_factory=dict)
    highly_variable: pd.Series | None = None
    source: str = ""

    @property
    def is_sparse(self) -> bool:
        return hasattr(self.matrix, "toarray")

    def stored_bytes(self) -> int:
        """Bytes of the matrix as held now (sparse: data and indices)."""
        m = self.matrix
        if self.is_sparse:
            return int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)
        return int(np.asarray(m).nbytes)

    def choice(self) -> MatrixChoice:
        return next(c for c in self.choices if c.key == self.chosen)


def read_singlecell_file(path: str | Path, matrix: str | None = None) -> SingleCellFile:
    """Read a single-cell file without densifying it.

    Parameters
    ----------
    path
        ``.h5ad``; 10x ``.h5``; a 10x matrix folder or a ``.zip`` of it; or a
        genes x cells text table (see :func:`core.datasets.singlecell.load_singlecell`).
    matrix
        ``"X"``, ``"raw"``, ``"layer:<name>"`` (or just the layer's name), or
        None for the default: the first non-negative matrix, preferring counts
        (an integer-valued layer or ``X``), then ``.raw``, then ``X``, then the
        other layers.

    Returns
    -------
    SingleCellFile

    Raises
    ------
    core.errors.InputError
        Unreadable file, an unknown matrix, or no non-negative matrix at all.
    """
    from core.datasets.singlecell import load_singlecell
    from core.datasets.tenx import is_mtx_folder, read_10x_h5, read_10x_mtx

    path = Path(path)
    name = path.name
    if not path.exists():
        raise InputError(f"{name}: file not found ({path})")
    suffix = "".join(s.lower() for s in path.suffixes[-1:])
    if path.is_dir():
        if not is_mtx_folder(path):
            raise InputError(f"{name}: a folder is read as 10x Genomics output, but it holds no matrix.mtx(.gz); "
                             "give the filtered_feature_bc_matrix folder (matrix.mtx.gz, features.tsv.gz, "
                             "barcodes.tsv.gz)")
        return _from_anndata(read_10x_mtx(path), name, matrix)
    if suffix == ".zip":
        return _from_anndata(read_10x_mtx(path), name, matrix)
    if suffix == ".h5":
        return _from_anndata(read_10x_h5(path), name, matrix)
    if suffix == ".h5ad":
        return _from_anndata(_read_h5ad(path), name, matrix)
    if matrix not in (None, "X"):
        raise InputError(f"{name}: a text table holds one matrix; .raw and layers exist only in .h5ad files")
    frame = load_singlecell(path)
    choice = _describe("X", frame.to_numpy().T)
    return SingleCellFile(matrix=frame.to_numpy().T, genes=frame.index, cells=frame.columns, choices=[choice],
                          chosen="X", source=name)


def _read_h5ad(path: Path):
    import anndata

    try:
        with warnings.catch_warnings():  # old-format notes from anndata are not the user's concern
            warnings.simplefilter("ignore")
            return anndata.read_h5ad(path)
    except Exception as exc:
        raise InputError(f"{path.name}: not a readable .h5ad file ({str(exc)[:200]}); expected an AnnData file "
                         "(written by anndata / scanpy) with the expression matrix X, obs and var") from None


def matrix_choices(adata) -> list[MatrixChoice]:
    """``X``, ``.raw`` and every layer of an AnnData object, described (unreadable ones skipped).

    Parameters
    ----------
    adata : anndata.AnnData
        The object read.
    """
    found = []
    candidates = [("X", adata.X)]
    if adata.raw is not None:
        candidates.append(("raw", adata.raw.X))
    candidates += [(f"layer:{name}", layer) for name, layer in adata.layers.items()]
    for key, values in candidates:
        if values is None:
            continue
        try:
            found.append(_describe(key, values))
        except (TypeError, ValueError):
            continue
    return found


def _describe(key: str, values) -> MatrixChoice:
    if hasattr(values, "toarray"):
        import scipy.sparse as sp

        csr = sp.csr_matrix(values)
        data = np.asarray(csr.data, dtype=float)
        n_cells, n_genes = csr.shape
        size = n_cells * n_genes
        zeros = size > data.size
        finite = np.isfinite(data).all()
        low = min(data.min(initial=np.inf), 0.0 if zeros else np.inf) if finite else np.nan
        high = max(data.max(initial=-np.inf), 0.0 if zeros else -np.inf) if finite else np.nan
        integer = bool(finite and np.all(data == np.round(data)))
        nonzero = float(np.count_nonzero(data)) / size if size else 0.0
        return MatrixChoice(key, n_cells, n_genes, float(low), float(high), integer, True, nonzero)
    array = np.asarray(values)
    if array.ndim != 2 or array.dtype.kind not in "biuf":
        raise TypeError(f"{key} is not a numeric matrix")
    array = array.astype(float, copy=False)
    finite = np.isfinite(array).all()
    low, high = (float(array.min()), float(array.max())) if finite and array.size else (np.nan, np.nan)
    integer = bool(finite and np.all(array == np.round(array)))
    nonzero = float(np.count_nonzero(array)) / array.size if array.size else 0.0
    return MatrixChoice(key, array.shape[0], array.shape[1], low, high, integer, False, nonzero)


def default_matrix(choices: list[MatrixChoice]) -> str | None:
    """The matrix used when none is chosen (see :func:`read_singlecell_file`), or None when none is usable.

    Parameters
    ----------
    choices : list of MatrixChoice
        As :func:`matrix_choices` gives them.
    """
    def rank(choice: MatrixChoice) -> tuple:
        counts_layer = choice.key.startswith("layer:") and choice.key[6:].lower() in COUNT_LAYERS
        if choice.integer and (counts_layer or choice.key.startswith("layer:")):
            return (0, 0 if counts_layer else 1)
        if choice.integer and choice.key == "X":
            return (1, 0)
        return (2, {"raw": 0, "X": 1}.get(choice.key, 2))

    usable = [c for c in choices if c.usable]
    return min(usable, key=rank).key if usable else None


def _normalise_key(matrix: str | None, layers) -> str | None:
    if matrix in (None, "", "default"):
        return None
    text = str(matrix)
    if text in ("X", "raw") or text.startswith("layer:"):
        return text
    if text in (".raw", "use_raw"):
        return "raw"
    if text in layers:
        return f"layer:{text}"
    return text


def _from_anndata(adata, name: str, matrix: str | None) -> SingleCellFile:
    choices = matrix_choices(adata)
    key = _normalise_key(matrix, list(adata.layers.keys()))
    if key is None:
        key = default_matrix(choices)
        if key is None:
            listed = "; ".join(c.describe() for c in choices) or "no numeric matrix"
            raise InputError(f"{name}: no non-negative expression matrix: {listed}. DKO needs counts or normalised "
                             "counts; store them in X, .raw or a layer (e.g. adata.layers['counts'] before "
                             "sc.pp.scale)")
    elif key not in {c.key for c in choices}:
        offered = ", ".join(c.label for c in choices)
        raise InputError(f"{name}: there is no matrix {matrix!r}; the file offers {offered}")
    else:
        picked = next(c for c in choices if c.key == key)
        if not picked.usable:
            usable = ", ".join(c.label for c in choices if c.usable) or "none (store counts in a layer)"
            raise InputError(f"{name}: {picked.label} holds {picked.holds}; DKO needs non-negative expression: "
                             f"choose another matrix (usable: {usable})")
    if key == "raw":
        values, genes, var = adata.raw.X, adata.raw.var_names, adata.raw.var
    else:
        values = adata.X if key == "X" else adata.layers[key[6:]]
        genes, var = adata.var_names, adata.var
    if hasattr(values, "toarray"):
        import scipy.sparse as sp

        values = sp.csr_matrix(values, dtype=np.float64)
    else:
        values = np.asarray(values, dtype=float)
    hv = None
    for table in (adata.var, var):  # scanpy flags X's genes; a gene only in .raw is not flagged
        if "highly_variable" in table:
            flags = pd.Series(np.asarray(table["highly_variable"], dtype=bool), index=table.index.astype(str))
            hv = flags[~flags.index.duplicated()].reindex(genes.astype(str), fill_value=False)
            break
    obsm = {}
    for emb, coords in adata.obsm.items():
        coords = np.asarray(coords.toarray() if hasattr(coords, "toarray") else coords)
        if coords.ndim == 2 and coords.shape[1] >= 2 and coords.dtype.kind in "biuf":
            xy = coords[:, :2].astype(float)
            if np.isfinite(xy).all():
                obsm[str(emb)] = xy
    return SingleCellFile(matrix=values, genes=pd.Index(genes.astype(str), name="gene"),
                          cells=pd.Index(adata.obs_names.astype(str), name="cell"), choices=choices, chosen=key,
                          obs=adata.obs.copy(), obsm=obsm, highly_variable=hv, source=name)
