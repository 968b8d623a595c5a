"""Gene-network edge lists (``gene1 gene2 [weight]``) and the gene tables that name their nodes.

Networks such as CORUM complexes, STRING or drug-target layers are shared as
whitespace-, tab- or comma-separated edge lists whose genes are Entrez ids or
symbols. :func:`load_network` reads one, maps every id through a gene table and
returns a clean undirected edge table (``gene1 < gene2``, no self loops,
duplicates merged by their largest weight).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.datasets.text_tables import readable_table
from core.errors import InputError

ENTREZ_COLUMNS = ("entrez", "entrezid", "entrez_id", "entrezgene", "gene_id_entrez")
SYMBOL_COLUMNS = ("symbol", "gene_symbol", "hgnc_symbol", "gene")


def _find_column(frame: pd.DataFrame, candidates: tuple[str, ...]) -> str | None:
    lookup = {str(c).lower().replace(" ", "_"): c for c in frame.columns}
    for name in candidates:
        if name in lookup:
            return lookup[name]
    return None


def gene_table(table: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Normalise a gene table to columns ``entrez`` (str) and ``symbol``.

    Parameters
    ----------
    table
        A DataFrame or CSV path with an Entrez column (``EntrezID``, ``entrez``, ...) and a
        symbol column (``Symbol``, ``symbol``, ...); a DataFrame whose index is the symbol and
        which has an ``entrez`` column (the demo's ``PerturbationData.genes``) works too.

    Returns
    -------
    pandas.DataFrame
        One row per gene: ``entrez`` (string of digits) and ``symbol``.

    Raises
    ------
    core.errors.InputError
        If either column is missing.
    """
    name = "the gene table"
    if isinstance(table, (str, Path)):
        name = Path(table).name
        try:
            table = pd.read_csv(table)
        except (OSError, ValueError) as exc:
            raise InputError(f"could not read gene table {name}: {exc}") from None
    frame = table.copy()
    if _find_column(frame, SYMBOL_COLUMNS) is None and frame.index.name is not None:
        frame = frame.reset_index()
    entrez, symbol = _find_column(frame, ENTREZ_COLUMNS), _find_column(frame, SYMBOL_COLUMNS)
    if entrez is None or symbol is None:
        raise InputError(
            f"{name} needs an Entrez id column (one of {', '.join(ENTREZ_COLUMNS)}) and a symbol column "
            f"(one of {', '.join(SYMBOL_COLUMNS)}); found: {', '.join(map(str, frame.columns[:12]))}"
        )
    out = pd.DataFrame({"entrez": frame[entrez], "symbol": frame[symbol].astype(str)}).dropna()
    out["entrez"] = pd.to_numeric(out["entrez"], errors="coerce")
    out = out.dropna().astype({"entrez": np.int64})
    out["entrez"] = out["entrez"].astype(str)
    return out.drop_duplicates("entrez").reset_index(drop=True)


def map_gene_ids(ids: pd.Series | list, table: pd.DataFrame | None, to: str = "symbol") -> pd.Series:
    """Map Entrez ids or symbols to one naming (``to`` = ``symbol`` or ``entrez``); NaN where unknown.

    Without a table, ids are returned as strings (integers written without ``.0``).

    Parameters
    ----------
    ids : Series or list
        Entrez ids or symbols.
    table : pandas.DataFrame, optional
        Gene table with ``entrez`` and ``symbol``.
    to : {"symbol", "entrez"}
        The naming returned.
    """
    values = pd.Series(ids, dtype=object).map(_clean_id)
    if table is None:
        return values
    if to not in ("symbol", "entrez"):
        raise InputError(f"gene naming must be 'symbol' or 'entrez', got {to!r}")
    table = gene_table(table)
    by_entrez = dict(zip(table["entrez"], table[to]))
    by_symbol = dict(zip(table["symbol"].str.upper(), table[to]))
    mapped = values.map(by_entrez)
    missing = mapped.isna()
    mapped[missing] = values[missing].str.upper().map(by_symbol)
    return mapped


def _clean_id(value) -> str:
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text


