"""Datasets: bring your own DepMap release, single-cell matrix, DEcode bundle, L1000 files or gene-set library."""

from __future__ import annotations

import json

import dash
from dash import ALL, MATCH, Input, Output, State, callback, dcc, html
from dash import no_update
from plotly.utils import PlotlyJSONEncoder

from dashboard.services import InputError
from dashboard.text import plural
from dashboard import security
from dashboard.components.job_panel import cancellable, job_callback_kwargs, job_panel, register_cancel_message
from dashboard.components.shell import NAV, page_header
from dashboard.components.url_params import register_url_params
from dashboard.services import datasets as datasets_service
from dashboard.services.dataset_forms import FORMS, KINDS, SPECS, role_hint

dash.register_page(__name__, path="/datasets", name="Datasets", title="Datasets · PerturbScope", order=5)

ICONS = {"ok": "✓", "warning": "⚠", "error": "✗"}
PAGE_LABELS = dict(NAV)


def layout(kind: str | None = None, **_):
    kind = kind if kind in SPECS else KINDS[0]
    spec = SPECS[kind]
    limit_mb = security.max_upload_bytes() / 2**20
    return html.Div([
        page_header(
            "Datasets",
            "Bring your own data: each file is checked, stored once under its content hash, and can then be "
            "chosen in the Dataset menu of the page that uses it.",
        ),
        html.Div(className="card", children=[
            html.H3("1. What kind of data", className="card-title"),
            dcc.RadioItems(id="q-kind", value=kind, className="kind-choice",
                           options=[{"label": f"{SPECS[k].label}", "value": k} for k in KINDS]),
            html.P(FORMS[kind].about, className="card-note"),
        ]),
        html.Div(className="card", children=[
            html.H3("2. Files", className="card-title"),
            html.P(f"Upload a file (at most {limit_mb:,.0f} MB) or give the path of a file in the server's data "
                   f"folder ({datasets_service.import_dir()}); gzipped text files (.gz) are read too.",
                   className="card-note"),
            html.Div(className="file-slots", children=[_slot(kind, role) for role in spec.roles]),
        ]),
        singlecell_options(visible=kind == "dko"),
        html.Div(className="card", children=[
            html.H3("3. Name and register", className="card-title"),
            html.Div(className="controls", children=[
                html.Div(className="control", children=[
                    html.Label("Name", htmlFor="ds-name"),
                    dcc.Input(id="ds-name", type="text", maxLength=60, placeholder="e.g. DepMap 24Q4",
                              debounce=False),
                ]),
            ]),
            job_panel("ds-register", "Check and register"),
            html.Div(id="ds-report", className="validation-report"),
        ]),
        html.Div(className="card", children=[
            html.H3("Registered datasets", className="card-title"),
            html.Div(id="ds-list", children=registered_table()),
            dcc.Interval(id="ds-list-poll", interval=5000),
        ]),
    ])


GENE_METHODS = [
    {"label": "automatic: all genes up to 3,000, else highly variable ones", "value": "auto"},
    {"label": "highly variable genes (the file's own flags, else Seurat-flavour dispersion)", "value": "hvg"},
    {"label": "the top N by mean expression", "value": "top_mean"},
    {"label": "only the genes listed below", "value": "list"},
    {"label": "all genes", "value": "all"},
]


def singlecell_options(visible: bool) -> html.Div:
    """Which matrix of an .h5ad and which genes DKO uses (shown for single-cell matrices only)."""
    return html.Div(id="ds-sc-options", className="card", style=None if visible else {"display": "none"}, children=[
        html.H3("Matrix and genes (single-cell files)", className="card-title"),
        html.P("An .h5ad can hold several matrices: X, .raw and layers. DKO needs non-negative expression; by "
               "default it takes the first non-negative one, preferring counts, then .raw. DKO learns a genes x genes "
               "model, so at most 3,000 genes: choose how to pick them. Genes named below are always kept.",
               className="card-note"),
        html.Div(className="controls", children=[
            html.Div(className="control", children=[
                html.Label("Matrix", htmlFor="ds-sc-matrix"),
                dcc.Dropdown(id="ds-sc-matrix", options=[], clearable=True,
                             placeholder="default: first non-negative (counts, then .raw)"),
            ]),
            html.Div(className="control", children=[
                html.Label("Genes", htmlFor="ds-sc-genes"),
                dcc.Dropdown(id="ds-sc-genes", options=GENE_METHODS, value="auto", clearable=False),
            ]),
            html.Label(["Number of genes (N)", dcc.Input(id="ds-sc-n", type="number", min=2, max=3000, step=1,
                                                          placeholder="2000")], className="control"),
            html.Label(["Always keep (gene names)", dcc.Input(id="ds-sc-keep", type="text", debounce=True,
                                                               placeholder="e.g. CD3E, MS4A1")],
                       className="control"),
        ]),
        html.Div(id="ds-sc-matrices", className="control-note", role="status"),
    ])


