"""Optional HTTP basic auth, the upload-size limit and the loopback default.

The end-to-end checks run the real server (``python app.py``) in a subprocess
with auth configured; unit checks use small Flask apps.
"""

from __future__ import annotations

import base64
import http.client
import os

import flask
import pytest

from dashboard import security
from tests.server import running_server

USER, PASSWORD = "pi", "s3cret:with colon é"


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _request(port: int, method: str, path: str, headers=None, body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """`python app.py` with basic auth on and a 1 MB upload limit; yields its port."""
    env = {
        security.USER_ENV: USER,
        security.PASSWORD_ENV: PASSWORD,
        security.MAX_UPLOAD_ENV: "1",
        "HOST": None,  # the default bind address is part of what is tested
    }
    log_path = tmp_path_factory.mktemp("auth-log") / "server.log"
    with running_server(tmp_path_factory.mktemp("auth-cache"), log_path, env=env) as url:
        yield int(url.rsplit(":", 1)[1])


# --- end to end, real server ----------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/_dash-layout", "/_dash-dependencies", "/assets/style.css", "/essentiality"])
def test_every_route_needs_credentials(auth_server, path):
    status, headers, body = _request(auth_server, "GET", path)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith('Basic realm="PerturbScope"')
    assert b"PerturbScope" not in body or b"Login required" in body  # no page content leaks


def test_callback_endpoint_needs_credentials(auth_server):
    status, _, _ = _request(auth_server, "POST", "/_dash-update-component",
                            headers={"Content-Type": "application/json"}, body=b"{}")
    assert status == 401


@pytest.mark.parametrize("user,password", [(USER, "wrong"), ("someone", PASSWORD), (USER, ""), ("", "")])
def test_wrong_credentials_are_refused(auth_server, user, password):
    status, _, _ = _request(auth_server, "GET", "/_dash-layout", headers=_basic(user, password))
    assert status == 401


@pytest.mark.parametrize("header", ["Basic !!!not-base64", "Bearer abc", "Basic " + base64.b64encode(b"nocolon").decode()])
def test_malformed_authorization_is_refused(auth_server, header):
    status, _, _ = _request(auth_server, "GET", "/", headers={"Authorization": header})
    assert status == 401


@pytest.mark.parametrize("path", ["/", "/_dash-layout", "/assets/style.css"])
def test_right_credentials_are_served(auth_server, path):
    status, _, body = _request(auth_server, "GET", path, headers=_basic(USER, PASSWORD))
    assert status == 200
    assert body


def test_oversized_request_gets_413(auth_server):
    limit = 4 * ((1024 * 1024 + 2) // 3) + (1 << 20)
    body = b"x" * (limit + 1024)
    headers = {**_basic(USER, PASSWORD), "Content-Type": "application/json"}
    try:
        status, _, _ = _request(auth_server, "POST", "/_dash-update-component", headers=headers, body=body)
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server dropped the connection instead of answering 413")
    assert status == 413
    # a request under the limit is parsed normally (a bad callback body, not 413)
    status, _, _ = _request(auth_server, "POST", "/_dash-update-component", headers=headers, body=b"{}")
    assert status not in (401, 413)


# --- app module, in process -------------------------------------------------------------

def test_default_bind_address_is_loopback(monkeypatch):
    import app as app_module

    calls = {}
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.setattr(app_module.app, "run", lambda **kwargs: calls.update(kwargs))
    app_module.main()
    assert calls["host"] == "127.0.0.1"
    assert calls["port"] == 8050


def test_app_without_auth_serves_and_limits_uploads():
    import app as app_module

    assert not os.environ.get(security.USER_ENV)
    client = app_module.server.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    assert app_module.server.config["MAX_CONTENT_LENGTH"] == security.max_request_bytes()


# --- unit ------------------------------------------------------------------------------

def _tiny_app() -> flask.Flask:
    server = flask.Flask("tiny")
    server.add_url_rule("/", "index", lambda: "hello")
    server.add_url_rule("/upload", "upload", lambda: str(len(flask.request.get_data())), methods=["POST"])
    return server


def test_auth_is_off_when_unset(monkeypatch):
    monkeypatch.delenv(security.USER_ENV, raising=False)
    monkeypatch.delenv(security.PASSWORD_ENV, raising=False)
    server = _tiny_app()
    assert security.auth_credentials() is None
    assert security.install_basic_auth(server) is False
    assert server.test_client().get("/").status_code == 200


@pytest.mark.parametrize("set_name", [security.USER_ENV, security.PASSWORD_ENV])
def test_half_configured_auth_refuses_to_start(monkeypatch, set_name):
    monkeypatch.delenv(security.USER_ENV, raising=False)
    monkeypatch.delenv(security.PASSWORD_ENV, raising=False)
    monkeypatch.setenv(set_name, "x")
    with pytest.raises(ValueError, match="half configured"):
        security.install_basic_auth(_tiny_app())


def test_auth_hook_runs_before_other_hooks(monkeypatch):
    monkeypatch.setenv(security.USER_ENV, USER)
    monkeypatch.setenv(security.PASSWORD_ENV, PASSWORD)
    server = _tiny_app()
    seen = []
    server.before_request(lambda: seen.append(flask.request.path))
    assert security.install_basic_auth(server) is True
    client = server.test_client()
    assert client.get("/").status_code == 401
    assert seen == []  # refused before any other hook saw the request
    assert client.get("/", headers=_basic(USER, PASSWORD)).status_code == 200
    assert client.get("/", headers=_basic(USER, PASSWORD + "x")).status_code == 401
    assert client.get("/", headers=_basic(USER + "x", PASSWORD)).status_code == 401


def test_compare_is_constant_time(monkeypatch):
    """Both fields go through hmac.compare_digest, whatever the user name."""
    calls = []
    real = security.hmac.compare_digest
    monkeypatch.setattr(security.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    assert not security._authorized("Basic " + base64.b64encode(b"bob:x").decode(), USER, PASSWORD)
    assert len(calls) == 2


@pytest.mark.parametrize("raw,expected", [("", 500 * 1024 * 1024), ("1", 1024 * 1024), ("0.5", 512 * 1024), (" 20 ", 20 * 1024 * 1024)])
def test_max_upload_bytes(monkeypatch, raw, expected):
    monkeypatch.setenv(security.MAX_UPLOAD_ENV, raw)
    assert security.max_upload_bytes() == expected
    # a maximal file still fits once base64-encoded in a callback request
    assert security.max_request_bytes() >= expected * 4 / 3


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "nan", "inf"])
def test_max_upload_bytes_rejects_nonsense(monkeypatch, raw):
    monkeypatch.setenv(security.MAX_UPLOAD_ENV, raw)
    with pytest.raises(ValueError, match=security.MAX_UPLOAD_ENV):
        security.max_upload_bytes()


def test_upload_limit_gives_413(monkeypatch):
    monkeypatch.setenv(security.MAX_UPLOAD_ENV, "0.01")
    server = _tiny_app()
    limit = security.apply_upload_limit(server)
    client = server.test_client()
    assert client.post("/upload", data=b"x" * (limit + 1)).status_code == 413
    response = client.post("/upload", data=b"x" * limit)
    assert response.status_code == 200 and response.text == str(limit)
