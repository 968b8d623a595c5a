"""Connectivity query of the perturbation signatures: which knockdowns, knockouts or overexpressions
mimic or reverse a signature (CMap's weighted KS score, :mod:`core.transcriptionnet.connectivity_query`).

The searched signature sets are each type's measured signatures and, when TranscriptionNet
models with the chosen settings are stored, each type's predicted signatures of every gene.
A query is a background job whose table is stored under its parameters, so a repeated query is
instant; within a process the signatures' permutation null of each query size is kept too.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pandas as pd

from core.errors import InputError
from dashboard.services import DEFAULT_DATASET, CachedJob, check_int, dataset, is_demo
from dashboard.services import perturbation as tnet

KIND = "perturbation"
NAMESPACE = "perturbation.connectivity"
CODE_VERSION = "1"
N_PERMUTATIONS = 1000
DEFAULT_N = 50
MAX_N = 200
SECTIONS = (("/perturbation", "Signatures"), ("/perturbation/connectivity", "Connectivity query"))
COLUMNS = ["rank", "gene", "type", "signature", "status", "score", "normalized_score", "perm_p", "q"]
_SPLIT = re.compile(r"[\s,;]+")


def parse_genes(text: str | None) -> list[str]:
    """Gene names from pasted text: separated by spaces, commas, semicolons or new lines."""
    return [t for t in _SPLIT.split(text or "") if t]


def set_names(source: str = DEFAULT_DATASET) -> list[str]:
    """Every searchable set of the dataset: ``"<type> measured"`` and ``"<type> predicted"``."""
    return [f"{t} {what}" for t in tnet.types_of(source) for what in ("measured", "predicted")]


def aliases(source: str = DEFAULT_DATASET) -> dict[str, str]:
    """Entrez id (as text) -> the dataset's gene name, for genes whose Entrez id is known."""
    genes = dataset(KIND, source).genes
    if "entrez" not in genes.columns:
        return {}
    entrez = pd.to_numeric(genes["entrez"], errors="coerce")
    return {str(int(e)): str(g) for g, e in entrez.items() if pd.notna(e) and e >= 0}


def check_n(n) -> int:
    """The number of top / bottom landmarks taken from a signature."""
    return check_int(n, "the number of top and bottom genes", 5, MAX_N)


def _centred(frame: pd.DataFrame) -> pd.DataFrame:
    """Signatures minus the set's average signature (the response every perturbation shares)."""
    return frame - frame.mean(axis=0)


def build_query(source: str, mode: str, up_text: str | None = None, down_text: str | None = None,
                gene: str | None = None, kind: str | None = None, n=DEFAULT_N, center: bool = True) -> dict[str, Any]:
    """The query's up and down landmark genes, from pasted lists or a measured signature.

    With ``center``, a measured signature's top and bottom genes are taken after removing the
    average measured signature of its type (as the searched sets are, see :func:`libraries`).
    Returns ``{"up", "down", "unknown", "label"}``; raises :class:`InputError` with what to fix.
    """
    data = dataset(KIND, source)
    landmarks = [str(g) for g in data.landmarks]
    if mode == "signature":
        n = check_n(n)
        if kind not in data.signatures:
            raise InputError(f"this dataset has no measured {kind} signatures; choose one of "
                             f"{', '.join(data.signatures)}")
        if not gene or gene not in data.signatures[kind].index:
            raise InputError(f"{gene or 'no gene'} has no measured {kind} signature; pick a gene from the list")
        signatures = data.signatures[kind].astype(float)
        ranked = (_centred(signatures) if center else signatures).loc[gene].sort_values()
        what = " (minus the average measured signature)" if center else ""
        return {"up": [str(g) for g in ranked.index[-n:][::-1]], "down": [str(g) for g in ranked.index[:n]],
                "unknown": [], "label": f"the top and bottom {n} landmarks of the measured {kind} signature of "
                                        f"{gene}{what}"}
    from core.transcriptionnet.connectivity_query import check_query, resolve_genes

    if not parse_genes(up_text) or not parse_genes(down_text):
        raise InputError("paste both an up and a down list of genes (symbols or Entrez ids), or query with a "
                         "measured signature")
    names = aliases(source)
    up, unknown_up = resolve_genes(parse_genes(up_text), landmarks, names)
    down, unknown_down = resolve_genes(parse_genes(down_text), landmarks, names)
    unknown = unknown_up + unknown_down
    if not up or not down:
        empty = "up" if not up else "down"
        raise InputError(f"none of the {empty} genes is a landmark gene of this dataset (unknown: "
                         f"{', '.join(unknown[:8])}); only the {len(landmarks):,} landmark genes can be queried")
    check_query(up, down, landmarks)
    return {"up": up, "down": down, "unknown": unknown,
            "label": f"the pasted lists ({len(up)} up and {len(down)} down landmark genes)"}


def available(source: str, epochs, width) -> list[str]:
    """The searchable sets: every type's measured signatures, predicted ones when such models are stored."""
    payload = tnet.training.result(epochs=epochs, width=width, source=source)
    return [name for name in set_names(source)
            if name.endswith("measured") or (payload is not None and f"predicted_{name.split()[0]}" in payload)]


