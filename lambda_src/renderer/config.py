"""Environment configuration and lazily created AWS clients for the renderer.

Clients are created once per execution environment and reused across warm
invocations: a client per invocation leaks connection pools and, under burst
concurrency, exhausts the ~1024 file descriptors Lambda allows (EMFILE /
"too many open files", see the lambda-client-reuse field report).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# CloudFront gives the custom origin 30 s (edge_settings read_timeout); the
# renderer must answer before that, with time left for the S3 write and the
# response, or the crawler sees a bodiless CloudFront 504 instead of ours.
MAX_RENDER_TIMEOUT_MS = 27_000
SERVICE_NAME = "prerender-renderer"
DEFAULT_RENDER_TIMEOUT_MS = 20_000
DEFAULT_CACHE_TTL_SECONDS = 86_400
DEFAULT_CHROMIUM_FALLBACK = "/usr/bin/chromium"


class ConfigError(ValueError):
    """Raised for a configuration that would make the renderer unsafe."""


@dataclass(frozen=True)
class Config:
    # netloc (lower-case host[:port]) -> scheme; a request may only name one of
    # these hosts, so the renderer can never be used as an open proxy.
    site_origins: dict[str, str]
    cache_bucket: str
    cache_ttl_seconds: int
    chromium_path: str
    render_timeout_ms: int
    tracking_parameters: tuple[str, ...] = ()


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def parse_site_origins(raw: str) -> dict[str, str]:
    origins: dict[str, str] = {}
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ConfigError(f"SITE_ORIGINS entry must be scheme://host[:port], got {item!r}")
        origins[parts.netloc.lower()] = parts.scheme
    return origins


def load_config() -> Config:
    timeout = _int_env("RENDER_TIMEOUT_MS", DEFAULT_RENDER_TIMEOUT_MS)
    return Config(
        site_origins=parse_site_origins(os.environ.get("SITE_ORIGINS", "")),
        cache_bucket=os.environ.get("CACHE_BUCKET", "").strip(),
        cache_ttl_seconds=max(0, _int_env("CACHE_TTL_SECONDS", DEFAULT_CACHE_TTL_SECONDS)),
        chromium_path=os.environ.get("CHROMIUM_PATH", "").strip(),
        render_timeout_ms=max(1_000, min(timeout, MAX_RENDER_TIMEOUT_MS)),
        tracking_parameters=tuple(
            p.strip().lower() for p in os.environ.get("TRACKING_PARAMETERS", "").split(",") if p.strip()
        ),
    )


_lock = threading.Lock()
_config: Config | None = None
_clients: dict[str, Any] = {}


def get_config() -> Config:
    global _config
    if _config is None:
        _config = load_config()
    return _config


def reload_config() -> Config:
    """Forget cached config and clients (tests change the environment)."""
    global _config
    with _lock:
        _config = None
        _clients.clear()
    return get_config()


def client(service: str) -> Any:
    """One boto3 client per service per execution environment.

    boto3 reads AWS_ENDPOINT_URL itself, which is how tests point S3 and
    Secrets Manager at a loopback moto server.
    """
    existing = _clients.get(service)
    if existing is not None:
        return existing
    with _lock:
        existing = _clients.get(service)
        if existing is None:
            import boto3
            from botocore.config import Config as BotoConfig

            # Short timeouts and few retries: the cache is an optimisation,
            # and a hanging S3 call would eat the crawler's 30 s budget.
            existing = boto3.Session().client(
                service,
                config=BotoConfig(
                    connect_timeout=2,
                    read_timeout=5,
                    retries={"max_attempts": 2, "mode": "standard"},
                    max_pool_connections=4,
                ),
            )
            _clients[service] = existing
    return existing


def resolve_chromium_path(config: Config, bundled_path: str | None) -> str | None:
    """Executable to launch, or None to let Playwright use its bundled build.

    Order: CHROMIUM_PATH, Playwright's bundled browser (the container image),
    then Debian's /usr/bin/chromium (developer machines and CI, where
    ``playwright install`` cannot download a browser).
    """
    if config.chromium_path:
        return config.chromium_path
    if bundled_path and os.path.exists(bundled_path):
        return None
    if os.path.exists(DEFAULT_CHROMIUM_FALLBACK):
        return DEFAULT_CHROMIUM_FALLBACK
    return None
