"""Synthetic, obviously simulated identifiers shared by the demo generators.

Planted genes in the demo datasets carry real HGNC symbols so that a biologist
recognises the story being told (RPP25L and its paralog RPP25, HNF4A in liver,
...). Every other gene is named ``SIM`` followed by a zero-padded number with at
least four digits (``SIM0001``, ``SIM0002``, ...): readable, sortable, and never
equal to a real symbol (the real genes SIM1 and SIM2 have no zero padding).
Simulated cell lines are ``SIMCL-0001``, ... in the same spirit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

SIM_PREFIX = "SIM"
CELL_PREFIX = "SIMCL-"

#: Real symbols present in all four demo datasets, so that one gene can be followed from one
#: method to the next. Each plays a role in each demo where that role makes sense (for example
#: HNF4A: liver-lineage gene in the cell lines, liver regulator in DEcode, keystone in DKO);
#: ``data/README.md`` lists what is planted where. The demos remain SIMULATED.
SHARED_SYMBOLS: tuple[str, ...] = (
    "RPP25L", "RPP25", "KRAS", "MCL1", "FAM50A", "FAM50B", "HNF4A", "SPI1", "MYOD1", "ELAVL1", "CTCF",
    "ARID1A", "ARID1B", "SMARCA4", "SMARCA2", "TP53", "MDM2", "CDKN1A", "EGFR", "DUSP6", "BCL2L1",
    "PTEN", "MTAP", "PRMT5",
)


def _width(n: int, minimum: int = 4) -> int:
    return max(minimum, len(str(max(n, 1))))


def synthetic_symbols(n: int, prefix: str = SIM_PREFIX, start: int = 1, width: int | None = None) -> list[str]:
    """Return ``n`` synthetic gene symbols such as ``SIM0001``.

    Parameters
    ----------
    n
        How many symbols to make.
    prefix
        Text in front of the number (``SIM`` for genes).
    start
        First number.
    width
        Zero padding of the number; by default at least 4 digits and enough for
        the largest number.

    Returns
    -------
    list of str
        ``[f"{prefix}{start:0{width}d}", ...]``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    w = width if width is not None else _width(start + n - 1)
    return [f"{prefix}{i:0{w}d}" for i in range(start, start + n)]


def fill_symbols(planted: Sequence[str], n_total: int, prefix: str = SIM_PREFIX) -> list[str]:
    """Planted (real) symbols followed by synthetic ones up to ``n_total``.

    Parameters
    ----------
    planted
        Real symbols that must appear, in this order; must be unique.
    n_total
        Length of the result; at least ``len(planted)``.
    prefix
        Prefix of the synthetic symbols.

    Returns
    -------
    list of str
        ``list(planted) + synthetic_symbols(n_total - len(planted))``.
    """
    planted = list(planted)
    if len(set(planted)) != len(planted):
        dupes = sorted({g for g in planted if planted.count(g) > 1})
        raise ValueError(f"planted symbols are not unique: {dupes}")
    if n_total < len(planted):
        raise ValueError(f"n_total={n_total} is smaller than the {len(planted)} planted symbols")
    return planted + synthetic_symbols(n_total - len(planted), prefix=prefix)


def cell_ids(n: int) -> list[str]:
    """Simulated cell-line ids ``SIMCL-0001``, ``SIMCL-0002``, ...

    Parameters
    ----------
    n
        Number of ids.

    Returns
    -------
    list of str
    """
    return synthetic_symbols(n, prefix=CELL_PREFIX)


def is_synthetic(symbol: str, prefix: str = SIM_PREFIX) -> bool:
    """True for symbols made by :func:`synthetic_symbols` with ``prefix``.

    Parameters
    ----------
    symbol : str
        A gene symbol.
    prefix : str
        Prefix of the synthetic symbols.
    """
    rest = symbol[len(prefix):]
    return symbol.startswith(prefix) and len(rest) >= 4 and rest.isdigit()


def join_list(values: Iterable[object], fmt: str = "{}") -> str:
    """Join values with ``;`` (the list encoding used in truth tables).

    Parameters
    ----------
    values : iterable
        Values joined.
    fmt : str
        Format of each value.
    """
    return ";".join(fmt.format(v) for v in values)


def split_list(text: str) -> list[str]:
    """Inverse of :func:`join_list` (``''`` gives an empty list).

    Parameters
    ----------
    text : str
        A ``;``-joined list.
    """
    return [t for t in str(text).split(";") if t]
