"""PrerenderRenderer: token-guarded, behind an HTTP API, capped, with a private expiring cache."""

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


def test_token_lives_in_secrets_manager_not_in_the_environment(prod):
    variables = prod.one(FN, "renderer")["inputs"]["environment"]["variables"]
    assert "RENDER_TOKEN" not in variables
    assert variables["RENDER_TOKEN_SECRET_ARN"].startswith("arn:aws:secretsmanager:")
    assert variables["SITE_ORIGINS"] == "https://shop.example.com,https://www.shop.example.com"
    assert prod.one("aws:secretsmanager/secretVersion:SecretVersion", "token")["inputs"]["secretString"] == "[secret]"


def test_http_api_not_a_function_url(prod):
    api = prod.one("aws:apigatewayv2/api:Api", "renderer")["inputs"]
    assert api["protocolType"] == "HTTP"
    assert not prod.resources("aws:lambda/functionUrl:FunctionUrl")
    stage = prod.one("aws:apigatewayv2/stage:Stage", "renderer")["inputs"]
    assert stage["name"] == "$default" and stage["defaultRouteSettings"]["throttlingRateLimit"] > 0
    (route,) = prod.resources("aws:apigatewayv2/route:Route")
    assert route["inputs"]["routeKey"] == "$default"


def test_role_grants_exactly_what_the_handler_does(prod):
    policy = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "renderer")["inputs"]["policy"])
    actions = sorted(a for s in policy["Statement"] for a in s["Action"])
    assert actions == [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "secretsmanager:GetSecretValue",
    ]
    assert not any(r == "*" for s in policy["Statement"] for r in s["Resource"])


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
