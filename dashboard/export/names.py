"""Download file names and the ``dcc.Graph`` modebar config."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from typing import Any


def _slug(text: str, max_len: int = 80) -> str:
    """ASCII, filesystem-safe: runs of anything but [A-Za-z0-9.-] become '-'."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9.\-]+", "-", ascii_text)
    slug = re.sub(r"-{2,}", "-", slug).strip(".-")
    return slug[:max_len].rstrip(".-")


def export_filename(gene: str | None, view: str, ext: str, when: dt.date | None = None) -> str:
    """A meaningful, filesystem-safe download name.

    Parameters
    ----------
    gene : str or None
        Gene symbol shown in the figure; omitted when None or empty.
    view : str
        What the figure shows, e.g. ``"modifier-scatter"``.
    ext : str
        File extension, with or without the dot (``"png"``, ``".csv"``).
    when : datetime.date, optional
        Date to stamp; today (local time) by default.

    Returns
    -------
    str
        For example ``"RPP25L_modifier-scatter_2026-11-22.png"``.
    """
    when = when or dt.date.today()
    parts = [_slug(gene) if gene else "", _slug(view) or "figure", when.isoformat()]
    suffix = _slug(ext.lstrip(".")).lower()
    return "_".join(p for p in parts if p) + (f".{suffix}" if suffix else "")


def graph_config(filename: str, scale: int = 3,
                 remove: Sequence[str] = ("lasso2d", "select2d")) -> dict[str, Any]:
    """The ``config`` for a ``dcc.Graph``: nothing sent to Plotly's cloud, no logo, no camera.

    Parameters
    ----------
    filename : str
        The figure's download name (its stem names plotly.js's own image
        export, should a page put the camera back); a trailing extension is
        dropped.
    scale : int, default 3
        Pixel multiplier for that image.
    remove : sequence of str
        Modebar buttons to drop besides the cloud buttons and the camera
        (see :data:`~dashboard.components.figure_card.PRIVATE_CONFIG`). Lasso
        and box select by default: no page acts on a selection. Pass ``()`` on
        a page that does.

    Returns
    -------
    dict
        Ready for ``dcc.Graph(config=...)``.
    """
    from dashboard.components.figure_card import PRIVATE_CONFIG

    stem = re.sub(r"\.(png|svg|pdf|jpe?g|webp)$", "", filename, flags=re.IGNORECASE)
    always = [b for b in PRIVATE_CONFIG["modeBarButtonsToRemove"] if b not in ("lasso2d", "select2d")]
    return {
        **PRIVATE_CONFIG,
        "toImageButtonOptions": {"format": "png", "filename": stem, "scale": scale},
        "modeBarButtonsToRemove": [*remove, *always],
    }
