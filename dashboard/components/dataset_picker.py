"""A page's dataset chooser: the demo or a dataset registered on the Datasets page.

The choice lives in the URL as ``?data=<id>`` (the dropdown's id is
``q-<page>--data``), so the page re-renders on the chosen dataset and a shared
link shows the same data. Callbacks read the page's dataset from the store
``<page>-source``.
"""

from __future__ import annotations

from dash import State, dcc, html

from dashboard import services
from dashboard.components.url_params import register_url_params


def dataset_picker(page: str, kind: str, source: str) -> html.Div:
    """Dropdown of the datasets of ``kind`` plus the store callbacks read the choice from."""
    return html.Div(className="control", children=[
        dcc.Store(id=source_id(page), data=source),
        html.Label("Dataset", htmlFor=f"q-{page}--data"),
        dcc.Dropdown(id=f"q-{page}--data", options=services.sources(kind), value=source, clearable=False,
                     className="dataset-dropdown"),
        dcc.Link("add your own…", href="/datasets", className="control-note"),
    ])


def source_id(page: str) -> str:
    """Id of the store holding the page's dataset id."""
    return f"{page}-source"


def source_state(page: str) -> State:
    """``State`` of the page's dataset id, for callbacks."""
    return State(source_id(page), "data")


def register_dataset_picker(page: str) -> None:
    """Choosing a dataset navigates to ``?data=...`` (the page re-renders from the URL)."""
    register_url_params(f"q-{page}--data")
