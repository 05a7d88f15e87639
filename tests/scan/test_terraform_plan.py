"""The preview spelled as a Terraform plan: types, names and block shapes from the pulumi-aws SDK."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from scan import sdk_fields, terraform_plan
from tests.conftest import SHIPPED_STACKS, provider_resource, resource, stack_tags

STACKS = (*SHIPPED_STACKS, "org")


@pytest.mark.parametrize(
    "token, expected",
    [
        ("aws:lb/loadBalancer:LoadBalancer", "aws_lb"),
        ("aws:lb/listener:Listener", "aws_lb_listener"),
        ("aws:ec2/vpc:Vpc", "aws_vpc"),
        ("aws:ec2/securityGroup:SecurityGroup", "aws_security_group"),
        ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws_default_security_group"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws_vpc_security_group_ingress_rule"),
        ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws_s3_bucket_lifecycle_configuration"),
        ("aws:lambda/function:Function", "aws_lambda_function"),
        ("aws:wafv2/webAcl:WebAcl", "aws_wafv2_web_acl"),
        ("aws:cloudfront/distribution:Distribution", "aws_cloudfront_distribution"),
    ],
)
def test_type_tokens_map_to_terraform_types(token: str, expected: str) -> None:
    assert terraform_plan.terraform_type(token) == expected


def test_the_mapped_types_are_types_checkov_checks(checkov) -> None:
    """checkov's own registry (data we did not write) knows the Terraform types the tricky tokens map to."""
    python = checkov.replace("/checkov", "/python")
    listing = subprocess.run(
        [
            python,
            "-c",
            "import json; from checkov.terraform.checks.resource.registry import resource_registry as r; "
            "print(json.dumps(sorted(r.checks)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    known = set(json.loads(listing.stdout))
    for token in (
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:lambda/function:Function",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:wafv2/webAcl:WebAcl",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:iam/role:Role",
    ):
        assert terraform_plan.terraform_type(token) in known, token


def test_repeated_blocks_are_singular_lists_single_blocks_lists_of_one_and_maps_stay_maps() -> None:
    snapshot = {
        "stack": "prod",
        "resources": [
            provider_resource("prod", stack_tags("prod")),
            resource(
                "prod",
                "aws:lb/listener:Listener",
                "https",
                {
                    "port": 443,
                    "defaultActions": [{"type": "fixed-response", "fixedResponse": {"statusCode": "404"}}],
                    "tags": {"Name": "edge"},
                },
            ),
        ],
    }
    (listener,) = terraform_plan.to_terraform_plan(snapshot).document["planned_values"]["root_module"]["resources"]
    values = listener["values"]
    assert listener["address"] == "aws_lb_listener.https"
    assert values["default_action"] == [{"type": "fixed-response", "fixed_response": [{"status_code": "404"}]}]
    assert values["tags"] == {"Name": "edge"}
    assert values["tags_all"] == {**stack_tags("prod"), "Name": "edge"}  # provider default_tags, as Terraform


def test_references_link_a_resource_to_its_dependencies_ids(shipped_preview) -> None:
    plan = terraform_plan.to_terraform_plan(shipped_preview("dev").snapshot)
    expressions = {r["address"]: r["expressions"] for r in plan.document["configuration"]["root_module"]["resources"]}
    default_sg = next(v for k, v in expressions.items() if k.startswith("aws_default_security_group."))
    assert default_sg["vpc_id"]["references"][0].startswith("aws_vpc.")


def unknowns_as_null(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: unknowns_as_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unknowns_as_null(v) for v in value]
    unknown = isinstance(value, str) and (value == terraform_plan.PULUMI_UNKNOWN or value in terraform_plan.MASKS)
    return None if unknown else value


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_round_trips_through_the_sdks_declared_fields(shipped_preview, stack: str) -> None:
    """Pulumi inputs → Terraform values → Pulumi inputs is the identity, and no input is unknown to the SDK."""
    snapshot = shipped_preview(stack).snapshot
    plan = terraform_plan.to_terraform_plan(snapshot)
    assert plan.undeclared == {}
    values = {r["address"]: r["values"] for r in plan.document["planned_values"]["root_module"]["resources"]}
    checked = set()
    for r in snapshot["resources"]:
        if not r["type"].startswith("aws:") or not r.get("custom"):
            continue
        tf_values = {k: v for k, v in values[plan.addresses[r["urn"]]].items() if k != "tags_all"}
        # A value known only at apply is null in Terraform's `after` (its after_unknown marks it): compare it as such.
        expected = unknowns_as_null(r["inputs"])
        assert terraform_plan.revert_value(sdk_fields.args_class(r["type"]), tf_values) == expected, r["urn"]
        checked.add(r["type"])
    assert len(checked) > (10 if stack == "org" else 50)


def test_a_type_the_sdk_does_not_know_is_a_clear_error() -> None:
    snapshot = {"stack": "dev", "resources": [resource("dev", "aws:nothing/thing:Thing", "x", {})]}
    with pytest.raises(terraform_plan.ConversionError, match="aws:nothing/thing:Thing"):
        terraform_plan.to_terraform_plan(snapshot)


def test_a_real_pulumi_preview_json_is_read_from_its_steps() -> None:
    preview = {
        "steps": [
            {
                "op": "create",
                "urn": "urn:pulumi:prod::aws-platform::aws:s3/bucket:Bucket::logs",
                "newState": {
                    "urn": "urn:pulumi:prod::aws-platform::aws:s3/bucket:Bucket::logs",
                    "type": "aws:s3/bucket:Bucket",
                    "custom": True,
                    "inputs": {"bucket": "shop-prod-logs", "forceDestroy": terraform_plan.PULUMI_UNKNOWN},
                },
            },
            {"op": "delete", "urn": "urn:pulumi:prod::aws-platform::aws:s3/bucket:Bucket::old", "newState": None},
        ]
    }
    plan = terraform_plan.to_terraform_plan(preview)
    (bucket,) = plan.document["planned_values"]["root_module"]["resources"]
    assert bucket["address"] == "aws_s3_bucket.logs"
    assert bucket["values"]["bucket"] == "shop-prod-logs" and bucket["values"]["force_destroy"] is None
