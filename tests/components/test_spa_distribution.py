"""SpaDistribution + EdgeFunctions: the generated function run in Node against the snapshot's routing data.

The function's code and the KeyValueStore entries are read from the preview snapshot (what `pulumi up` would send),
the cache key is computed from the snapshot's cache policy, and the origin chosen is what the function asked the
stubbed `cloudfront` module for.
"""

from __future__ import annotations

import itertools
import json
import pathlib

import pytest

from tests.conftest import run_preview
from tools import cloudfront_harness as cf

DIST = "aws:cloudfront/distribution:Distribution"
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HUMAN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture(scope="module")
def prod(shipped_preview):
    return shipped_preview("prod")


@pytest.fixture(scope="module")
def edge(prod, tmp_path_factory):
    """Runs the snapshot's viewer functions with the snapshot's KeyValueStore entries."""
    pairs = prod.one("aws:cloudfront/keyvaluestoreKeysExclusive:KeyvaluestoreKeysExclusive", "routing")["inputs"]
    kvs = {p["key"]: p["value"] for p in pairs["resourceKeyValuePairs"]}
    folder = tmp_path_factory.mktemp("functions")
    paths = {}
    for name in ("viewer-request", "viewer-response"):
        paths[name] = folder / f"{name}.js"
        paths[name].write_text(prod.one("aws:cloudfront/function:Function", name)["inputs"]["code"])

    def run(name: str, events: list[dict]) -> list[dict]:
        return cf.run(pathlib.Path(paths[name]), kvs, events)

    return run


def cache_key(policy_inputs: dict, request: dict) -> tuple:
    """CloudFront's cache key after viewer-request: URI, query (per the policy) and the policy's headers."""
    params = policy_inputs["parametersInCacheKeyAndForwardedToOrigin"]
    names = params["headersConfig"]["headers"]["items"]
    headers = tuple((n, request["headers"].get(n, {}).get("value")) for n in sorted(names))
    assert params["cookiesConfig"]["cookieBehavior"] == "none"
    query = ""
    if params["queryStringsConfig"]["queryStringBehavior"] == "all":
        query = "&".join(f"{k}={v['value']}" for k, v in sorted(request["querystring"].items()))
    return request["uri"], query, headers


def origin_of(result: dict) -> str:
    for call in result["calls"]:
        if "select" in call:
            return call["select"]
        if "group" in call:
            return "+".join(o["originId"] for o in call["group"]["originIds"])
    return "spa"


def test_no_two_audiences_share_a_cache_entry(prod, edge):
    """Crawler / human x country x variant: every combination routed differently has its own entry."""
    policy = prod.one("aws:cloudfront/cachePolicy:CachePolicy", "pages")["inputs"]
    combos = list(itertools.product([CRAWLER, HUMAN], ["DE", "US"], ["control", "redesign"]))
    events = [
        cf.viewer_request(
            "/products/42", ua, headers={"cloudfront-viewer-country": country}, cookies={"edge-variant": variant}
        )
        for ua, country, variant in combos
    ]
    results = edge("viewer-request", events)
    keys: dict[tuple, set] = {}
    for (ua, country, variant), r in zip(combos, results, strict=True):
        audience = "crawler" if ua == CRAWLER else f"{country}/{variant}/{origin_of(r)}"
        keys.setdefault(cache_key(policy, r["result"]), set()).add(audience if ua == HUMAN else "crawler")
    assert all(len(audiences) == 1 for audiences in keys.values()), keys
    assert len(keys) == 1 + 4, "one crawler entry per page, one per country route x variant for humans"


