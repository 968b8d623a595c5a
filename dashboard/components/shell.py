"""The app frame: header with navigation and the global gene search, footer."""

from __future__ import annotations

from dash import dcc, html

from dashboard import services
from dashboard.components.url_params import render_marker

SHOWN_GENE_ID = "shown-gene"

NAV = (
    ("/", "Home"),
    ("/gene", "Gene card"),
    ("/genes", "Gene list"),
    ("/essentiality", "Modifier genes"),
    ("/decode", "DEcode"),
    ("/dko", "DKO"),
    ("/perturbation", "Perturbation signatures"),
    ("/datasets", "Datasets"),
)


def shell(page_container) -> html.Div:
    """The whole-app layout around the pages' container."""
    return html.Div(className="app", children=[
        dcc.Location(id="url", refresh="callback-nav"),
        dcc.Download(id="download"),  # app level: survives page changes
        html.Header(className="topbar", children=[
            dcc.Link("PerturbScope", href="/", className="brand", id="brand-link"),
            html.Nav(className="nav", children=[
                dcc.Link(label, href=path, id=f"nav-{path.strip('/') or 'home'}", className="nav-link")
                for path, label in NAV
            ]),
            html.Div(className="gene-search", children=[
                dcc.Dropdown(
                    id="gene-search",
                    placeholder="Search a gene (e.g. RPP25L)…",
                    searchable=True,
                    clearable=True,
                    options=[],
                    debounce=False,
                ),
            ]),
        ]),
        html.Div(id="global-notice", className="global-notice", role="status"),
        html.Main(page_container, className="page"),
        html.Footer(className="footer", children=[
            f"PerturbScope {services.VERSION} · ",
            "Every view's state is in the address bar: copy the link to share exactly this view.",
        ]),
    ])


def page_header(title: str, subtitle: str, *, simulated_note: str | None = None,
                notice: str | tuple[str | None, ...] | None = None, shown_gene: str | None = None) -> html.Div:
    """Page title, one-line purpose, the simulated-data banner and a notice (or several, shown as one line).

    ``shown_gene`` is the gene the page shows: when the URL asked for another (unknown, or in other
    letter case), the address bar is corrected to it in place, so a copied link shows what is on screen.
    """
    if isinstance(notice, tuple):
        notice = " ".join(text for text in notice if text) or None
    return html.Div(className="page-header", children=[
        render_marker(),
        dcc.Store(id=SHOWN_GENE_ID, data=shown_gene),
        html.H1(title),
        html.P(subtitle, className="subtitle"),
        html.Div(simulated_note, className="simulated-banner") if simulated_note else None,
        html.Div(notice, className="notice", role="status") if notice else None,
    ])


def method_header(title: str, subtitle: str, source: str, notice=None, shown_gene: str | None = None) -> html.Div:
    """:func:`page_header` of a method page, with the simulated-data banner when ``source`` is the demo."""
    return page_header(title, subtitle, simulated_note=services.simulated_note(source), notice=notice,
                       shown_gene=shown_gene)


def register_download(button_id: str, source: tuple[str, str], make):
    """Send ``make(value)`` to the app's download when the button is pressed, ``value`` being ``source``'s
    (component id, property); nothing while it is empty. Returns the callback, for tests."""
    from dash import Input, Output, State, callback, no_update

    @callback(Output("download", "data", allow_duplicate=True), Input(button_id, "n_clicks"), State(*source),
              prevent_initial_call=True)
    def _download(clicks, value):
        if not clicks or not value:
            return no_update
        return make(value)

    return _download
