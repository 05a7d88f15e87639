"""Every member account the organization vends gets its secure defaults (components/account_defaults.py): S3's
account-level Block Public Access, EBS encryption and IMDSv2 by default in every allowed region, and the security
and operations alternate contacts, each through a provider into that account (or, for the contacts, from the
management account naming it)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

import stack_config
from components import account_defaults

BPA = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
EBS = "aws:ebs/encryptionByDefault:EncryptionByDefault"
IMDS = "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults"
CONTACT = "aws:account/alternativeContact:AlternativeContact"


@pytest.fixture(scope="module")
def org(shipped_preview):
    return shipped_preview("org")


@pytest.fixture(scope="module")
def members(org) -> dict[str, str]:
    """Account name -> id, as the organization vended them."""
    return {name: str(a["id"]) for name, a in org.snapshot["outputs"]["accounts"].items()}


def _where(org, resource) -> tuple[str, str]:
    """(account id, region) a resource is made in: its provider's pinned account and region."""
    (provider,) = [p for p in org.resources("pulumi:providers:aws") if p["urn"] == resource["provider"]]
    (account,) = json.loads(provider["inputs"]["allowedAccountIds"])
    assumed = json.loads(provider["inputs"]["assumeRoles"])
    assert [a["roleArn"] for a in assumed] == [f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"]
    return account, provider["inputs"]["region"]


def test_every_member_account_blocks_public_s3_access_account_wide(org, members):
    blocks = org.resources(BPA)
    assert sorted(_where(org, b)[0] for b in blocks) == sorted(members.values())  # one each, none twice
    for block in blocks:
        assert block["inputs"]["accountId"] == _where(org, block)[0]
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        assert all(block["inputs"][flag] is True for flag in flags), block["name"]


@pytest.mark.parametrize("type_", [EBS, IMDS])
def test_every_member_account_and_allowed_region_has_the_regional_default(org, members, type_):
    regions = stack_config.load_file("org").organization.guardrails.allowed_regions
    made = Counter(_where(org, r) for r in org.resources(type_))
    assert set(made) == {(account, region) for account in members.values() for region in regions}
    assert set(made.values()) == {1}


def test_the_regional_defaults_encrypt_volumes_and_require_imdsv2(org):
    assert all(r["inputs"]["enabled"] is True for r in org.resources(EBS))
    for defaults in org.resources(IMDS):
        assert defaults["inputs"]["httpTokens"] == "required"
        assert defaults["inputs"]["httpPutResponseHopLimit"] == account_defaults.HOP_LIMIT <= 2


def test_alternate_contacts_come_from_config_and_are_set_from_the_management_account(org, members):
    baseline = stack_config.load_file("org").organization.baseline
    assert baseline is not None
    wanted = {"SECURITY": baseline.security_contact, "OPERATIONS": baseline.operations_contact}
    contacts = org.resources(CONTACT)
    assert Counter((c["inputs"]["accountId"], c["inputs"]["alternateContactType"]) for c in contacts) == Counter(
        (account, kind) for account in members.values() for kind in wanted
    )
    (trail,) = org.resources("aws:cloudtrail/trail:Trail")  # the management account's own resource
    organization = org.one("aws:organizations/organization:Organization", "organization")
    for contact in contacts:
        expected = wanted[contact["inputs"]["alternateContactType"]]
        assert expected is not None
        assert (contact["inputs"]["name"], contact["inputs"]["emailAddress"], contact["inputs"]["phoneNumber"]) == (
            expected.name,
            expected.email,
            expected.phone,
        )
        assert contact["provider"] == trail["provider"]
        assert organization["urn"] in contact["dependencies"]  # Account Management's trusted access first
