"""naming-convention: named resources are {context}-{stage}-{component}, for the stack in their URN."""

from __future__ import annotations

from tests.conftest import messages, resource


def test_conventional_names_pass(analyze):
    found = analyze(
        "staging",
        [
            resource("staging", "aws:lb/targetGroup:TargetGroup", "api", {"name": "shop-staging-api"}),
            resource("staging", "aws:ssm/parameter:Parameter", "param", {"name": "/staging/shop/api/url"}),
        ],
    )
    assert messages(found, "naming-convention") == []


def test_name_for_another_stage_is_a_mandatory_violation(analyze):
    found = analyze("prod", [resource("prod", "aws:ecr/repository:Repository", "api", {"name": "shop-staging-api"})])
    (violation,) = [v for v in found if v.policy == "naming-convention"]
    assert violation.level == "mandatory" and "does not start with 'shop-prod-'" in violation.message


def test_stage_is_derived_from_the_urn_stack(analyze):
    found = analyze(
        "dev-alice",
        [resource("dev-alice", "aws:sqs/queue:Queue", "q", {"name": "shop-dev-q"})],
        default_tags={
            "stage": "dev",
            "context": "shop",
            "owner": "o",
            "usage": "POC",
            "managed-by": "pulumi",
            "stack": "dev-alice",
        },
    )
    assert messages(found, "naming-convention") == []


def test_over_the_service_limit_and_uppercase(analyze):
    found = analyze(
        "prod",
        [
            resource("prod", "aws:lb/targetGroup:TargetGroup", "long", {"name": "shop-prod-" + "x" * 30}),
            resource("prod", "aws:s3/bucket:Bucket", "upper", {"bucket": "Shop-prod-assets"}),
        ],
    )
    assert any("the service allows 32" in m for m in messages(found, "naming-convention", "long"))
    assert any("not lowercase" in m for m in messages(found, "naming-convention", "upper"))


def test_autonamed_resources_are_flagged(analyze):
    found = analyze("prod", [resource("prod", "aws:sns/topic:Topic", "alerts", {})])
    assert any("no explicit 'name'" in m for m in messages(found, "naming-convention", "alerts"))


def test_paths_must_start_with_stage_and_context(analyze):
    found = analyze("prod", [resource("prod", "aws:cloudwatch/logGroup:LogGroup", "logs", {"name": "/ecs/api"})])
    assert any("does not start with '/prod/shop/'" in m for m in messages(found, "naming-convention", "logs"))


def test_dev_policy_config_makes_naming_advisory_but_tags_mandatory(analyze):
    from preview.policy_client import policy_config_for

    found = analyze(
        "dev",
        [resource("dev", "aws:sqs/queue:Queue", "q", {"name": "Bad"})],
        default_tags={},
        config=policy_config_for("dev"),
    )
    levels = {(v.policy, v.level) for v in found}
    assert ("naming-convention", "advisory") in levels and ("required-tags", "mandatory") in levels
