"""Monthly cost model: the field report's prerender design vs ours.

Run: ``python bench/cost_model.py`` (prints Markdown tables).
``compute()`` returns the numbers for tests/lambda_src/test_cost_model.py.

Prices
------
AWS public list prices, us-east-1, as recorded on 2026-11-23 from the AWS
pricing pages as last known to the author (they have been unchanged since at
least 2023; this machine has no internet access to re-check them, so verify
before quoting). The report's own ap-south-1 prices are reproduced as it
printed them.
"""

from __future__ import annotations

import math
import pathlib
import sys
from dataclasses import asdict, dataclass, field, replace

PRICES_AS_OF = "2026-11-23"
PRICES_REGION = "us-east-1"

# -- us-east-1 list prices ----------------------------------------------------
PRICES_US_EAST_1 = {
    # AWS Lambda (x86), first pricing tier
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": 0.0000166667,
    # Lambda@Edge (no free tier; billed per 1 ms, 128 MB minimum for viewer events)
    "edge_request": 0.60 / 1_000_000,
    "edge_gb_second": 0.00005001,
    # API Gateway HTTP API, first 300 M requests (per 512 KB)
    "apigw_http_request": 1.00 / 1_000_000,
    # S3 Standard
    "s3_get": 0.0004 / 1_000,
    "s3_put": 0.005 / 1_000,
    "s3_gb_month": 0.023,
    # CloudFront (United States / Europe price class)
    "cloudfront_https_request": 0.0100 / 10_000,
    "cloudfront_gb_out": 0.085,
    "cloudfront_origin_shield_request": 0.0075 / 10_000,
    # CloudFront Functions and KeyValueStore (reads from functions)
    "cloudfront_function_invocation": 0.10 / 1_000_000,
    "kvs_read": 0.03 / 1_000_000,
    # Secrets Manager
    "secret_month": 0.40,
    "secrets_api_call": 0.05 / 10_000,
    # AWS WAF (https://aws.amazon.com/waf/pricing/): a rule in a web ACL, and Bot Control's common level, which is
    # billed per request it inspects on top of its monthly fee (no free tier assumed)
    "waf_rule_month": 1.00,
    "waf_bot_control_month": 10.00,
    "waf_bot_control_request": 1.00 / 1_000_000,
    # CloudWatch custom metrics (EMF-extracted metrics are custom metrics)
    "custom_metric_month": 0.30,
    "cloudwatch_logs_gb": 0.50,
}

# Free tiers that apply to these services (monthly).
FREE_TIER = {
    "lambda_requests": 1_000_000,
    "lambda_gb_seconds": 400_000,
    "cloudfront_requests": 10_000_000,
    "cloudfront_function_invocations": 2_000_000,
    "cloudfront_gb_out": 1_024,
    "custom_metrics": 10,
    "cloudwatch_logs_gb": 5,
}

# -- The field report's design and prices (ap-south-1, as printed) -------------
REPORT_PRICES = {
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": 0.0000166667,  # printed rounded as $0.0000167
    "apigw_http_request": 1.00 / 1_000_000,
    "s3_get": 0.00043 / 1_000,
    "s3_put": 0.0054 / 1_000,
}
REPORT_PAGES = 241
REPORT_DAYS = 30
# "Cache miss compute 2GB x 8s = 16 GB-s per render; cache hit 2GB x 0.5s = 1 GB-s"
REPORT_GB_S_PER_RENDER = 16.0
REPORT_GB_S_PER_HIT = 1.0
# The report's table (bot requests -> renders it assumed, printed total).
REPORT_TABLE = [
    (100, 20, 0.0),
    (1_000, 200, 0.0),
    (10_000, 1_000, 0.01),
    (100_000, 3_000, 0.10),
    (1_000_000, 7_230, 13.0),
]
PRERENDER_IO_PLAN_FOR_1M = 199.0  # "$199+" at 1 M requests/month in the report


