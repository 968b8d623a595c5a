"""The ``perturbscope`` command: the app's main jobs from a terminal.

``perturbscope --help`` lists the commands and ``perturbscope COMMAND --help``
describes each one's arguments. Bad input (a missing file, an unknown gene or
dataset) prints ``error: ...`` and exits with status 2, without a traceback.
Heavy libraries (torch, Dash) are imported only by the commands that need them,
so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from core.errors import InputError

VALIDATORS = {  # the validation scripts of the three methods that have one (core/<method>/validate.py)
    "dko": "core.dko.validate",
    "decode": "core.decode.validate",
    "transcriptionnet": "core.transcriptionnet.validate",
}
GENE_FORMATS = ("json", "csv", "zip")


# --- serve ----------------------------------------------------------------------------------------

def serve(args: argparse.Namespace) -> int:
    """Serve the app: Dash's own server for one worker, gunicorn for more."""
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    if args.workers == 1:
        from dashboard.app_factory import create_app

        create_app().run(host=args.host, port=args.port, debug=args.debug)
        return 0
    command = [sys.executable, "-m", "gunicorn", "dashboard.app_factory:create_server()",
               "-b", f"{args.host}:{args.port}", "-w", str(args.workers), "--threads", str(args.threads),
               "--keep-alive", "0"]  # see tests/server.py
    os.execv(sys.executable, command)  # replaces this process: gunicorn handles the signals
    return 0  # pragma: no cover


# --- demo -----------------------------------------------------------------------------------------

def demo(args: argparse.Namespace) -> int:
    """Build the demo datasets, then the results their pages open with (``make demo-data``)."""
    from core.datasets import build_demo

    argv = ["--seed", str(args.seed)] if args.seed is not None else []
    argv += ["--force"] if args.force else []
    status = build_demo.main(argv)
    if status or args.no_prebuild:
        return status
    from dashboard.services import prebuild

    return prebuild.main([])


# --- register -------------------------------------------------------------------------------------

def parse_files(kind: str, items: Sequence[str]) -> dict[str, list[Path]]:
    """``ROLE=PATH`` items (or bare paths for a kind with one file role) as role -> paths.

    Parameters
    ----------
    kind
        A dataset kind of :data:`core.datasets.registry.SPECS`.
    items
        Command-line file arguments.

    Returns
    -------
    dict
        role -> paths, in the order given.

    Raises
    ------
    core.errors.InputError
        Unknown kind or role, or a bare path where the kind has several roles.
    """
    from core.datasets.registry import KINDS, SPECS

    if kind not in SPECS:
        raise InputError(f"unknown dataset kind {kind!r}; choose one of {', '.join(KINDS)}")
    roles = [r.key for r in SPECS[kind].roles]
    files: dict[str, list[Path]] = {}
    for item in items:
        role, sep, path = item.partition("=")
        if not sep:
            if len(roles) != 1:
                raise InputError(f"{kind} datasets have several files; name each as ROLE=PATH with ROLE one of "
                                 f"{', '.join(roles)}")
            role, path = roles[0], item
        if role not in roles:
            raise InputError(f"unknown file role {role!r} for {kind}; use one of {', '.join(roles)}")
        files.setdefault(role, []).append(Path(path))
    return files


def format_report(report) -> str:
    """A validation report as plain lines: the checks in order, then the summary."""
    marks = {"ok": "ok     ", "warning": "warning", "error": "ERROR  "}
    lines = [f"{marks.get(level, level)}  {text}" for level, text in report.checks]
    lines += [f"{label}: {value}" for label, value in report.summary.items()]
    return "\n".join(lines)


def register(args: argparse.Namespace) -> int:
    """Validate files and register them as a dataset; print the report and the dataset id."""
    from dashboard.services import registry

    files = parse_files(args.kind, args.files)
    options = dict(_key_value(item) for item in args.option or [])
    entry, report, created = registry().register(args.kind, args.name, files, options=options or None)
    print(format_report(report))
    if entry is None:
        print("not registered: fix the errors above", file=sys.stderr)
        return 1
    print(f"dataset id: {entry.ident}" + ("" if created else " (already registered)"))
    return 0


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise InputError(f"options are KEY=VALUE, got {item!r}")
    return key, value


# --- atlas ----------------------------------------------------------------------------------------

def progress_bar(stream=None, width: int = 30) -> Callable[[tuple], None]:
    """A text progress bar for Dash-style progress tuples ``(value, max, text)`` (on standard error by default)."""

    def show(update: tuple) -> None:
        out = stream or sys.stderr
        value, total, text = update
        done = int(width * value / max(total, 1))
        out.write(f"\r[{'#' * done}{'.' * (width - done)}] {text[:70]:<70}")
        out.flush()

    return show


