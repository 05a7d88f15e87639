"""The one naming and tagging convention, as components and the policy pack both use it."""

from __future__ import annotations

import pytest

from policies import conventions
from policies.conventions import name_problems, physical_name


def test_short_names_are_context_stage_component():
    assert physical_name("shop", "prod", "api") == "shop-prod-api"


@pytest.mark.parametrize(
    "resource_type,limit",
    [
        ("aws:lb/targetGroup:TargetGroup", 32),
        ("aws:s3/bucket:Bucket", 63),
        ("aws:iam/role:Role", 64),
        ("aws:elasticache/serverlessCache:ServerlessCache", 40),
        ("aws:sqs/queue:Queue", 80),
    ],
)
def test_long_names_are_cut_to_the_service_limit_with_a_stable_hash(resource_type, limit):
    name = conventions.name_for(
        resource_type, "checkout", "staging", "payment-authorisation-worker-primary-" + "x" * 60
    )
    assert len(name) == limit
    assert name.startswith("checkout-staging-")
    assert name == conventions.name_for(
        resource_type, "checkout", "staging", "payment-authorisation-worker-primary-" + "x" * 60
    )
    assert not name_problems(name, stage="staging", max_length=limit, context="checkout")


def test_two_long_names_sharing_a_prefix_never_collide():
    a = physical_name("checkout", "prod", "payment-authorisation-worker-a", max_length=32)
    b = physical_name("checkout", "prod", "payment-authorisation-worker-b", max_length=32)
    assert a != b and len(a) == len(b) == 32
    assert a[:24] == b[:24]


def test_names_are_lowercase_and_reject_bad_parts():
    with pytest.raises(ValueError, match="context 'Shop' is not a lowercase DNS label"):
        physical_name("Shop", "prod", "api")
    with pytest.raises(ValueError, match="component 'API_v2'"):
        physical_name("shop", "prod", "API_v2")


def test_prefix_too_long_for_the_limit_is_refused():
    with pytest.raises(ValueError, match="leaves no room"):
        physical_name("a-very-long-context-name", "staging", "api", max_length=32)


def test_name_problems_find_wrong_stage_case_and_length():
    assert name_problems("shop-prod-api", stage="prod", max_length=32, context="shop") == []
    assert (
        "does not start with 'shop-prod-'"
        in name_problems("shop-dev-api", stage="prod", max_length=32, context="shop")[0]
    )
    assert any("not lowercase" in p for p in name_problems("Shop-prod-api", stage="prod", max_length=32))
    assert any(
        "the service allows 32" in p for p in name_problems("shop-prod-" + "x" * 30, stage="prod", max_length=32)
    )


def test_ssm_paths():
    assert conventions.ssm_path("prod", "shop", "accounts", "workloads") == "/prod/shop/accounts/workloads"
    with pytest.raises(ValueError):
        conventions.ssm_path("prod", "shop", "a/b")
    assert conventions.path_problems("/prod/shop/x", stage="prod", context="shop") == []
    assert conventions.path_problems("/dev/shop/x", stage="prod", context="shop")
    assert conventions.path_problems("/aws/lambda/shop-prod-edge", stage="prod") == []
    assert conventions.path_problems("/aws/lambda/edge", stage="prod")


@pytest.mark.parametrize(
    "stack,stage",
    [("dev", "dev"), ("prod", "prod"), ("dev-alice", "dev"), ("org", "prod"), ("feature", None), ("production", None)],
)
def test_stage_for_stack(stack, stage):
    assert conventions.stage_for_stack(stack) == stage


def test_stack_from_urn():
    assert conventions.stack_from_urn("urn:pulumi:prod::aws-platform::aws:s3/bucket:Bucket::b") == "prod"
    with pytest.raises(ValueError):
        conventions.stack_from_urn("arn:aws:s3:::b")


def test_required_tags_are_complete_and_match_the_stack():
    tags = conventions.required_tags(stage="prod", context="shop", owner="team", usage="PRODUCTION", stack="prod")
    assert set(tags) == set(conventions.REQUIRED_TAGS) >= {"stage", "context", "owner", "usage", "managed-by", "stack"}
    assert conventions.tag_problems(tags, stack="prod") == []
    assert conventions.tag_problems(tags, stack="staging") == [
        "tag 'stage' is 'prod' but stack 'staging' is stage 'staging'",
        "tag 'stack' is 'prod' but the resource belongs to stack 'staging'",
    ]
    assert conventions.tag_problems({**tags, "usage": "POC"}, stack="prod") == [
        "tag 'usage' is 'POC' but stage 'prod' allows only PRODUCTION"
    ]
    assert conventions.tag_problems({}, stack="prod") == [
        "missing required tag(s) stage, context, owner, usage, managed-by, stack"
    ]


def test_production_usage_keeps_data_whatever_the_stage():
    """Staging's data is production data too (conventions-tagging-naming-validation.md, issue 12 item 9)."""
    assert conventions.keeps_data("staging", "PRODUCTION")
    assert conventions.keeps_data("prod", "PRODUCTION")
    assert not conventions.keeps_data("dev", "EPHEMERAL")
    assert not conventions.keeps_data("sandbox", "POC")
