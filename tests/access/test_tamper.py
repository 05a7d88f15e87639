"""The baseline protects itself: every tamper attempt (access/tamper.py) by the root user, the deploy role and each
Identity Center permission set of every member account is explicitly denied by the org's SCPs, and is allowed
once the SCP that protects the baseline is gone or exempts too much. Verdicts are the simulator's, on the shipped
org stack's snapshot."""

from __future__ import annotations

import pytest

from access import accesses, tamper
from tests.access.conftest import statements

SSO = ":role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_"


@pytest.fixture(scope="module")
def org(evidence):
    return evidence("org")


def _protect_baseline(found):
    (scp,) = [s for s in found.documents.scps if s["name"].endswith("protect-baseline")]
    return scp


def test_every_tamper_attempt_of_every_member_account_is_explicitly_denied(org):
    verdicts = org.simulate(kind=accesses.TAMPER)
    members = {str(a["id"]) for a in org.organization.outputs["accounts"].values()}
    assert {v.access.principal.split(":")[4] for v in verdicts} == members
    attempted = {v.access.action for v in verdicts}
    assert attempted == {a.action for a in tamper.ATTEMPTS}
    principals = {v.access.principal for v in verdicts}
    assert any(p.endswith(":root") for p in principals)
    assert any(p.endswith(":role/org-prod-pulumi-deploy") for p in principals)
    assert any(SSO + "developer" in p for p in principals) and any(SSO + "admin" in p for p in principals)
    assert [v for v in verdicts if v.result != "ExplicitlyDenied"] == []


def test_without_the_baseline_scp_a_developer_switches_detection_off(org):
    bare = org.mutated()
    bare.documents.scps = [s for s in bare.documents.scps if not s["name"].endswith("protect-baseline")]
    verdicts = bare.simulate(kind=accesses.TAMPER, principal=SSO + "developer")
    allowed = {v.access.action for v in verdicts if v.allowed}
    assert {"guardduty:DeleteDetector", "securityhub:DisableSecurityHub", "config:StopConfigurationRecorder"} <= allowed
    # The organization trail is the management account's: a member cannot reach it even then.
    assert "cloudtrail:StopLogging" not in allowed
    assert "organizations:LeaveOrganization" not in allowed  # PowerUserAccess grants no organizations:*


def test_an_exemption_wider_than_the_baseline_roles_lets_the_deploy_role_through(org):
    wide = org.mutated()
    for statement in statements(_protect_baseline(wide)["policy"]):
        if "ArnNotLike" in statement.get("Condition", {}):
            statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"] = ["arn:aws:iam::*:role/*"]
    verdicts = wide.simulate(kind=accesses.TAMPER, principal=":role/org-prod-pulumi-deploy", action="guardduty:")
    assert verdicts and any(v.allowed for v in verdicts)


def test_the_log_archive_protections_are_attempted_only_from_the_archive_account(org):
    verdicts = org.simulate(kind=accesses.TAMPER, action="s3:PutBucketPolicy")
    archive = str(org.organization.outputs["accounts"]["log-archive"]["id"])
    assert {v.access.principal.split(":")[4] for v in verdicts} == {archive}


def test_without_the_baseline_scp_an_administrator_undoes_every_secure_default(org):
    """The account's secure defaults (components/account_defaults.py) hold only because protect-baseline denies
    undoing them: the attempts are allowed to an SSO administrator once it is gone, denied while it is there."""
    defaults = {a.action for a in tamper.ATTEMPTS if a.action.split(":")[0] in ("s3", "ec2", "account")} - {
        "s3:PutBucketPolicy",
        "s3:PutLifecycleConfiguration",
    }
    assert defaults == {
        "s3:PutAccountPublicAccessBlock",
        "ec2:DisableEbsEncryptionByDefault",
        "ec2:ModifyInstanceMetadataDefaults",
        "account:PutAlternateContact",
        "account:DeleteAlternateContact",
    }
    bare = org.mutated()
    bare.documents.scps = [s for s in bare.documents.scps if not s["name"].endswith("protect-baseline")]
    undone = {v.access.action for v in bare.simulate(kind=accesses.TAMPER, principal=SSO + "admin") if v.allowed}
    assert defaults <= undone
    kept = [v for v in org.simulate(kind=accesses.TAMPER, principal=SSO + "admin") if v.access.action in defaults]
    assert kept and all(v.result == "ExplicitlyDenied" for v in kept)
