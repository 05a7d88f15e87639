"""The protect-baseline SCP: within the Organizations quotas, attached to every OU, exempting only the baseline's
own principals (components/baseline_guardrail.py). That it denies each tamper attempt is tests/access/test_tamper.py."""

from __future__ import annotations

import json

import pytest

import stack_config
from components import baseline_guardrail, guardrails
from foundation.ci_identity import ORG_STACK_IDENTITY
from tests.conftest import load_stack_yaml

POLICY = "aws:organizations/policy:Policy"
ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"


@pytest.fixture(scope="module")
def org(shipped_preview):
    return shipped_preview("org")


def test_every_scp_fits_5120_characters(org):
    for policy in org.resources(POLICY):
        if policy["inputs"]["type"] == guardrails.SERVICE_CONTROL_POLICY:
            assert len(policy["inputs"]["content"]) <= guardrails.MAX_CHARACTERS[guardrails.SERVICE_CONTROL_POLICY]


def test_no_ou_carries_more_than_five_scps_counting_full_aws_access(org):
    scps = {p["urn"] for p in org.resources(POLICY) if p["inputs"]["type"] == guardrails.SERVICE_CONTROL_POLICY}
    per_target: dict[str, int] = {}
    for attachment in org.resources(ATTACHMENT):
        if attachment["parent"] in scps:
            per_target[attachment["inputs"]["targetId"]] = per_target.get(attachment["inputs"]["targetId"], 0) + 1
    assert per_target and max(per_target.values()) + 1 <= 5


def test_the_baseline_scp_is_attached_to_every_ou(org):
    (policy,) = [p for p in org.resources(POLICY) if p["name"] == "protect-baseline"]
    targets = {a["inputs"]["targetId"] for a in org.resources(ATTACHMENT) if a["parent"] == policy["urn"]}
    assert targets == set(org.snapshot["outputs"]["organizational_unit_ids"].values())


def test_only_the_baseline_principals_are_exempt_and_root_and_leaving_are_denied():
    document = baseline_guardrail.protect_baseline_document(ORG_STACK_IDENTITY)
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    for sid in ("DenyDetectionTamper", "DenyBootstrapRoleChanges"):
        assert by_sid[sid]["Condition"] == {
            "ArnNotLike": {"aws:PrincipalArn": list(baseline_guardrail.BASELINE_PRINCIPALS)}
        }
    assert by_sid["DenyRoot"]["Action"] == "*"
    assert by_sid["DenyRoot"]["Condition"]["StringLike"] == {"aws:PrincipalArn": "arn:aws:iam::*:root"}
    assert "Condition" not in by_sid["DenyLeaveOrganization"]  # not even the baseline's roles may leave


def test_the_loader_refuses_an_ou_that_denies_leaving_twice(stack_yaml):
    """protect-baseline denies leaving: the deny-leave SCP beside it would spend one of the OU's five slots."""
    org_config = load_stack_yaml("org")["config"]["aws-platform:organization"]
    org_config["guardrails"]["denyLeave"] = ["workloads"]
    path = stack_yaml("org", {"aws-platform:organization": org_config})
    with pytest.raises(stack_config.ConfigError) as refused:
        stack_config.load_file("org", path)
    text = str(refused.value)
    assert "OU 'workloads' is also in protectBaseline" in text


def test_the_document_is_what_the_guardrails_render(org):
    (policy,) = [p for p in org.resources(POLICY) if p["name"] == "protect-baseline"]
    assert json.loads(policy["inputs"]["content"]) == baseline_guardrail.protect_baseline_document(ORG_STACK_IDENTITY)
