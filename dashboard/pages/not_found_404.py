"""Shown for any address that is not a page."""

import dash
from dash import dcc, html

dash.register_page(__name__, path="/404", title="Page not found · PerturbScope")


def layout(**_):
    return html.Div(className="card not-found", children=[
        html.H1("Page not found"),
        html.P("There is no page at this address. It may have been mistyped or come from an older version of a link."),
        html.P(["Go to the ", dcc.Link("home page", href="/"), " or pick a method from the navigation bar."]),
    ])
