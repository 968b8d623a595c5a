"""Sharing a demo server safely: optional HTTP basic auth and an upload limit.

| variable | meaning | default |
|---|---|---|
| ``PERTURBSCOPE_AUTH_USER`` | user name for HTTP basic auth (set with the password) | unset: no auth |
| ``PERTURBSCOPE_AUTH_PASSWORD`` | password for HTTP basic auth | unset: no auth |
| ``PERTURBSCOPE_MAX_UPLOAD_MB`` | largest uploaded file, in MB | ``500`` |

Basic auth sends the password base64-encoded, not encrypted: on an untrusted
network put the server behind HTTPS (a reverse proxy) as well.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import os

import flask

USER_ENV = "PERTURBSCOPE_AUTH_USER"
PASSWORD_ENV = "PERTURBSCOPE_AUTH_PASSWORD"
MAX_UPLOAD_ENV = "PERTURBSCOPE_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 500.0
REALM = "PerturbScope"
# Dash's upload component sends a file base64-encoded inside a JSON request
# (4 bytes per 3), next to the callback's other inputs.
_REQUEST_OVERHEAD_BYTES = 1 << 20


def auth_credentials() -> tuple[str, str] | None:
    """The configured (user, password), or None when basic auth is off.

    Raises
    ------
    ValueError
        When only one of the two variables is set (a half-configured server
        must not start open by mistake).
    """
    user = os.environ.get(USER_ENV, "")
    password = os.environ.get(PASSWORD_ENV, "")
    if not user and not password:
        return None
    if not user or not password:
        missing = PASSWORD_ENV if user else USER_ENV
        raise ValueError(
            f"HTTP basic auth is half configured: {missing} is not set. Set both "
            f"{USER_ENV} and {PASSWORD_ENV} to require a login, or neither to turn it off."
        )
    return user, password


def max_upload_bytes() -> int:
    """Largest accepted uploaded file in bytes, from ``PERTURBSCOPE_MAX_UPLOAD_MB``.

    Raises
    ------
    ValueError
        When the variable is not a positive number.
    """
    raw = os.environ.get(MAX_UPLOAD_ENV, "").strip()
    if not raw:
        return int(DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = float("nan")
    if not math.isfinite(megabytes) or megabytes <= 0:
        raise ValueError(f"environment variable {MAX_UPLOAD_ENV}={raw!r} must be a positive number of megabytes")
    return int(megabytes * 1024 * 1024)


def max_request_bytes() -> int:
    """Largest accepted HTTP request body: a maximal upload, base64-encoded, plus slack.

    This is what goes into Flask's ``MAX_CONTENT_LENGTH``; larger requests get
    ``413 Request Entity Too Large`` before any of their body is parsed. The
    upload callback should still check the decoded file against
    :func:`max_upload_bytes`.
    """
    return 4 * math.ceil(max_upload_bytes() / 3) + _REQUEST_OVERHEAD_BYTES


def _authorized(header: str | None, user: str, password: str) -> bool:
    if not header or not header.startswith("Basic "):
        return False
    try:
        decoded = base64.b64decode(header[len("Basic "):].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    given_user, sep, given_password = decoded.partition(":")
    # compare both fields, always, in constant time (no early exit on the user)
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return bool(sep) and user_ok and password_ok


def install_basic_auth(server: flask.Flask) -> bool:
    """Require HTTP basic auth on every route of ``server`` when configured.

    Covers pages, Dash's JSON endpoints (``/_dash-layout``,
    ``/_dash-update-component``), component bundles and assets.

    Parameters
    ----------
    server : flask.Flask
        The Flask app behind Dash (``app.server``).

    Returns
    -------
    bool
        True when auth is now required, False when it is off.
    """
    credentials = auth_credentials()
    if credentials is None:
        return False
    user, password = credentials

    def require_auth():
        if _authorized(flask.request.headers.get("Authorization"), user, password):
            return None
        return flask.Response(
            "Login required: this PerturbScope server is shared with HTTP basic auth.\n",
            status=401,
            headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
            mimetype="text/plain",
        )

    # first in line, before Dash's own hooks
    server.before_request_funcs.setdefault(None, []).insert(0, require_auth)
    return True


def apply_upload_limit(server: flask.Flask) -> int:
    """Set ``MAX_CONTENT_LENGTH`` on ``server`` (see :func:`max_request_bytes`); return it."""
    server.config["MAX_CONTENT_LENGTH"] = max_request_bytes()
    return server.config["MAX_CONTENT_LENGTH"]