@dataclass(frozen=True)
class Assumptions:
    bot_requests: int = 1_000_000
    pages: int = 241
    days: int = 30
    ttl_hours: int = 24
    # CloudFront has 13 regional edge caches (RECs). Without Origin Shield each
    # REC that sees a page fetches it from the origin once per TTL: worst case
    # 13 x pages x days origin fetches. With Origin Shield the fetches collapse
    # to ~1 x pages x days. Real eviction of cold objects can add more; those
    # extra fetches become S3 HITs at the renderer, not renders.
    regional_edge_caches: int = 13
    origin_shield: bool = False
    # Renderer: 2048 MB Lambda; a render (cold start mix included) ~2.5 s;
    # an S3 HIT ~0.1 s (measured ~25 ms warm in-process, padded for cold).
    renderer_memory_gb: float = 2.0
    render_seconds: float = 2.5
    hit_seconds: float = 0.1
    # Edge: Python handler runs in ~10 us but Lambda@Edge bills >= 1 ms.
    edge_memory_gb: float = 0.125
    edge_billed_seconds: float = 0.001
    snapshot_kb: float = 40.0
    use_secrets_manager: bool = True
    custom_metrics: int = 4  # CacheHit, CacheMiss, RenderDuration, RenderError
    log_kb_per_renderer_invocation: float = 1.5
    apply_free_tier: bool = True


@dataclass
class Breakdown:
    label: str
    lines: dict = field(default_factory=dict)
    gb_seconds: float = 0.0  # the renderer's Lambda compute, for the scaling table

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def report_design(bot_requests: int = 1_000_000, renders: int | None = None) -> Breakdown:
    """The report's arithmetic: every bot request invokes the renderer Lambda
    (no CloudFront caching of bot pages, cache-buster header), 2 GB each."""
    if renders is None:
        renders = min(bot_requests, REPORT_PAGES * REPORT_DAYS)
    hits = bot_requests - renders
    gb_s = renders * REPORT_GB_S_PER_RENDER + hits * REPORT_GB_S_PER_HIT
    billable_gb_s = max(0.0, gb_s - FREE_TIER["lambda_gb_seconds"])
    billable_requests = max(0, bot_requests - FREE_TIER["lambda_requests"])
    out = Breakdown("Report design (report's scope & ap-south-1 prices, free tier)")
    out.lines["renderer Lambda compute"] = billable_gb_s * REPORT_PRICES["lambda_gb_second"]
    out.lines["renderer Lambda requests"] = billable_requests * REPORT_PRICES["lambda_request"]
    out.lines["API Gateway HTTP API"] = bot_requests * REPORT_PRICES["apigw_http_request"]
    out.lines["S3 GET (cache reads)"] = bot_requests * REPORT_PRICES["s3_get"]
    out.lines["S3 PUT (renders)"] = renders * REPORT_PRICES["s3_put"]
    out.gb_seconds = gb_s
    return out


def _free(value: float, allowance: float, apply: bool) -> float:
    return max(0.0, value - allowance) if apply else value


def origin_fetches(a: Assumptions) -> int:
    windows = a.days * 24 / a.ttl_hours
    layers = 1 if a.origin_shield else a.regional_edge_caches
    return min(a.bot_requests, math.ceil(a.pages * windows * layers))


def renders(a: Assumptions) -> int:
    windows = a.days * 24 / a.ttl_hours
    return min(origin_fetches(a), math.ceil(a.pages * windows))


