"""Shared fixtures for the edge router, renderer and rotation tests.

Everything runs on loopback: a fixture SPA served by http.server, an
S3/Secrets Manager compatible moto server (and a rotation started in it the way
Secrets Manager starts one), and Debian's headless Chromium.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SPA_DIR = FIXTURES / "spa"
CHROMIUM = "/usr/bin/chromium"

# 1x1 transparent PNG and a few bytes standing in for a font: the content is
# irrelevant, the tests only count whether the browser asked for them.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
FONT_BYTES = b"wOF2" + b"\x00" * 60


def read_lines(name: str) -> list[str]:
    return [line for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


# --------------------------------------------------------------------------
# CloudFront event helpers (edge router)
# --------------------------------------------------------------------------


def cf_headers(**pairs: str) -> dict[str, list[dict[str, str]]]:
    """CloudFront header map from keyword pairs (underscores become dashes)."""
    out: dict[str, list[dict[str, str]]] = {}
    for name, value in pairs.items():
        key = "-".join(part.capitalize() for part in name.split("_"))
        out[name.replace("_", "-").lower()] = [{"key": key, "value": value}]
    return out


def cf_event(
    event_type: str,
    uri: str = "/",
    headers: dict | None = None,
    querystring: str = "",
    method: str = "GET",
    origin: dict | None = None,
) -> dict:
    request: dict[str, Any] = {
        "clientIp": "203.0.113.10",
        "method": method,
        "uri": uri,
        "querystring": querystring,
        "headers": headers if headers is not None else cf_headers(host="www.example.com"),
    }
    if origin is not None:
        request["origin"] = origin
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": event_type,
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": request,
                }
            }
        ]
    }


S3_ORIGIN = {
    "s3": {
        "authMethod": "origin-access-identity",
        "customHeaders": {},
        "domainName": "site-bucket.s3.us-east-1.amazonaws.com",
        "path": "",
        "region": "us-east-1",
    }
}


# --------------------------------------------------------------------------
# Fixture SPA on loopback
# --------------------------------------------------------------------------


@dataclass
class SpaServer:
    host: str
    port: int
    hits: Counter = field(default_factory=Counter)
    user_agents: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"http://{self.netloc}"

    def count(self, path: str) -> int:
        with self.lock:
            return self.hits[path]


def _make_spa_handler(state: SpaServer) -> type[BaseHTTPRequestHandler]:
    index = (SPA_DIR / "index.html").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output readable
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            with state.lock:
                state.hits[path] += 1
                state.user_agents.append(self.headers.get("User-Agent", ""))
            if path in ("/static/logo.png", "/static/hero.png"):
                return self._send(200, PNG_BYTES, "image/png")
            if path == "/static/font.woff2":
                return self._send(200, FONT_BYTES, "font/woff2")
            if path == "/static/app.js":
                return self._send(200, (SPA_DIR / "static/app.js").read_bytes(), "application/javascript")
            if path == "/static/app.css":
                return self._send(200, (SPA_DIR / "static/app.css").read_bytes(), "text/css")
            if path.startswith("/api/articles/"):
                slug = path[len("/api/articles/") :]
                data = {"title": f"Article {slug}", "description": f"All about {slug}"}
                return self._send(200, json.dumps(data).encode(), "application/json")
            if path == "/api/search":
                q = parse_qs(parts.query).get("q", [""])[0]
                data = {"title": f"Search results for {q}", "description": f"Results matching {q}"}
                return self._send(200, json.dumps(data).encode(), "application/json")
            if path == "/api/hang":
                time.sleep(20)  # a long poll that never answers within a render
                try:
                    return self._send(204, b"", "text/plain")
                except OSError:
                    return None  # the browser gave up on it, as it should
            if path == "/api/missing":
                return self._send(200, b"{}", "application/json")
            # SPA fallback: every route is the same shell, like S3 + CloudFront
            # error-document routing.
            return self._send(200, index, "text/html; charset=utf-8")

        do_HEAD = do_GET

    return Handler


@pytest.fixture(scope="session")
def spa_server() -> SpaServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    state = SpaServer(host="127.0.0.1", port=server.server_address[1])
    server.RequestHandlerClass = _make_spa_handler(state)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="spa-server", daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class SecretServer:
    port: int
    hits: int = 0


@pytest.fixture(scope="session")
def secret_server() -> SecretServer:
    """Another service on loopback (like Lambda's runtime API): a rendered page must never read it."""
    state = SecretServer(port=0)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            state.hits += 1
            body = b"loopback-secret"
            self.send_response(200)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, name="secret-server", daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------------
# moto (S3) on loopback
# --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> str:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    yield endpoint
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> str:
    """Fake credentials and every AWS call pointed at the loopback moto server."""
    for var in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return moto_endpoint


def boto_client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


MOTO_ACCOUNT, MOTO_REGION = "123456789012", "us-east-1"  # moto's default account; the region aws_env sets


def start_secret_rotation(secret_id: str, copy_current: bool = False) -> str:
    """Start a rotation the way Secrets Manager does before it invokes the function; returns the token.

    Secrets Manager adds a version labelled ``AWSPENDING`` under a fresh token (no value: the
    function's createSecret makes it) and only then calls the function, once per step. moto's
    ``rotate_secret`` without a Lambda promotes the pending version at once instead, so this does
    it in the in-process moto backend (the loopback server shares it). ``copy_current`` gives the
    pending version the current value, as a rotation set up with ``RotateImmediately=false``
    does for its one testSecret call.
    """
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends[MOTO_ACCOUNT][MOTO_REGION].secrets[secret_id]
    secret.rotation_requested = True  # moto's describe_secret says RotationEnabled only after this
    secret.rotation_enabled = True
    token = str(uuid.uuid4())
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])  # one pending version at a time
    version: dict[str, Any] = {"version_id": token, "version_stages": ["AWSPENDING"], "createdate": int(time.time())}
    if copy_current:
        current = next(v for v in secret.versions.values() if "AWSCURRENT" in v["version_stages"])
        version.update({k: current[k] for k in ("secret_string", "secret_binary") if k in current})
    secret.versions[token] = version
    return token


