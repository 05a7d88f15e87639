"""S3 snapshot cache for rendered pages.

Every function here swallows and logs its errors: the cache only saves
renders, so an S3 outage or a missing bucket must degrade to "render every
time", never to an error page for the crawler.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from aws_lambda_powertools import Logger

from . import config as cfg

logger = Logger(service=cfg.SERVICE_NAME, child=True)

KEY_VERSION = "v1"


@dataclass(frozen=True)
class CachedPage:
    status: int
    html: str
    rendered_at: float

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.rendered_at


def canonical_query(raw_query: str) -> str:
    """Order-independent form of a query string.

    The field report's cache ignored the query entirely, so /search?q=a and
    /search?q=b shared one snapshot. Sorting keeps ?a=1&b=2 and ?b=2&a=1 on a
    single entry; blank values are kept because ?preview and no query differ.
    """
    if not raw_query:
        return ""
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    return urlencode(sorted(pairs))


def strip_tracking(raw_query: str, tracking: tuple[str, ...]) -> str:
    """The query without tracking parameters (``utm_*`` style prefixes end in '*'): never a render or an S3 object.

    The viewer-request function strips them already; this keeps the renderer right when called another way.
    """
    if not raw_query or not tracking:
        return raw_query
    kept = []
    for part in raw_query.split("&"):
        name = part.split("=", 1)[0].lower()
        if not any(name.startswith(t[:-1]) if t.endswith("*") else name == t for t in tracking):
            kept.append(part)
    return "&".join(kept)


def cache_key(host: str, path: str, raw_query: str) -> str:
    """S3 key ``v1/<host>/<sha256(path?query)>.html``.

    Hashing keeps keys bounded (S3 allows 1024 bytes, URLs do not) and free of
    characters S3 treats specially; the host prefix lets one bucket serve
    several sites and makes per-site invalidation a prefix delete.
    """
    query = canonical_query(raw_query)
    target = f"{path}?{query}" if query else path
    digest = hashlib.sha256(target.encode("utf-8")).hexdigest()
    return f"{KEY_VERSION}/{host.lower()}/{digest}.html"


def get(bucket: str, key: str, ttl_seconds: int) -> CachedPage | None:
    """A fresh cached page, or None for missing, stale or unreadable."""
    if not bucket:
        return None
    try:
        response = cfg.client("s3").get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
        if code not in ("NoSuchKey", "404"):
            logger.warning("s3 cache read failed", extra={"key": key, "error": repr(exc)})
        return None
    metadata = response.get("Metadata") or {}
    try:
        rendered_at = float(metadata.get("rendered-at", "0"))
        status = int(metadata.get("status-code", "200"))
    except ValueError:
        return None
    page = CachedPage(status=status, html=body.decode("utf-8", errors="replace"), rendered_at=rendered_at)
    if page.age() >= ttl_seconds:
        return None
    return page


def put(bucket: str, key: str, status: int, html: str, source_url: str) -> bool:
    if not bucket:
        return False
    try:
        cfg.client("s3").put_object(
            Bucket=bucket,
            Key=key,
            Body=html.encode("utf-8"),
            ContentType="text/html; charset=utf-8",
            Metadata={
                "rendered-at": f"{time.time():.3f}",
                "status-code": str(status),
                # S3 metadata must be ASCII; the path was percent-encoded
                # before it reached here, so this only guards odd hosts.
                "source-url": source_url.encode("ascii", "backslashreplace").decode("ascii")[:1024],
            },
        )
        return True
    except Exception as exc:
        logger.warning("s3 cache write failed", extra={"key": key, "error": repr(exc)})
        return False
