"""Detection delegated to the audit account in every allowed region (components/security_services.py), root
access centralized (components/root_access.py), and findings routed to an alert topic."""

from __future__ import annotations

import json

import pytest

import stack_config


@pytest.fixture(scope="module")
def org(shipped_preview):
    return shipped_preview("org")


@pytest.fixture(scope="module")
def config():
    return stack_config.load_file("org").organization


def _regions(org, type_: str, **match) -> set[str]:
    return {
        r["inputs"]["region"] for r in org.resources(type_) if all(r["inputs"].get(k) == v for k, v in match.items())
    }


def test_the_audit_account_administers_guardduty_and_security_hub_in_every_allowed_region(org, config):
    audit = org.snapshot["outputs"]["accounts"][config.baseline.audit_account]["id"]
    management = org.snapshot["outputs"]["management_account_id"]
    assert audit != management
    allowed = set(config.guardrails.allowed_regions)
    for type_ in (
        "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount",
        "aws:securityhub/organizationAdminAccount:OrganizationAdminAccount",
    ):
        assert _regions(org, type_, adminAccountId=audit) == allowed
    assert _regions(org, "aws:accessanalyzer/analyzer:Analyzer", type="ORGANIZATION") == allowed
    delegated = {
        r["inputs"]["servicePrincipal"]: r["inputs"]["accountId"]
        for r in org.resources("aws:organizations/delegatedAdministrator:DelegatedAdministrator")
    }
    assert delegated == {"config.amazonaws.com": audit, "access-analyzer.amazonaws.com": audit}


def test_every_member_gets_guardduty_with_every_protection_plan(org, config):
    configs = org.resources("aws:guardduty/organizationConfiguration:OrganizationConfiguration")
    assert {c["inputs"]["autoEnableOrganizationMembers"] for c in configs} == {"ALL"}
    features = org.resources("aws:guardduty/organizationConfigurationFeature:OrganizationConfigurationFeature")
    by_region: dict[str, set[str]] = {}
    for f in features:
        assert f["inputs"]["autoEnable"] == "ALL"
        by_region.setdefault(f["inputs"]["region"], set()).add(f["inputs"]["name"])
    assert by_region == {r: set(config.baseline.guardduty_features) for r in config.guardrails.allowed_regions}


def test_security_hub_is_centrally_configured_with_fsbp_and_cis_from_the_home_region(org, config):
    (central,) = org.resources("aws:securityhub/organizationConfiguration:OrganizationConfiguration")
    assert central["inputs"]["organizationConfiguration"] == {"configurationType": "CENTRAL"}
    (policy,) = org.resources("aws:securityhub/configurationPolicy:ConfigurationPolicy")
    standards = policy["inputs"]["configurationPolicy"]["enabledStandardArns"]
    assert any("aws-foundational-security-best-practices" in s for s in standards)
    assert any("cis-aws-foundations-benchmark" in s for s in standards)
    (association,) = org.resources("aws:securityhub/configurationPolicyAssociation:ConfigurationPolicyAssociation")
    assert association["inputs"]["targetId"] == org.snapshot["outputs"]["root_id"]
    (aggregator,) = org.resources("aws:securityhub/findingAggregator:FindingAggregator")
    home = central["inputs"]["region"]
    assert set(aggregator["inputs"]["specifiedRegions"]) == set(config.guardrails.allowed_regions) - {home}


def test_config_aggregates_the_organization_in_every_allowed_region(org, config):
    (aggregator,) = org.resources("aws:cfg/configurationAggregator:ConfigurationAggregator")
    source = aggregator["inputs"]["organizationAggregationSource"]
    assert set(source["regions"]) == set(config.guardrails.allowed_regions)
    role = org.one("aws:iam/role:Role", "config-aggregator")
    assert source["roleArn"] == role["arn"]


def test_high_and_critical_findings_reach_the_alert_topic(org, config):
    rules = {
        r["name"]: json.loads(r["inputs"]["eventPattern"]) for r in org.resources("aws:cloudwatch/eventRule:EventRule")
    }
    assert rules["securityhub-findings"]["detail"]["findings"]["Severity"]["Label"] == ["HIGH", "CRITICAL"]
    topic = org.one("aws:sns/topic:Topic", "alerts")
    targets = {t["name"]: t["inputs"]["arn"] for t in org.resources("aws:cloudwatch/eventTarget:EventTarget")}
    assert targets == {"securityhub-findings": topic["arn"], "guardduty-findings": topic["arn"]}
    emails = {s["inputs"]["endpoint"] for s in org.resources("aws:sns/topicSubscription:TopicSubscription")}
    assert emails == set(config.baseline.alert_emails)


def test_root_credentials_and_sessions_are_managed_centrally(org):
    (features,) = org.resources("aws:iam/organizationsFeatures:OrganizationsFeatures")
    assert set(features["inputs"]["enabledFeatures"]) == {"RootCredentialsManagement", "RootSessions"}
