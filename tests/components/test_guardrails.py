"""Guardrails: SCPs and the tag policy, generated from the conventions, minified, sized and attached per OU."""

from __future__ import annotations

import inspect
import json

import pytest

import stack_config
from components import guardrails
from policies import conventions
from tests.conftest import run_preview

POLICY = "aws:organizations/policy:Policy"
ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"


def documents(preview) -> dict[str, dict]:
    return {r["name"]: json.loads(r["inputs"]["content"]) for r in preview.resources(POLICY)}


def request_tag_keys(statement: dict) -> list[str]:
    return [k.split("/", 1)[1] for k in statement["Condition"]["Null"] if k.startswith("aws:RequestTag/")]


def test_tag_scp_lists_exactly_the_conventions_required_tags(shipped_preview):
    statements = documents(shipped_preview("org"))["require-tags"]["Statement"]
    assert {key for s in statements for key in request_tag_keys(s)} == set(conventions.REQUIRED_TAGS)
    # One key per statement: keys in one Null block are ANDed, which would deny only when every tag is missing.
    assert all(len(request_tag_keys(s)) == 1 and s["Effect"] == "Deny" for s in statements)
    assert all(s["Condition"]["Null"] == {f"aws:RequestTag/{request_tag_keys(s)[0]}": "true"} for s in statements)


def test_tag_scp_takes_its_keys_from_the_conventions_module():
    default = inspect.signature(guardrails.require_tags_document).parameters["tags"].default
    assert default is conventions.REQUIRED_TAGS
    keys = {k for s in guardrails.require_tags_document(("team",))["Statement"] for k in request_tag_keys(s)}
    assert keys == {"team"}


def test_run_instances_is_denied_only_for_what_it_creates():
    """RunInstances also names the AMI, subnet and security group, which carry no request tags."""
    for statement in guardrails.require_tags_document()["Statement"]:
        actions = statement["Action"]
        if any(a.startswith("ec2:") for a in actions):
            assert set(actions) <= {"ec2:RunInstances", "ec2:CreateVolume"}
            assert statement["Resource"] == ["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:volume/*"]
        else:
            assert statement["Resource"] == "*"


def test_actions_whose_tags_arrive_in_a_second_call_are_not_in_the_tag_scp():
    actions = {a for s in guardrails.require_tags_document()["Statement"] for a in s["Action"]}
    assert not actions & {"s3:CreateBucket", "logs:CreateLogGroup", "cloudformation:CreateStack"}


def test_region_allow_list_exempts_global_services(shipped_preview):
    allowed = stack_config.load_file("org").organization.guardrails.allowed_regions
    (statement,) = documents(shipped_preview("org"))["region-allow-list"]["Statement"]
    assert statement["Effect"] == "Deny" and "Action" not in statement
    assert statement["Condition"] == {"StringNotEquals": {"aws:RequestedRegion": sorted(allowed)}}
    assert {"iam:*", "organizations:*", "route53:*", "cloudfront:*", "sts:*", "support:*"} <= set(
        statement["NotAction"]
    )


def test_leaving_is_denied_on_every_ou_by_one_scp_or_the_other(shipped_preview):
    """deny-leave's statement is merged into protect-baseline where both would attach (five SCPs per OU)."""
    (statement,) = guardrails.deny_leave_document()["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Deny", "organizations:LeaveOrganization")
    preview = shipped_preview("org")
    leaving = {
        p["urn"]
        for p in preview.resources(POLICY)
        if any(
            s.get("Action") == "organizations:LeaveOrganization" and "Condition" not in s
            for s in json.loads(p["inputs"]["content"]).get("Statement", [])
        )
    }
    targets = {a["inputs"]["targetId"] for a in preview.resources(ATTACHMENT) if a["parent"] in leaving}
    assert targets == set(preview.snapshot["outputs"]["organizational_unit_ids"].values())


def test_tag_policy_fixes_stage_values_to_the_conventions_stages(shipped_preview):
    preview = shipped_preview("org")
    policy = next(r for r in preview.resources(POLICY) if r["name"] == "stage-tag-policy")
    assert policy["inputs"]["type"] == "TAG_POLICY"
    stage = json.loads(policy["inputs"]["content"])["tags"]["stage"]
    assert stage["tag_key"] == {"@@assign": "stage"}
    assert stage["tag_value"] == {"@@assign": list(conventions.STAGES)}


def test_every_document_is_minified_and_under_its_limit(shipped_preview):
    for policy in shipped_preview("org").resources(POLICY):
        content = policy["inputs"]["content"]
        assert content == json.dumps(json.loads(content), separators=(",", ":")), policy["name"]
        assert len(content) <= guardrails.MAX_CHARACTERS[policy["inputs"]["type"]], policy["name"]


def test_oversized_document_is_refused_with_its_size_and_the_limit():
    document = guardrails.region_allow_list_document([f"region-{i:04d}" for i in range(600)])
    size = len(json.dumps(document, separators=(",", ":")))
    with pytest.raises(
        guardrails.GuardrailTooLarge,
        match=f"guardrail 'region-allow-list' \\(SERVICE_CONTROL_POLICY\\) is {size} characters "
        f"minified; AWS Organizations allows 5120",
    ):
        guardrails.render("region-allow-list", document, guardrails.SERVICE_CONTROL_POLICY)


def test_attachments_follow_the_config_per_ou(shipped_preview):
    rails = stack_config.load_file("org").organization.guardrails
    preview = shipped_preview("org")
    ou_ids = preview.snapshot["outputs"]["organizational_unit_ids"]
    policy_ids = {r["urn"]: r["name"] for r in preview.resources(POLICY)}
    attached: dict[str, set[str]] = {}
    for attachment in preview.resources(ATTACHMENT):
        attached.setdefault(policy_ids[attachment["parent"]], set()).add(attachment["inputs"]["targetId"])
    for rail in guardrails.guardrails_for(rails):
        assert attached.get(rail.component, set()) == {ou_ids[ou] for ou in getattr(rails, rail.key)}, rail.key


def test_policies_are_named_by_convention_and_created_only_when_attached(stack_yaml, tmp_path):
    raw = json.loads(
        stack_config.engine_values_from_yaml(stack_config.loader.stack_file("org"))["aws-platform:organization"]
    )
    raw["guardrails"]["stageTagPolicy"] = []
    result = run_preview("org", tmp_path, "--config", str(stack_yaml("org", {"aws-platform:organization": raw})))
    assert result.exit_code == 0, result.stdout + result.stderr
    names = sorted(r["inputs"]["name"] for r in result.resources(POLICY))
    assert names == ["org-prod-protect-baseline", "org-prod-region-allow-list", "org-prod-require-tags"]
    org = result.one("aws:organizations/organization:Organization", "organization")
    assert org["inputs"]["enabledPolicyTypes"] == ["SERVICE_CONTROL_POLICY"]
