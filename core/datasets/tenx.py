"""10x Genomics Cell Ranger output as AnnData: the ``.h5`` matrix and the ``matrix.mtx`` folder.

The folder (``filtered_feature_bc_matrix/``: ``matrix.mtx.gz``, ``features.tsv.gz``,
``barcodes.tsv.gz``; Cell Ranger 2 wrote ``genes.tsv`` and no ``.gz``) is read with
:func:`anndata.io.read_mtx`; a ``.zip`` of the folder (what a browser can upload)
is unpacked first. The ``.h5`` file (Cell Ranger 3+ layout, group ``matrix``) is
read with h5py into the same compressed-sparse arrays scanpy's ``read_10x_h5``
uses. Both keep only "Gene Expression" features, name genes by symbol and make
repeated symbols unique (``-1``, ``-2`` ...) as scanpy does by default.
"""

from __future__ import annotations

import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputError

MEMBERS = ("matrix.mtx", "features.tsv", "genes.tsv", "barcodes.tsv")
MAX_UNZIPPED_BYTES = 8 * 2**30  # a zip declaring more than this is refused before unpacking


def is_mtx_folder(path: Path) -> bool:
    """True for a folder holding a ``matrix.mtx(.gz)``.

    Parameters
    ----------
    path : Path
        A folder.
    """
    return path.is_dir() and _member(path, "matrix.mtx") is not None


def _member(folder: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_10x_mtx(path: str | Path):
    """Read a Cell Ranger matrix folder (or a ``.zip`` of one) as cells x genes AnnData.

    Parameters
    ----------
    path
        The folder, or a ``.zip`` whose members include ``matrix.mtx(.gz)``,
        ``features.tsv(.gz)`` (or ``genes.tsv``) and ``barcodes.tsv(.gz)`` (in
        any sub-folder).

    Returns
    -------
    anndata.AnnData
        Sparse ``X`` (counts), ``var['gene_ids']``, unique gene symbols as names.

    Raises
    ------
    core.errors.InputError
        A missing member, files of different sizes, or unreadable contents.
    """
    path = Path(path)
    if path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="tenx-") as tmp:
            return _read_folder(_unzip(path, Path(tmp)), path.name)
    return _read_folder(path, path.name)


def _unzip(path: Path, target: Path) -> Path:
    """Extract only the 10x members of a zip (flattened, under fixed names) into ``target``."""
    try:
        with zipfile.ZipFile(path) as archive:
            found = {}
            for info in archive.infolist():
                base = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
                if base.startswith("._") or info.is_dir():
                    continue  # macOS resource forks
                match = re.fullmatch(r"(matrix\.mtx|features\.tsv|genes\.tsv|barcodes\.tsv)(\.gz)?", base)
                if match:
                    found.setdefault(base, info)
            if sum(info.file_size for info in found.values()) > MAX_UNZIPPED_BYTES:
                raise InputError(f"{path.name}: the zip unpacks to more than {MAX_UNZIPPED_BYTES / 2**30:.0f} GB; "
                                 "give the folder's path on the server instead")
            for base, info in found.items():
                (target / base).write_bytes(archive.read(info))
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path.name}: not a readable zip file ({str(exc)[:120]}); zip the Cell Ranger "
                         "filtered_feature_bc_matrix folder, or give its path") from None
    return target