def atlas(args: argparse.Namespace) -> int:
    """Build (or find stored) the modifier-gene atlas of one essentiality dataset."""
    from dashboard.services import DEFAULT_DATASET, essentiality, registry

    # the app keys results by dataset id: a name is resolved to it (and an unknown one is a clear error)
    source = DEFAULT_DATASET if args.dataset == DEFAULT_DATASET else registry().find("essentiality", args.dataset).ident
    outcome = essentiality.atlas.run(progress_bar(), source=source)
    sys.stderr.write("\n")
    if outcome.error:
        print(f"error: {outcome.error}", file=sys.stderr)
        return 1
    table = essentiality.atlas.result(source=source)
    print(f"atlas of {args.dataset}: {len(table):,} targets ready in {outcome.seconds:.1f} s")
    if args.output:
        table.to_csv(args.output, index=False)
        print(f"wrote {args.output}")
    return 0


# --- gene -----------------------------------------------------------------------------------------

def card_record(card) -> dict:
    """A gene card as JSON-ready data: sections, concordance, published result and every table."""
    import math

    sections = {}
    for method, s in card.sections.items():
        sections[method] = {"available": s.available, "summary": s.summary, "facts": dict(s.facts),
                            "headline": s.headline if math.isfinite(s.headline) else None,
                            "related": s.related}
    tables = {name: json.loads(frame.to_json(orient="records")) for name, frame in card.frames().items()}
    return {"gene": card.gene, "concordance": card.concordance, "sections": sections,
            "published": card.published, "tables": tables}


def card_rows(card):
    """A gene card as one long table: ``gene, method, field, value`` (availability, headline, summary, facts)."""
    import pandas as pd

    rows = []
    for method, s in card.sections.items():
        rows += [(method, "available", str(s.available)), (method, "headline", s.headline),
                 (method, "summary", s.summary)]
        rows += [(method, label, value) for label, value in s.facts]
    rows.append(("all", "concordance", card.concordance))
    frame = pd.DataFrame(rows, columns=["method", "field", "value"])
    frame.insert(0, "gene", card.gene)
    return frame


def _card(name: str, source: str):
    from dashboard.services import gene as gene_service

    symbol, notice = gene_service.resolve_gene(name)
    if symbol is None:
        raise InputError(notice or "give a gene symbol, e.g. RPP25L")
    if notice:
        print(notice, file=sys.stderr)
    return gene_service.gene_card(symbol, source)


def gene(args: argparse.Namespace) -> int:
    """Write one gene's report (every method's stored result) as JSON, CSV or a zip of all tables."""
    fmt = args.format or _format_from(args.output, GENE_FORMATS, "json")
    card = _card(args.gene, args.dataset)
    if fmt == "zip":
        from dashboard.services.gene import card_zip

        if args.output is None:
            raise InputError("a zip needs an output file: -o CARD.zip")
        Path(args.output).write_bytes(card_zip(card))
    elif fmt == "json":
        text = json.dumps(card_record(card), indent=2, default=str)
        _write_text(text + "\n", args.output)
    else:
        _write_text(card_rows(card).to_csv(index=False), args.output)
    if args.output:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _format_from(output: str | None, formats: Sequence[str], default: str) -> str:
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in formats else default


def _write_text(text: str, output: str | None) -> None:
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text)


# --- knockouts ------------------------------------------------------------------------------------

def knockouts(args: argparse.Namespace) -> int:
    """Train DKO on a genes x cells matrix and write every single knockout's impact (the authors' format)."""
    import torch

    from core.datasets.singlecell import load_singlecell
    from core.dko import DKO, impact_export, knockout_impacts

    torch.set_num_threads(args.threads)
    P = load_singlecell(args.matrix)
    print(f"{P.shape[0]} genes x {P.shape[1]} cells; training DKO ({args.steps:,} steps)", file=sys.stderr)
    model = DKO(n_steps=args.steps, val_every=args.val_every, random_state=args.seed).fit(P)
    table = knockout_impacts(model, P)
    out = impact_export(table, P.index, P.columns, id_base=args.id_base)
    out.to_csv(args.output, index=False)
    print(f"wrote {len(out):,} knockouts to {args.output} (best validation Bray-Curtis "
          f"{model.best_val_loss_:.4f} at step {model.best_step_:,}, {model.fit_seconds_:.1f} s)", file=sys.stderr)
    return 0


# --- export ---------------------------------------------------------------------------------------

