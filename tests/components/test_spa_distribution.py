"""SpaDistribution: crawlers and humans never share a cache entry; crawler pages are cached at CloudFront."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_preview

DIST = "aws:cloudfront/distribution:Distribution"
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HUMAN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture(scope="module")
def prod(shipped_preview):
    return shipped_preview("prod")


def cache_key(policy_inputs: dict, request: dict) -> tuple:
    """CloudFront's cache key for a request after viewer-request: URI, query, and the policy's headers."""
    params = policy_inputs["parametersInCacheKeyAndForwardedToOrigin"]
    names = params["headersConfig"]["headers"]["items"]
    headers = tuple((n, tuple(v["value"] for v in request["headers"].get(n, []))) for n in sorted(names))
    query = request["querystring"] if params["queryStringsConfig"]["queryStringBehavior"] == "all" else ""
    return request["uri"], query, headers


def viewer_request(edge, user_agent: str, uri: str = "/products/42", query: str = "", extra: dict | None = None):
    headers = {
        "host": [{"key": "Host", "value": "shop.example.com"}],
        "user-agent": [{"key": "User-Agent", "value": user_agent}],
        **(extra or {}),
    }
    event = {
        "Records": [
            {
                "cf": {
                    "config": {"eventType": "viewer-request"},
                    "request": {"uri": uri, "querystring": query, "method": "GET", "headers": headers},
                }
            }
        ]
    }
    return edge.handler(event, None)


@pytest.fixture
def edge():
    from lambda_src.edge_router import handler

    handler.configure({"renderer_domain": "r.execute-api.eu-west-1.amazonaws.com", "renderer_token": "t"})
    yield handler
    handler.configure(None)


def test_crawlers_and_humans_never_share_a_cache_entry(prod, edge):
    policy = prod.one("aws:cloudfront/cachePolicy:CachePolicy", "pages")["inputs"]
    crawler = cache_key(policy, viewer_request(edge, CRAWLER))
    human = cache_key(policy, viewer_request(edge, HUMAN))
    spoofer = cache_key(
        policy, viewer_request(edge, HUMAN, extra={"x-prerender": [{"key": "X-Prerender", "value": "1"}]})
    )
    assert crawler != human
    assert spoofer == human, "a human sending x-prerender must land on the human entry"


def test_crawler_pages_are_cacheable_per_url_and_query(prod, edge):
    policy = prod.one("aws:cloudfront/cachePolicy:CachePolicy", "pages")["inputs"]
    first = cache_key(policy, viewer_request(edge, CRAWLER, query="page=2"))
    again = cache_key(policy, viewer_request(edge, "Twitterbot/1.0", query="page=2"))
    other = cache_key(policy, viewer_request(edge, CRAWLER, query="page=3"))
    assert first == again, "no per-request cache-buster: the second crawler is a CloudFront hit"
    assert first != other
    assert policy["maxTtl"] >= 86400 and policy["minTtl"] == 0


def test_both_events_run_the_same_published_version(prod):
    dist = prod.one(DIST, "spa")["inputs"]
    associations = dist["defaultCacheBehavior"]["lambdaFunctionAssociations"]
    assert sorted(a["eventType"] for a in associations) == ["origin-request", "viewer-request"]
    arns = {a["lambdaArn"] for a in associations}
    assert len(arns) == 1
    (arn,) = arns
    assert arn.startswith("arn:aws:lambda:us-east-1:") and arn.rsplit(":", 1)[-1].isdigit()


def test_static_assets_take_behaviours_without_functions(prod):
    dist = prod.one(DIST, "spa")["inputs"]
    ordered = dist["orderedCacheBehaviors"]
    assert {"/assets/*", "*.js", "*.css"} <= {b["pathPattern"] for b in ordered}
    assert all(not b.get("lambdaFunctionAssociations") for b in ordered)


def test_viewers_get_tls_1_2_with_the_stack_certificate(prod):
    dist = prod.one(DIST, "spa")["inputs"]
    assert dist["aliases"] == ["shop.example.com", "www.shop.example.com"]
    assert dist["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    cert = prod.one("aws:acm/certificate:Certificate", "spa")
    assert cert["provider"].endswith("::aws-us-east-1")
    records = [r["name"] for r in prod.resources("aws:route53/record:Record") if r["name"].startswith("spa-0")]
    assert sorted(records) == ["spa-0-a", "spa-0-aaaa"]


def test_s3_origin_is_private_and_readable_by_this_distribution_only(prod):
    dist = prod.one(DIST, "spa")
    (origin,) = dist["inputs"]["origins"]
    assert origin["originAccessControlId"] and "customOriginConfig" not in origin
    policy = json.loads(prod.one("aws:s3/bucketPolicy:BucketPolicy", "spa")["inputs"]["policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["AWS:SourceArn"].startswith("arn:aws:cloudfront::")
    assert prod.one("aws:s3/bucket:Bucket", "spa")["protect"] is True


def test_existing_host_origin_is_https_tls_1_2_only(stack_yaml, tmp_path):
    config = stack_yaml(
        "staging",
        {
            "aws-platform:edge": {
                "domainNames": ["staging.shop.example.com"],
                "hostedZoneId": "Z0123456789ABCDEFGHIJ",
                "spaOrigin": {"host": "main.d1a2b3c4.amplifyapp.com"},
            }
        },
    )
    result = run_preview("staging", tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stdout + result.stderr
    (origin,) = result.one(DIST, "spa")["inputs"]["origins"]
    assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
    assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert not [b for b in result.resources("aws:s3/bucket:Bucket") if b["name"] == "spa"]
