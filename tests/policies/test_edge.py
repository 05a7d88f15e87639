"""Edge policies: Lambda@Edge placement, TLS, CloudFront Functions, the renderer behind OAC, headers, buckets."""

from __future__ import annotations

from tests.conftest import messages, resource

FN = "aws:lambda/function:Function"
DIST = "aws:cloudfront/distribution:Distribution"


def distribution(arn: str, *, origin_tls=("TLSv1.2",), min_tls="TLSv1.2_2021") -> dict:
    return resource(
        "prod",
        DIST,
        "spa",
        {
            "origins": [
                {
                    "originId": "spa",
                    "domainName": "app.example.com",
                    "customOriginConfig": {
                        "originProtocolPolicy": "https-only",
                        "originSslProtocols": list(origin_tls),
                    },
                }
            ],
            "defaultCacheBehavior": {
                "lambdaFunctionAssociations": [
                    {"eventType": "viewer-request", "lambdaArn": arn},
                    {"eventType": "origin-request", "lambdaArn": arn},
                ]
            },
            "viewerCertificate": {
                "acmCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x",
                "minimumProtocolVersion": min_tls,
            },
        },
    )


def edge_function(**extra) -> dict:
    return resource(
        "prod",
        FN,
        "edge-router",
        {"name": "shop-prod-edge-router", "runtime": "python3.12", **extra},
        provider="us-east-1",
    )


GOOD_ARN = "arn:aws:lambda:us-east-1:123456789012:function:shop-prod-edge-router:3"


def test_published_us_east_1_function_without_environment_passes(analyze):
    found = analyze("prod", [edge_function(), distribution(GOOD_ARN)])
    assert messages(found, "lambda-edge-us-east-1") == []


def test_edge_function_in_another_region_fires(analyze):
    found = analyze("prod", [distribution(GOOD_ARN.replace("us-east-1", "eu-west-1"))])
    assert any("is in eu-west-1" in m for m in messages(found, "lambda-edge-us-east-1"))


def test_edge_function_deployed_by_a_regional_provider_fires(analyze):
    misplaced = resource("prod", FN, "edge-router", {"name": "shop-prod-edge-router"})
    found = analyze("prod", [misplaced, distribution(GOOD_ARN)])
    assert any("deployed by a provider in eu-west-1" in m for m in messages(found, "lambda-edge-us-east-1"))


def test_edge_function_with_environment_fires(analyze):
    found = analyze("prod", [edge_function(environment={"variables": {"RENDERER": "x"}}), distribution(GOOD_ARN)])
    assert any("has environment variables" in m for m in messages(found, "lambda-edge-us-east-1", "edge-router"))


def test_unpublished_version_fires(analyze):
    found = analyze("prod", [distribution(GOOD_ARN.rsplit(":", 1)[0] + ":$LATEST")])
    assert any("published version" in m for m in messages(found, "lambda-edge-us-east-1"))


def test_origin_tls_below_1_2_fires_and_1_2_passes(analyze):
    good = analyze("prod", [distribution(GOOD_ARN)])
    assert messages(good, "cloudfront-tls-1-2") == []
    bad = analyze("prod", [distribution(GOOD_ARN, origin_tls=("TLSv1", "TLSv1.1", "TLSv1.2"), min_tls="TLSv1")])
    text = "\n".join(messages(bad, "cloudfront-tls-1-2"))
    assert "allows TLSv1, TLSv1.1" in text and "below TLSv1.2" in text


def cloudfront_function(**inputs) -> dict:
    return resource("prod", "aws:cloudfront/function:Function", "viewer-request", {"name": "shop-prod-vr", **inputs})


def test_published_js2_function_passes(analyze):
    found = analyze("prod", [cloudfront_function(runtime="cloudfront-js-2.0", publish=True)])
    assert messages(found, "cloudfront-functions-js2-published") == []


def test_js1_or_unpublished_function_fires(analyze):
    found = analyze("prod", [cloudfront_function(runtime="cloudfront-js-1.0", publish=False)])
    text = "\n".join(messages(found, "cloudfront-functions-js2-published"))
    assert "runtime is 'cloudfront-js-1.0'" in text and "not published" in text


def renderer_distribution(oac: str | None, stage: str = "prod", behaviour: dict | None = None) -> dict:
    origin = {"originId": "renderer", "domainName": "abc.lambda-url.eu-west-1.on.aws"}
    if oac:
        origin["originAccessControlId"] = oac
    return resource(
        stage,
        DIST,
        "spa",
        {"origins": [origin], "defaultCacheBehavior": behaviour or {"responseHeadersPolicyId": "rhp-1"}},
    )


def function_url(auth: str) -> dict:
    return resource("prod", "aws:lambda/functionUrl:FunctionUrl", "renderer", {"authorizationType": auth})


def test_renderer_behind_origin_access_control_passes(analyze):
    found = analyze("prod", [renderer_distribution("oac-1"), function_url("AWS_IAM")])
    assert messages(found, "renderer-origin-access-control") == []


def test_renderer_without_origin_access_control_or_with_a_public_url_fires(analyze):
    found = analyze("prod", [renderer_distribution(None), function_url("NONE")])
    text = "\n".join(messages(found, "renderer-origin-access-control"))
    assert "has no origin access control" in text and "authorization 'NONE'" in text


def test_prod_pages_without_response_headers_fire(analyze):
    found = analyze("prod", [renderer_distribution("oac-1", behaviour={"targetOriginId": "spa"})])
    assert any("without a response headers policy" in m for m in messages(found, "cloudfront-response-headers"))


def test_prod_pages_with_response_headers_pass_and_dev_is_not_judged(analyze):
    assert messages(analyze("prod", [renderer_distribution("oac-1")]), "cloudfront-response-headers") == []
    dev = analyze("dev", [renderer_distribution("oac-1", stage="dev", behaviour={"targetOriginId": "spa"})])
    assert messages(dev, "cloudfront-response-headers") == []


def bucket(name: str) -> dict:
    return resource("prod", "aws:s3/bucket:Bucket", name, {"bucket": f"shop-prod-{name}"})


def block(name: str, **flags) -> dict:
    inputs = {
        "bucket": f"shop-prod-{name}",
        **{f: True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")},
        **flags,
    }
    return resource("prod", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name, inputs)


def test_bucket_with_full_public_access_block_passes(analyze):
    found = analyze("prod", [bucket("cache"), block("cache")])
    assert messages(found, "s3-buckets-private") == []


def test_bucket_without_block_or_with_a_hole_fires(analyze):
    found = analyze("prod", [bucket("cache"), bucket("open"), block("open", restrictPublicBuckets=False)])
    text = "\n".join(messages(found, "s3-buckets-private"))
    assert "bucket 'shop-prod-cache' has no public access block" in text
    assert "leaves public access open" in text


def test_public_bucket_policy_fires(analyze):
    policy = resource(
        "prod",
        "aws:s3/bucketPolicy:BucketPolicy",
        "cache",
        {
            "bucket": "shop-prod-cache",
            "policy": (
                '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}'
            ),
        },
    )
    found = analyze("prod", [bucket("cache"), block("cache"), policy])
    assert any("allows everyone" in m for m in messages(found, "s3-buckets-private"))
