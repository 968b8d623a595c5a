"""Tabs linking the pages of one method family, carrying the gene along."""

from __future__ import annotations

from urllib.parse import urlencode

from dash import dcc, html


def subnav(items: list[tuple[str, str]], active: str, gene: str | None = None) -> html.Nav:
    """Links to sibling pages (``(path, label)``); the active one is marked."""
    suffix = f"?{urlencode({'gene': gene})}" if gene else ""
    return html.Nav(className="subnav", children=[
        dcc.Link(label, href=f"{path}{suffix}", className="subnav-link active" if path == active else "subnav-link")
        for path, label in items
    ])
