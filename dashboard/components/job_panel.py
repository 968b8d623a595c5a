"""The shared panel of a background job: run, cancel, progress, elapsed time, errors.

``job_panel(prefix)`` lays out the pieces; ``job_callback_kwargs(prefix)``
gives the keyword arguments that wire a background callback to them, so each
page declares only its own inputs and outputs.

The job's progress text and the panel's status are two elements, and only one
shows at a time: ``<prefix>-progress-text`` while the job runs, ``<prefix>-status``
(Idle / Finished / Loaded / Cancelled) otherwise. Progress can arrive after a
job was cancelled (the browser polls it), so it must never write the status.
"""

from __future__ import annotations

from dash import Input, Output, html

from dashboard.jobs import report_lost_job


def job_panel(prefix: str, run_label: str = "Run") -> html.Div:
    """Run and cancel buttons, a progress bar with text and an error slot."""
    return html.Div(className="job-panel", id=f"{prefix}-panel", children=[
        html.Button(run_label, id=f"{prefix}-run", className="button-primary", n_clicks=0),
        html.Button("Cancel", id=f"{prefix}-cancel", className="button-secondary", disabled=True, n_clicks=0),
        html.Progress(id=f"{prefix}-progress", value="0", max="100", className="job-progress"),
        html.Span("Idle.", id=f"{prefix}-status", className="job-status", **{"aria-live": "polite"}),
        html.Span("", id=f"{prefix}-progress-text", className="job-status", hidden=True),
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
            (Output(f"{prefix}-status", "hidden"), True, False),
            (Output(f"{prefix}-progress-text", "hidden"), False, True),
            (Output(f"{prefix}-error", "hidden"), True, False),  # an earlier run's error
        ],
        cancel=[Input(f"{prefix}-cancel", "n_clicks")],
        progress=[
            Output(f"{prefix}-progress", "value"),
            Output(f"{prefix}-progress", "max"),
            Output(f"{prefix}-progress-text", "children"),
        ],
        prevent_initial_call=True,
        on_error=report_lost_job(prefix),
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


def register_cached_job(prefix: str, store_id: str, controls: list[tuple[str, str]], *, params, run, stored,
                        fallback=None) -> None:
    """Wire a job panel to a cached background job, and show a stored result at once.

    Parameters
    ----------
    prefix : str
        The :func:`job_panel` prefix.
    store_id : str
        A ``dcc.Store`` that receives the job's parameters when a result is
        ready: ``{**params, "seconds": s}`` after a run, ``{**params,
        "cached": True}`` when the result was already stored, ``None`` when not.
        The page draws its figures from this store.
    controls : list of (component id, property)
        The controls whose values define the job.
    params : callable
        ``params(*values) -> dict``: the normalised, JSON-able parameters.
    run : callable
        ``run(params, set_progress) -> JobOutcome`` (see ``dashboard.services``).
    stored : callable
        ``stored(params) -> bool``: whether a result is already in the store.
    fallback : callable, optional
        ``fallback(params) -> dict | None``: what the store receives when no
        result is stored (for example the instant atlas view of a target),
        instead of None.
    """
    from dash import State, callback, no_update

    register_cancel_message(prefix)

    @callback(
        Output(store_id, "data"),
        Output(f"{prefix}-error", "children"),
        Input(f"{prefix}-run", "n_clicks"),
        *[State(component, prop) for component, prop in controls],
        **job_callback_kwargs(prefix),
    )
    def _run(set_progress, _n_clicks, *values):
        chosen = params(*values)
        outcome = run(chosen, set_progress)
        if outcome.error:
            return no_update, outcome.error
        return {**chosen, "seconds": round(outcome.seconds, 2)}, ""

    @callback(
        Output(store_id, "data", allow_duplicate=True),
        *[Input(component, prop) for component, prop in controls],
        prevent_initial_call="initial_duplicate",
    )
    def _show_stored(*values):
        chosen = params(*values)
        if stored(chosen):
            return {**chosen, "cached": True}
        return fallback(chosen) if fallback is not None else None