def view_figure(view: str, genes: Sequence[str]):
    """The figure of a view and its provenance: ``gene`` (one gene's card) or ``genes`` (the gene list).

    Parameters
    ----------
    view
        ``gene`` or ``genes``.
    genes
        One gene symbol for ``gene``; any number for ``genes`` (unknown ones are left out, with a notice).

    Returns
    -------
    (plotly.graph_objects.Figure, dict)
        The figure the page draws and the provenance its exports carry.

    Raises
    ------
    core.errors.InputError
        Unknown view, or genes that no dataset has.
    """
    from dashboard import services
    from dashboard.services import gene as gene_service

    if view == "gene":
        from dashboard.figures.gene import card_figure

        if len(genes) != 1:
            raise InputError("the gene view draws one gene; give exactly one symbol")
        card = _card(genes[0], services.DEFAULT_DATASET)
        datasets = {m: services.source_label(m) for m in gene_service.METHODS}
        # the same provenance as the pages' exports
        return card_figure(card), services.provenance("essentiality", "gene-card", card.gene, datasets=datasets)
    elif view == "genes":
        from dashboard.figures.gene import gene_matrix_figure

        matrix, unknown = gene_service.gene_matrix(gene_service.parse_gene_list(" ".join(genes)))
        if unknown:
            print(f"not in any dataset, left out: {', '.join(unknown)}", file=sys.stderr)
        if matrix.empty:
            raise InputError("none of these genes is in the datasets; use gene symbols such as RPP25L")
        datasets = {m: services.source_label(m) for m in gene_service.METHODS}
        return gene_matrix_figure(matrix, gene_service.HEADLINES), services.provenance(
            "essentiality", "gene-list", None, genes=list(matrix.index), datasets=datasets)
    raise InputError(f"unknown view {view!r}; choose gene or genes")


def export(args: argparse.Namespace) -> int:
    """Render a view's figure to PNG, SVG or PDF (needs Chromium, as the app's server-side export)."""
    fmt = args.format or _format_from(args.output, ("png", "svg", "pdf"), "")
    if fmt not in ("png", "svg", "pdf"):
        raise InputError(f"cannot tell the image format of {args.output!r}; end it in .png, .svg or .pdf "
                         "or give --format")
    fig, provenance = view_figure(args.view, args.genes)
    from dashboard.export import figure_to_image

    Path(args.output).write_bytes(figure_to_image(fig, fmt, preset=args.preset, provenance=provenance))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


# --- validate -------------------------------------------------------------------------------------

def validate(args: argparse.Namespace) -> int:
    """Run one method's validation script with the remaining arguments."""
    import importlib

    module = importlib.import_module(VALIDATORS[args.method])
    if args.rest is None:  # dko's script takes plain positional arguments
        if args.steps is not None and args.source is None:
            raise InputError("give the folder or file before the number of steps")
        argv = [str(a) for a in (args.source, args.steps) if a is not None]
    else:
        argv = list(args.rest)
    program, sys.argv[0] = sys.argv[0], f"python -m {VALIDATORS[args.method]}"  # the scripts' usage lines
    try:
        status = module.main(argv)
    finally:
        sys.argv[0] = program
    return int(status or 0)


