"""required-tags: through the analyzer, every AWS resource's create request carries the stack's tags."""

from __future__ import annotations

from policies import conventions
from tests.conftest import messages, resource, stack_tags


def test_provider_default_tags_cover_taggable_resources(analyze):
    found = analyze(
        "prod",
        [
            resource("prod", "aws:s3/bucket:Bucket", "assets", {"bucket": "shop-prod-assets"}),
            resource("prod", "aws:ecr/repository:Repository", "api", {"name": "shop-prod-api"}),
            resource("prod", "aws:iam/role:Role", "task", {"name": "shop-prod-task", "assumeRolePolicy": "{}"}),
        ],
    )
    assert messages(found, "required-tags") == []


def test_untagged_resource_on_an_untagged_provider_is_a_mandatory_violation(analyze):
    found = analyze(
        "prod", [resource("prod", "aws:s3/bucket:Bucket", "assets", {"bucket": "shop-prod-assets"})], default_tags={}
    )
    assert [v.level for v in found if v.policy == "required-tags" and v.urn.endswith("::assets")] == ["mandatory"]
    assert (
        "missing required tag(s) stage, context, owner, usage, managed-by, stack"
        in messages(found, "required-tags", "assets")[0]
    )
    assert any("provider default_tags" in m for m in messages(found, "required-tags", "aws-regional"))


def test_resource_on_the_default_provider_misses_default_tags(analyze):
    found = analyze(
        "prod", [resource("prod", "aws:sqs/queue:Queue", "jobs", {"name": "shop-prod-jobs"}, provider=False)]
    )
    assert messages(found, "required-tags", "jobs")


def test_tag_values_must_match_the_stack(analyze):
    found = analyze(
        "prod",
        [
            resource(
                "prod",
                "aws:sns/topic:Topic",
                "alerts",
                {"name": "shop-prod-alerts", "tags": {"stage": "dev", "usage": "POC"}},
            )
        ],
    )
    text = "\n".join(messages(found, "required-tags", "alerts"))
    assert "tag 'stage' is 'dev' but stack 'prod' is stage 'prod'" in text
    assert "tag 'usage' is 'POC' but stage 'prod' allows only PRODUCTION" in text


def test_untaggable_types_are_not_checked(analyze):
    found = analyze(
        "prod",
        [
            resource(
                "prod", "aws:ec2/route:Route", "default", {"routeTableId": "rtb-1", "destinationCidrBlock": "0.0.0.0/0"}
            )
        ],
        default_tags={},
    )
    assert messages(found, "required-tags", "default") == []


def test_autoscaling_group_needs_propagated_tag_blocks(analyze):
    """Default tags never reach an Auto Scaling group or the instances it launches."""
    blocks = [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in stack_tags("prod").items()]
    good = resource("prod", "aws:autoscaling/group:Group", "good", {"name": "shop-prod-good", "tags": blocks})
    bare = resource("prod", "aws:autoscaling/group:Group", "bare", {"name": "shop-prod-bare"})
    unpropagated = resource(
        "prod",
        "aws:autoscaling/group:Group",
        "quiet",
        {"name": "shop-prod-quiet", "tags": [{**b, "propagateAtLaunch": False} for b in blocks]},
    )
    found = analyze("prod", [good, bare, unpropagated])
    assert messages(found, "required-tags", "good") == []
    assert messages(found, "required-tags", "bare") and messages(found, "required-tags", "quiet")


def test_map_tagged_type_without_default_tags_needs_its_own(analyze):
    typ = "aws:inspector/resourceGroup:ResourceGroup"
    found = analyze(
        "prod",
        [
            resource("prod", typ, "own", {"tags": stack_tags("prod")}),
            resource("prod", typ, "none", {"tags": {"Name": "x"}}),
        ],
    )
    assert messages(found, "required-tags", "own") == []
    assert messages(found, "required-tags", "none")


def test_ecs_services_must_propagate_tags_to_tasks(analyze):
    found = analyze(
        "prod",
        [
            resource("prod", "aws:ecs/service:Service", "api", {"name": "shop-prod-api", "propagateTags": "SERVICE"}),
            resource("prod", "aws:ecs/service:Service", "worker", {"name": "shop-prod-worker"}),
        ],
    )
    assert messages(found, "required-tags", "api") == []
    assert any("propagate" in m for m in messages(found, "required-tags", "worker"))


def test_launch_templates_tag_instances_and_volumes(analyze):
    tags = stack_tags("prod")
    specs = [{"resourceType": kind, "tags": tags} for kind in ("instance", "volume", "network-interface")]
    found = analyze(
        "prod",
        [
            resource(
                "prod",
                "aws:ec2/launchTemplate:LaunchTemplate",
                "good",
                {"name": "shop-prod-good", "tagSpecifications": specs},
            ),
            resource(
                "prod",
                "aws:ec2/launchTemplate:LaunchTemplate",
                "bad",
                {"name": "shop-prod-bad", "tagSpecifications": specs[:1]},
            ),
        ],
    )
    assert messages(found, "required-tags", "good") == []
    assert any("'volume'" in m for m in messages(found, "required-tags", "bad"))


def test_required_tags_come_from_conventions():
    assert conventions.REQUIRED_TAGS == ("stage", "context", "owner", "usage", "managed-by", "stack")
