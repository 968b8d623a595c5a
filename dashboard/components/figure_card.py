"""A titled figure with its export bar and copyable methods paragraph.

Each card owns three ids, all keyed by the card's ``name``:
``{"type": "figure", "name": name}`` (the dcc.Graph),
``{"type": "export", "name": name, "format": fmt}`` (export buttons) and
``{"type": "methods", "name": name}`` (the methods text). The app-level
callbacks in ``dashboard.export.callbacks`` serve every card on every page.
"""

from __future__ import annotations

import functools

from dash import Output, dcc, html

#: Every graph's base config: no Plotly logo, no link or button that sends the data to Plotly Cloud or Chart
#: Studio (unpublished data two clicks away from a third party), and no camera: plotly.js saves its PNG in the
#: browser with no way to add text chunks, so it could not carry the provenance the export bar's PNG has.
PRIVATE_CONFIG = {
    "displaylogo": False, "showSendToCloud": False, "showEditInChartStudio": False, "showLink": False,
    "sendData": False, "plotlyServerURL": "",
    "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio", "toImage", "lasso2d", "select2d"],
}

EXPORT_FORMATS = (
    ("csv", "CSV", "The numbers drawn in this figure, one row per point, bar or cell"),
    ("png-slide", "PNG slide", "1280 x 800 at 2x (2560 x 1600 px), with provenance metadata"),
    ("png-print", "PNG print", "7 in wide at 300 dpi, laid out for the page, with provenance metadata"),
    ("png-column", "PNG column", "3.5 in wide (one column of a two-column page) at 300 dpi, with provenance metadata"),
    ("svg", "SVG", "Vector graphic (7 in print layout) for editing in Illustrator or Inkscape"),
    ("pdf", "PDF", "Vector PDF (7 in print layout)"),
)


def figure_id(name: str) -> dict:
    return {"type": "figure", "name": name}


def methods_id(name: str) -> dict:
    return {"type": "methods", "name": name}


def figure_outputs(name: str) -> list[Output]:
    """Outputs a page callback sets to render a card: figure, graph config, methods."""
    return [
        Output(figure_id(name), "figure"),
        Output(figure_id(name), "config"),
        Output(methods_id(name), "children"),
    ]


def figure_card(name: str, title: str, *, height: int = 420, help_text: str | None = None,
                initial: tuple | None = None) -> html.Div:
    """A card with a graph, export buttons and a methods paragraph.

    ``initial`` is :func:`render_card`'s tuple, for a figure drawn with the page (no callback round trip).
    """
    figure, config, methods = initial if initial is not None else (None, PRIVATE_CONFIG, None)
    buttons = [
        html.Button(
            label,
            id={"type": "export", "name": name, "format": fmt},
            className="export-button",
            title=tip,
            n_clicks=0,
        )
        for fmt, label, tip in EXPORT_FORMATS
    ]
    return html.Div(
        className="card figure-card",
        id=f"card-{name}",
        children=[
            html.Div(className="card-header", children=[
                html.H3(title, className="card-title"),
                html.Div(buttons, className="export-bar"),
            ]),
            html.P(help_text, className="card-help") if help_text else None,
            dcc.Loading(
                dcc.Graph(id=figure_id(name), style={"height": f"{height}px"}, config=config,
                          **({"figure": figure} if figure is not None else {})),
                type="dot",
                delay_show=300,
            ),
            html.Details(className="methods", children=[
                html.Summary("Methods text for this figure"),
                html.Div(className="methods-body", children=[
                    html.P(methods, id=methods_id(name), className="methods-text"),
                    dcc.Clipboard(target_id=methods_id(name), title="Copy methods text", className="copy-button"),
                ]),
            ]),
        ],
    )


def figure_row(*cards: tuple[str, str], height: int = 420) -> html.Div:
    """Figure cards side by side (two a row on a wide screen), each ``(name, title)``, all of one height."""
    return html.Div(className="grid-2", children=[figure_card(name, title, height=height) for name, title in cards])


def render_card(fig, provenance: dict, methods: str) -> tuple:
    """Values for :func:`figure_outputs`: stamped figure, modebar config, methods text.

    The methods text ends with where the figure comes from (dataset and app
    version), added here so that every card says it the same way.
    """
    from dashboard.export import export_filename, graph_config
    from dashboard.figures.common import stamp

    png_name = export_filename(provenance.get("gene"), provenance.get("view") or "figure", "png")
    fig.update_layout(modebar={"orientation": "v"})  # down the right edge, clear of the left-aligned title
    sentence = f"Data: {provenance['dataset']}. {provenance['app']}."
    return stamp(fig, provenance), graph_config(png_name.rsplit(".", 1)[0]), f"{methods} {sentence}".lstrip()


@functools.lru_cache(maxsize=256)
def blank_card(message: str, methods: str = "") -> tuple:
    """Values for :func:`figure_outputs` of a card with nothing to draw yet: ``message`` in an empty figure.

    Kept per message (treat the figure as read-only): drawing one costs about 7 ms, more than a
    stored view's whole answer, and callbacks prepare one for every branch they may take.
    """
    from dashboard.figures.common import empty_figure

    return empty_figure(message), PRIVATE_CONFIG, methods