# --- parser ---------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The ``perturbscope`` argument parser, one subcommand per job."""
    parser = argparse.ArgumentParser(
        prog="perturbscope", description="PerturbScope: gene-perturbation predictions from the command line.",
        epilog="Run 'perturbscope COMMAND --help' for a command's arguments.")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="data folder (demo data, registry, cache); default: PERTURBSCOPE_DATA_DIR, else the "
                             "checkout's data/ or ./data when installed")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("serve", help="serve the web app",
                       description="Serve the web app (workers > 1 runs gunicorn).")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="address (default %(default)s)")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8050")), help="port (default %(default)s)")
    p.add_argument("--workers", type=int, default=1, help="worker processes; more than 1 uses gunicorn (default 1)")
    p.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker (default %(default)s)")
    p.add_argument("--debug", action="store_true", help="Dash debug mode (one worker only)")
    p.set_defaults(func=serve)

    p = sub.add_parser("demo", help="build the demo data and their prebuilt results",
                       description="Build the simulated demo datasets (core.datasets.build_demo), then the results "
                                   "their pages open with (dashboard.services.prebuild). Stored results are kept.")
    p.add_argument("--seed", type=int, help="generator seed (default: PERTURBSCOPE_SEED, else 0)")
    p.add_argument("--force", action="store_true", help="rebuild datasets that already exist")
    p.add_argument("--no-prebuild", action="store_true", help="only the datasets, not the prebuilt results")
    p.set_defaults(func=demo)

    p = sub.add_parser("register", help="validate files and register them as a dataset",
                       description="Validate files, print the validation report and register them (as the "
                                   "Datasets page does); prints the dataset id to open or to pass to 'atlas'.")
    p.add_argument("kind", help="dataset kind: essentiality, dko, decode, perturbation or genesets")
    p.add_argument("files", nargs="+", metavar="[ROLE=]PATH",
                   help="the files; ROLE=PATH for kinds with several files (essentiality: effect=, expression=, "
                        "models=; perturbation: network= (repeatable), RNAi=, CRISPR=, OE=, genes=)")
    p.add_argument("--name", required=True, help="the name to pick the dataset by")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="single-cell reading option: matrix=X|raw|layer:NAME, genes=METHOD, n_genes=N, keep=A,B")
    p.set_defaults(func=register)

    p = sub.add_parser("atlas", help="build the modifier-gene atlas of a dataset",
                       description="Build the modifier-gene atlas of an essentiality dataset, with a progress bar "
                                   "(resumable; a stored atlas is found at once).")
    p.add_argument("dataset", nargs="?", default="demo", help="registered dataset id or name (default: demo)")
    p.add_argument("-o", "--output", help="also write the atlas table to this CSV")
    p.set_defaults(func=atlas)

    p = sub.add_parser("gene", help="one gene's report to JSON or CSV",
                       description="One gene across the four methods, from stored results (the gene card).")
    p.add_argument("gene", help="gene symbol, e.g. RPP25L")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--format", choices=GENE_FORMATS,
                   help="json (everything, with tables), csv (gene, method, field, value) or zip (every table as "
                        "CSV); default: from the output's suffix, else json")
    p.add_argument("--dataset", default="demo", help="dataset id (default: demo)")
    p.set_defaults(func=gene)

    p = sub.add_parser("knockouts", help="DKO knockout impacts of a matrix to CSV",
                       description="Train DKO on a genes x cells matrix (e.g. the authors' headerless Ptrain.csv) "
                                   "and write the impact of knocking out every present gene in every cell: "
                                   "gene_id, cell_id, k_pred as the authors' Impact_results.csv, then gene, cell, "
                                   "impact_others.")
    p.add_argument("matrix", help="genes x cells .csv/.tsv (with or without header), .h5ad or 10x file")
    p.add_argument("-o", "--output", required=True, help="output CSV")
    p.add_argument("--steps", type=int, default=5000, help="training steps (default: the authors' %(default)s)")
    p.add_argument("--val-every", type=int, default=1,
                   help="validate every this many steps (default: the authors' %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of split, initialisation and minibatches")
    p.add_argument("--id-base", type=int, choices=(0, 1), default=0,
                   help="0: ids as the authors' Impact_results.csv (default); 1: as the Recorder of DKO's README")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default %(default)s)")
    p.set_defaults(func=knockouts)

    p = sub.add_parser("export", help="a view's figure to PNG, SVG or PDF",
                       description="Render a view's figure to PNG, SVG or PDF with provenance inside (needs Chromium). "
                                   "Views: gene (one gene's four-panel card), genes (the gene list's heatmap).")
    p.add_argument("view", choices=("gene", "genes"), help="which view")
    p.add_argument("genes", nargs="+", help="gene symbol(s)")
    p.add_argument("-o", "--output", required=True, help="output .png, .svg or .pdf")
    p.add_argument("--format", choices=("png", "svg", "pdf"), help="default: from the output's suffix")
    p.add_argument("--preset", choices=("slide", "print", "column", "screen"), default="slide",
                   help="layout: slide 2560 x 1600 px, print 7 in at 300 dpi, column 3.5 in at 300 dpi, "
                        "screen the figure's size; the height of print and column follows the content")
    p.set_defaults(func=export)

    p = sub.add_parser("validate", help="run a method's validation against published outputs",
                       description="Run one method's validation script; arguments after the method go to it "
                                   "(see 'perturbscope validate METHOD --help').")
    vsub = p.add_subparsers(dest="method", metavar="METHOD", required=True)
    v = vsub.add_parser("dko", help=f"python -m {VALIDATORS['dko']}",
                        description="DKO against the authors' example outputs (FOLDER: dko_example with data/ and "
                                    "results/) and the demo's true knockouts, or on a real annotated file (.h5ad, "
                                    ".h5, .zip); one JSON object per check.")
    v.add_argument("source", nargs="?", help="dko_example folder or an annotated file (default: "
                                             "../shared/data/dko_example beside the checkout, skipped if absent)")
    v.add_argument("steps", nargs="?", type=int, help="training steps (default 2000; 1000 for a file)")
    v.set_defaults(func=validate, rest=None)
    for method, module in VALIDATORS.items():
        if method == "dko":
            continue
        v = vsub.add_parser(method, help=f"python -m {module}", add_help=False,
                            description=f"Runs python -m {module} with the arguments given.")
        v.add_argument("rest", nargs=argparse.REMAINDER, help=f"arguments of python -m {module}")
        v.set_defaults(func=validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``perturbscope`` command; returns the exit status (2 for bad input, with the reason)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "rest", None) is None:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:  # options meant for a validation script (argparse keeps their order: extra first)
        args.rest = extra + list(args.rest)
    if args.data_dir:
        os.environ["PERTURBSCOPE_DATA_DIR"] = str(Path(args.data_dir).resolve())
    try:
        return args.func(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
