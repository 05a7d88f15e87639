"""checkov on converted plans: known-bad resources fail the named checks, the hardened ones pass them."""

from __future__ import annotations

import datetime
import json
import pathlib

import pytest

from policies.exceptions import Exception_
from scan import findings, terraform_plan
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
        out[hardened] = findings.scan("prod", plan, tmp_path_factory.mktemp(f"scan-{hardened}"), entries=[])
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


TODAY = datetime.date(2026, 12, 1)


def exception(expires: datetime.date | None, **fields) -> Exception_:
    return Exception_(
        number=1,
        reason="the test's reason, long enough to say why",
        owner="platform-team",
        resource="alb",
        check="CKV_AWS_91",
        expires=expires,
        **fields,
    )


def test_an_exception_moves_a_finding_out_of_the_failures_and_dev_only_reports(scanned) -> None:
    report = json.loads((pathlib.Path(scanned[False].sarif_path).parent / "results_json.json").read_text())
    plan = terraform_plan.to_terraform_plan(snapshot("dev", False))
    accept = [exception(TODAY + datetime.timedelta(days=30), stacks=("dev",))]
    result = findings.classify("dev", plan, report, accept, TODAY)
    assert [(f.check, f.accepted_by) for f in result.accepted] == [("CKV_AWS_91", accept[0])]
    assert "CKV_AWS_91" not in {f.check for f in result.failed}
    assert result.failed and not result.blocking  # dev reports, never fails
    assert findings.classify("prod", plan, report, accept, TODAY).blocking  # the exception names dev only
    row = result.as_json()["accepted"][0]
    assert (row["owner"], row["expires"], row["entry"]) == ("platform-team", "2026-12-31", 1)


def test_an_expired_exception_accepts_nothing_and_fails_even_dev(scanned) -> None:
    report = json.loads((pathlib.Path(scanned[False].sarif_path).parent / "results_json.json").read_text())
    plan = terraform_plan.to_terraform_plan(snapshot("dev", False))
    expired = exception(TODAY - datetime.timedelta(days=1))
    result = findings.classify("dev", plan, report, [expired], TODAY)
    assert "CKV_AWS_91" in {f.check for f in result.failed} and result.accepted == []
    assert result.expired == [expired] and result.blocking
    (line,) = result.as_json()["expired"]
    assert "entry 1 (CKV_AWS_91 on alb) expired on 2026-11-30 (owner platform-team)" in line
    # The day before, it still accepted the finding: the date decides, not the entry.
    assert not findings.classify("dev", plan, report, [expired], TODAY - datetime.timedelta(days=1)).expired


def test_a_false_positive_accepts_whatever_the_date(scanned) -> None:
    report = json.loads((pathlib.Path(scanned[False].sarif_path).parent / "results_json.json").read_text())
    plan = terraform_plan.to_terraform_plan(snapshot("prod", False))
    result = findings.classify("prod", plan, report, [exception(None, false_positive=True)], TODAY.replace(year=2040))
    assert [f.check for f in result.accepted] == ["CKV_AWS_91"] and result.expired == []


@pytest.mark.parametrize("stack", [*SHIPPED_STACKS, "org"])
def test_every_shipped_stack_has_no_unaccepted_finding(shipped_scan, stack: str) -> None:
    result = shipped_scan(stack)
    assert [f.line() for f in result.failed] == [] and result.expired == []
