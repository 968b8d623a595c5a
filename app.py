"""PerturbScope: explore gene-perturbation predictions in the browser.

``python app.py`` serves on http://127.0.0.1:8050 (``HOST`` and ``PORT``
override); ``server`` is the Flask app for gunicorn (``gunicorn app:server``).
"""

from __future__ import annotations

import os
from pathlib import Path

import dash

from dashboard import security
from dashboard.jobs import keep_server_single_threaded, make_background_manager

HERE = Path(__file__).resolve().parent


def create_app() -> dash.Dash:
    """Build the Dash app with all pages and app-level callbacks registered."""
    keep_server_single_threaded()
    manager = make_background_manager()
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "dashboard" / "pages"),
        assets_folder=str(HERE / "assets"),
        background_callback_manager=manager,
        suppress_callback_exceptions=True,
        title="PerturbScope",
        update_title=None,
    )
    from dashboard.components.shell import shell

    app.layout = shell(dash.page_container)
    security.install_basic_auth(app.server)
    security.apply_upload_limit(app.server)
    import dashboard.app_callbacks  # noqa: F401  (registers callbacks)
    import dashboard.exports  # noqa: F401

    return app


app = create_app()
server = app.server
celery_app = getattr(app._background_manager, "handle", None) if os.environ.get("REDIS_URL") else None


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8050"))
    debug = os.environ.get("DASH_DEBUG", "").lower() in ("1", "true", "yes")
    app.run(host=host, port=port, debug=debug)


if __name__ == "__main__":
    main()
