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

from dashboard.jobs import report_lost_job, running_job


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


def job_card(prefix: str, run_label: str, title: str | None, *body, after=(), store: str | None = None) -> html.Div:
    """A card that explains a job and holds its panel.

    ``body`` comes between the title and the panel: a string is a help
    paragraph, anything else a component (controls, notes); ``after`` follows
    the panel (summaries the job fills in). ``store`` is the id of the job's
    result store (see :func:`register_cached_job`), kept in the card.
    """
    from dash import dcc

    return html.Div(className="card", children=[
        *([dcc.Store(id=store)] if store else []),
        *([html.H3(title, className="card-title")] if title else []),
        *[html.P(part, className="card-help") if isinstance(part, str) else part for part in body],
        job_panel(prefix, run_label),
        *after,
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


def job_status(result: dict, loaded: str = "Loaded the stored result.") -> str:
    """The panel's status for a result store's value: loaded from the store, or how long the run took."""
    return loaded if result.get("cached") else f"Finished in {result.get('seconds', 0):.1f} s."


def cancellable(prefix: str):
    """Decorate a job panel's background callback so that its Cancel button stops it at once.

    Put it under ``@callback(..., **job_callback_kwargs(prefix))``; see
    :func:`dashboard.jobs.running_job`.
    """
    import functools

    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with running_job(prefix):
                return fn(*args, **kwargs)
        return run

    return decorate


def shows_job_result(prefix: str, store_id: str, cards=(), outputs=(), inputs=(), initial: bool = False):
    """The ``@callback`` of a function that draws a job's result from its store.

    Its outputs are the figure cards (see ``figure_outputs``), then
    ``outputs``, then the panel's status; its inputs the store, then
    ``inputs`` (Inputs and States, in order). With ``initial`` it also runs
    when the page is drawn.
    """
    from dash import callback

    from dashboard.components.figure_card import figure_outputs

    return callback(
        *[output for card in cards for output in figure_outputs(card)],
        *outputs,
        Output(f"{prefix}-status", "children", allow_duplicate=True),
        Input(store_id, "data"),
        *inputs,
        prevent_initial_call="initial_duplicate" if initial else True,
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


def register_cached_job(prefix: str, store_id: str, controls: list[tuple[str, str]], job, *, params,
                        fallback=None) -> tuple:
    """Wire a job panel to a cached background job, and show a stored result at once.

    Every page's long job goes through here: the Run button starts
    ``job.run`` as a background callback (progress bar, Cancel), and any change
    of the controls looks the result up with ``job.result``, so a stored one
    is shown without pressing Run.

    Parameters
    ----------
    prefix : str
        The :func:`job_panel` prefix.
    store_id : str
        A ``dcc.Store`` that receives the job's values when a result is
        ready: ``{**values, "seconds": s}`` after a run, ``{**values,
        "cached": True}`` when the result was already stored, ``None`` when not.
        The page draws its figures from this store.
    controls : list of (component id, property)
        The controls (and stores) whose values define the job.
    job : dashboard.services.CachedJob
        The job.
    params : callable
        ``params(*control values) -> dict``: the job's keyword values, ``source``
        included (JSON-able). Raise ``InputError`` when the job cannot run
        yet (for example "train the model first"): the message shows in the
        panel after Run, and nothing is shown as stored.
    fallback : callable, optional
        ``fallback(values) -> dict | None``: what the store receives when no
        result is stored (for example the instant atlas view of a target),
        instead of None.

    Returns
    -------
    (run, show_stored)
        The two callbacks as plain functions (``run(set_progress, n_clicks,
        *values)``, ``show_stored(*values)``), for the page to name and tests to call.
    """
    from dash import State, callback, no_update

    from dashboard.services import InputError

    register_cancel_message(prefix)

    @callback(
        Output(store_id, "data"),
        Output(f"{prefix}-error", "children"),
        Input(f"{prefix}-run", "n_clicks"),
        *[State(component, prop) for component, prop in controls],
        **job_callback_kwargs(prefix),
    )
    @cancellable(prefix)
    def _run(set_progress, _n_clicks, *values):
        try:
            chosen = params(*values)
        except InputError as exc:
            return no_update, str(exc)
        outcome = job.run(set_progress, **chosen)
        if outcome.error:
            return no_update, outcome.error
        return {**chosen, "seconds": round(outcome.seconds, 2)}, ""

    @callback(
        Output(store_id, "data", allow_duplicate=True),
        *[Input(component, prop) for component, prop in controls],
        prevent_initial_call="initial_duplicate",
    )
    def _show_stored(*values):
        try:
            chosen = params(*values)
        except InputError:
            return None
        if job.result(**chosen) is not None:
            return {**chosen, "cached": True}
        return fallback(chosen) if fallback is not None else None

    return _run, _show_stored
