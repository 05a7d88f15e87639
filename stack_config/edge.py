"""The ``edge`` section: CloudFront in front of the single-page app, crawlers routed to our renderer."""

from __future__ import annotations

import json
import re
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
    log_retention_days: int = setting(
        30,
        choices=(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365),
        doc="the renderer's and the edge functions' logs: long enough to debug a crawler complaint",
    )


COUNTRY = r"[A-Z]{2}"
ORIGIN_NAME = r"[a-z][a-z0-9-]{0,30}"
# The function and the distribution own these origin ids; routing origins must be called something else.
RESERVED_ORIGINS = ("spa", "renderer")
KVS_VALUE_LIMIT = 1024  # CloudFront KeyValueStore: 1 KB per value
DEFAULT_TRACKING = [
    "utm_*",
    "gclid",
    "gbraid",
    "wbraid",
    "dclid",
    "fbclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "igshid",
    "ttclid",
    "twclid",
    "li_fat_id",
    "yclid",
]


@dataclass(frozen=True)
class RoutedOriginConfig:
    host: str = setting(pattern=HOSTNAME, what="a hostname like 'eu.shop-origin.example.com'")


@dataclass(frozen=True)
class VariantConfig:
    name: str = setting(pattern=r"[a-z][a-z0-9-]{0,15}", what="a short lowercase name like 'control'")
    weight: int = setting(min=0, max=100, doc="percent of new viewers; the weights add up to 100")
    origin: str | None = setting(None, pattern=ORIGIN_NAME, what="the name of an entry of routing.origins")


@dataclass(frozen=True)
class RoutingConfig:
    """Country and A/B origin selection by the viewer-request function; the data goes to the KeyValueStore."""

    origins: dict[str, RoutedOriginConfig] = setting(
        default_factory=dict, doc="extra HTTPS origins (an EU build, a variant's build) by name"
    )
    countries: dict[str, str] = setting(
        default_factory=dict,
        each={"pattern": ORIGIN_NAME, "what": "the name of an entry of routing.origins"},
        doc="ISO country code -> origin name; unlisted countries get the app origin",
    )
    variants: list[VariantConfig] = setting(default_factory=list, max=10, doc="A/B split; empty: no experiment")
    tracking_parameters: list[str] = setting(
        default_factory=lambda: list(DEFAULT_TRACKING),
        max=40,
        each={"pattern": r"[a-z0-9_.-]{1,40}\*?", "what": "a lowercase parameter name, or a prefix ending in '*'"},
        doc="removed from the query before the cache key, the origin and the renderer see it",
    )


@dataclass(frozen=True)
class EdgeConfig:
    # The names viewers (and crawlers) use; the renderer may render these and nothing else: never an open proxy.
    domain_names: list[str] = setting(min=1, max=10, each={"pattern": HOSTNAME, "what": "a lowercase hostname"})
    # Another stack's names this distribution can take over (prod-dr standing in for prod): on its certificate and
    # with the `_<name>` TXT record CloudFront's associate-alias asks for, never aliases or DNS records until the
    # runbook moves them (docs/recovery.md, "How the edge fails over"): a name is on one distribution only.
    failover_domain_names: list[str] = setting(
        default_factory=list, max=10, each={"pattern": HOSTNAME, "what": "a lowercase hostname"}
    )
    failover_active: bool = setting(
        False, doc="set once the runbook moved failoverDomainNames here: an `up` during the failover then keeps them"
    )
    hosted_zone_id: str | None = setting(None, pattern=HOSTED_ZONE_ID, what="a Route 53 hosted zone id")
    certificate_arn: str | None = setting(
        None,
        pattern=r"arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}",
        what="an ACM certificate ARN in us-east-1 (CloudFront only reads certificates there)",
    )
    spa_origin: SpaOriginConfig = setting(default_factory=SpaOriginConfig)
    routing: RoutingConfig = setting(default_factory=RoutingConfig)
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
    def spa_fallback(self) -> str:
        """The entry document deep links need from an S3 origin; an existing host does its own rewrites."""
        return "" if self.spa_origin.host else "/index.html"

    @property
    def aliases(self) -> list[str]:
        """The names on the distribution: its own, plus the ones it took over while a failover is active."""
        return [*self.domain_names, *(self.failover_domain_names if self.failover_active else [])]

    @property
    def site_origins(self) -> list[str]:
        # The shop's own names, failover ones included: crawlers ask for shop.example.com pages once it moved here.
        return [f"https://{name}" for name in (*self.domain_names, *self.failover_domain_names)]


