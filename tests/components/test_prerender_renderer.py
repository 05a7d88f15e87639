"""PrerenderRenderer: behind a signed function URL, capped, traced, alarmed, with a private expiring cache."""

from __future__ import annotations

import json

import pytest

FN = "aws:lambda/function:Function"


@pytest.fixture(scope="module")
def prod(shipped_preview):
    return shipped_preview("prod")


def test_renderer_is_a_container_image_by_digest_with_a_cost_ceiling(prod):
    fn = prod.one(FN, "renderer")["inputs"]
    assert fn["packageType"] == "Image" and "@sha256:" in fn["imageUri"]
    assert fn["reservedConcurrentExecutions"] == 10
    assert fn["timeout"] < 30, "under CloudFront's 30 s origin read timeout"


def test_no_token_and_no_public_api_only_a_signed_function_url(prod):
    variables = prod.one(FN, "renderer")["inputs"]["environment"]["variables"]
    assert not {"RENDER_TOKEN", "RENDER_TOKEN_SECRET_ARN"} & set(variables)
    assert variables["SITE_ORIGINS"] == "https://shop.example.com,https://www.shop.example.com"
    assert not prod.resources("aws:apigatewayv2/api:Api")
    assert not [s for s in prod.resources("aws:secretsmanager/secret:Secret") if "prerender" in s["inputs"]["name"]]
    assert prod.one("aws:lambda/functionUrl:FunctionUrl", "renderer")["inputs"]["authorizationType"] == "AWS_IAM"
    oac = prod.one("aws:cloudfront/originAccessControl:OriginAccessControl", "renderer")["inputs"]
    assert oac["originAccessControlOriginType"] == "lambda" and oac["signingBehavior"] == "always"


def test_only_this_distribution_may_invoke_the_url(prod):
    dist_arn = prod.one("aws:cloudfront/distribution:Distribution", "spa")["inputs"]
    permissions = [p["inputs"] for p in prod.resources("aws:lambda/permission:Permission")]
    cloudfront = [p for p in permissions if p["principal"] == "cloudfront.amazonaws.com"]
    assert sorted(p["action"] for p in cloudfront) == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    assert all(p["sourceArn"].startswith("arn:aws:cloudfront::") for p in cloudfront)
    assert dist_arn["origins"]


def test_traced_and_alarmed_with_a_log_retention(prod):
    fn = prod.one(FN, "renderer")["inputs"]
    assert fn["tracingConfig"]["mode"] == "Active"
    alarms = {
        a["inputs"].get("metricName"): a["inputs"] for a in prod.resources("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert alarms["Errors"]["namespace"] == alarms["Throttles"]["namespace"] == "AWS/Lambda"
    topic = prod.one("aws:sns/topic:Topic", "alerts")
    assert all(t.endswith(topic["inputs"]["name"]) for t in alarms["Errors"]["alarmActions"])
    log = prod.one("aws:cloudwatch/logGroup:LogGroup", "renderer")["inputs"]
    assert log["name"] == f"/aws/lambda/{fn['name']}" and log["retentionInDays"] == 30


def test_role_grants_exactly_what_the_handler_does(prod):
    policy = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "renderer")["inputs"]["policy"])
    actions = sorted(a for s in policy["Statement"] for a in s["Action"])
    assert actions == [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
    wildcard = [s for s in policy["Statement"] if "*" in s["Resource"]]
    assert all(a.startswith("xray:") for s in wildcard for a in s["Action"]), "only X-Ray, which has no resources"


def test_cache_bucket_is_private_encrypted_and_expiring(prod):
    block = prod.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "cache")["inputs"]
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    sse = prod.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "cache")
    assert sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    lifecycle = prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "cache")["inputs"]
    assert lifecycle["rules"][0]["expiration"]["days"] == 2


def test_renderer_image_has_its_own_repository_lambda_compatible(prod):
    repos = [r for r in prod.resources("aws:ecr/repository:Repository") if "prerender" in r["inputs"]["name"]]
    assert [r["inputs"]["name"] for r in repos] == ["shop-prod-prerender"]