def our_design(a: Assumptions, scope: str = "full") -> Breakdown:
    """Our design at ``a``. scope="report" keeps only the report's line items
    (renderer Lambda, API Gateway, S3) for a like-for-like comparison;
    scope="full" adds Lambda@Edge, Secrets Manager and CloudWatch metrics."""
    p = PRICES_US_EAST_1
    fetches = origin_fetches(a)
    n_renders = renders(a)
    hits = fetches - n_renders
    gb_s = a.renderer_memory_gb * (n_renders * a.render_seconds + hits * a.hit_seconds)
    label = (
        "Ours, "
        + ("report's scope" if scope == "report" else "full incremental")
        + (", free tier" if a.apply_free_tier else ", no free tier")
    )
    if a.origin_shield:
        label += ", Origin Shield"
    if scope == "full" and not a.use_secrets_manager:
        label += ", token in env (no Secrets Manager)"
    out = Breakdown(label)
    out.lines["renderer Lambda compute"] = (
        _free(gb_s, FREE_TIER["lambda_gb_seconds"], a.apply_free_tier) * p["lambda_gb_second"]
    )
    out.lines["renderer Lambda requests"] = (
        _free(fetches, FREE_TIER["lambda_requests"], a.apply_free_tier) * p["lambda_request"]
    )
    out.lines["API Gateway HTTP API"] = fetches * p["apigw_http_request"]
    out.lines["S3 GET (cache reads)"] = fetches * p["s3_get"]
    out.lines["S3 PUT (renders)"] = n_renders * p["s3_put"]
    out.lines["S3 storage"] = a.pages * a.snapshot_kb / 1024 / 1024 * p["s3_gb_month"]
    if a.origin_shield:
        out.lines["CloudFront Origin Shield"] = (
            a.regional_edge_caches * a.pages * a.days * p["cloudfront_origin_shield_request"]
        )
    if scope == "full":
        edge_gb_s_viewer = a.bot_requests * a.edge_memory_gb * a.edge_billed_seconds
        edge_gb_s_origin = fetches * a.edge_memory_gb * a.edge_billed_seconds
        out.lines["Lambda@Edge viewer-request (bots)"] = (
            a.bot_requests * p["edge_request"] + edge_gb_s_viewer * p["edge_gb_second"]
        )
        out.lines["Lambda@Edge origin-request (misses)"] = (
            fetches * p["edge_request"] + edge_gb_s_origin * p["edge_gb_second"]
        )
        if a.use_secrets_manager:
            cold_starts = n_renders  # upper bound: at most one fetch per render
            out.lines["Secrets Manager"] = p["secret_month"] + cold_starts * p["secrets_api_call"]
        metrics_billed = _free(a.custom_metrics, FREE_TIER["custom_metrics"], a.apply_free_tier)
        out.lines["CloudWatch custom metrics"] = metrics_billed * p["custom_metric_month"]
        log_gb = fetches * a.log_kb_per_renderer_invocation / 1024 / 1024
        out.lines["CloudWatch Logs ingest"] = (
            _free(log_gb, FREE_TIER["cloudwatch_logs_gb"], a.apply_free_tier) * p["cloudwatch_logs_gb"]
        )
    out.gb_seconds = gb_s
    return out


def cloudfront_delivery(a: Assumptions) -> Breakdown:
    """Serving the bot requests at all (paid with or without prerendering)."""
    p = PRICES_US_EAST_1
    gb = a.bot_requests * a.snapshot_kb / 1024 / 1024
    out = Breakdown("CloudFront delivery of bot traffic (both designs)")
    out.lines["requests"] = (
        _free(a.bot_requests, FREE_TIER["cloudfront_requests"], a.apply_free_tier) * p["cloudfront_https_request"]
    )
    out.lines["data transfer out"] = (
        _free(gb, FREE_TIER["cloudfront_gb_out"], a.apply_free_tier) * p["cloudfront_gb_out"]
    )
    return out


@dataclass(frozen=True)
class Traffic:
    """A month of the edge's traffic: the issue's 10 M human page views and 1 M crawler requests."""

    human_page_views: int = 10_000_000
    crawler_requests: int = 1_000_000
    # Asset requests that reach CloudFront per human page view (fingerprinted, so browsers cache most): they run
    # the viewer-request function only on a stack with routed origins (a variant's build serves its own assets).
    asset_requests_per_page_view: int = 5
    routed_origins: bool = True


