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
# Hostile pages: a canary on loopback and one page per way out of the browser
# --------------------------------------------------------------------------

CANARY_HOSTS = (
    "127.0.0.2",
    "127.0.0.1",
    "::1",
)  # the first is "another service"; 127.0.0.1 stands for Lambda's runtime API
PUBLIC_ADDRESS = "93.184.216.34"  # what the test resolver calls a public host; the test world serves it on loopback


@dataclass
class Canary:
    """A server that must never be reached: counts every TCP connection (any of its addresses) and UDP datagram."""

    port: int
    connections: int = 0
    datagrams: int = 0
    requests: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host(self) -> str:
        return CANARY_HOSTS[0]

    def total(self) -> int:
        with self.lock:
            return self.connections + self.datagrams


def start_canary() -> tuple[Canary, Callable[[], None]]:
    import socketserver

    for _ in range(20):
        port = free_port()
        sockets: list[socket.socket] = []
        try:
            for host in CANARY_HOSTS:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                tcp = socket.socket(family, socket.SOCK_STREAM)
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((host, port))
                tcp.listen(64)
                udp = socket.socket(family, socket.SOCK_DGRAM)
                udp.bind((host, port))
                sockets += [tcp, udp]
        except OSError:
            for sock in sockets:
                sock.close()
            continue
        break
    else:  # pragma: no cover - the machine has no free port twice over
        raise RuntimeError("no port free on every canary address")
    state = Canary(port=port)
    stop = threading.Event()

    def serve_tcp(listener: socket.socket) -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with state.lock:
                state.connections += 1
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            try:
                head = conn.recv(4096)
                with state.lock:
                    state.requests.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
                body = b"canary-secret"
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\nConnection: close\r\n\r\n"
                    + body
                )
            except OSError:
                pass

    def serve_udp(sock: socket.socket) -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                sock.recvfrom(2048)
            except OSError:
                continue
            with state.lock:
                state.datagrams += 1

    for sock in sockets:
        target = serve_tcp if sock.type == socket.SOCK_STREAM else serve_udp
        threading.Thread(target=target, args=(sock,), name="canary", daemon=True).start()
    del socketserver

    def close() -> None:
        stop.set()
        for sock in sockets:
            sock.close()

    return state, close


