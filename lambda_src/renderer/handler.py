"""Prerender renderer: Lambda function URL (payload 2.0) -> HTML snapshot.

Reached only through CloudFront: the function URL uses AWS_IAM auth behind an
origin access control, so Lambda refuses any request CloudFront did not sign
before this code runs. The viewer-request function sends ``x-prerender-host``
and the page in ``x-prerender-uri`` (the URI itself may be the app shell, which
the SPA origin serves if this renderer fails). Cheap rejections come first:
method -> host allow-list -> S3 cache -> Chromium.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote, urlsplit

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from . import browser, cache
from . import config as cfg

logger = Logger(service=cfg.SERVICE_NAME)
metrics = Metrics(namespace="Prerender", service=cfg.SERVICE_NAME)

HOST_HEADER = "x-prerender-host"
URI_HEADER = "x-prerender-uri"

# Lambda's synchronous response limit is 6 MB; leave room for headers/JSON.
MAX_BODY_BYTES = 5_500_000
# Statuses worth keeping: the page itself said so (200, or a meta-declared
# 404/410). Anything else may be transient and must be re-rendered.
CACHEABLE_STATUSES = frozenset({200, 404, 410})
# Page-declared "not found" answers are cached briefly at CloudFront so a page
# published a minute later is not hidden from crawlers for a day.
NOT_FOUND_MAX_AGE = 60

# Path characters passed through unchanged; everything else (spaces, '\\',
# non-ASCII, control characters) is percent-encoded so Chromium and Python
# agree on where the host ends ("\\" is a path separator to Chromium).
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def _response(status: int, body: str, cache_control: str, extra: dict[str, str] | None = None) -> dict:
    headers = {
        "content-type": "text/html; charset=utf-8",
        "cache-control": cache_control,
    }
    if extra:
        headers.update(extra)
    return {"statusCode": status, "headers": headers, "body": body}


def _error(status: int, message: str) -> dict:
    # no-store: CloudFront must not keep a 403/5xx in the crawler cache entry.
    return _response(
        status,
        f"<!doctype html><title>{status}</title><p>{message}</p>",
        "no-store",
        {"x-prerender-cache": "BYPASS"},
    )


def _page_response(status: int, html: str, cache_state: str, ttl_left: float, method: str) -> dict:
    if status == 200:
        # Remaining, not full, TTL on a hit: CloudFront + S3 together then
        # never serve a snapshot older than CACHE_TTL_SECONDS.
        cache_control = f"public, max-age={max(0, int(ttl_left))}"
    elif status in CACHEABLE_STATUSES:
        cache_control = f"public, max-age={min(NOT_FOUND_MAX_AGE, max(0, int(ttl_left)))}"
    else:
        cache_control = "no-store"
    return _response(status, "" if method == "HEAD" else html, cache_control, {"x-prerender-cache": cache_state})


def _target(config: cfg.Config, host: str, raw_path: str, raw_query: str) -> str | None:
    scheme = config.site_origins.get(host)
    if scheme is None:
        return None
    path = quote(raw_path, safe=_PATH_SAFE)
    url = f"{scheme}://{host}{path}"
    if raw_query:
        url += "?" + quote(raw_query, safe="=&%+;:@/?!$'()*,-._~")
    # Belt and braces against any path trick: the URL we hand to Chromium
    # must still point at the allow-listed host.
    if urlsplit(url).netloc.lower() != host:
        return None
    return url


def _handle(event: dict, context: Any) -> dict:
    config = cfg.get_config()
    raw_headers = event.get("headers") or {}
    headers = {str(k).lower(): v for k, v in raw_headers.items()} if isinstance(raw_headers, dict) else {}
    request_context = event.get("requestContext") or {}
    method = str((request_context.get("http") or {}).get("method") or "GET").upper()
    if method not in ("GET", "HEAD"):
        return _error(405, "Method not allowed")

    host = headers.get(HOST_HEADER)
    host = host.strip().lower() if isinstance(host, str) else ""
    page_uri = headers.get(URI_HEADER)
    raw_path = page_uri if isinstance(page_uri, str) and page_uri else (event.get("rawPath") or "/")
    raw_query = cache.strip_tracking(event.get("rawQueryString") or "", config.tracking_parameters)
    if not isinstance(raw_path, str) or not raw_path.startswith("/") or not isinstance(raw_query, str):
        return _error(400, "Bad request")
    target = _target(config, host, raw_path, raw_query) if host else None
    if target is None:
        # Never an open proxy: only the configured sites are rendered.
        logger.warning("rejected unknown x-prerender-host", extra={"host": host[:200]})
        return _error(400, "Unknown or missing x-prerender-host")

    path = urlsplit(target).path or "/"
    key = cache.cache_key(host, path, raw_query)
    ttl = config.cache_ttl_seconds
    logger.append_keys(cache_key=key, target=target)

    cached = cache.get(config.cache_bucket, key, ttl)
    if cached is not None:
        metrics.add_metric(name="CacheHit", unit=MetricUnit.Count, value=1)
        logger.info("cache hit", extra={"status": cached.status})
        return _page_response(cached.status, cached.html, "HIT", ttl - cached.age(), method)

    metrics.add_metric(name="CacheMiss", unit=MetricUnit.Count, value=1)
    try:
        result = browser.render(target, config.render_timeout_ms, frozenset(config.site_origins))
    except browser.RenderTimeout as exc:
        metrics.add_metric(name="RenderError", unit=MetricUnit.Count, value=1)
        logger.warning("render timed out", extra={"error": str(exc)})
        return _error(504, "Render timed out")
    except browser.RenderError as exc:
        metrics.add_metric(name="RenderError", unit=MetricUnit.Count, value=1)
        logger.exception("render failed", extra={"error": str(exc)})
        return _error(502, "Render failed")
    metrics.add_metric(name="RenderDuration", unit=MetricUnit.Milliseconds, value=round(result.duration_ms, 1))
    if result.location is not None:
        # The site's own redirect, answered as such (never followed into a render of another host); short-lived and
        # not in S3: the crawler asks again for the new address, which the edge routes like any other.
        logger.info("redirect", extra={"status": result.status, "location": result.location[:500]})
        return _response(
            result.status,
            "",
            f"public, max-age={NOT_FOUND_MAX_AGE}",
            {"location": result.location, "x-prerender-cache": "BYPASS"},
        )

    if result.origin_status is not None and result.origin_status >= 500 and result.status >= 500:
        logger.warning("origin error while rendering", extra={"origin_status": result.origin_status})
        return _error(502, "Origin error")
    if len(result.html.encode("utf-8")) > MAX_BODY_BYTES:
        logger.error("snapshot exceeds Lambda response limit", extra={"bytes": len(result.html)})
        return _error(502, "Snapshot too large")

    if result.status in CACHEABLE_STATUSES:
        cache.put(config.cache_bucket, key, result.status, result.html, target)
    logger.info("rendered", extra={"status": result.status, "duration_ms": round(result.duration_ms, 1)})
    return _page_response(result.status, result.html, "MISS", ttl, method)


def handler(event: dict, context: Any = None) -> dict:
    """Function URL entry point.

    Prevents: being an open proxy / render-cost amplifier (only CloudFront can
    call, and the host is allow-listed before Chromium starts), one snapshot
    for every query string (query is part of the cache key), S3 failures
    turning into crawler errors (cache errors are logged, never raised), a
    dead browser failing every later invocation (relaunch), and stack traces
    reaching clients.
    """
    started = time.monotonic()
    request_id = getattr(context, "aws_request_id", None)
    logger.append_keys(request_id=request_id)
    try:
        if not isinstance(event, dict):
            return _error(400, "Bad request")
        return _handle(event, context)
    except cfg.ConfigError as exc:
        logger.error("invalid renderer configuration", extra={"error": str(exc)})
        return _error(503, "Renderer misconfigured")
    except Exception:
        metrics.add_metric(name="RenderError", unit=MetricUnit.Count, value=1)
        logger.exception("unhandled renderer error")
        return _error(500, "Internal error")
    finally:
        # Flushed by hand rather than with @metrics.log_metrics so rejected
        # requests (no metric recorded) do not warn on every invocation. EMF
        # goes to stdout: CloudWatch Logs extracts it, no PutMetricData call.
        if metrics.metric_set:
            metrics.flush_metrics()
        logger.remove_keys(["cache_key", "target", "request_id"])
        logger.debug("request done", extra={"elapsed_ms": round((time.monotonic() - started) * 1000, 1)})
