"""The ``edge`` section: CloudFront in front of the single-page app, crawlers routed to our renderer."""

from __future__ import annotations

from dataclasses import dataclass

from stack_config.aws_values import HOSTED_ZONE_ID, HOSTNAME
from stack_config.parsing import setting

DIGEST_REF = r"[a-z0-9.-]+(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}"


@dataclass(frozen=True)
class SpaOriginConfig:
    # An S3 bucket behind origin access control (the default: nothing public), or an existing host.
    host: str | None = setting(
        None,
        pattern=HOSTNAME,
        what="a hostname like 'main.d1a2b3.amplifyapp.com'",
        doc="set to put CloudFront in front of an existing host (Amplify...) instead of S3",
    )


@dataclass(frozen=True)
class RendererConfig:
    image: str | None = setting(
        None,
        pattern=DIGEST_REF,
        what="an image reference by digest ('<repo>@sha256:<64 hex>')",
        doc="an already-pushed image; unset: built from lambda_src/renderer into its own repository",
    )
    memory_mb: int = setting(
        2048, min=1024, max=10240, doc="Chromium needs ~1 GB; 2 GB also buys the CPU a render needs"
    )
    reserved_concurrency: int = setting(
        5, min=1, max=100, doc="the cost ceiling: a crawler storm queues, the bill doesn't"
    )
    cache_ttl_seconds: int = setting(
        86400, min=60, max=31536000, doc="a rendered page changes rarely: one render a day"
    )
    render_timeout_ms: int = setting(
        20000, min=1000, max=25000, doc="below CloudFront's 30 s read timeout, so a slow page is a clean 504"
    )
    throttle_rate_per_second: int = setting(20, min=1, max=10000, doc="API Gateway throttling in front of the renderer")


@dataclass(frozen=True)
class EdgeConfig:
    # The names viewers (and crawlers) use; the renderer may render these and nothing else: never an open proxy.
    domain_names: list[str] = setting(min=1, max=10, each={"pattern": HOSTNAME, "what": "a lowercase hostname"})
    hosted_zone_id: str | None = setting(None, pattern=HOSTED_ZONE_ID, what="a Route 53 hosted zone id")
    certificate_arn: str | None = setting(
        None,
        pattern=r"arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}",
        what="an ACM certificate ARN in us-east-1 (CloudFront only reads certificates there)",
    )
    spa_origin: SpaOriginConfig = setting(default_factory=SpaOriginConfig)
    renderer: RendererConfig = setting(default_factory=RendererConfig)
    price_class: str = setting(
        "PriceClass_100",
        choices=("PriceClass_100", "PriceClass_200", "PriceClass_All"),
        doc="North America and Europe edges only: the cheapest, where our crawlers come from",
    )
    static_path_patterns: list[str] = setting(
        default_factory=lambda: ["/assets/*", "*.js", "*.css", "*.png", "*.jpg", "*.svg", "*.ico", "*.woff2"],
        max=20,
        each={"pattern": r"[A-Za-z0-9_*./-]{1,255}", "what": "a CloudFront path pattern"},
        doc="served without any edge function: assets are never prerendered and should cost nothing extra",
    )

    @property
    def site_origins(self) -> list[str]:
        return [f"https://{name}" for name in self.domain_names]
