"""Lambda@Edge router that sends crawlers to the prerender renderer.

One function is attached to two CloudFront events of the same behaviour:

* viewer-request: classify the viewer. Crawlers get ``x-prerender: 1`` and
  ``x-prerender-host``; everyone else has those headers (and the token header)
  removed. The CloudFront cache policy puts ``x-prerender`` in the cache key,
  so crawler snapshots and the human SPA shell are cached side by side at the
  edge and never served to the wrong audience.
* origin-request (runs only on a CloudFront cache miss): requests marked
  ``x-prerender: 1`` are re-pointed at the renderer's API Gateway domain.

Lambda@Edge has no environment variables, so deploy-time settings are baked
into ``edge_settings.json`` next to this file and read once per container.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from .bots import is_prerender_bot, is_static_asset

__all__ = [
    "DEFAULT_SETTINGS",
    "configure",
    "handler",
    "is_prerender_bot",
    "is_static_asset",
    "settings",
]

logger = logging.getLogger(__name__)

SETTINGS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "edge_settings.json")

DEFAULT_SETTINGS: dict[str, Any] = {
    "renderer_domain": "",
    "renderer_token": "",
    "token_header": "x-prerender-token",
    # CloudFront's maximum for a custom origin without a quota increase; the
    # renderer keeps its own render timeout below it so a slow page ends as a
    # clean 504 from the renderer rather than a CloudFront 504 with no body.
    "read_timeout": 30,
    "keepalive_timeout": 5,
    # The app's entry document for humans' deep links (S3 origins have no rewrites). Empty: the origin
    # rewrites itself (Amplify). Not a CloudFront custom error response: that would also turn the
    # renderer's honest 404 for a crawler into a 200 app shell.
    "spa_fallback": "",
}

PRERENDER_HEADER = "x-prerender"
PRERENDER_HOST_HEADER = "x-prerender-host"

# Only safe methods are rendered: a POST from a crawler UA must reach the real
# origin (forms, APIs), and a headless browser cannot replay a request body.
_RENDERABLE_METHODS = frozenset({"GET", "HEAD"})

_settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
# Derived values are precomputed so the per-request path does no string work.
_token_header = DEFAULT_SETTINGS["token_header"]
_stripped_headers: tuple[str, ...] = (PRERENDER_HEADER, PRERENDER_HOST_HEADER, _token_header)


def configure(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Replace the active settings with defaults + ``overrides``.

    Called once at import with the baked ``edge_settings.json``; tests call it
    directly because the file does not exist outside a deployment package.
    """
    global _settings, _token_header, _stripped_headers
    merged = dict(DEFAULT_SETTINGS)
    for key, value in (overrides or {}).items():
        if key in DEFAULT_SETTINGS and value is not None:
            merged[key] = value
    merged["token_header"] = str(merged["token_header"]).strip().lower() or DEFAULT_SETTINGS["token_header"]
    merged["renderer_domain"] = str(merged["renderer_domain"]).strip().lower()
    merged["renderer_token"] = str(merged["renderer_token"])
    merged["read_timeout"] = int(merged["read_timeout"])
    merged["keepalive_timeout"] = int(merged["keepalive_timeout"])
    merged["spa_fallback"] = str(merged["spa_fallback"]).strip()
    _settings = merged
    _token_header = merged["token_header"]
    _stripped_headers = (PRERENDER_HEADER, PRERENDER_HOST_HEADER, _token_header)
    return dict(merged)


def settings() -> dict[str, Any]:
    """A copy of the active settings (for tests and diagnostics)."""
    return dict(_settings)


