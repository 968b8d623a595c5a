"""PerturbScope: explore gene-perturbation predictions in the browser.

``python app.py`` serves on http://127.0.0.1:8050 (``HOST`` and ``PORT``
override); ``server`` is the Flask app for gunicorn (``gunicorn app:server``).
The app is built by :func:`dashboard.app_factory.create_app` (also used by
``perturbscope serve`` when the package is installed).
"""

from __future__ import annotations

import os

from dashboard.app_factory import celery_app_of, create_app

app = create_app()
server = app.server
celery_app = celery_app_of(app)


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8050"))
    debug = os.environ.get("DASH_DEBUG", "").lower() in ("1", "true", "yes")
    app.run(host=host, port=port, debug=debug)


if __name__ == "__main__":
    main()