def test_crawlers_go_to_the_renderer_with_failover_to_the_app_shell(edge):
    (r,) = edge("viewer-request", [cf.viewer_request("/products/42", CRAWLER, querystring={"page": "2"})])
    group = next(c["group"] for c in r["calls"] if "group" in c)
    assert [o["originId"] for o in group["originIds"]] == ["renderer", "spa"]
    assert 500 in group["failoverCriteria"]["statusCodes"] and 404 not in group["failoverCriteria"]["statusCodes"]
    request = r["result"]
    assert request["headers"]["x-prerender-uri"]["value"] == "/products/42"
    assert request["uri"] == "/index.html", "the S3 origin's answer on failover is the app shell"


def test_a_human_sending_the_markers_lands_on_the_human_entry(prod, edge):
    policy = prod.one("aws:cloudfront/cachePolicy:CachePolicy", "pages")["inputs"]
    spoof = {"x-prerender": "1", "x-prerender-host": "shop.example.com", "x-variant": "redesign"}
    honest, spoofer = edge(
        "viewer-request",
        [
            cf.viewer_request("/p", HUMAN, cookies={"edge-variant": "control"}),
            cf.viewer_request("/p", HUMAN, headers=spoof, cookies={"edge-variant": "control"}),
        ],
    )
    assert cache_key(policy, honest["result"]) == cache_key(policy, spoofer["result"])
    assert not spoofer["calls"], "no renderer, no other origin"


def test_a_crawler_the_web_acl_did_not_verify_gets_the_app_like_a_person(prod, edge):
    policy = prod.one("aws:cloudfront/cachePolicy:CachePolicy", "pages")["inputs"]
    spoofed, person = edge(
        "viewer-request",
        [
            cf.viewer_request("/p", CRAWLER, crawler_check="unverified", cookies={"edge-variant": "control"}),
            cf.viewer_request("/p", HUMAN, crawler_check="unverified", cookies={"edge-variant": "control"}),
        ],
    )
    assert origin_of(spoofed) != "renderer+spa" and "x-prerender" not in spoofed["result"]["headers"]
    assert cache_key(policy, spoofed["result"]) == cache_key(policy, person["result"])


def _renderer_successes(arrivals: list[tuple[float, bool]], routed: list[bool], slots: int, render_s: float) -> int:
    """Verified requests the renderer answers: each render holds one of ``slots`` (reserved concurrency) for
    ``render_s``; a request that finds every slot busy gets Lambda's 429 (no CloudFront failover on 429)."""
    busy_until: list[float] = []
    ok = 0
    for (at, verified), to_renderer in zip(arrivals, routed, strict=True):
        if not to_renderer:
            continue
        busy_until = [t for t in busy_until if t > at]
        if len(busy_until) < slots:
            busy_until.append(at + render_s)
            ok += verified
    return ok


def test_a_flood_of_unverified_crawlers_does_not_lower_verified_crawlers_success(prod, edge):
    slots = prod.one("aws:lambda/function:Function", "renderer")["inputs"]["reservedConcurrentExecutions"]
    # 4 real crawler requests a second for 5 s (well within the ceiling), and 2,000 spoofed ones in the same 5 s.
    real = [(i / 4, True) for i in range(20)]
    flood = [(i / 400, False) for i in range(2000)]
    arrivals = sorted(real + flood)

    def routed(check_spoofed: str) -> list[bool]:
        events = [
            cf.viewer_request(f"/products/{n}", CRAWLER, crawler_check="verified" if real else check_spoofed)
            for n, (_, real) in enumerate(arrivals)
        ]
        return [origin_of(r) == "renderer+spa" for r in edge("viewer-request", events)]

    alone = _renderer_successes(real, [True] * len(real), slots, render_s=1.5)
    with_flood = _renderer_successes(arrivals, routed("unverified"), slots, render_s=1.5)
    assert alone == len(real), "without the flood every verified request is rendered"
    assert with_flood == alone
    # Control: the same flood if the function trusted the user agent alone (every crawler taken as verified).
    trusting = _renderer_successes(arrivals, routed("verified"), slots, render_s=1.5)
    assert trusting < alone / 2, "the flood does starve the renderer when nothing tells spoofed crawlers apart"


