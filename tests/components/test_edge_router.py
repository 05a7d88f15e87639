"""EdgeRouter: Lambda@Edge in us-east-1, settings baked into the package, a published version."""

from __future__ import annotations

import json

from components.edge_router import edge_settings
from components.spa_distribution import spa_fallback
from stack_config.edge import EdgeConfig, SpaOriginConfig


def test_function_is_published_in_us_east_1_without_environment(shipped_preview):
    fn = shipped_preview("prod").one("aws:lambda/function:Function", "edge-router")
    assert fn["provider"].endswith("::aws-us-east-1")
    assert fn["inputs"]["publish"] is True and fn["inputs"]["runtime"] == "python3.12"
    assert "environment" not in fn["inputs"]
    assert fn["inputs"]["code"] == "[secret]", "the package carries the token, so the whole archive is secret"
    assert fn["retainOnDelete"] is True


def test_role_is_assumable_by_the_edge(shipped_preview):
    role = shipped_preview("prod").one("aws:iam/role:Role", "edge-router")
    principals = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"]["Service"]
    assert sorted(principals) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]


def test_baked_settings_are_the_handler_contract():
    from lambda_src.edge_router import handler

    baked = json.loads(edge_settings("r.example.com", "tok", "x-prerender-token", "/index.html"))
    try:
        applied = handler.configure(baked)
        assert applied["renderer_domain"] == "r.example.com" and applied["spa_fallback"] == "/index.html"
        assert set(baked) == set(handler.DEFAULT_SETTINGS)
    finally:
        handler.configure(None)


def test_spa_fallback_only_for_s3_origins():
    s3 = EdgeConfig(domain_names=["a.example.com"], hosted_zone_id="Z0123456789")
    host = EdgeConfig(
        domain_names=["a.example.com"],
        hosted_zone_id="Z0123456789",
        spa_origin=SpaOriginConfig(host="main.d1.amplifyapp.com"),
    )
    assert spa_fallback(s3) == "/index.html" and spa_fallback(host) == ""