def edge_v1_v2(a: Assumptions | None = None, traffic: Traffic | None = None) -> dict[str, Breakdown]:
    """The whole edge, old design (Lambda@Edge router, HTTP API, token) against new (CloudFront Functions, OAC).

    Both render the same pages (origin fetches and renders come from ``a``); what differs is what runs in front of
    every page view. The old pages cache policy had a default TTL of 0, so every human page view was a cache miss
    and ran origin-request too; the new one runs viewer-request and viewer-response, one KeyValueStore read each.
    """
    a = a or Assumptions()
    t = traffic or Traffic()
    p = PRICES_US_EAST_1
    views = t.human_page_views + t.crawler_requests
    fetches = origin_fetches(replace(a, bot_requests=t.crawler_requests))
    n_renders = renders(replace(a, bot_requests=t.crawler_requests))
    gb_s = a.renderer_memory_gb * (n_renders * a.render_seconds + (fetches - n_renders) * a.hit_seconds)
    edge_each = p["edge_request"] + a.edge_memory_gb * a.edge_billed_seconds * p["edge_gb_second"]

    def renderer(out: Breakdown) -> None:
        out.lines["renderer Lambda compute"] = (
            _free(gb_s, FREE_TIER["lambda_gb_seconds"], a.apply_free_tier) * p["lambda_gb_second"]
        )
        out.lines["renderer Lambda requests"] = (
            _free(fetches, FREE_TIER["lambda_requests"], a.apply_free_tier) * p["lambda_request"]
        )
        out.lines["S3 (cache reads, renders)"] = fetches * p["s3_get"] + n_renders * p["s3_put"]

    old = Breakdown("old: Lambda@Edge router + HTTP API + token")
    old.lines["Lambda@Edge viewer-request (every page view)"] = views * edge_each
    old.lines["Lambda@Edge origin-request (human misses + crawler fetches)"] = (
        t.human_page_views + fetches
    ) * edge_each
    old.lines["API Gateway HTTP API"] = fetches * p["apigw_http_request"]
    old.lines["Secrets Manager (token)"] = p["secret_month"] + n_renders * p["secrets_api_call"]
    renderer(old)

    new = Breakdown("new: CloudFront Functions + KeyValueStore + OAC")
    invocations = 2 * views + (t.human_page_views * t.asset_requests_per_page_view if t.routed_origins else 0)
    new.lines["CloudFront Functions (viewer-request + viewer-response, routed assets)"] = (
        _free(invocations, FREE_TIER["cloudfront_function_invocations"], a.apply_free_tier)
        * p["cloudfront_function_invocation"]
    )
    new.lines["KeyValueStore reads (one per invocation)"] = invocations * p["kvs_read"]
    renderer(new)
    return {"old": old, "new": new}


def crawler_verification(traffic: Traffic | None = None) -> Breakdown:
    """Issue 31: Bot Control at the distribution's web ACL, counting and labelling pages only (its scope-down), and
    the two rules that turn its verdict into the x-amzn-waf-crawler header. Assets are not inspected."""
    t = traffic or Traffic()
    p = PRICES_US_EAST_1
    out = Breakdown("crawler verification: WAF Bot Control (common, pages only) + 2 header rules")
    out.lines["Bot Control subscription"] = p["waf_bot_control_month"] + p["waf_rule_month"]  # + its rule in the ACL
    out.lines["Bot Control requests (every page view, human or crawler)"] = (
        t.human_page_views + t.crawler_requests
    ) * p["waf_bot_control_request"]
    out.lines["header rules (verified / unverified)"] = 2 * p["waf_rule_month"]
    return out