def test_country_and_variant_pick_their_origins(edge):
    de, us_b = edge(
        "viewer-request",
        [
            cf.viewer_request(
                "/p", HUMAN, headers={"cloudfront-viewer-country": "DE"}, cookies={"edge-variant": "control"}
            ),
            cf.viewer_request(
                "/p", HUMAN, headers={"cloudfront-viewer-country": "US"}, cookies={"edge-variant": "redesign"}
            ),
        ],
    )
    assert origin_of(de) == "dach" and origin_of(us_b) == "next"


def test_new_viewers_are_split_by_weight_and_the_cookie_makes_it_sticky(prod, edge):
    weights = {v["name"]: v["weight"] for v in json.loads(kvs_value(prod, "routing"))["variants"]}
    ids = [f"req-{i:05d}" for i in range(2000)]
    requests = [cf.viewer_request("/p", HUMAN, request_id=i) for i in ids]
    drawn = [r["result"]["headers"]["x-variant"]["value"] for r in edge("viewer-request", requests)]
    share = drawn.count("redesign") / len(drawn) * 100
    assert abs(share - weights["redesign"]) < 3, share
    responses = edge("viewer-response", [cf.viewer_response(r) for r in requests[:200]])
    cookies = [r["result"]["cookies"]["edge-variant"]["value"] for r in responses]
    assert cookies == drawn[:200], "the cookie holds the variant the request was served"
    kept = edge(
        "viewer-response", [cf.viewer_response(cf.viewer_request("/p", HUMAN, cookies={"edge-variant": "redesign"}))]
    )
    assert kept[0]["result"]["cookies"] == {}


def kvs_value(prod, key: str) -> str:
    pairs = prod.one("aws:cloudfront/keyvaluestoreKeysExclusive:KeyvaluestoreKeysExclusive", "routing")["inputs"]
    return next(p["value"] for p in pairs["resourceKeyValuePairs"] if p["key"] == key)


def test_tracking_parameters_never_reach_the_cache_key(prod, edge):
    policy = prod.one("aws:cloudfront/cachePolicy:CachePolicy", "pages")["inputs"]
    plain, tracked, other = edge(
        "viewer-request",
        [
            cf.viewer_request("/p", CRAWLER, querystring={"page": "2"}),
            cf.viewer_request("/p", CRAWLER, querystring={"page": "2", "utm_source": "x", "fbclid": "1", "GCLID": "2"}),
            cf.viewer_request("/p", CRAWLER, querystring={"page": "3"}),
        ],
    )
    assert cache_key(policy, plain["result"]) == cache_key(policy, tracked["result"])
    assert cache_key(policy, plain["result"]) != cache_key(policy, other["result"])


def test_files_robots_and_posts_are_never_rendered(edge):
    results = edge(
        "viewer-request",
        [
            cf.viewer_request("/robots.txt", CRAWLER),
            cf.viewer_request("/sitemap.xml", CRAWLER),
            cf.viewer_request("/p", CRAWLER, method="POST"),
        ],
    )
    assert not any("group" in c for r in results for c in r["calls"])


def test_pages_get_the_security_headers_and_the_viewer_functions(prod):
    dist = prod.one(DIST, "spa")["inputs"]
    behaviours = [dist["defaultCacheBehavior"], *dist["orderedCacheBehaviors"]]
    assert all(b["responseHeadersPolicyId"] for b in behaviours)
    assert sorted(a["eventType"] for a in dist["defaultCacheBehavior"]["functionAssociations"]) == [
        "viewer-request",
        "viewer-response",
    ]
    assert not dist["defaultCacheBehavior"].get("lambdaFunctionAssociations"), "no Lambda@Edge left"
    headers = prod.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "security")["inputs"]
    security = headers["securityHeadersConfig"]
    assert security["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31536000
    assert security["frameOptions"]["frameOption"] == "DENY" and security["contentTypeOptions"]["override"]


def test_renderer_origin_is_signed_and_the_alarm_lives_where_cloudfront_metrics_do(prod):
    dist = prod.one(DIST, "spa")["inputs"]
    renderer = next(o for o in dist["origins"] if o["originId"] == "renderer")
    assert renderer["originAccessControlId"] and ".lambda-url." in renderer["domainName"]
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "spa-5xx")
    topic = prod.one("aws:sns/topic:Topic", "edge-alerts")
    assert alarm["provider"].endswith("::aws-us-east-1") and topic["provider"].endswith("::aws-us-east-1")
    assert alarm["inputs"]["namespace"] == "AWS/CloudFront" and alarm["inputs"]["dimensions"]["Region"] == "Global"


