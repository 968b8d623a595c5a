"""Build the PerturbScope Dash app, from a checkout or from an installed package.

``app.py`` (``python app.py``, ``gunicorn app:server``) and ``perturbscope
serve`` both call :func:`create_app`. The browser assets (``assets/`` at the
top of a checkout) are installed as ``dashboard/assets``; :func:`assets_folder`
finds whichever exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import dash

from dashboard import security
from dashboard.compression import install_gzip
from dashboard.jobs import install_cancel_endpoint, keep_server_single_threaded, make_background_manager

PACKAGE_DIR = Path(__file__).resolve().parent


def assets_folder() -> Path:
    """The folder of ``style.css`` and ``perturbscope.js``.

    Returns
    -------
    pathlib.Path
        ``<checkout>/assets`` when running from a checkout, else the copy
        installed inside the ``dashboard`` package.

    Raises
    ------
    FileNotFoundError
        Neither exists (a broken installation).
    """
    for folder in (PACKAGE_DIR.parent / "assets", PACKAGE_DIR / "assets"):
        if (folder / "style.css").is_file():
            return folder
    raise FileNotFoundError(f"the app's assets (style.css) are neither in {PACKAGE_DIR.parent / 'assets'} "
                            f"nor in {PACKAGE_DIR / 'assets'}; reinstall perturbscope")


def create_app() -> dash.Dash:
    """Build the Dash app with all pages and app-level callbacks registered.

    Returns
    -------
    dash.Dash
        The app; ``app.server`` is its Flask server.
    """
    keep_server_single_threaded()
    manager = make_background_manager()
    app = dash.Dash(
        # the package name makes Dash import the pages as dashboard.pages.<name>, in a checkout or installed
        "dashboard",
        use_pages=True,
        pages_folder=str(PACKAGE_DIR / "pages"),
        assets_folder=str(assets_folder()),
        background_callback_manager=manager,
        suppress_callback_exceptions=True,
        title="PerturbScope",
        update_title=None,
    )
    from dashboard.components.shell import shell

    app.layout = shell(dash.page_container)
    security.install_basic_auth(app.server)
    security.apply_upload_limit(app.server)
    install_gzip(app.server)
    install_cancel_endpoint(app, manager)
    import dashboard.app_callbacks  # noqa: F401  (registers callbacks)
    import dashboard.export.callbacks  # noqa: F401

    # Dash completes its set-up (the page router's callback, the callback map) on a process's first
    # request, without a lock: concurrent first requests to a new gunicorn worker race there (HTTP 500
    # "dictionary changed size during iteration", pages that never load). One request here does it first.
    app.server.test_client().get(app.config.requests_pathname_prefix + "_dash-dependencies")
    return app


def create_server():
    """The Flask server of a new app: the factory gunicorn calls (``dashboard.app_factory:create_server()``)."""
    return create_app().server


def celery_app_of(app: dash.Dash):
    """The Celery app behind the background callbacks when ``REDIS_URL`` is set, else None."""
    return getattr(app._background_manager, "handle", None) if os.environ.get("REDIS_URL") else None
