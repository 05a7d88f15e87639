"""Headless Chromium lifecycle and page rendering (Playwright sync API).

One browser per execution environment, reused across warm invocations:
launching Chromium costs ~0.3-1 s locally and several seconds on a cold
Lambda. The browser is relaunched when it has crashed, been killed (OOM), or
disconnected, so one bad page cannot poison every later invocation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from . import config as cfg
from . import egress

logger = Logger(service=cfg.SERVICE_NAME, child=True)

# Why each flag:
#   --no-sandbox            Lambda has no user namespaces for Chromium's sandbox.
#   --disable-gpu           no GPU in Lambda; avoids GPU process start-up.
#   --disable-dev-shm-usage Lambda's /dev/shm is tiny; shared memory goes to /tmp.
#   --disable-background-networking / --disable-component-update /
#   --disable-sync / --no-first-run
#                           no calls home: on a closed network (CI, private
#                           subnets) they hang or spam errors, and they count
#                           as in-flight requests that delay network idle.
# Channels that would skip the egress proxy (egress.py), closed:
#   --host-resolver-rules   Chromium's own resolver answers nothing (the proxy resolves): the backstop for anything
#                           that would connect without the proxy (DNS prefetch, a preconnect, a future channel).
#   --disable-quic          HTTP/3 is UDP, which an HTTP proxy does not carry.
#   --force-webrtc-ip-handling-policy / --webrtc-ip-handling-policy
#                           WebRTC sends no UDP except through a proxy (which has none): no STUN/TURN to an address
#                           of the page's choosing.
#   --dns-prefetch-disable  no <link rel=dns-prefetch> lookups.
# The proxy itself is added at launch (--proxy-server, with --proxy-bypass-list=<-loopback> so loopback, Lambda's
# runtime API above all, goes through it too). Service workers are blocked per context (service_workers="block").
# Deliberately NOT --single-process: with Chromium 156 + Playwright, closing a
# BrowserContext in single-process mode kills the whole browser (measured
# here), which would turn every warm invocation into a relaunch. And NOT
# --no-zygote: without the zygote every new page execs a fresh renderer
# process, measured ~100 ms slower per render on 2 vCPUs.
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-quic",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--dns-prefetch-disable",
)
# Loopback is not exempt from the proxy: Chromium's implicit "localhost and 127.0.0.1 go direct" rule is removed.
PROXY_BYPASS = "<-loopback>"


def proxy_args(proxy_url: str) -> list[str]:
    return [f"--proxy-server={proxy_url}", f"--proxy-bypass-list={PROXY_BYPASS}"]


# Crawlers read markup and meta tags; fetching pixels and glyphs only slows
# the render down and keeps the network busy (delaying network idle).
BLOCKED_RESOURCE_TYPES = frozenset({"image", "font", "media"})

# Same quiet window as Playwright's / Puppeteer's networkidle heuristics.
NETWORK_IDLE_MS = 500
# A request still open after this long is a long poll, an event stream or a chat widget, not content the page is
# waiting for: it stops counting as in flight, so such a page renders in about a second and a half instead of
# timing out (the 504 the field report's chat-widget pages got).
LONG_REQUEST_MS = 1000
POLL_INTERVAL_MS = 25

# The document's own scripts stay in the snapshot: a person the edge takes for a crawler gets this HTML, and the
# app must boot on it (the snapshot is then what server-side rendering would have sent). Scripts the page added
# while it ran (lazy chunks, tags an analytics snippet injects) go: the document's scripts add them again, and
# kept twice they would run twice. "The document's" means in the HTML the site answered with.
#
# Runs after the page is ready: reads the status override and removes every script that is not the document's.
# JSON-LD is data, not code, and is what search engines read for rich results: it always stays.
_FINALISE_JS = """
(own) => {
  const meta = document.querySelector('meta[name="prerender-status-code"]');
  const status = meta ? (meta.getAttribute('content') || '').trim() : '';
  for (const s of Array.from(document.querySelectorAll('script'))) {
    const type = (s.getAttribute('type') || '').trim().toLowerCase();
    const src = s.getAttribute('src');
    const kept = src !== null ? own.srcs.includes(src) : own.inline.includes(s.textContent.trim());
    if (type !== 'application/ld+json' && !kept) s.remove();
  }
  return status;
}
"""


class _DocumentScripts(HTMLParser):
    """The scripts of the HTML as the site sent it: src attributes and inline texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.srcs: list[str] = []
        self.inline: list[str] = []
        self._inline: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            src = dict(attrs).get("src")
            if src is not None:
                self.srcs.append(src)
            else:
                self._inline = []

    def handle_data(self, data: str) -> None:
        if self._inline is not None:
            self._inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._inline is not None:
            self.inline.append("".join(self._inline).strip())
            self._inline = None


