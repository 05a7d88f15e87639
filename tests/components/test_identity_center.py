"""IAM Identity Center: nothing until the console step has produced an instance; then groups, sets, assignments."""

from __future__ import annotations

import json

import pytest
import yaml

import stack_config
from tests.conftest import run_preview

INSTANCE = {
    "instanceArn": "arn:aws:sso:::instance/ssoins-72230123456789ab",
    "identityStoreId": "d-9067a1b2c3",
    "region": "us-east-1",
}
PERMISSION_SET = "aws:ssoadmin/permissionSet:PermissionSet"
ATTACHMENT = "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment"
ASSIGNMENT = "aws:ssoadmin/accountAssignment:AccountAssignment"
GROUP = "aws:identitystore/group:Group"


def sso_resources(preview) -> list[dict]:
    return [r for r in preview.resources() if r["type"].startswith(("aws:ssoadmin/", "aws:identitystore/"))]


@pytest.fixture(scope="module")
def ready(tmp_path_factory):
    """The org stack once IAM Identity Center has been enabled in the console."""
    raw = json.loads(
        stack_config.engine_values_from_yaml(stack_config.loader.stack_file("org"))["aws-platform:organization"]
    )
    raw["identityCenter"] = INSTANCE
    directory = tmp_path_factory.mktemp("sso-ready")
    path = directory / "Pulumi.org.yaml"
    document = yaml.safe_load(stack_config.loader.stack_file("org").read_text())
    document["config"]["aws-platform:organization"] = raw
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return run_preview("org", directory, "--config", str(path))


def test_no_sso_resources_until_the_instance_exists(shipped_preview):
    assert stack_config.load_file("org").organization.identity_center is None
    assert sso_resources(shipped_preview("org")) == []


def test_ready_instance_passes_with_zero_mandatory_violations(ready):
    assert ready.exit_code == 0, ready.stdout + ready.stderr
    assert "policy pack: no violations" in ready.stdout


def test_one_permission_set_per_config_entry_with_its_managed_policy(ready):
    config = stack_config.load_file("org").organization
    for ps in config.permission_sets:
        permission_set = ready.one(PERMISSION_SET, ps.name)["inputs"]
        assert permission_set["name"] == f"org-prod-{ps.name}"
        assert permission_set["instanceArn"] == INSTANCE["instanceArn"]
        assert permission_set["sessionDuration"] == f"PT{ps.session_hours}H"
        assert permission_set["region"] == INSTANCE["region"]
        attachment = ready.one(ATTACHMENT, ps.name)["inputs"]
        assert attachment["managedPolicyArn"] == f"arn:aws:iam::aws:policy/{ps.managed_policy}"


def test_each_group_is_assigned_to_exactly_its_accounts(ready):
    config = stack_config.load_file("org").organization
    account_ids = ready.snapshot["outputs"]["accounts"]
    assignments = ready.resources(ASSIGNMENT)
    assert len(assignments) == sum(len(g.accounts) for g in config.groups)
    for group in config.groups:
        store_group = ready.one(GROUP, group.name)
        assert store_group["inputs"]["identityStoreId"] == INSTANCE["identityStoreId"]
        mine = [a for a in assignments if a["parent"] == store_group["urn"]]
        assert sorted(a["inputs"]["targetId"] for a in mine) == sorted(account_ids[n]["id"] for n in group.accounts)
        attachment = ready.one(ATTACHMENT, group.permission_set)
        for assignment in mine:
            assert assignment["inputs"]["principalType"] == "GROUP"
            assert assignment["inputs"]["targetType"] == "AWS_ACCOUNT"
            # Provisioning a permission set before its policy is attached would give the group nothing.
            assert attachment["urn"] in assignment["dependencies"]