# --------------------------------------------------------------------------
# Renderer harness
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or CHROMIUM
    if not os.path.exists(path):
        pytest.fail(
            f"Chromium not found at {path}. The renderer tests need a real headless "
            "browser: run `apt-get update && apt-get install -y chromium` "
            "(Playwright's own browser download is not available here).",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def renderer_modules(chromium_path: str) -> Any:
    from lambda_src.renderer import browser, config, handler

    yield handler
    browser.shutdown()
    config.reload_config()


@dataclass
class RendererHarness:
    handler: Any
    bucket: str
    spa: SpaServer
    s3: Any
    launches: list = field(default_factory=list)

    def event(
        self,
        path: str = "/",
        query: str = "",
        host: str | None = "__default__",
        method: str = "GET",
        uri: str | None = None,
    ) -> dict:
        headers = {"user-agent": "Amazon CloudFront", "via": "2.0 abc.cloudfront.net (CloudFront)"}
        if uri is not None:
            headers["x-prerender-uri"] = uri
        if host == "__default__":
            host = self.spa.netloc
        if host is not None:
            headers["x-prerender-host"] = host
        return {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "130.176.0.1"},
                "requestId": str(uuid.uuid4()),
                "stage": "$default",
            },
            "isBase64Encoded": False,
        }

    def invoke(self, path: str = "/", query: str = "", **kwargs: Any) -> tuple[dict, float]:
        started = time.perf_counter()
        response = self.handler.handler(self.event(path, query, **kwargs), None)
        return response, time.perf_counter() - started

    def keys(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket)
        return sorted(obj["Key"] for obj in listing.get("Contents", []))


@pytest.fixture
def renderer(
    renderer_modules: Any, aws_env: str, spa_server: SpaServer, monkeypatch: pytest.MonkeyPatch
) -> RendererHarness:
    """A configured renderer with its own empty bucket and a launch counter."""
    from lambda_src.renderer import browser, config

    s3 = boto_client("s3", aws_env)
    bucket = f"prerender-cache-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    monkeypatch.setenv("SITE_ORIGINS", f"{spa_server.origin},https://www.example.com")
    monkeypatch.setenv("CACHE_BUCKET", bucket)
    monkeypatch.setenv("CACHE_TTL_SECONDS", "86400")
    monkeypatch.setenv("RENDER_TIMEOUT_MS", "15000")
    monkeypatch.delenv("TRACKING_PARAMETERS", raising=False)
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    config.reload_config()

    harness = RendererHarness(handler=renderer_modules, bucket=bucket, spa=spa_server, s3=s3)
    real_launch = browser.launch_browser

    def counting_launch() -> Any:
        harness.launches.append(time.monotonic())
        return real_launch()

    monkeypatch.setattr(browser, "launch_browser", counting_launch)
    yield harness
    config.reload_config()


def chromium_browser_processes() -> list[Any]:
    """Chromium browser (not renderer/GPU helper) processes started by this test run."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            cmdline = proc.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if any("--remote-debugging-pipe" in arg for arg in cmdline) and not any(
            arg.startswith("--type=") for arg in cmdline
        ):
            found.append(proc)
    return found


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# Helpers are handed out as fixtures rather than imported: test modules here
# are rootless (no __init__.py, so they cannot collide with the real
# `lambda_src` package) and must not depend on pytest's import mode.
@pytest.fixture(scope="session")
def chromium_processes() -> Callable[[], list[Any]]:
    return chromium_browser_processes


@pytest.fixture(scope="session")
def wait_until() -> Callable[..., bool]:
    return wait_for


@pytest.fixture(scope="session")
def start_rotation() -> Callable[..., str]:
    """``start_rotation(secret_arn_or_name, copy_current=False) -> token``: see ``start_secret_rotation``."""
    return start_secret_rotation