def libraries(source: str, epochs, width,
              center: bool = True) -> tuple[dict[str, pd.DataFrame], dict[str, pd.Series]]:
    """Every available signature set by name, and the status of each set's genes.

    Predicted sets exist only when models with these settings are stored (see
    :data:`dashboard.services.perturbation.training`). With ``center``, each set's average
    signature is subtracted from its signatures first: every signature shares a common response
    (predictions most of all), and without removing it nearly every signature "mimics" any query
    that carries that response.
    """
    data = dataset(KIND, source)
    payload = tnet.training.result(epochs=epochs, width=width, source=source)
    sets, status = {}, {}
    for t in tnet.types_of(source):
        measured = data.signatures[t]
        sets[f"{t} measured"] = _centred(measured) if center else measured
        status[f"{t} measured"] = pd.Series("measured", index=measured.index.astype(str))
        if payload is not None and f"predicted_{t}" in payload:
            predicted = payload[f"predicted_{t}"].astype("float64")
            sets[f"{t} predicted"] = _centred(predicted) if center else predicted
            status[f"{t} predicted"] = payload["status"][t].astype(str)
    return sets, status


@functools.lru_cache(maxsize=2)
def _index(source: str, epochs: int, width: int, names: tuple[str, ...], center: bool):
    from core.transcriptionnet.connectivity_query import ConnectivityIndex

    sets, _ = libraries(source, epochs, width, center)
    return ConnectivityIndex({name: sets[name] for name in names}, n_permutations=N_PERMUTATIONS, random_state=0,
                             max_nulls=2)


def job_params(query: dict, names, epochs, width, center: bool = True) -> dict[str, Any]:
    """What identifies one stored query result."""
    return {"up": list(query["up"]), "down": list(query["down"]), "sets": sorted(names), "epochs": int(epochs),
            "width": int(width), "center": bool(center), "n_permutations": N_PERMUTATIONS, "seed": 0}


def _checked_sets(names, epochs, width, source: str) -> tuple[list[str], int, int]:
    """The sets to search and the models' settings, validated (InputError naming what to change)."""
    epochs, width = tnet.check_params(epochs, width)
    names = [n for n in (names or []) if n]
    if not names:
        raise InputError("choose at least one set of signatures to search")
    missing = [n for n in names if n not in available(source, epochs, width)]
    if missing:
        raise InputError(f"{', '.join(missing)}: no stored models with {epochs} epochs and width {width}; train "
                         f"them on the Signatures page, or search measured signatures only")
    return names, epochs, width


def _search_key(*, source: str, query: dict, sets, epochs, width, center: bool = True) -> dict[str, Any]:
    names, epochs, width = _checked_sets(sets, epochs, width, source)
    return job_params(query, names, epochs, width, center)


def _search(report, *, source: str, query: dict, sets, epochs, width, center: bool = True) -> dict:
    names, epochs, width = _checked_sets(sets, epochs, width, source)
    index = _index(source, epochs, width, tuple(sorted(names)), bool(center))
    table = index.query(query["up"], query["down"], progress=lambda f, m: report(0.95 * f, m))
    return {"table": table}


#: The connectivity table of one query over the chosen signature sets: ``search.run(set_progress,
#: query=, sets=, epochs=, width=, center=, source=)`` with ``query`` from :func:`build_query` (its ``up`` and
#: ``down`` lists), ``sets`` from :func:`set_names` (unavailable ones are refused), the stored
#: TranscriptionNet models' ``epochs`` and ``width`` and ``center`` (see :func:`libraries`);
#: ``search.result(...)`` is the table.
search = CachedJob(NAMESPACE, KIND, _search, key_params=_search_key, code_version=CODE_VERSION,
                   load=lambda payload, **_: payload["table"])


def gene_link(gene: str, source: str = DEFAULT_DATASET) -> str:
    """Markdown link to a gene's card."""
    suffix = "" if is_demo(source) else f"&data={source}"
    return f"[{gene}](/gene?gene={gene}{suffix})"


def display_table(table: pd.DataFrame, params: dict, source: str = DEFAULT_DATASET) -> pd.DataFrame:
    """The ranked rows shown on the page: gene links, type, measured / predicted, status and the statistics."""
    _, status = libraries(source, params["epochs"], params["width"], params.get("center", True))
    sets = table["set"].astype(str)
    genes = table.index.astype(str)
    return pd.DataFrame({
        "rank": range(1, len(table) + 1),
        "gene": [gene_link(g, source) for g in genes],
        "type": [s.split(" ")[0] for s in sets],
        "signature": [s.split(" ", 1)[1] for s in sets],
        "status": [status[s].get(g, "") for s, g in zip(sets, genes)],
        "score": table["score"].to_numpy(),
        "normalized_score": table["normalized"].to_numpy(),
        "perm_p": table["p"].to_numpy(),
        "q": table["q"].to_numpy(),
    })