# Each attack path is one page of the hostile site. "C" is the canary's http://127.0.0.2:<port>, "P" its port.
# Every attempt's outcome is written into the page, so a secret that got through would also show in the snapshot.
HOSTILE_PATHS: dict[str, str] = {
    "redirect hop (site URL that redirects to the canary)": "tryFetch('/bounce?to=' + encodeURIComponent(C + '/hop'));",
    "subresources (script, stylesheet, preload)": (
        "for (const [tag, attr, rel] of [['script', 'src', ''], ['link', 'href', 'stylesheet'], ['link', 'href', 'preload']]) {"
        " const el = document.createElement(tag); if (rel) { el.rel = rel; el.as = 'script'; } el[attr] = C + '/sub-' + tag;"
        " attempts.push(new Promise(r => { el.onload = () => r('loaded'); el.onerror = () => r('blocked'); setTimeout(r, 800); }));"
        " document.head.appendChild(el); }"
    ),
    "iframe (direct and through a site redirect)": (
        "for (const src of [C + '/frame', '/bounce?to=' + encodeURIComponent('http://127.0.0.1:P/frame2')]) {"
        " const f = document.createElement('iframe'); f.src = src; document.body.appendChild(f);"
        " attempts.push(new Promise(r => { f.onload = () => r('frame'); setTimeout(r, 800); })); }"
    ),
    "dedicated worker (fetch, importScripts)": (
        "attempts.push(new Promise(r => { const w = new Worker('/hostile-worker.js?c=' + encodeURIComponent(C));"
        " w.onmessage = e => r(String(e.data)); w.onerror = () => r('worker error'); setTimeout(() => r('worker timeout'), 1200); }));"
    ),
    "service worker": (
        "attempts.push(navigator.serviceWorker ? navigator.serviceWorker.register('/hostile-sw.js?c=' + encodeURIComponent(C))"
        ".then(() => 'registered', () => 'blocked') : Promise.resolve('no serviceWorker'));"
    ),
    "WebSocket": (
        "attempts.push(new Promise(r => { const ws = new WebSocket(C.replace('http', 'ws') + '/ws');"
        " ws.onopen = () => r('open'); ws.onerror = () => r('blocked'); setTimeout(() => r('timeout'), 1000); }));"
    ),
    "EventSource": (
        "attempts.push(new Promise(r => { const es = new EventSource(C + '/events');"
        " es.onmessage = e => r(e.data); es.onerror = () => { es.close(); r('blocked'); }; setTimeout(() => r('timeout'), 1000); }));"
    ),
    "fetch, XHR and sendBeacon to the runtime API's address (127.0.0.1)": (
        "tryFetch('http://127.0.0.1:P/2018-06-01/runtime/invocation/next');"
        "attempts.push(new Promise(r => { const x = new XMLHttpRequest(); x.open('GET', 'http://127.0.0.1:P/xhr');"
        " x.onload = () => r(x.responseText); x.onerror = () => r('blocked'); x.send(); }));"
        "navigator.sendBeacon('http://127.0.0.1:P/beacon', 'x');"
    ),
    "DNS rebinding (a name that answers public, then loopback)": (
        "attempts.push(fetch('http://rebind.test:P/first').catch(() => null)"
        ".then(() => fetch('http://rebind.test:P/second')).then(r => r.text(), () => 'blocked'));"
    ),
    "a name answering a public and a loopback address": "tryFetch('http://mixed.test:P/');",
    "IPv4-mapped and IPv4-compatible IPv6": (
        "tryFetch('http://[::ffff:127.0.0.2]:P/'); tryFetch('http://[::127.0.0.2]:P/'); tryFetch('http://mapped.test:P/');"
    ),
    "decimal, octal, hex and short IPv4": (
        "for (const h of ['2130706434', '0177.0.0.2', '0x7f000002', '127.2', '0x7f.0.0.2']) tryFetch('http://' + h + ':P/');"
    ),
    "6to4 (2002::/16)": "tryFetch('http://[2002:7f00:2::]:P/'); tryFetch('http://sixtofour.test:P/');",
    "NAT64 (64:ff9b::/96 and 64:ff9b:1::/48)": (
        "tryFetch('http://[64:ff9b::7f00:2]:P/'); tryFetch('http://[64:ff9b:1::7f00:2]:P/'); tryFetch('http://nat64.test:P/');"
    ),
    "Teredo (2001::/32)": "tryFetch('http://[2001:0:4136:e378:8000:63bf:80ff:fffd]:P/');",
    "link-local and instance metadata (169.254.169.254, fe80::)": (
        "tryFetch('http://169.254.169.254/latest/meta-data/'); tryFetch('http://[fe80::1]:P/');"
        "tryFetch('http://metadata.test/latest/api/token', {method: 'PUT'});"
    ),
    "private, CGNAT and unspecified (10/8, 192.168/16, 100.64/10, 0.0.0.0)": (
        "for (const h of ['10.0.0.1', '192.168.1.1', '100.64.0.1', '0.0.0.0', '[::]']) tryFetch('http://' + h + ':P/');"
    ),
    "localhost and ::1": "tryFetch('http://localhost:P/'); tryFetch('http://[::1]:P/'); tryFetch('http://sub.localhost:P/');",
    "WebRTC (STUN over UDP, TURN over TCP)": (
        "attempts.push(new Promise(r => { try { const pc = new RTCPeerConnection({iceServers: ["
        "{urls: 'stun:127.0.0.2:P'}, {urls: 'turn:127.0.0.2:P?transport=tcp', username: 'u', credential: 'p'}]});"
        " pc.createDataChannel('x'); pc.createOffer().then(o => pc.setLocalDescription(o));"
        " setTimeout(() => { pc.close(); r('webrtc done'); }, 1000); } catch (e) { r('no webrtc'); } }));"
    ),
    "preconnect, prefetch and DNS prefetch hints": (
        "for (const rel of ['preconnect', 'prefetch', 'dns-prefetch']) { const l = document.createElement('link');"
        " l.rel = rel; l.href = C + '/' + rel; document.head.appendChild(l); }"
        "attempts.push(new Promise(r => setTimeout(r, 600)));"
    ),
    "top-level navigation by script": "setTimeout(() => { location.href = C + '/navigate'; }, 50); attempts.push(new Promise(r => setTimeout(r, 600)));",
}
# The render itself: the site answers the renderer's own request with a redirect to the canary.
TOP_LEVEL_REDIRECT = "top-level redirect of the rendered page"