def test_functions_are_published_js2_with_retained_logs(prod):
    for fn in prod.resources("aws:cloudfront/function:Function"):
        assert fn["inputs"]["runtime"] == "cloudfront-js-2.0" and fn["inputs"]["publish"] is True
        log = prod.one("aws:cloudwatch/logGroup:LogGroup", fn["name"])
        assert log["inputs"]["name"] == f"/aws/cloudfront/function/{fn['inputs']['name']}"
        assert log["inputs"]["retentionInDays"] and log["provider"].endswith("::aws-us-east-1")


def test_site_bucket_is_private_versioned_with_a_way_back(prod):
    dist = prod.one(DIST, "spa")
    origin = next(o for o in dist["inputs"]["origins"] if o["originId"] == "spa")
    assert origin["originAccessControlId"] and "customOriginConfig" not in origin
    policy = json.loads(prod.one("aws:s3/bucketPolicy:BucketPolicy", "spa")["inputs"]["policy"])
    (statement,) = policy["Statement"]
    assert statement["Condition"]["StringEquals"]["AWS:SourceArn"].startswith("arn:aws:cloudfront::")
    assert prod.one("aws:s3/bucket:Bucket", "spa")["protect"] is True
    versioning = prod.one("aws:s3/bucketVersioning:BucketVersioning", "spa")["inputs"]
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    rule = prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "spa")["inputs"]["rules"][0]
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] > 0


def test_bad_routing_is_refused_before_anything_is_registered(stack_yaml, tmp_path):
    config = stack_yaml(
        "staging",
        {
            "aws-platform:edge": {
                "domainNames": ["staging.shop.example.com"],
                "hostedZoneId": "Z0STAGINGSHOPEXAMPL1",
                "routing": {
                    "origins": {"eu": {"host": "eu.example.com"}},
                    "countries": {"DE": "euu"},
                    "variants": [{"name": "a", "weight": 60}, {"name": "b", "weight": 30, "origin": "nope"}],
                },
            }
        },
    )
    result = run_preview("staging", tmp_path, "--config", str(config))
    assert result.exit_code == 2, result.stdout + result.stderr
    text = result.stdout + result.stderr
    assert "aws-platform:edge.routing.variants: weights add up to 90 (allowed: exactly 100)" in text
    assert "aws-platform:edge.routing.countries.DE: 'euu' is not a routing origin (allowed: eu)" in text
    assert "routing.variants[1].origin: 'nope' is not a routing origin" in text


def test_existing_host_origin_is_https_tls_1_2_only(stack_yaml, tmp_path):
    config = stack_yaml(
        "staging",
        {
            "aws-platform:edge": {
                "domainNames": ["staging.shop.example.com"],
                "hostedZoneId": "Z0STAGINGSHOPEXAMPL1",
                "spaOrigin": {"host": "main.d1a2b3c4.amplifyapp.com"},
            }
        },
    )
    result = run_preview("staging", tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stdout + result.stderr
    origin = next(o for o in result.one(DIST, "spa")["inputs"]["origins"] if o["originId"] == "spa")
    assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
    assert not [b for b in result.resources("aws:s3/bucket:Bucket") if b["name"] == "spa"]
