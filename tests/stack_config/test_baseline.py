"""The baseline's config is refused, naming the key, when it is incomplete (stack_config/baseline.py)."""

from __future__ import annotations

import pytest

import stack_config
from stack_config.baseline import BASELINE_TRUSTED_SERVICES
from tests.conftest import load_stack_yaml


def _refusal(stack_yaml, change) -> str:
    org = load_stack_yaml("org")["config"]["aws-platform:organization"]
    change(org)
    with pytest.raises(stack_config.ConfigError) as refused:
        stack_config.load_file("org", stack_yaml("org", {"aws-platform:organization": org}))
    return str(refused.value)


def test_an_archive_account_that_is_not_an_account_is_refused(stack_yaml):
    text = _refusal(stack_yaml, lambda org: org["baseline"].update(logArchiveAccount="archive"))
    assert "aws-platform:organization.baseline.logArchiveAccount" in text and "'archive' is not an account" in text


def test_trusted_access_for_every_delegated_service_is_required(stack_yaml):
    def drop(org):
        org["trustedServices"] = [s for s in org["trustedServices"] if s != "guardduty.amazonaws.com"]

    text = _refusal(stack_yaml, drop)
    assert "aws-platform:organization.trustedServices" in text and "guardduty.amazonaws.com" in text
    assert "guardduty.amazonaws.com" in BASELINE_TRUSTED_SERVICES


def test_the_baseline_accounts_must_sit_in_a_protected_ou(stack_yaml):
    def unprotect(org):
        org["guardrails"]["protectBaseline"] = ["workloads", "sandbox"]

    assert "does not list OU 'security'" in _refusal(stack_yaml, unprotect)


def test_archive_and_audit_are_two_accounts_and_carry_no_workload_deploy_role(stack_yaml):
    text = _refusal(stack_yaml, lambda org: org["baseline"].update(auditAccount="log-archive"))
    assert "also auditAccount" in text
    text = _refusal(stack_yaml, lambda org: org["baseline"].update(auditAccount="shop-prod"))
    assert "has a deployEnvironment" in text


def test_alert_recipients_are_required(stack_yaml):
    text = _refusal(stack_yaml, lambda org: org["baseline"].update(alertEmails=[]))
    assert "aws-platform:organization.baseline.alertEmails" in text


def test_both_alternate_contacts_are_required(stack_yaml):
    """Every member account gets them (components/account_defaults.py): a missing one is refused by name."""
    text = _refusal(stack_yaml, lambda org: org["baseline"].pop("operationsContact"))
    assert "aws-platform:organization.baseline.operationsContact" in text and "allowed: a mapping" in text
    assert "securityContact" not in text


def test_a_contact_phone_outside_e164_is_refused(stack_yaml):
    text = _refusal(stack_yaml, lambda org: org["baseline"]["securityContact"].update(phone="0123 456"))
    assert "aws-platform:organization.baseline.securityContact.phone" in text and "'0123 456'" in text
