"""The in-silico edit of the disruption page as URL values: cleaned, and converted between bp / nt and bins.

Ranges are kept as bin edges in base pairs from the TSS (promoter) or nucleotides from
the 5' end (mRNA), multiples of the 100-bp bin: ``(-500, 500)`` is the ten bins from
-500 to +500 bp. The model works on inclusive bin indices (:func:`bins_of`).
"""

from __future__ import annotations

from typing import Any, Iterable

from core.datasets.decode_demo import BIN_BP, PROMOTER_BINS, PROMOTER_START_BP

REGIONS = ("promoter", "mrna", "none")
DEFAULT_REGION = "promoter"
DEFAULT_FRACTION = 1.0
FRACTION_STEP = 0.05
#: The promoter window, in bp from the TSS.
PROMOTER_SPAN = (PROMOTER_START_BP, PROMOTER_START_BP + BIN_BP * PROMOTER_BINS)
DEFAULT_PROMOTER = (-500, 500)


def mrna_span(length: int) -> tuple[int, int]:
    """The transcript, in nt from the 5' end, for a gene of ``length`` bins."""
    return 0, BIN_BP * max(1, int(length))


def default_mrna(length: int) -> tuple[int, int]:
    """The last third of the transcript (at least two bins)."""
    length = max(1, int(length))
    return BIN_BP * max(0, length - max(2, length // 3)), BIN_BP * length


def pick_span(value: Any, span: tuple[int, int], default: tuple[int, int]) -> tuple[int, int]:
    """A range from the URL (``"lo,hi"`` or a pair) snapped to bin edges inside ``span``; else ``default``."""
    if isinstance(value, str):
        value = value.split(",")
    try:
        lo, hi = (int(round(float(v))) for v in value)
    except (TypeError, ValueError):
        return default
    start, end = span
    lo, hi = (start + BIN_BP * round((min(max(v, start), end) - start) / BIN_BP) for v in (lo, hi))
    return (lo, hi) if lo < hi else default


def bins_of(span: tuple[int, int], start: int) -> tuple[int, int]:
    """Inclusive bin indices of a range of edges (``start`` is the first bin's left edge)."""
    lo, hi = span
    return (int(lo) - start) // BIN_BP, (int(hi) - start) // BIN_BP - 1


def pick_region(value: Any) -> str:
    return value if value in REGIONS else DEFAULT_REGION


def pick_fraction(value: Any) -> float:
    """A fraction in 0..1 on the slider's 0.05 steps."""
    try:
        fraction = min(1.0, max(0.0, float(value)))
    except (TypeError, ValueError):
        return DEFAULT_FRACTION
    return round(round(fraction / FRACTION_STEP) * FRACTION_STEP, 2)


def pick_knockout(value: Any, regulators: Iterable[str]) -> list[str]:
    """The URL's regulators (comma-separated or a list) that bind the gene, in the order given, once each."""
    names = value.split(",") if isinstance(value, str) else list(value or [])
    known = set(regulators)
    return list(dict.fromkeys(n for n in (str(x).strip() for x in names) if n in known))