_HOSTILE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>hostile page</title></head>
<body><h1 id="h">waiting</h1><pre id="r"></pre>
<script>
window.prerenderReady = false;
const C = 'http://127.0.0.2:P';
const attempts = [];
function tryFetch(u, opts) { attempts.push(fetch(u, opts).then(r => r.text(), () => 'blocked')); }
try { ATTACK } catch (e) { attempts.push(Promise.resolve('threw ' + e.name)); }
Promise.race([Promise.allSettled(attempts), new Promise(r => setTimeout(r, 2000))]).then(results => {
  document.getElementById('r').textContent = JSON.stringify((results || []).map(x => x.value));
  document.getElementById('h').textContent = NAME;
  document.title = 'hostile page rendered';
  window.prerenderReady = true;
});
</script></body></html>"""

_HOSTILE_WORKER = """
const c = new URL(self.location).searchParams.get('c');
let out = [];
try { importScripts(c + '/imported.js'); out.push('imported'); } catch (e) { out.push('import blocked'); }
fetch(c + '/from-worker').then(r => r.text(), () => 'blocked').then(t => { out.push(t); postMessage(out.join(',')); });
"""
_HOSTILE_SW = """
const c = new URL(self.location).searchParams.get('c');
self.addEventListener('install', e => e.waitUntil(fetch(c + '/from-sw').catch(() => null)));
"""


def hostile_slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")[:60]


def hostile_page(name: str, canary_port: int) -> str:
    attack = HOSTILE_PATHS[name].replace(":P", f":{canary_port}")
    page = _HOSTILE_PAGE.replace("ATTACK", attack).replace("NAME", json.dumps(f"rendered: {name}"))
    return page.replace("127.0.0.2:P'", f"127.0.0.2:{canary_port}'")


def start_hostile_site(canary: Canary) -> tuple[SpaServer, Callable[[], None]]:
    """The allowed site, gone bad: /hostile/<slug> per attack path, /bounce?to= redirects, /away redirects the page."""
    pages = {hostile_slug(name): name for name in HOSTILE_PATHS}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            with state.lock:
                state.hits[parts.path] += 1
            slug = parts.path.removeprefix("/hostile/")
            if slug in pages:
                return self._send(200, hostile_page(pages[slug], canary.port).encode(), "text/html; charset=utf-8")
            if parts.path == "/bounce":
                return self._send(302, b"", "text/plain", {"Location": parse_qs(parts.query)["to"][0]})
            if parts.path == "/away":
                return self._send(302, b"", "text/plain", {"Location": f"http://{canary.host}:{canary.port}/away"})
            if parts.path == "/hostile-worker.js":
                return self._send(200, _HOSTILE_WORKER.encode(), "application/javascript")
            if parts.path == "/hostile-sw.js":
                return self._send(200, _HOSTILE_SW.encode(), "application/javascript")
            return self._send(200, b"public", "text/plain", {"Access-Control-Allow-Origin": "*"})

        do_PUT = do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = SpaServer(host="127.0.0.1", port=server.server_address[1])
    threading.Thread(target=server.serve_forever, name="hostile-site", daemon=True).start()

    def close() -> None:
        server.shutdown()
        server.server_close()

    return state, close


@dataclass
class TestWorld:
    """What the egress proxy sees in tests: a resolver for the attack names and "the internet" on loopback.

    Every address the proxy lets through that is neither a site nor the public stand-in is delivered to the canary,
    so a hole in the check is counted, and no test connection ever leaves loopback.
    """

    canary: Canary
    public: tuple[str, int]  # where PUBLIC_ADDRESS is served
    rebind_calls: int = 0
    connected: list = field(default_factory=list)
    public_address: str = PUBLIC_ADDRESS

    async def resolve(self, host: str, port: int) -> list[str]:
        if host == "rebind.test":
            self.rebind_calls += 1
            return [PUBLIC_ADDRESS] if self.rebind_calls == 1 else [self.canary.host]
        answers = {
            "public.test": [PUBLIC_ADDRESS],
            "mixed.test": [PUBLIC_ADDRESS, self.canary.host],
            "mapped.test": [f"::ffff:{self.canary.host}"],
            "sixtofour.test": ["2002:7f00:2::1"],
            "nat64.test": ["64:ff9b::7f00:2"],
            "metadata.test": ["169.254.169.254"],
            "localhost": ["127.0.0.1", "::1"],
            "sub.localhost": ["127.0.0.1"],
        }
        if host not in answers:
            raise OSError(f"test resolver: no such name {host!r}")
        return answers[host]

    async def connect(self, address: str, port: int) -> Any:
        import asyncio
        import ipaddress

        self.connected.append((address, port))
        if address == PUBLIC_ADDRESS:
            return await asyncio.open_connection(*self.public)
        if ipaddress.ip_address(address).is_loopback:
            return await asyncio.open_connection(address, port)
        return await asyncio.open_connection(self.canary.host, self.canary.port)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "hostile_path" in metafunc.fixturenames:
        metafunc.parametrize("hostile_path", list(HOSTILE_PATHS), ids=[hostile_slug(p) for p in HOSTILE_PATHS])


@pytest.fixture(scope="session")
def hostile_uri() -> Callable[[str], str]:
    return lambda name: f"/hostile/{hostile_slug(name)}"


@pytest.fixture(scope="session")
def canary() -> Canary:
    state, close = start_canary()
    yield state
    close()


@pytest.fixture(scope="session")
def hostile_site(canary: Canary) -> SpaServer:
    state, close = start_hostile_site(canary)
    yield state
    close()


@pytest.fixture(scope="session")
def test_world(canary: Canary, hostile_site: SpaServer) -> TestWorld:
    return TestWorld(canary=canary, public=(hostile_site.host, hostile_site.port))


def install_test_proxy(world: TestWorld, *sites: SpaServer) -> Any:
    """The renderer's egress proxy with the test world's resolver and connector and the test sites exempt."""
    from lambda_src.renderer import egress

    proxy = egress.EgressProxy(
        resolve=world.resolve, connect=world.connect, exempt={(site.host, site.port) for site in sites}
    ).start()
    previous = egress.install(proxy)
    if previous is not None:
        previous.stop()
    return proxy


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
def egress_proxy(test_world: TestWorld, spa_server: SpaServer, hostile_site: SpaServer) -> Any:
    from lambda_src.renderer import egress

    proxy = install_test_proxy(test_world, spa_server, hostile_site)
    yield proxy
    egress.install(None)
    proxy.stop()


@pytest.fixture(scope="session")
def renderer_modules(chromium_path: str, egress_proxy: Any) -> Any:
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
