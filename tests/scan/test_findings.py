"""checkov on converted plans: known-bad resources fail the named checks, the hardened ones pass them."""

from __future__ import annotations

import json
import pathlib

import pytest

from scan import accepted_findings, findings, terraform_plan
from scan.accepted_findings import Acceptance
from tests.conftest import SHIPPED_STACKS, provider_resource, resource, stack_tags

ROOT_TRUST = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
    ]
}
ROLE_TRUST = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/org-prod-pulumi-deploy"},
            "Action": "sts:AssumeRole",
        }
    ]
}
CONTAINER = {"name": "api", "image": "repo@sha256:" + "0" * 64, "essential": True}


def snapshot(stack: str, hardened: bool) -> dict:
    """The same resources twice: as they were before issue 13, and as the components now build them."""
    vpc = resource(stack, "aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    rule = {"id": "expire", "status": "Enabled", "filter": {"prefix": ""}, "expiration": {"days": 2}}
    container = {**CONTAINER, "readonlyRootFilesystem": True} if hardened else CONTAINER
    resources = [
        provider_resource(stack, stack_tags(stack)),
        vpc,
        resource(
            stack, "aws:iam/role:Role", "push", {"assumeRolePolicy": json.dumps(ROLE_TRUST if hardened else ROOT_TRUST)}
        ),
        resource(
            stack,
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "cache",
            {
                "bucket": "b",
                "rules": [{**rule, "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}} if hardened else rule],
            },
        ),
        resource(
            stack,
            "aws:ecs/taskDefinition:TaskDefinition",
            "task",
            {"family": "f", "containerDefinitions": json.dumps([container])},
        ),
        resource(
            stack,
            "aws:lb/loadBalancer:LoadBalancer",
            "alb",
            {"loadBalancerType": "application", "internal": False, "dropInvalidHeaderFields": True}
            | ({"accessLogs": {"bucket": "logs", "prefix": "alb", "enabled": True}} if hardened else {}),
        ),
    ]
    if hardened:
        default_sg = resource(
            stack, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default", {"vpcId": "vpc-" + "0" * 17}
        )
        default_sg["dependencies"] = [vpc["urn"]]
        resources.append(default_sg)
    return {"stack": stack, "resources": resources}


# The check each hardening fixes, on the resource it fixes it on.
CHECKS = {
    ("CKV_AWS_61", "aws_iam_role.push"),
    ("CKV_AWS_300", "aws_s3_bucket_lifecycle_configuration.cache"),
    ("CKV_AWS_336", "aws_ecs_task_definition.task"),
    ("CKV_AWS_91", "aws_lb.alb"),
    ("CKV2_AWS_12", "aws_vpc.vpc"),
}


@pytest.fixture(scope="module")
def scanned(checkov, tmp_path_factory) -> dict[bool, findings.ScanResult]:
    from preview import mocks

    out: dict[bool, findings.ScanResult] = {}
    for hardened in (False, True):
        document = snapshot("prod", hardened)
        if hardened:  # the default SG names the VPC by the id the mocks give it
            vpc_id = "vpc-" + mocks.digest("aws:ec2/vpc:Vpc", "vpc")
            document["resources"][-1]["inputs"]["vpcId"] = vpc_id
        plan = terraform_plan.to_terraform_plan(document)
        out[hardened] = findings.scan("prod", plan, tmp_path_factory.mktemp(f"scan-{hardened}"), accepted=[])
    return out


def test_known_bad_resources_fail_the_named_checks(scanned) -> None:
    failed = {(f.check, f.address) for f in scanned[False].failed}
    assert failed >= CHECKS
    assert scanned[False].blocking  # prod fails on unaccepted findings


def test_hardened_resources_pass_the_same_checks(scanned) -> None:
    failed = {(f.check, f.address) for f in scanned[True].failed}
    assert CHECKS & failed == set()
    assert scanned[True].passed > scanned[False].passed


def test_sarif_is_written_for_code_scanning(scanned) -> None:
    sarif = json.loads(pathlib.Path(scanned[False].sarif_path).read_text())
    rules = {r["ruleId"] for run in sarif["runs"] for r in run["results"]}
    assert {"CKV_AWS_61", "CKV_AWS_91"} <= rules


def test_an_acceptance_moves_a_finding_out_of_the_failures_and_dev_only_reports(scanned, tmp_path) -> None:
    report = json.loads((pathlib.Path(scanned[False].sarif_path).parent / "results_json.json").read_text())
    plan = terraform_plan.to_terraform_plan(snapshot("dev", False))
    accept = [Acceptance("CKV_AWS_91", "the test's reason, long enough to say why", resource="alb", stacks=("dev",))]
    result = findings.classify("dev", plan, report, accept)
    assert [f.check for f in result.accepted] == ["CKV_AWS_91"]
    assert "CKV_AWS_91" not in {f.check for f in result.failed}
    assert result.failed and not result.blocking  # dev reports, never fails
    assert findings.classify("prod", plan, report, accept).blocking  # the acceptance names dev only


@pytest.mark.parametrize("stack", [*SHIPPED_STACKS, "org"])
def test_every_shipped_stack_has_no_unaccepted_finding(checkov, shipped_preview, tmp_path, stack: str) -> None:
    plan = terraform_plan.to_terraform_plan(shipped_preview(stack).snapshot)
    result = findings.scan(stack, plan, tmp_path)
    assert [f.line() for f in result.failed] == []


def test_the_accepted_findings_file_is_valid_and_every_entry_has_a_reason() -> None:
    entries = accepted_findings.load()
    assert entries and all(len(e.reason) >= accepted_findings.MIN_REASON for e in entries)


def test_a_bad_accepted_findings_file_names_every_problem(tmp_path) -> None:
    bad = tmp_path / "accepted-findings.yaml"
    bad.write_text("accepted:\n  - {check: CKV_AWS_1x, reasn: because}\n  - {check: CKV2_AWS_5, reason: ok}\n")
    with pytest.raises(accepted_findings.AcceptanceError) as err:
        accepted_findings.load(bad)
    text = str(err.value)
    assert "entry 1: check: 'CKV_AWS_1x'" in text
    assert "reasn: unknown key" in text and "did you mean 'reason'" in text
    assert "entry 2: reason: 'ok' must say why" in text