def _read_edge_table(path: Path) -> pd.DataFrame:
    with readable_table(path, "a network: one edge a line, gene1 gene2 [weight], separated by tabs, spaces or "
                              "commas"):
        with open(path) as handle:
            first = next((line for line in handle if line.strip() and not line.startswith("#")), "")
        sep = "," if "," in first else ("\t" if "\t" in first else r"\s+")
        raw = pd.read_csv(path, sep=sep, header=None, dtype=str, comment="#", skipinitialspace=True)
    if raw.shape[1] not in (2, 3):
        raise InputError(
            f"network {path.name} must have 2 or 3 columns (gene1 gene2 [weight]), found {raw.shape[1]}"
        )
    raw = raw.iloc[:, :3]
    raw.columns = ["gene1", "gene2", "weight"][: raw.shape[1]]
    if "weight" not in raw:
        raw["weight"] = "1"
    first = raw.iloc[0] if len(raw) else None
    if first is not None and str(first["gene1"]).lower() in ("gene1", "source", "from", "node1", "protein1"):
        raw = raw.iloc[1:]
    elif first is not None and pd.isna(pd.to_numeric(first["weight"], errors="coerce")):
        raw = raw.iloc[1:]  # a header row such as "a b weight"
    return raw


def load_network(path: str | Path, genes: pd.DataFrame | str | Path | None = None, *, to: str = "symbol",
                 on_unmapped: str = "raise") -> pd.DataFrame:
    """Read one network layer as an undirected weighted edge table.

    Parameters
    ----------
    path
        Edge list, one edge a line: ``gene1 gene2 [weight]`` separated by spaces, tabs or commas
        (an optional header line and ``#`` comments are skipped). Missing weights mean 1.
    genes
        Gene table (see :func:`gene_table`) used to map Entrez ids or symbols to ``to``;
        without one, ids are kept as written.
    to
        Naming of the output: ``symbol`` or ``entrez``.
    on_unmapped
        ``raise`` (default): any id not in the gene table is an error; ``drop``: edges touching
        unknown ids are dropped (their number is in ``attrs["n_dropped_edges"]``).

    Returns
    -------
    pandas.DataFrame
        Columns ``gene1``, ``gene2`` (``gene1 < gene2``), ``weight`` (float, > 0); self loops
        removed, duplicate edges (either direction) merged by their largest weight.

    Raises
    ------
    core.errors.InputError
        Unreadable file, wrong column count, non-numeric or non-positive weights, unmapped ids
        (with ``on_unmapped="raise"``) or no edges left.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"network file {path} does not exist")
    if on_unmapped not in ("raise", "drop"):
        raise InputError(f"on_unmapped must be 'raise' or 'drop', got {on_unmapped!r}")
    raw = _read_edge_table(path)
    weight = pd.to_numeric(raw["weight"], errors="coerce")
    bad = weight.isna() | ~np.isfinite(weight) | (weight <= 0)
    if bad.any():
        row = raw[bad].iloc[0]
        raise InputError(
            f"network {path.name}: {int(bad.sum()):,} edges have a missing, non-numeric or non-positive weight "
            f"(first: {row['gene1']} {row['gene2']} {row['weight']!r}); weights must be positive numbers"
        )
    g1 = map_gene_ids(raw["gene1"].to_numpy(), genes, to)
    g2 = map_gene_ids(raw["gene2"].to_numpy(), genes, to)
    unmapped = g1.isna().to_numpy() | g2.isna().to_numpy()
    n_dropped = int(unmapped.sum())
    if n_dropped and on_unmapped == "raise":
        ids = pd.concat([pd.Series(raw["gene1"].to_numpy()[g1.isna().to_numpy()]),
                         pd.Series(raw["gene2"].to_numpy()[g2.isna().to_numpy()])]).unique()
        raise InputError(
            f"network {path.name}: {len(ids):,} gene ids are not in the gene table (e.g. "
            f"{', '.join(map(str, ids[:5]))}), touching {n_dropped:,} of {len(raw):,} edges; use a gene table "
            f"that covers them or load with on_unmapped='drop' to skip those edges"
        )
    frame = pd.DataFrame({"a": g1.to_numpy()[~unmapped], "b": g2.to_numpy()[~unmapped],
                          "weight": weight.to_numpy(dtype=np.float64)[~unmapped]})
    frame = frame[frame["a"] != frame["b"]]
    lo = np.where(frame["a"] < frame["b"], frame["a"], frame["b"])
    hi = np.where(frame["a"] < frame["b"], frame["b"], frame["a"])
    edges = (pd.DataFrame({"gene1": lo, "gene2": hi, "weight": frame["weight"].to_numpy()})
             .groupby(["gene1", "gene2"], as_index=False, sort=True)["weight"].max())
    if edges.empty:
        raise InputError(f"network {path.name} has no edges between two different known genes")
    edges.attrs["n_dropped_edges"] = n_dropped
    edges.attrs["source"] = path.name
    return edges
