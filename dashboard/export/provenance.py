"""Provenance of an exported figure: PNG text keywords and SVG ``<metadata>``."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from core import __version__
from dashboard.export.frames import _as_figure_dict

SOFTWARE = f"PerturbScope {__version__}"


def _figure_title(fig: Mapping[str, Any]) -> str | None:
    title = (fig.get("layout") or {}).get("title")
    text = title.get("text") if isinstance(title, Mapping) else title
    if not isinstance(text, str):
        return None
    plain = re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE))
    return " ".join(html.unescape(plain).split()) or None


def png_text_from_provenance(provenance: Mapping[str, Any] | None,
                             fig: Mapping[str, Any] | go.Figure | None = None) -> dict[str, str]:
    """Map a figure's provenance to standard PNG text keywords.

    Parameters
    ----------
    provenance : mapping or None
        As built by ``dashboard.services.provenance``: ``app``, ``dataset``,
        ``gene``, ``view``, ``params``, ``simulated``. Keys that already are
        PNG keywords (``Title``, ``Author``, ...) pass through unchanged.
    fig : figure or dict, optional
        Used for ``Title`` when the provenance has none.

    Returns
    -------
    dict of str to str
        ``Title``, ``Software``, ``Source``, ``Description``, ``Comment``
        (the whole provenance as JSON), ``Creation Time`` (ISO 8601, UTC) and
        ``Warning`` for simulated data.
    """
    prov = dict(provenance or {})
    fig_dict = _as_figure_dict(fig) if fig is not None else {}
    gene, view, params = prov.get("gene"), prov.get("view"), prov.get("params") or prov.get("parameters")
    described = [f"gene: {gene}" if gene else None, f"view: {view}" if view else None,
                 f"parameters: {json.dumps(params, sort_keys=True, default=str)}" if params else None]
    text = {
        "Title": prov.get("title") or _figure_title(fig_dict) or " ".join(str(p) for p in (gene, view) if p)
        or "PerturbScope figure",
        "Software": prov.get("app") or SOFTWARE,
        "Source": prov.get("dataset"),
        "Description": "; ".join(d for d in described if d),
        "Comment": json.dumps(prov, sort_keys=True, default=str),
        "Creation Time": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "Warning": "Simulated demo data" if prov.get("simulated") else None,
    }
    text.update({k: v for k, v in prov.items() if k[:1].isupper() and isinstance(v, str)})
    return {k: str(v) for k, v in text.items() if v}


def add_svg_metadata(svg: bytes | str, text: Mapping[str, str]) -> bytes:
    """Insert ``<metadata id="perturbscope-provenance">`` (escaped JSON) after ``<svg ...>``."""
    svg_text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    match = re.search(r"<svg\b[^>]*>", svg_text)
    if not match:
        raise ValueError("not an SVG document (no <svg> element)")
    body = html.escape(json.dumps(dict(text), ensure_ascii=False, indent=1), quote=False)
    element = f'<metadata id="perturbscope-provenance">{body}</metadata>'
    return (svg_text[:match.end()] + element + svg_text[match.end():]).encode("utf-8")


def read_svg_metadata(svg: bytes | str) -> dict[str, str]:
    """Read back what :func:`add_svg_metadata` wrote (empty dict if absent)."""
    svg_text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    match = re.search(r'<metadata id="perturbscope-provenance">(.*?)</metadata>', svg_text, re.DOTALL)
    return json.loads(html.unescape(match.group(1))) if match else {}
