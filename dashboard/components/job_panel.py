"""The shared panel of a background job: run, cancel, progress, elapsed time, errors.

``job_panel(prefix)`` lays out the pieces; ``job_callback_kwargs(prefix)``
gives the keyword arguments that wire a background callback to them, so each
page declares only its own inputs and outputs.
"""

from __future__ import annotations

from dash import Input, Output, html


def job_panel(prefix: str, run_label: str = "Run") -> html.Div:
    """Run and cancel buttons, a progress bar with text and an error slot."""
    return html.Div(className="job-panel", id=f"{prefix}-panel", children=[
        html.Button(run_label, id=f"{prefix}-run", className="button-primary", n_clicks=0),
        html.Button("Cancel", id=f"{prefix}-cancel", className="button-secondary", disabled=True, n_clicks=0),
        html.Progress(id=f"{prefix}-progress", value="0", max="100", className="job-progress"),
        html.Span("Idle.", id=f"{prefix}-status", className="job-status", **{"aria-live": "polite"}),
        html.Div(id=f"{prefix}-error", className="job-error", role="alert"),
    ])


def job_callback_kwargs(prefix: str, interval_ms: int = 500) -> dict:
    """Background-callback arguments for the panel with this prefix."""
    return dict(
        background=True,
        interval=interval_ms,
        running=[
            (Output(f"{prefix}-run", "disabled"), True, False),
            (Output(f"{prefix}-cancel", "disabled"), False, True),
        ],
        cancel=[Input(f"{prefix}-cancel", "n_clicks")],
        progress=[
            Output(f"{prefix}-progress", "value"),
            Output(f"{prefix}-progress", "max"),
            Output(f"{prefix}-status", "children"),
        ],
        prevent_initial_call=True,
    )


def register_cancel_message(prefix: str) -> None:
    """Say "Cancelled" in the panel when its cancel button is pressed."""
    from dash import callback

    @callback(
        Output(f"{prefix}-status", "children", allow_duplicate=True),
        Output(f"{prefix}-progress", "value", allow_duplicate=True),
        Input(f"{prefix}-cancel", "n_clicks"),
        prevent_initial_call=True,
    )
    def _cancelled(n_clicks):
        if not n_clicks:
            from dash import no_update

            return no_update, no_update
        return "Cancelled. Earlier results are kept.", "0"