def document_scripts(html: str) -> dict[str, list[str]]:
    parser = _DocumentScripts()
    parser.feed(html)
    return {"srcs": parser.srcs, "inline": parser.inline}


class RenderError(Exception):
    """The page could not be rendered (navigation failure, crash)."""


class RenderTimeout(RenderError):
    """The page did not become ready within the render budget."""


@dataclass(frozen=True)
class RenderResult:
    status: int
    html: str
    duration_ms: float
    origin_status: int | None
    location: str | None = None  # set on a redirect: answered to the crawler as such, never followed


REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Response headers of the page's own document that do not describe the body Chromium is handed.
_NOT_RELAYED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"})


_playwright: Any = None
_browser: Any = None
_browser_proxy: Any = None  # the egress proxy the current browser was launched with
launch_count = 0


def playwright_instance() -> Any:
    global _playwright
    if _playwright is None:
        from playwright.sync_api import sync_playwright

        _playwright = sync_playwright().start()
    return _playwright


def launch_browser() -> Any:
    """Start Chromium. Kept as a module function so tests can count launches."""
    global launch_count
    pw = playwright_instance()
    try:
        bundled = pw.chromium.executable_path
    except Exception:
        bundled = None
    executable = cfg.resolve_chromium_path(cfg.get_config(), bundled)
    launch_count += 1
    proxy = egress.shared_proxy()
    logger.info("launching chromium", extra={"executable": executable or "playwright-bundled", "proxy": proxy.url})
    return pw.chromium.launch(
        executable_path=executable,
        headless=True,
        args=[*LAUNCH_ARGS, *proxy_args(proxy.url)],
        # Fail fast: a browser that cannot start within 15 s will not render
        # inside CloudFront's 30 s either.
        timeout=15_000,
    )


def get_browser() -> Any:
    global _browser, _browser_proxy
    proxy = egress.shared_proxy()
    if _browser is not None and _browser.is_connected() and _browser_proxy is proxy:
        return _browser
    discard_browser()
    _browser = launch_browser()
    _browser_proxy = proxy
    return _browser


def discard_browser() -> None:
    """Drop the current browser (closing it if it still answers)."""
    global _browser
    browser, _browser = _browser, None
    if browser is None:
        return
    try:
        browser.close()
    except Exception:
        pass


def shutdown() -> None:
    """Close the browser and the Playwright driver (tests, benchmarks)."""
    global _playwright
    discard_browser()
    if _playwright is not None:
        try:
            _playwright.stop()
        except Exception:
            pass
        _playwright = None


def request_allowed(url: str, resource_type: str, site_netlocs: Collection[str] | None) -> bool:
    """May the page ask for ``url`` at all? (Where it may connect is the egress proxy's question, egress.py.)

    * ``data:``, ``blob:``, ``about:`` stay in the browser; anything but http(s)/ws(s) is refused.
    * Documents (pages, frames) only from the site (exact scheme-less ``host[:port]`` from SITE_ORIGINS): a render
      never becomes someone else's page.
    """
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        return False
    netloc = parts.netloc.lower().rsplit("@", 1)[-1]
    return resource_type != "document" or site_netlocs is None or netloc in site_netlocs


