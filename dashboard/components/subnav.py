"""Tabs linking the pages of one method family, carrying the gene along."""

from __future__ import annotations

from urllib.parse import urlencode

from dash import dcc, html


def subnav(items, active: str, gene: str | None = None, *, query: dict | None = None) -> html.Nav:
    """Links to sibling pages (``(path, label)``) carrying ``gene`` or a whole ``query``."""
    query = {k: v for k, v in (query if query is not None else {"gene": gene}).items() if v not in (None, "")}
    suffix = f"?{urlencode(query)}" if query else ""
    return html.Nav(className="subnav", children=[
        dcc.Link(label, href=f"{path}{suffix}", id=f"tab-{path.strip('/').replace('/', '-')}",
                 className="subnav-link active" if path == active else "subnav-link")
        for path, label in items
    ])