def _read_folder(folder: Path, name: str):
    import anndata

    matrix = _member(folder, "matrix.mtx")
    features = _member(folder, "features.tsv") or _member(folder, "genes.tsv")
    barcodes = _member(folder, "barcodes.tsv")
    missing = [label for label, found in (("matrix.mtx(.gz)", matrix), ("features.tsv(.gz) or genes.tsv", features),
                                          ("barcodes.tsv(.gz)", barcodes)) if found is None]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise InputError(f"{name}: {' and '.join(missing)} {verb} missing; a Cell Ranger matrix folder holds "
                         "matrix.mtx.gz, features.tsv.gz and barcodes.tsv.gz: copy (or zip) the whole "
                         "filtered_feature_bc_matrix folder")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adata = anndata.io.read_mtx(matrix).T  # the file is genes x cells
        genes = pd.read_csv(features, sep="\t", header=None, dtype=str)
        cells = pd.read_csv(barcodes, sep="\t", header=None, dtype=str)
    except Exception as exc:
        raise InputError(f"{name}: could not read the 10x files ({type(exc).__name__}: {str(exc)[:160]}); "
                         "matrix.mtx must be a Matrix Market file and the .tsv files tab-separated text") from None
    n_cells, n_genes = adata.shape
    if len(genes) != n_genes or len(cells) != n_cells:
        raise InputError(f"{name}: matrix.mtx has {n_genes:,} features x {n_cells:,} barcodes but "
                         f"{features.name} lists {len(genes):,} features and {barcodes.name} {len(cells):,} barcodes; "
                         "the three files must come from the same Cell Ranger run")
    symbols = genes[1] if genes.shape[1] > 1 else genes[0]
    adata.var_names = anndata.utils.make_index_unique(pd.Index(symbols.fillna("").astype(str).to_numpy()))
    adata.var["gene_ids"] = genes[0].to_numpy()
    adata.obs_names = cells[0].astype(str).to_numpy()
    if genes.shape[1] > 2:
        keep = (genes[2] == "Gene Expression").to_numpy()
        adata = adata[:, keep].copy() if keep.any() else adata
    return adata


def read_10x_h5(path: str | Path):
    """Read a Cell Ranger 3+ ``filtered_feature_bc_matrix.h5`` as cells x genes AnnData.

    Parameters
    ----------
    path
        The ``.h5`` file (group ``matrix`` with ``data``, ``indices``,
        ``indptr``, ``shape``, ``barcodes`` and ``features/{id,name,feature_type}``).

    Returns
    -------
    anndata.AnnData
        Sparse ``X`` (float32 counts), ``var['gene_ids']``, unique gene symbols as names.

    Raises
    ------
    core.errors.InputError
        Not HDF5, not the Cell Ranger 3+ layout, or inconsistent sizes.
    """
    import anndata
    import h5py
    import scipy.sparse as sp

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise InputError(f"{path.name}: not an HDF5 file; expected Cell Ranger's filtered_feature_bc_matrix.h5 "
                         "(or an AnnData .h5ad)") from None
    with handle:
        group = handle.get("matrix")
        needed = ("data", "indices", "indptr", "shape", "barcodes", "features/id", "features/name")
        absent = [key for key in needed if group is None or key not in group]
        if absent:
            listed = ", ".join("matrix/" + key for key in absent)
            raise InputError(f"{path.name}: not a Cell Ranger 3+ matrix (missing {listed}); Cell Ranger 2 .h5 files "
                             "are not read: use its matrix folder or an .h5ad instead")
        try:
            n_genes, n_cells = (int(v) for v in group["shape"][()])
            data = group["data"][()].astype(np.float32)
            matrix = sp.csr_matrix((data, group["indices"][()], group["indptr"][()]), shape=(n_cells, n_genes))
            barcodes = group["barcodes"][()].astype(str)
            ids = group["features/id"][()].astype(str)
            symbols = group["features/name"][()].astype(str)
            types = (group["features/feature_type"][()].astype(str) if "features/feature_type" in group
                     else np.full(len(ids), "Gene Expression"))
        except (ValueError, TypeError, KeyError, OSError) as exc:
            raise InputError(f"{path.name}: the sparse matrix in 'matrix' is inconsistent ({str(exc)[:160]}); "
                             "the file may be truncated") from None
    if len(barcodes) != n_cells or len(ids) != n_genes:
        raise InputError(f"{path.name}: the matrix is {n_genes:,} features x {n_cells:,} barcodes but the file lists "
                         f"{len(ids):,} features and {len(barcodes):,} barcodes; the file may be damaged")
    adata = anndata.AnnData(matrix, obs=pd.DataFrame(index=pd.Index(barcodes)),
                            var=pd.DataFrame({"gene_ids": ids, "feature_types": types},
                                             index=anndata.utils.make_index_unique(pd.Index(symbols))))
    keep = types == "Gene Expression"
    return adata[:, keep].copy() if keep.any() else adata