@dataclass(frozen=True)
class Document:
    """The page's own document as the site answered it, fetched through the egress proxy without following."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


def fetch_document(url: str, proxy_port: int, user_agent: str, timeout_s: float) -> Document:
    """GET ``url`` through the egress proxy (so its address is checked like every other) and follow nothing.

    The top-level document is fetched here rather than by Chromium so a redirect can be answered to the crawler as
    a redirect: Chromium would follow it, and Playwright's route never sees a redirect's next hop.
    """
    import http.client
    import ssl

    parts = urlsplit(url)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            "127.0.0.1", proxy_port, timeout=timeout_s, context=ssl.create_default_context()
        )
        conn.set_tunnel(parts.hostname or "", parts.port or 443)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    else:
        conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=timeout_s)
        target = url
    try:
        conn.request(
            "GET",
            target,
            headers={
                "Host": parts.netloc,
                "User-Agent": user_agent,
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Encoding": "identity",
            },
        )
        response = conn.getresponse()
        body = response.read()
        headers = [(k, v) for k, v in response.getheaders()]
        return Document(status=response.status, headers=headers, body=body)
    finally:
        conn.close()


def _route_handler(site_netlocs: Collection[str] | None, document: Document) -> Callable[[Any], None]:
    served = []

    def handle(route: Any) -> None:
        try:
            request = route.request
            if not served and request.is_navigation_request() and request.frame.parent_frame is None:
                # The page's first navigation is the one page.goto starts: Chromium gets the document fetched above.
                served.append(request.url)
                route.fulfill(
                    status=document.status,
                    headers={k: v for k, v in document.headers if k.lower() not in _NOT_RELAYED},
                    body=document.body,
                )
            elif request.is_navigation_request() and not request_allowed(
                request.url, request.resource_type, site_netlocs
            ):
                # 204 answers a navigation with "stay where you are": the page (or frame) keeps its document instead
                # of becoming Chromium's error page, so a page that tries to leave still renders.
                route.fulfill(status=204, body="")
            elif request.resource_type in BLOCKED_RESOURCE_TYPES or not request_allowed(
                request.url, request.resource_type, site_netlocs
            ):
                route.abort("blockedbyclient")
            else:
                route.continue_()
        except Exception:
            pass

    return handle


class _NetworkTracker:
    def __init__(self, page: Any) -> None:
        self.inflight: dict[int, float] = {}
        self.last_activity = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Any) -> None:
        self.inflight[id(request)] = self.last_activity = time.monotonic()

    def _ended(self, request: Any) -> None:
        self.inflight.pop(id(request), None)
        self.last_activity = time.monotonic()

    def idle_for(self) -> float:
        now = time.monotonic()
        long_s = LONG_REQUEST_MS / 1000
        if any(now - started < long_s for started in self.inflight.values()):
            return 0.0
        # Only long-lived requests are open: quiet since the last one started or anything ended.
        return now - self.last_activity


def _wait_until_ready(page: Any, tracker: _NetworkTracker, deadline: float) -> None:
    """Wait for window.prerenderReady === true or network idle, whichever first.

    A page that sets ``window.prerenderReady = false`` opts out of the network
    heuristic: it is waited for until it flips to true (or the deadline), so
    an app that fetches in several rounds is not snapshotted half-way, which is
    the empty-preview symptom in the field report.
    """
    idle_s = NETWORK_IDLE_MS / 1000
    while True:
        try:
            ready = page.evaluate("() => window.prerenderReady")
        except Exception:
            ready = None
        if ready is True:
            return
        if ready is not False and tracker.idle_for() >= idle_s:
            return
        remaining_ms = (deadline - time.monotonic()) * 1000
        if remaining_ms <= 0:
            raise RenderTimeout("page did not become ready before the render timeout")
        page.wait_for_timeout(min(POLL_INTERVAL_MS, remaining_ms))


def _parse_status(value: Any) -> int | None:
    try:
        status = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return status if 100 <= status <= 599 else None


def user_agent(browser: Any) -> str:
    """What headless Chromium calls itself, for the document fetch: the site sees one client, not two."""
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"HeadlessChrome/{browser.version} Safari/537.36"
    )


def _render_once(browser: Any, url: str, deadline: float, allowed_netlocs: Collection[str] | None) -> RenderResult:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = time.monotonic()
    try:
        document = fetch_document(
            url, egress.shared_proxy().port, user_agent(browser), max(0.5, deadline - time.monotonic())
        )
    except TimeoutError as exc:
        raise RenderTimeout(f"document fetch timed out: {url}") from exc
    except OSError as exc:  # refused by the proxy, unreachable, TLS failure
        raise RenderError(f"document fetch failed: {type(exc).__name__}") from exc
    if document.status in REDIRECTS:
        return RenderResult(
            status=document.status,
            html="",
            duration_ms=(time.monotonic() - started) * 1000,
            origin_status=document.status,
            location=document.header("location") or "/",
        )
    if document.header(egress.REFUSED_HEADER) is not None:
        raise RenderError(f"the egress proxy refused the site's own address: {url}")
    # A fresh context per render: cookies, storage and service workers from one
    # page must not leak into the snapshot of another.
    context = browser.new_context(service_workers="block", java_script_enabled=True, user_agent=user_agent(browser))
    try:
        context.route("**/*", _route_handler(allowed_netlocs, document))
        page = context.new_page()
        tracker = _NetworkTracker(page)
        remaining_ms = max(1.0, (deadline - time.monotonic()) * 1000)
        try:
            page.goto(url, wait_until="domcontentloaded", timeout=remaining_ms)
        except PlaywrightTimeout as exc:
            raise RenderTimeout(f"navigation timed out: {url}") from exc
        _wait_until_ready(page, tracker, deadline)
        final_netloc = urlsplit(page.url).netloc.lower()
        if allowed_netlocs is not None and final_netloc not in allowed_netlocs:
            # A redirect or client-side navigation to another site must not
            # be cached and served as this site's page.
            raise RenderError(f"page navigated off the allowed sites to {final_netloc!r}")
        own = document_scripts(document.body.decode(_charset(document), "replace"))
        meta_status = page.evaluate(_FINALISE_JS, own)
        html = page.content()
    finally:
        try:
            context.close()
        except Exception:
            pass
    origin_status = document.status
    status = _parse_status(meta_status) or origin_status or 200
    return RenderResult(
        status=status,
        html=html,
        duration_ms=(time.monotonic() - started) * 1000,
        origin_status=origin_status,
    )


def _charset(document: Document) -> str:
    content_type = document.header("content-type") or ""
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            try:
                "".encode(value.strip('"'))
                return value.strip('"')
            except LookupError:
                break
    return "utf-8"


def _is_browser_failure(exc: Exception, browser: Any) -> bool:
    if type(exc).__name__ == "TargetClosedError":
        return True
    try:
        return not browser.is_connected()
    except Exception:
        return True


def render(url: str, timeout_ms: int, allowed_netlocs: Collection[str] | None = None) -> RenderResult:
    """Render ``url`` and return the HTML snapshot, with the document's own scripts (the app boots on it).

    Raises RenderTimeout / RenderError; never returns a half-rendered page.
    A browser that died since the last invocation (killed, OOM) is detected
    on first use and replaced once within the same request.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    for attempt in (1, 2):
        browser = get_browser()
        try:
            return _render_once(browser, url, deadline, allowed_netlocs)
        except RenderError:
            raise
        except Exception as exc:
            if _is_browser_failure(exc, browser):
                discard_browser()
                if attempt == 1 and time.monotonic() < deadline - 1:
                    logger.warning("browser died; relaunching", extra={"error": repr(exc)})
                    continue
            raise RenderError(f"render failed: {type(exc).__name__}") from exc
    raise RenderError("render failed")  # pragma: no cover - loop always returns/raises