def compute(a: Assumptions | None = None) -> dict:
    """All figures the README/report quotes, as plain numbers."""
    a = a or Assumptions()
    report_rows = []
    for bot_requests, assumed_renders, printed in REPORT_TABLE:
        b = report_design(bot_requests, assumed_renders)
        report_rows.append(
            {
                "bot_requests": bot_requests,
                "renders": assumed_renders,
                "gb_seconds": b.gb_seconds,
                "computed_total": b.total,
                "printed_total": printed,
            }
        )
    report_1m = report_design(a.bot_requests)
    scenarios = {
        "ours_report_scope_free_tier": our_design(replace(a, apply_free_tier=True), "report"),
        "ours_report_scope_no_free_tier": our_design(replace(a, apply_free_tier=False), "report"),
        "ours_full_free_tier": our_design(replace(a, apply_free_tier=True), "full"),
        "ours_full_no_free_tier": our_design(replace(a, apply_free_tier=False), "full"),
        "ours_full_origin_shield_env_token": our_design(
            replace(a, apply_free_tier=True, origin_shield=True, use_secrets_manager=False), "full"
        ),
    }
    # The report's design pays the same edge functions (its origin-request runs
    # on every bot request because the cache-buster makes each one a miss).
    p = PRICES_US_EAST_1
    report_edge = (
        a.bot_requests * 2 * (p["edge_request"] + a.edge_memory_gb * a.edge_billed_seconds * p["edge_gb_second"])
    )
    return {
        "assumptions": asdict(a),
        "prices": {"as_of": PRICES_AS_OF, "region": PRICES_REGION, **PRICES_US_EAST_1},
        "report_rows": report_rows,
        "report_1m_total": report_1m.total,
        "report_1m_lines": report_1m.lines,
        "report_1m_full_total": report_1m.total + report_edge,
        "origin_fetches": origin_fetches(a),
        "renders": renders(a),
        "cloudfront_bot_hit_ratio": 1 - origin_fetches(a) / a.bot_requests,
        "scenarios": {name: {"total": b.total, "lines": b.lines, "label": b.label} for name, b in scenarios.items()},
        "ours_total": scenarios["ours_report_scope_free_tier"].total,
        "cloudfront_delivery_free_tier": cloudfront_delivery(replace(a, apply_free_tier=True)).total,
        "cloudfront_delivery_no_free_tier": cloudfront_delivery(replace(a, apply_free_tier=False)).total,
        "prerender_io": PRERENDER_IO_PLAN_FOR_1M,
        "edge_v1_v2": {
            name: {"total": b.total, "lines": b.lines, "label": b.label} for name, b in edge_v1_v2(a).items()
        },
        "crawler_verification": {
            "total": (v := crawler_verification()).total,
            "lines": v.lines,
            "label": v.label,
        },
        "traffic": asdict(Traffic()),
    }


def _money(x: float) -> str:
    return f"${x:,.2f}" if x >= 0.01 or x == 0 else f"${x:.4f}"


