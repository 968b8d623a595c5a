"""Controls and constants shared by the modifier-gene pages.

Kept outside ``dashboard/pages`` because Dash imports page modules itself:
one page importing another could execute it twice.
"""

from __future__ import annotations

from urllib.parse import urlencode

from dash import dcc, html

from dashboard import services
from dashboard.components.dataset_picker import dataset_picker
from dashboard.components.gene_picker import gene_picker
from dashboard.components.shell import method_header, page_header
from dashboard.components.subnav import subnav

KIND = "essentiality"
DEFAULT_TARGET = "RPP25L"
SECTIONS = [("/essentiality", "Modifier genes"), ("/essentiality/tree", "Decision tree"),
            ("/essentiality/sweep", "Genome-wide atlas"), ("/essentiality/new-samples", "New samples")]
MODEL_SETS = ("all", "fast")


def models_choice(value, default: str = "all") -> str:
    """A valid model-set name from a URL or control value."""
    return value if value in MODEL_SETS else default


def models_id(page: str) -> str:
    """Id of a page's model-set radio; the URL parameter is ``models``."""
    return f"q-{page}--models"


def models_control(page: str, value, default: str = "all") -> html.Label:
    """Radio for the model zoo, kept in the URL as ``models``."""
    return html.Label(["Models", dcc.RadioItems(
        id=models_id(page), value=models_choice(value, default), inline=True,
        options=[{"label": " Paper's zoo (8)", "value": "all"}, {"label": " Fast (5)", "value": "fast"}],
    )], className="control")


def pick_target(gene: str | None, source: str) -> tuple[str, str | None]:
    """The target a page shows for the URL's ``gene`` and, when it was replaced, why.

    Without a usable ``gene`` the page opens on :data:`DEFAULT_TARGET`, or on
    a widely screened target of a registered dataset that lacks it.
    """
    from dashboard.services.essentiality import default_target

    return services.pick_gene(KIND, gene, default_target(DEFAULT_TARGET, source), source)


def family_query(gene: str | None, source: str, models: str | None = None) -> dict:
    """URL parameters the family's pages share: the gene, the model set when
    chosen, and, for a registered dataset, its id."""
    return {"gene": gene, "models": models if models in MODEL_SETS else None,
            "data": None if services.is_demo(source) else source}


def family_nav(active: str, gene: str | None, source: str, models: str | None = None) -> html.Nav:
    """Tabs between the family's pages, keeping the gene, the model set and the dataset."""
    return subnav(SECTIONS, active, query=family_query(gene, source, models))


def target_href(target: str, source: str) -> str:
    """Address of a target's modifier-gene page in dataset ``source``."""
    query = {k: v for k, v in family_query(target, source).items() if v}
    return f"/essentiality?{urlencode(query)}"


def family_header(title: str, purpose: str, active: str, source: str, target: str | None, notice=None,
                  models: str | None = None, simulated_note: str | None = None) -> list:
    """A family page's title with its notices and the simulated-data banner (the dataset's, unless given),
    then the family's tabs."""
    header = (method_header(title, purpose, source, notice, target) if simulated_note is None else
              page_header(title, purpose, simulated_note=simulated_note or None, notice=notice, shown_gene=target))
    return [header, family_nav(active, target, source, models)]


def target_controls(page: str, picker: str, source: str, target: str, fell_back: bool) -> list:
    """The dataset menu and the target-gene picker that a family page's controls start with."""
    return [dataset_picker(page, KIND, source),
            gene_picker(picker, "Target gene", services.genes_of(KIND, source), target, fell_back)]


def register_analysis_job(prefix: str, store_id: str, picker: str, models_page: str, source_page: str) -> tuple:
    """A family page's per-target analysis job: the target, the model set and the dataset define it, and
    until a full analysis is stored the page shows the instant atlas view (``models="atlas"``)."""
    from dashboard.components.dataset_picker import source_id
    from dashboard.components.job_panel import register_cached_job
    from dashboard.services import essentiality as ess_service

    return register_cached_job(
        prefix, store_id, [(picker, "value"), (models_id(models_page), "value"), (source_id(source_page), "data")],
        ess_service.analysis,
        params=lambda target, models, source: {"target": target, "models": models_choice(models), "source": source},
        fallback=lambda p: {**p, "models": ess_service.ATLAS_SET, "requested": p["models"]},
    )
