"""Controls and constants shared by the three modifier-gene pages.

Kept outside ``dashboard/pages`` because Dash imports page modules itself:
one page importing another could execute it twice.
"""

from __future__ import annotations

from dash import dcc, html

KIND = "essentiality"
DEFAULT_TARGET = "RPP25L"
SECTIONS = [("/essentiality", "Modifier genes"), ("/essentiality/tree", "Decision tree"),
            ("/essentiality/sweep", "Genome-wide")]
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