def _slot(kind: str, role) -> html.Div:
    """Upload area, server-path box and status line of one file role."""
    key = {"role": role.key}
    return html.Div(className="file-slot", children=[
        html.Div(className="file-slot-label", children=[
            html.Strong(role.label), html.Span(f" · {role_hint(kind, role.key)}", className="control-note"),
        ]),
        dcc.Upload(id={"type": "ds-upload", **key}, multiple=role.multiple, max_size=security.max_upload_bytes(),
                   className="upload-area",
                   children=html.Div(["Drop files here or ", html.A("choose")] if role.multiple
                                     else ["Drop a file here or ", html.A("choose")])),
        dcc.Input(id={"type": "ds-path", **key}, type="text", debounce=True, className="path-input",
                  placeholder="or a server path" + (" (several: separate with ;)" if role.multiple else "")),
        dcc.Store(id={"type": "ds-staged", **key}, data=[]),
        html.Div(id={"type": "ds-file", **key}, className="file-status", role="status"),
    ])


def report_view(report, entry=None, created: bool = False) -> html.Div:
    """The validation report: one line per check, the headline figures, and where to use the data."""
    checks = html.Ul(className="checks", children=[
        html.Li([html.Span(ICONS[level], className=f"check-icon check-{level}"), html.Span(text)],
                className=f"check check-{level}")
        for level, text in report.checks
    ])
    summary = html.Table(className="report-summary", children=[
        html.Tr([html.Th(label), html.Td(value)]) for label, value in report.summary.items()
    ]) if report.summary else None
    if entry is None:
        outcome = html.P("Not registered: fix the problems marked ✗ and try again. Nothing was stored.",
                         className="report-outcome report-failed")
    else:
        page = FORMS[entry.kind].page
        verb = "Registered" if created else "Already registered"
        outcome = html.P(className="report-outcome report-ok", children=[
            f"{verb} as “", html.Strong(entry.name), f"” (id {entry.ident}). ",
            dcc.Link(f"Open it on the {PAGE_LABELS[page]} page →", href=datasets_service.open_href(entry),
                     id="ds-open-link"),
            *([" It is offered in the pathway-enrichment card's gene-set menu."] if entry.kind == "genesets" else []),
        ])
    return html.Div([outcome, checks, summary])


def registered_table() -> html.Div:
    rows = datasets_service.registrations()
    if not rows:
        return html.P("None yet: the pages use the built-in demo data.", className="card-note")
    return html.Table(className="registered-table", children=[
        html.Tr([html.Th(h) for h in ("name", "kind", "size", "id", "registered", "")]),
        *[html.Tr([html.Td(r["name"]), html.Td(r["kind"]), html.Td(r["summary"]), html.Td(html.Code(r["id"])),
                   html.Td(r["registered"]), html.Td(dcc.Link("open", href=r["href"]))]) for r in rows],
    ])


@callback(Output("ds-list", "children", allow_duplicate=True), Input("ds-list-poll", "n_intervals"),
          State("ds-list", "children"), prevent_initial_call=True)
def refresh_list(_n, shown):
    """Keep the list current while atlases build in the background (it changes only then)."""
    table = registered_table()
    return no_update if json.loads(json.dumps(table, cls=PlotlyJSONEncoder)) == shown else table


register_url_params("q-kind")
register_cancel_message("ds-register")