def markdown(result: dict) -> str:
    out = []
    a = result["assumptions"]
    out.append(f"Prices: AWS list prices, {result['prices']['region']}, recorded {result['prices']['as_of']}.")
    out.append("")
    out.append("### Report reproduction (its own scope and ap-south-1 prices, with free tier)")
    out.append("")
    out.append("| bot requests/mo | renders | renderer GB-s | computed | report printed |")
    out.append("|---:|---:|---:|---:|---:|")
    for row in result["report_rows"]:
        out.append(
            f"| {row['bot_requests']:,} | {row['renders']:,} | {row['gb_seconds']:,.0f} | "
            f"{_money(row['computed_total'])} | ~{_money(row['printed_total'])} |"
        )
    out.append("")
    out.append(f"### 1 M bot requests/month, {a['pages']} pages, {a['ttl_hours']} h TTL")
    out.append("")
    out.append(
        f"CloudFront origin fetches for bot pages: {result['origin_fetches']:,} "
        f"({a['regional_edge_caches']} regional edge caches x {a['pages']} pages x {a['days']} days, no Origin Shield) "
        f"-> CloudFront bot hit ratio {result['cloudfront_bot_hit_ratio']:.1%}; renders: {result['renders']:,}."
    )
    out.append("")
    names = list(result["scenarios"])
    lines = []
    for name in names:
        for line in result["scenarios"][name]["lines"]:
            if line not in lines:
                lines.append(line)
    header = "| line item | report design | " + " | ".join(result["scenarios"][n]["label"] for n in names) + " |"
    out.append(header)
    out.append("|---|" + "---:|" * (len(names) + 1))
    for line in lines:
        report_val = result["report_1m_lines"].get(line)
        cells = [_money(report_val) if report_val is not None else "–"]
        for name in names:
            value = result["scenarios"][name]["lines"].get(line)
            cells.append(_money(value) if value is not None else "–")
        out.append(f"| {line} | " + " | ".join(cells) + " |")
    out.append(
        "| **total** | **"
        + _money(result["report_1m_total"])
        + "** | "
        + " | ".join("**" + _money(result["scenarios"][n]["total"]) + "**" for n in names)
        + " |"
    )
    out.append("")
    out.append(
        f"- Report design incl. its two Lambda@Edge events on every bot request: "
        f"{_money(result['report_1m_full_total'])}/month."
    )
    out.append(
        f"- CloudFront delivery of the 1 M bot responses (same in every design): "
        f"{_money(result['cloudfront_delivery_free_tier'])} with the always-free tier, "
        f"{_money(result['cloudfront_delivery_no_free_tier'])} without."
    )
    out.append(f"- prerender.io at this volume: {_money(result['prerender_io'])}+/month.")
    traffic = result["traffic"]
    out.append("")
    out.append(
        f"### The whole edge, old design against new: {traffic['human_page_views']:,} human page views and "
        f"{traffic['crawler_requests']:,} crawler requests a month"
    )
    out.append("")
    out.append("| design | line item | monthly |")
    out.append("|---|---|---:|")
    for design in ("old", "new"):
        block = result["edge_v1_v2"][design]
        for line, value in block["lines"].items():
            out.append(f"| {block['label']} | {line} | {_money(value)} |")
        out.append(f"| {block['label']} | **total** | **{_money(block['total'])}** |")
    verification = result["crawler_verification"]
    for line, value in verification["lines"].items():
        out.append(f"| new + {verification['label']} | {line} | {_money(value)} |")
    total = result["edge_v1_v2"]["new"]["total"] + verification["total"]
    out.append(f"| new + {verification['label']} | **total with the new design** | **{_money(total)}** |")
    out.append("")
    out.append(
        f"- New design assumes routed origins (prod: country and A/B), so asset requests "
        f"({traffic['asset_requests_per_page_view']} per page view) run the viewer-request function too; "
        f"CloudFront request and transfer charges are the same in both designs and left out."
    )
    return "\n".join(out)


def main() -> int:
    result = compute()
    print(markdown(result))
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    from tools import figures

    edge, scenarios, traffic = result["edge_v1_v2"], result["scenarios"], result["traffic"]
    volume = f"{traffic['human_page_views'] / 1e6:g} M human page views + {traffic['crawler_requests'] / 1e6:g} M crawler requests/month"
    old, new = edge["old"]["total"], edge["new"]["total"]
    report, full = scenarios["ours_report_scope_free_tier"]["total"], scenarios["ours_full_free_tier"]["total"]
    a = result["assumptions"]
    figures.record(
        "cost_model",
        ".venv/bin/python bench/cost_model.py",
        [
            figures.figure(
                "edge-old",
                f"whole edge, {volume}: {edge['old']['label']}",
                f"{_money(old)}/month",
                "-",
                True,
                dollars=round(old, 2),
            ),
            figures.figure(
                "edge-new",
                f"whole edge, {volume}: {edge['new']['label']}",
                f"{_money(new)}/month",
                f"cheaper than {_money(old)}",
                new < old,
                dollars=round(new, 2),
            ),
            figures.figure(
                "edge-verified",
                f"the new edge with crawler verification ({result['crawler_verification']['label']})",
                f"{_money(new + result['crawler_verification']['total'])}/month",
                "(info)",
                True,
                dollars=round(new + result["crawler_verification"]["total"], 2),
                verification=round(result["crawler_verification"]["total"], 2),
            ),
            figures.figure(
                "report-scope",
                f"old design at 1 M crawler requests/month, {a['pages']} pages, {a['ttl_hours']} h TTL (report's scope, free tier)",
                f"{_money(report)}/month",
                "<= $1",
                report <= 1,
                dollars=round(report, 2),
            ),
            figures.figure(
                "report-full",
                "the same old design, counting everything it added (Lambda@Edge on crawler requests, Secrets Manager)",
                f"{_money(full)}/month",
                "<= $1",
                full <= 1,
                dollars=round(full, 2),
            ),
        ],
        prices_as_of=result["prices"]["as_of"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
