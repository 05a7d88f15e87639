"""The pack guards the baseline (policies/rules/baseline.py): the org stack cannot drop it, and no stack weakens it.
Each policy is shown firing on a change to the shipped org stack's snapshot, or on a workload resource."""

from __future__ import annotations

import copy
import json

import pytest

from tests.conftest import messages, resource

ORG_CONFIG = {"all": "mandatory", "account-email-domain": {"domain": "aws.example.com"}}
TRAIL = "aws:cloudtrail/trail:Trail"


@pytest.fixture(scope="module")
def org_snapshot(shipped_preview):
    return shipped_preview("org").snapshot


def _check(policy_pack, snapshot):
    return policy_pack.check(snapshot, ORG_CONFIG)


def _without(snapshot, keep) -> dict:
    changed = copy.deepcopy(snapshot)
    before = len(changed["resources"])
    changed["resources"] = [r for r in changed["resources"] if keep(r)]
    assert len(changed["resources"]) < before
    return changed


def _scp_without(snapshot, prefix: str) -> dict:
    """``snapshot`` with protect-baseline no longer naming any action that starts with ``prefix``."""
    weakened = copy.deepcopy(snapshot)
    (scp,) = [r for r in weakened["resources"] if r["name"] == "protect-baseline" and "policy:Policy" in r["type"]]
    document = json.loads(scp["inputs"]["content"])
    for statement in document["Statement"]:
        if isinstance(statement.get("Action"), list):
            statement["Action"] = [a for a in statement["Action"] if not a.startswith(prefix)]
    scp["inputs"]["content"] = json.dumps(document)
    return weakened


def test_the_shipped_org_stack_keeps_its_baseline(policy_pack, org_snapshot):
    assert messages(_check(policy_pack, org_snapshot), "security-baseline-present") == []


def test_an_org_stack_without_its_trail_is_refused(policy_pack, org_snapshot):
    found = messages(
        _check(policy_pack, _without(org_snapshot, lambda r: r["type"] != TRAIL)), "security-baseline-present"
    )
    assert any("no organization trail" in m for m in found)


def test_a_trail_without_log_file_validation_is_refused(policy_pack, org_snapshot):
    changed = copy.deepcopy(org_snapshot)
    (trail,) = [r for r in changed["resources"] if r["type"] == TRAIL]
    trail["inputs"]["enableLogFileValidation"] = False
    assert any("log-file validation" in m for m in messages(_check(policy_pack, changed), "security-baseline-present"))


def test_detection_no_longer_delegated_is_refused(policy_pack, org_snapshot):
    changed = _without(org_snapshot, lambda r: "organizationAdminAccount" not in r["type"])
    found = messages(_check(policy_pack, changed), "security-baseline-present")
    assert any("GuardDuty's delegated administrator" in m for m in found)
    assert any("Security Hub's delegated administrator" in m for m in found)


def test_an_scp_that_no_longer_protects_the_baseline_is_refused(policy_pack, org_snapshot):
    detached = _without(org_snapshot, lambda r: "protect-baseline-" not in r["urn"].rsplit("::", 1)[-1])
    found = messages(_check(policy_pack, detached), "security-baseline-present")
    assert any("no attached SCP denies" in m and "guardduty:DeleteDetector" in m for m in found)
    found = messages(_check(policy_pack, _scp_without(org_snapshot, "securityhub:")), "security-baseline-present")
    assert any("securityhub:DisableSecurityHub" in m for m in found)


@pytest.mark.parametrize(
    ("type_", "inputs", "says"),
    [
        (TRAIL, {"name": "shop-prod-audit", "s3BucketName": "elsewhere"}, "a second trail"),
        ("aws:guardduty/detector:Detector", {"enable": True}, "a GuardDuty detector"),
        ("aws:cfg/recorder:Recorder", {"name": "shop-prod-recorder"}, "a Config recorder"),
        ("aws:accessanalyzer/archiveRule:ArchiveRule", {"analyzerName": "x", "ruleName": "quiet"}, "an archive rule"),
        ("aws:guardduty/filter:Filter", {"action": "ARCHIVE", "name": "quiet"}, "archives findings"),
    ],
)
def test_a_workload_stack_cannot_weaken_the_baseline(analyze, type_, inputs, says):
    found = messages(analyze("prod", [resource("prod", type_, "x", inputs)]), "no-baseline-weakening")
    assert len(found) == 1 and says in found[0]


def test_the_weakening_policy_is_mandatory_even_in_dev():
    from preview import policy_client

    assert policy_client.policy_config_for("dev")["no-baseline-weakening"] == "mandatory"


@pytest.mark.parametrize(
    ("type_", "key", "weak", "says"),
    [
        ("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "restrictPublicBuckets", False, "Block Public"),
        ("aws:ebs/encryptionByDefault:EncryptionByDefault", "enabled", False, "EBS encryption by default"),
        ("aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults", "httpTokens", "optional", "IMDSv2 by default"),
    ],
)
def test_a_member_accounts_secure_default_weakened_or_dropped_is_refused(
    policy_pack, org_snapshot, type_, key, weak, says
):
    weakened = copy.deepcopy(org_snapshot)
    first = next(r for r in weakened["resources"] if r["type"] == type_)
    first["inputs"][key] = weak
    found = messages(_check(policy_pack, weakened), "security-baseline-present")
    assert [m for m in found if says in m and "weakened" in m and repr(weak) in m]
    dropped = _without(org_snapshot, lambda r: r["type"] != type_)
    found = messages(_check(policy_pack, dropped), "security-baseline-present")
    accounts = sum(r["type"] == "aws:organizations/account:Account" for r in org_snapshot["resources"])
    assert any(says in m and f"set in 0 of the {accounts} member accounts" in m for m in found)


def test_an_account_without_its_security_contact_is_refused(policy_pack, org_snapshot):
    contact = "aws:account/alternativeContact:AlternativeContact"
    (dropped,) = [r for r in org_snapshot["resources"] if r["name"] == "shop-dev-contact-security"]
    assert dropped["type"] == contact
    found = messages(
        _check(policy_pack, _without(org_snapshot, lambda r: r["urn"] != dropped["urn"])), "security-baseline-present"
    )
    assert any("SECURITY alternate contact" in m for m in found)
    assert not any("OPERATIONS" in m for m in found)


def test_an_scp_that_lets_members_undo_their_defaults_is_refused(policy_pack, org_snapshot):
    found = messages(_check(policy_pack, _scp_without(org_snapshot, "ec2:")), "security-baseline-present")
    assert any("ec2:DisableEbsEncryptionByDefault" in m and "ec2:ModifyInstanceMetadataDefaults" in m for m in found)