@callback(
    Output({"type": "ds-staged", "role": MATCH}, "data"),
    Output({"type": "ds-file", "role": MATCH}, "children"),
    Input({"type": "ds-upload", "role": MATCH}, "contents"),
    State({"type": "ds-upload", "role": MATCH}, "filename"),
    prevent_initial_call=True,
)
def stage(contents, filenames):
    """Decode uploaded file(s) into the staging folder; the page keeps tokens, never paths."""
    return upload_files(contents, filenames)


def upload_files(contents, filenames) -> tuple[list[dict] | object, object]:
    """What :func:`stage` returns: (staged items, status line); bad uploads leave earlier ones in place."""
    if not contents:
        return no_update, no_update
    contents = contents if isinstance(contents, list) else [contents]
    filenames = filenames if isinstance(filenames, list) else [filenames]
    staged = []
    try:
        for data, name in zip(contents, filenames):
            staged.append(datasets_service.stage_upload(data, name))
    except InputError as exc:
        return no_update, html.Span(f"✗ {exc}", className="check-error")
    return staged, ", ".join(f"{item['name']} ({item['bytes'] / 1024:,.1f} kB)" for item in staged)


def _file_slots(kind=State) -> list:
    """The file slots' uploads and typed paths (``kind``: Input or State), each followed by its slots' ids."""
    return [kind({"type": "ds-staged", "role": ALL}, "data"), State({"type": "ds-staged", "role": ALL}, "id"),
            kind({"type": "ds-path", "role": ALL}, "value"), State({"type": "ds-path", "role": ALL}, "id")]


def _by_role(staged, staged_ids, typed, typed_ids) -> tuple[dict, dict]:
    """Uploads and typed paths as role -> value, the form :func:`datasets_service.register` takes."""
    return ({i["role"]: s or [] for s, i in zip(staged, staged_ids)}, {i["role"]: t for t, i in zip(typed, typed_ids)})


@callback(
    Output("ds-report", "children"),
    Output("ds-register-error", "children"),
    Output("ds-list", "children"),
    Output("ds-register-status", "children", allow_duplicate=True),
    Input("ds-register-run", "n_clicks"),
    State("q-kind", "value"),
    State("ds-name", "value"),
    *_file_slots(),
    State("ds-sc-matrix", "value"),
    State("ds-sc-genes", "value"),
    State("ds-sc-n", "value"),
    State("ds-sc-keep", "value"),
    **job_callback_kwargs("ds-register"),
)
@cancellable("ds-register")
def register(set_progress, n_clicks, kind, name, staged, staged_ids, typed, typed_ids, matrix=None, genes=None,
             n_genes=None, keep=None):
    def progress(fraction, message):
        set_progress((int(100 * fraction), 100, message))

    options = {"matrix": matrix, "genes": genes, "n_genes": n_genes, "keep": keep}
    entry, report, created = datasets_service.register(
        kind, name, *_by_role(staged, staged_ids, typed, typed_ids), progress, options)
    outcome = "registered." if entry is not None else "not registered, see the report."
    return report_view(report, entry, created), "", registered_table(), f"Finished check {n_clicks}: {outcome}"


@callback(
    Output("ds-sc-matrix", "options"),
    Output("ds-sc-matrix", "value"),
    Output("ds-sc-matrices", "children"),
    *_file_slots(Input),
    State("q-kind", "value"),
    prevent_initial_call=True,
)
def show_matrices(staged, staged_ids, typed, typed_ids, kind):
    """List the matrices of the single-cell file just given, with what each holds."""
    if kind != "dko":
        return no_update, no_update, no_update
    return matrix_choices(*_by_role(staged, staged_ids, typed, typed_ids))


def matrix_choices(staged: dict, typed: dict) -> tuple:
    """What :func:`show_matrices` returns: (options, chosen value, description)."""
    try:
        found = datasets_service.singlecell_matrices(staged, typed)
    except InputError as exc:
        return [], None, html.Span(f"✗ {exc}", className="check-error")
    if found is None:
        return [], None, ""
    hvg = f"; the file flags {found['hvg']:,} highly variable genes" if found["hvg"] else ""
    lines = [html.Li(line) for line in found["lines"]]
    return found["options"], found["default"], html.Div([
        html.Span(f"{plural(len(found['options']), 'matrix', 'matrices')}, {found['genes']:,} genes{hvg}:"), html.Ul(lines)])