def _load_baked_settings() -> None:
    try:
        with open(SETTINGS_FILE, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        configure(None)
        return
    except (OSError, ValueError):
        # A corrupt package must not take the whole site down: without a
        # renderer domain the origin-request branch is a no-op and every
        # viewer simply gets the SPA.
        logger.exception("edge_settings.json unreadable; prerender routing disabled")
        configure(None)
        return
    try:
        configure(data if isinstance(data, dict) else None)
    except (TypeError, ValueError):
        # e.g. read_timeout "thirty": an import-time exception would fail
        # every request of the distribution, so route nothing instead.
        logger.exception("edge_settings.json has invalid values; prerender routing disabled")
        configure(None)


_load_baked_settings()


def _header_value(headers: dict, name: str) -> str | None:
    entries = headers.get(name)
    if entries and isinstance(entries, list):
        first = entries[0]
        if isinstance(first, dict):
            value = first.get("value")
            if isinstance(value, str):
                return value
    return None


def _viewer_request(request: dict) -> dict:
    headers = request.get("headers")
    if not isinstance(headers, dict):
        return request

    # Whatever the client sent is never trusted: a human sending
    # "x-prerender: 1" would otherwise read (and poison) the crawler cache
    # entry and cost us renders; a client-sent token header must not ride
    # along to any origin.
    for name in _stripped_headers:
        if name in headers:
            del headers[name]

    if request.get("method") not in _RENDERABLE_METHODS:
        return request
    if is_static_asset(request.get("uri")):
        return request
    if not is_prerender_bot(_header_value(headers, "user-agent")):
        return _spa_fallback(request)
    host = _header_value(headers, "host")
    if not host:
        return request

    # Deliberately NO cache-buster header (the prerender.io template sets
    # x-prerender-cachebuster: Date.now()). Any header that varies per request
    # and is forwarded makes every crawler hit a CloudFront miss, so each bot
    # request paid a Lambda invocation and an S3 read at the renderer. We rely
    # on the cache policy keying on x-prerender instead, and the query string
    # stays in request["querystring"] where CloudFront already forwards it
    # (the template's x-query-string header copy is unnecessary).
    headers[PRERENDER_HEADER] = [{"key": "X-Prerender", "value": "1"}]
    headers[PRERENDER_HOST_HEADER] = [{"key": "X-Prerender-Host", "value": host}]
    return request


def _spa_fallback(request: dict) -> dict:
    """A human's deep link (``/articles/launch``: no file extension) is served the app's entry document."""
    fallback = _settings["spa_fallback"]
    uri = request.get("uri")
    if fallback and isinstance(uri, str) and "." not in uri.rsplit("/", 1)[-1]:
        request["uri"] = fallback
    return request


def _origin_request(request: dict) -> dict:
    headers = request.get("headers")
    if not isinstance(headers, dict):
        return request
    if _header_value(headers, PRERENDER_HEADER) != "1":
        return request
    domain = _settings["renderer_domain"]
    if not domain:
        # Not wired up yet: crawlers get the SPA like everyone else instead of
        # a CloudFront 502 from an empty origin.
        return request

    token_header = _token_header
    # The token travels only as an origin custom header; a copy in the request
    # headers would be a duplicate that CloudFront rejects as invalid.
    headers.pop(token_header, None)
    # CloudFront keeps the viewer's Host when Lambda@Edge swaps the origin;
    # API Gateway then cannot map the request to an API and answers 403
    # ForbiddenException with an empty body (the incident in the field report).
    headers["host"] = [{"key": "Host", "value": domain}]
    request["origin"] = {
        "custom": {
            "domainName": domain,
            "port": 443,
            "protocol": "https",
            "path": "",
            # TLSv1/TLSv1.1 (as in the prerender.io template) are deprecated
            # and API Gateway refuses them.
            "sslProtocols": ["TLSv1.2"],
            "readTimeout": _settings["read_timeout"],
            "keepaliveTimeout": _settings["keepalive_timeout"],
            "customHeaders": {
                token_header: [{"key": token_header, "value": _settings["renderer_token"]}],
            },
        }
    }
    return request


def handler(event: Any, context: Any = None) -> Any:
    """CloudFront viewer-request / origin-request entry point.

    Prevents: humans spoofing the crawler cache entry, crawler requests
    bypassing the CloudFront cache (cache-buster), the API Gateway 403 caused
    by a stale Host header after the origin switch, and CloudFront 502s from a
    malformed returned request: any unexpected input returns the request as
    received.
    """
    try:
        cf = event["Records"][0]["cf"]
        request = cf["request"]
    except Exception:
        logger.warning("edge router received a non-CloudFront event")
        return event
    if not isinstance(request, dict):
        return event
    try:
        event_type = cf.get("config", {}).get("eventType")
    except Exception:
        return request

    # Work on a shallow copy of the header map so a failure half-way through
    # cannot leave a request with partially applied changes.
    original_headers = request.get("headers")
    had_origin = "origin" in request
    original_origin = request.get("origin")
    try:
        if isinstance(original_headers, dict):
            request["headers"] = dict(original_headers)
        if event_type == "viewer-request":
            return _viewer_request(request)
        if event_type == "origin-request":
            return _origin_request(request)
        return request
    except Exception:
        logger.exception("edge router failed; passing request through unchanged")
        request["headers"] = original_headers
        if had_origin:
            request["origin"] = original_origin
        else:
            request.pop("origin", None)
        return request
