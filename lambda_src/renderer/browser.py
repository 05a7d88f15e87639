"""Headless Chromium lifecycle and page rendering (Playwright sync API).

One browser per execution environment, reused across warm invocations:
launching Chromium costs ~0.3-1 s locally and several seconds on a cold
Lambda. The browser is relaunched when it has crashed, been killed (OOM), or
disconnected, so one bad page cannot poison every later invocation.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from . import config as cfg

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
)

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


_playwright: Any = None
_browser: Any = None
launch_count = 0


def _playwright_instance() -> Any:
    global _playwright
    if _playwright is None:
        from playwright.sync_api import sync_playwright

        _playwright = sync_playwright().start()
    return _playwright


def launch_browser() -> Any:
    """Start Chromium. Kept as a module function so tests can count launches."""
    global launch_count
    pw = _playwright_instance()
    try:
        bundled = pw.chromium.executable_path
    except Exception:
        bundled = None
    executable = cfg.resolve_chromium_path(cfg.get_config(), bundled)
    launch_count += 1
    logger.info("launching chromium", extra={"executable": executable or "playwright-bundled"})
    return pw.chromium.launch(
        executable_path=executable,
        headless=True,
        args=list(LAUNCH_ARGS),
        # Fail fast: a browser that cannot start within 15 s will not render
        # inside CloudFront's 30 s either.
        timeout=15_000,
    )


def get_browser() -> Any:
    global _browser
    if _browser is not None and _browser.is_connected():
        return _browser
    discard_browser()
    _browser = launch_browser()
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


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@functools.lru_cache(maxsize=256)
def _resolve(host: str) -> tuple[str, ...]:
    try:
        return tuple(sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)}))
    except OSError:
        return ()


def request_allowed(
    url: str,
    resource_type: str,
    site_netlocs: Collection[str] | None,
    resolve: Callable[[str], tuple[str, ...]] = _resolve,
) -> bool:
    """May the browser fetch ``url``?

    * The configured site (exact scheme-less ``host[:port]`` from SITE_ORIGINS) always: tests run it on 127.0.0.1.
    * Documents (pages, frames) only from the site: a render never becomes someone else's page.
    * Anything else only if every address its host resolves to is public: never loopback (on Lambda the runtime
      API listens on 127.0.0.1:9001), link-local (169.254.169.254), private or reserved ranges.
    """
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    netloc = parts.netloc.lower().rsplit("@", 1)[-1]
    if site_netlocs is not None and netloc in site_netlocs:
        return True
    if resource_type == "document" and site_netlocs is not None:
        return False
    host = parts.hostname
    try:
        addresses: tuple[str, ...] = (str(ipaddress.ip_address(host)),)
    except ValueError:
        addresses = resolve(host)
    return bool(addresses) and all(_public(a) for a in addresses)


def _route_handler(site_netlocs: Collection[str] | None) -> Callable[[Any], None]:
    def handle(route: Any) -> None:
        try:
            request = route.request
            if request.resource_type in BLOCKED_RESOURCE_TYPES or not request_allowed(
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


def _render_once(browser: Any, url: str, deadline: float, allowed_netlocs: Collection[str] | None) -> RenderResult:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = time.monotonic()
    # A fresh context per render: cookies, storage and service workers from one
    # page must not leak into the snapshot of another.
    context = browser.new_context(service_workers="block", java_script_enabled=True)
    try:
        context.route("**/*", _route_handler(allowed_netlocs))
        page = context.new_page()
        tracker = _NetworkTracker(page)
        remaining_ms = max(1.0, (deadline - time.monotonic()) * 1000)
        try:
            response = page.goto(url, wait_until="domcontentloaded", timeout=remaining_ms)
        except PlaywrightTimeout as exc:
            raise RenderTimeout(f"navigation timed out: {url}") from exc
        _wait_until_ready(page, tracker, deadline)
        final_netloc = urlsplit(page.url).netloc.lower()
        if allowed_netlocs is not None and final_netloc not in allowed_netlocs:
            # A redirect or client-side navigation to another site must not
            # be cached and served as this site's page.
            raise RenderError(f"page navigated off the allowed sites to {final_netloc!r}")
        try:
            own = document_scripts(response.text()) if response is not None else {"srcs": [], "inline": []}
        except Exception:  # the body is gone (a redirect's): keep no script rather than fail the render
            own = {"srcs": [], "inline": []}
        meta_status = page.evaluate(_FINALISE_JS, own)
        html = page.content()
    finally:
        try:
            context.close()
        except Exception:
            pass
    origin_status = response.status if response is not None else None
    status = _parse_status(meta_status) or origin_status or 200
    return RenderResult(
        status=status,
        html=html,
        duration_ms=(time.monotonic() - started) * 1000,
        origin_status=origin_status,
    )


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
