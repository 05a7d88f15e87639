"""The day-zero world refuses a first `up` that would run ahead of what AWS requires (preview/ordering.py): the
shipped org stack is in order, and cutting one dependency of its snapshot names the refusal AWS would answer."""

from __future__ import annotations

import copy

import pytest

from preview import ordering


@pytest.fixture(scope="module")
def org(shipped_preview):
    return shipped_preview("org").snapshot


def _cut(snapshot: dict, name: str, type_: str, needle: str) -> dict:
    """``snapshot`` with resource ``name`` no longer waiting for anything whose URN contains ``needle``."""
    changed = copy.deepcopy(snapshot)
    (r,) = [r for r in changed["resources"] if r["name"] == name and r["type"] == type_]
    before = len(r["dependencies"])
    r["dependencies"] = [d for d in r["dependencies"] if needle not in d]
    r["propertyDependencies"] = {k: [d for d in v if needle not in d] for k, v in r["propertyDependencies"].items()}
    assert len(r["dependencies"]) < before, f"{name} did not wait for {needle}"
    return changed


def test_the_shipped_org_stack_is_in_the_order_aws_requires(org):
    assert ordering.problems(org) == []


def test_a_trail_that_does_not_wait_for_the_archive_bucket_policy_is_refused(org):
    found = ordering.problems(_cut(org, "org-trail", "aws:cloudtrail/trail:Trail", "BucketPolicy::log-archive"))
    assert len(found) == 1 and "InsufficientS3BucketPolicyException" in found[0]


def test_delegation_before_the_administrators_own_detector_is_refused(org):
    cut = _cut(
        org,
        "guardduty-admin-eu-west-1",
        "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount",
        "Detector::guardduty-audit-eu-west-1",
    )
    (problem,) = ordering.problems(cut)
    assert "guardduty-admin-eu-west-1" in problem and "detector already exists" in problem


def test_delegation_without_trusted_access_is_refused(org):
    """Every delegation waits for the organization anyway (its account does); what can go missing is the service in
    the organization's trusted access list."""
    untrusted = copy.deepcopy(org)
    (organization,) = [r for r in untrusted["resources"] if r["type"] == ordering.ORGANIZATION]
    principals = organization["inputs"]["awsServiceAccessPrincipals"]
    organization["inputs"]["awsServiceAccessPrincipals"] = [p for p in principals if p != "config.amazonaws.com"]
    (problem,) = ordering.problems(untrusted)
    assert "delegate-config" in problem and "nothing in the stack provides it" in problem


def test_more_than_five_account_creations_at_once_are_refused(org):
    unchained = copy.deepcopy(org)
    for r in unchained["resources"]:
        if r["type"] == ordering.ACCOUNT:
            r["dependencies"] = [d for d in r["dependencies"] if ":Account::" not in d]
    assert ordering.concurrent_accounts(org["resources"], ordering._ancestors(org["resources"])) == 5
    (problem,) = ordering.problems(unchained)
    assert problem.startswith("6 accounts may be created at once")  # the six the org vends


def _named(snapshot: dict, type_: str, name: str) -> dict:
    (r,) = [r for r in snapshot["resources"] if r["type"] == type_ and r["name"] == name]
    return r


def test_a_members_secure_defaults_wait_for_its_account_through_their_provider(org):
    """The settings read nothing from the account: only their provider (its assumed role and pinned account) makes
    them wait. A provider that no longer waits leaves each of its settings to a role that does not exist yet."""
    cut = copy.deepcopy(org)
    provider = _named(cut, ordering.PROVIDER, "aws-shop-dev-eu-west-1")
    provider["dependencies"], provider["propertyDependencies"] = [], {}
    settings = [
        r["urn"]
        for r in cut["resources"]
        if r["type"] in ordering.ACCOUNT_SETTINGS and r["provider"] == provider["urn"]
    ]
    found = ordering.problems(cut)
    assert len(settings) >= 2 and len(found) == len(settings)
    assert all("sts:AssumeRole" in p and any(p.startswith(urn) for urn in settings) for p in found)


def test_an_account_vended_without_the_access_role_cannot_take_its_defaults(org):
    """CreateAccount makes the role the providers assume (roleName); an account vended without it has no way in."""
    renamed = copy.deepcopy(org)
    _named(renamed, ordering.ACCOUNT, "sandbox-platform")["inputs"]["roleName"] = "SomeOtherRole"
    found = ordering.problems(renamed)
    expected = {
        r["urn"]
        for r in org["resources"]
        if r["type"] in ordering.ACCOUNT_SETTINGS and r["name"].startswith("sandbox-platform-")
    }
    assert expected and {p.split(": needs ", 1)[0] for p in found} == expected


def test_alternate_contacts_need_account_managements_trusted_access(org):
    untrusted = copy.deepcopy(org)
    (organization,) = [r for r in untrusted["resources"] if r["type"] == ordering.ORGANIZATION]
    principals = organization["inputs"]["awsServiceAccessPrincipals"]
    organization["inputs"]["awsServiceAccessPrincipals"] = [p for p in principals if p != "account.amazonaws.com"]
    found = ordering.problems(untrusted)
    contacts = [r for r in org["resources"] if r["type"] == ordering.CONTACT]
    assert len(contacts) == 2 * len([r for r in org["resources"] if r["type"] == ordering.ACCOUNT])
    assert len(found) == len(contacts) and all("account.amazonaws.com" in p for p in found)