def kvs_entries(cfg: EdgeConfig) -> dict[str, str]:
    """What the viewer functions read from the KeyValueStore (lambda_src/edge_function/common.template.js)."""
    routing = cfg.routing
    variants = [{"name": v.name, "weight": v.weight, "origin": v.origin or ""} for v in routing.variants]
    document = {
        "countries": dict(sorted(routing.countries.items())),
        "variants": variants,
        "tracking": routing.tracking_parameters,
        "fallback": cfg.spa_fallback,
    }
    # One key: the functions read it once per request, and reads are what a KeyValueStore bills.
    return {"routing": json.dumps(document, separators=(",", ":"), sort_keys=True)}


def routing_problems(cfg: EdgeConfig) -> list[tuple[str, str]]:
    """(key under edge, message) for routing that would misroute viewers; the loader and the component both ask."""
    routing = cfg.routing
    problems: list[tuple[str, str]] = []
    names = set(routing.origins)
    allowed = ", ".join(sorted(names)) or "none defined: add routing.origins"
    for name in sorted(names & set(RESERVED_ORIGINS)):
        problems.append((f"routing.origins.{name}", f"'{name}' is reserved (allowed: any other name)"))
    for name in routing.origins:
        if not re.fullmatch(ORIGIN_NAME, name):
            problems.append((f"routing.origins.{name}", f"{name!r} is not a lowercase origin name like 'eu'"))
    for country, origin in routing.countries.items():
        if not re.fullmatch(COUNTRY, country):
            problems.append((f"routing.countries.{country}", f"{country!r} is not an ISO country code like 'DE'"))
        if origin not in names:
            problems.append(
                (f"routing.countries.{country}", f"{origin!r} is not a routing origin (allowed: {allowed})")
            )
    if routing.variants:
        total = sum(v.weight for v in routing.variants)
        if total != 100:
            problems.append(("routing.variants", f"weights add up to {total} (allowed: exactly 100)"))
        seen: set[str] = set()
        for index, v in enumerate(routing.variants):
            if v.name in seen:
                problems.append(
                    (f"routing.variants[{index}].name", f"{v.name!r} is used twice (allowed: unique names)")
                )
            seen.add(v.name)
            if v.origin and v.origin not in names:
                problems.append(
                    (f"routing.variants[{index}].origin", f"{v.origin!r} is not a routing origin (allowed: {allowed})")
                )
    for value in kvs_entries(cfg).values():
        if len(value.encode()) > KVS_VALUE_LIMIT:
            problems.append(("routing", f"is {len(value.encode())} bytes in the KeyValueStore (allowed: 1024)"))
    return problems


def alias_problems(cfg: EdgeConfig, claims: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(key under edge, message) for names two distributions would both claim; ``claims``: other stacks' domainNames.

    CloudFront lets an alternate domain name be on one distribution only: the second stack's `up` fails with
    CNAMEAlreadyExists (and a stack that took the name over by hand loses it again at its next `up`). A failover
    name must be a name another stack serves, or there is nothing to take over.
    """
    owner = {name: stack for stack, names in sorted(claims.items()) for name in names}
    problems: list[tuple[str, str]] = []
    for index, name in enumerate(cfg.domain_names):
        if name in owner:
            problems.append(
                (
                    f"domainNames[{index}]",
                    f"{name!r} is already an alias of stack '{owner[name]}': a CloudFront alternate domain name is on "
                    f"one distribution only (allowed: a name no other stack lists; to stand in for "
                    f"'{owner[name]}', list it under failoverDomainNames)",
                )
            )
    for index, name in enumerate(cfg.failover_domain_names):
        if name in cfg.domain_names:
            problems.append(
                (f"failoverDomainNames[{index}]", f"{name!r} is this stack's own alias (allowed: another stack's)")
            )
        elif name not in owner:
            known = ", ".join(sorted(owner)) or "none"
            problems.append(
                (
                    f"failoverDomainNames[{index}]",
                    f"{name!r} is no other stack's alias, so there is nothing to take over (allowed: {known})",
                )
            )
    if cfg.failover_domain_names and not cfg.hosted_zone_id:
        problems.append(
            (
                "failoverDomainNames",
                "needs hostedZoneId: the certificate is validated and the associate-alias TXT records are written there",
            )
        )
    if cfg.failover_active and not cfg.failover_domain_names:
        problems.append(("failoverActive", "is true with no failoverDomainNames (allowed: false)"))
    if cfg.failover_domain_names and cfg.certificate_arn:
        problems.append(
            (
                "certificateArn",
                "is set with failoverDomainNames (allowed: one or the other): the stack issues the certificate that "
                "covers the names it takes over, and cannot check that a given one does",
            )
        )
    return problems
