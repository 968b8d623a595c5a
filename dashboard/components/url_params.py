"""Page controls kept in the URL's query string (see ``assets/perturbscope.js``).

Each page render carries its own id (``render_marker``, placed by
``page_header``), so the browser can tell Dash's first call for freshly drawn
controls from a user's change and does not navigate for the former.
"""

from __future__ import annotations

import json
import uuid

from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc

RENDER_ID = "page-render"


def render_marker() -> dcc.Store:
    """A store whose value is new on every render of a page."""
    return dcc.Store(id=RENDER_ID, data=uuid.uuid4().hex)


def register_url_params(*control_ids: str) -> None:
    """Changing one of these controls (ids ``q-<param>`` or ``q-<page>--<param>``) navigates to ``?<param>=``."""
    clientside_callback(
        ClientsideFunction(namespace="perturbscope", function_name="paramsToSearch"),
        Output("url", "search", allow_duplicate=True),
        *[Input(control, "value") for control in control_ids],
        State(RENDER_ID, "data"),
        prevent_initial_call=True,
    )


def record_in_url(trigger: str, controls: dict[str, str]) -> None:
    """When ``trigger``'s data is set (a job's result), write the controls that made it into the address bar.

    ``controls`` maps URL parameters to control ids. The address bar is rewritten in
    place, without navigating: the page keeps the result it shows, and a copied link
    reproduces the controls (and the result, where the page loads it when stored).
    """
    keys = json.dumps(list(controls))
    clientside_callback(
        f"function(result, ...values) {{ return window.dash_clientside.perturbscope.recordParams({keys}, result, "
        "values); }",
        Output(trigger, "data", allow_duplicate=True),
        Input(trigger, "data"),
        *[State(control, "value") for control in controls.values()],
        prevent_initial_call=True,
    )
