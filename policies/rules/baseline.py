"""The organization's security baseline (issue 29): it cannot silently disappear, and no stack may weaken it.

- ``security-baseline-present`` (the org stack): an organization trail (all regions, global events, log-file
  validation, a customer key), GuardDuty and Security Hub delegated to an administrator, Config's and Access
  Analyzer's delegation with the organization aggregator and an organization analyzer, every vended account's
  secure defaults (S3 account Block Public Access, EBS encryption and IMDSv2 by default, both alternate contacts),
  and an attached SCP that still denies stopping each of them, undoing the defaults and leaving the organization.
  A config edit that drops any of these would otherwise deploy cleanly and leave the organization blind.
- ``no-baseline-weakening`` (every other stack): a workload stack creates no second trail, detector, hub,
  recorder or delivery channel of its own (they collide with the organization's, or write records elsewhere),
  and nowhere may a suppression filter or archive rule hide findings as they arrive.

The pack is self-contained: the actions it asks the SCP to deny are its own list, independent of the one
``components/baseline_guardrail.py`` writes the SCP from.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from pulumi_policy import (
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from rules.docs import url
from rules.organization import ORGANIZATION, POLICY
from rules.organization import get_prop as _get
from rules.organization import is_unknown as _unknown

TRAIL = "aws:cloudtrail/trail:Trail"
ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
# What the baseline's SCP must still deny (one action per thing that would go blind).
MUST_DENY = (
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "guardduty:DeleteDetector",
    "securityhub:DisableSecurityHub",
    "config:StopConfigurationRecorder",
    "config:DeleteDeliveryChannel",
    "access-analyzer:DeleteAnalyzer",
    "organizations:LeaveOrganization",
    "s3:PutAccountPublicAccessBlock",
    "ec2:DisableEbsEncryptionByDefault",
    "ec2:ModifyInstanceMetadataDefaults",
    "account:PutAlternateContact",
)
ACCOUNT = "aws:organizations/account:Account"
# Each member account's secure defaults (components/account_defaults.py): type -> (what, the inputs that make it
# safe). At least one per vended account; the regional ones come once per allowed region.
DEFAULTS = {
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": (
        "S3 account-level Block Public Access",
        {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True},
    ),
    "aws:ebs/encryptionByDefault:EncryptionByDefault": ("EBS encryption by default", {"enabled": True}),
    "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults": ("IMDSv2 by default", {"httpTokens": "required"}),
}
CONTACT = "aws:account/alternativeContact:AlternativeContact"
CONTACT_TYPES = ("SECURITY", "OPERATIONS")
DELEGATED = {
    "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount": "GuardDuty's delegated administrator",
    "aws:securityhub/organizationAdminAccount:OrganizationAdminAccount": "Security Hub's delegated administrator",
    "aws:cfg/configurationAggregator:ConfigurationAggregator": "Config's organization aggregator",
}
DELEGATED_SERVICES = ("config.amazonaws.com", "access-analyzer.amazonaws.com")
# What only the org stack creates: elsewhere it collides with the organization's or records somewhere else.
ORG_ONLY = {
    TRAIL: "a second trail (the organization trail records every account already; this one writes elsewhere)",
    "aws:guardduty/detector:Detector": "a GuardDuty detector (the audit account's administrator enables every member)",
    "aws:securityhub/account:Account": "a Security Hub hub (central configuration enables every member)",
    "aws:cfg/recorder:Recorder": "a Config recorder (the baseline's records every account and region)",
    "aws:cfg/deliveryChannel:DeliveryChannel": "a Config delivery channel writing outside the log archive",
    "aws:accessanalyzer/analyzer:Analyzer": "an analyzer (the organization's covers every account)",
}
HIDING = {
    "aws:accessanalyzer/archiveRule:ArchiveRule": "an archive rule, which archives Access Analyzer findings as they arrive",
}


def _statements(content: Any) -> list[dict[str, Any]]:
    try:
        document = json.loads(content) if isinstance(content, str) else {}
    except ValueError:
        return []
    found = document.get("Statement") if isinstance(document, dict) else None
    return [s for s in (found if isinstance(found, list) else [found] if found else []) if isinstance(s, dict)]


def denied_actions(content: Any) -> set[str]:
    """The actions in ``MUST_DENY`` that one of the document's Deny statements covers (wildcards honoured)."""
    covered: set[str] = set()
    for statement in _statements(content):
        if statement.get("Effect") != "Deny" or not _applies_to_everyone(statement):
            continue
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        for wanted in MUST_DENY:
            if any(fnmatch.fnmatchcase(wanted.lower(), str(a).lower()) for a in actions):
                covered.add(wanted)
    return covered


def _applies_to_everyone(statement: dict[str, Any]) -> bool:
    """A Deny protects the baseline only if it binds every principal but named exemptions: no condition, or only
    ``...NotLike``/``...NotEquals`` on ``aws:PrincipalArn``. A deny for root alone (``StringLike`` root) does not."""
    condition = statement.get("Condition") or {}
    exemptions = {"ArnNotLike", "ArnNotEquals", "StringNotLike", "StringNotEquals"}
    return all(op in exemptions and set(keys) == {"aws:PrincipalArn"} for op, keys in condition.items())


def baseline_problems(resources: list[Any]) -> list[tuple[str, str | None]]:
    """(problem, urn) for each part of the baseline the org stack lacks."""
    by_type: dict[str, list[Any]] = {}
    for r in resources:
        by_type.setdefault(r.resource_type, []).append(r)
    found: list[tuple[str, str | None]] = []
    trails = [t for t in by_type.get(TRAIL, []) if _get(t.props, "isOrganizationTrail") is True]
    if not trails:
        found.append(("no organization trail: nothing records what happens in the member accounts", None))
    for trail in trails:
        for key, what in (
            ("isMultiRegionTrail", "every region"),
            ("includeGlobalServiceEvents", "global service events (IAM, STS, Organizations)"),
            ("enableLogFileValidation", "log-file validation (proof that no log was altered)"),
        ):
            value = _get(trail.props, key)
            if not _unknown(value) and value is not True:
                found.append((f"the organization trail does not record {what} ({key} is {value!r})", trail.urn))
        if not _get(trail.props, "kmsKeyId"):
            found.append(("the organization trail's logs are not encrypted with a customer key (kmsKeyId)", trail.urn))
    for type_, what in DELEGATED.items():
        if not by_type.get(type_):
            found.append((f"no {what}: detection is not run organization-wide from the audit account", None))
    delegations = by_type.get("aws:organizations/delegatedAdministrator:DelegatedAdministrator", [])
    delegated = {_get(d.props, "servicePrincipal") for d in delegations}
    for service in DELEGATED_SERVICES:
        if service not in delegated:
            found.append((f"{service} is not delegated to the audit account", None))
    analyzers = by_type.get("aws:accessanalyzer/analyzer:Analyzer", [])
    if not any(_get(a.props, "type") == "ORGANIZATION" for a in analyzers):
        found.append(("no Access Analyzer with the organization as its zone of trust", None))
    found.extend(_defaults_problems(by_type))
    # An SCP protects only where it is attached; its attachments are its children (components/guardrails.py).
    attached = {a.parent.urn for a in by_type.get(ATTACHMENT, []) if a.parent is not None}
    covered: set[str] = set()
    unknown = False
    for policy in by_type.get(POLICY, []):
        if (_get(policy.props, "type") or "SERVICE_CONTROL_POLICY") != "SERVICE_CONTROL_POLICY":
            continue
        content = _get(policy.props, "content")
        if _unknown(content):
            unknown = True
        elif policy.urn in attached:
            covered |= denied_actions(content)
    missing = [a for a in MUST_DENY if a not in covered]
    if missing and not unknown:
        found.append(
            (
                f"no attached SCP denies {', '.join(missing)}: a principal of a member account could switch the "
                "baseline off",
                None,
            )
        )
    return found


def _defaults_problems(by_type: dict[str, list[Any]]) -> list[tuple[str, str | None]]:
    """Every vended account has each secure default, set to its safe value, and both alternate contacts."""
    found: list[tuple[str, str | None]] = []
    accounts = len(by_type.get(ACCOUNT, []))
    for type_, (what, safe) in DEFAULTS.items():
        made = by_type.get(type_, [])
        if len(made) < accounts:
            found.append((f"{what} is set in {len(made)} of the {accounts} member accounts", None))
        for r in made:
            for key, value in safe.items():
                got = _get(r.props, key)
                if not _unknown(got) and got != value:
                    found.append((f"{what} is weakened: {key} is {got!r} (safe: {value!r})", r.urn))
    kinds = [_get(c.props, "alternateContactType") for c in by_type.get(CONTACT, [])]
    for kind in CONTACT_TYPES:
        if kinds.count(kind) < accounts:
            found.append(
                (f"the {kind} alternate contact is set in {kinds.count(kind)} of the {accounts} member accounts", None)
            )
    return found


def _validate_present(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    if not any(r.resource_type == ORGANIZATION for r in resources):
        return
    for problem, urn in baseline_problems(resources):
        report(problem, urn)


security_baseline_present = StackValidationPolicy(
    name="security-baseline-present",
    description=(
        "The org stack keeps its security baseline: an organization trail (all regions, global events, log-file "
        "validation, a customer key), GuardDuty, Security Hub, Config and Access Analyzer delegated to the audit "
        "account, every member account's secure defaults (S3 account Block Public Access, EBS encryption and IMDSv2 "
        "by default, security and operations contacts), and an attached SCP that denies switching them off, undoing "
        "the defaults and leaving the organization (issue 29)."
    ),
    validate=_validate_present,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Restore organization.baseline in environments/Pulumi.org.yaml and guardrails.protectBaseline on every OU "
        "(docs/organization.md#security-baseline)."
    ),
    url=url("security-baseline-present"),
)


def _validate_weakening(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    org_stack = any(r.resource_type == ORGANIZATION for r in resources)
    for r in resources:
        if r.resource_type in ORG_ONLY and not org_stack:
            report(f"{ORG_ONLY[r.resource_type]}: only the org stack's baseline creates these", r.urn)
        elif r.resource_type in HIDING:
            report(f"{HIDING[r.resource_type]}: findings must reach the audit account", r.urn)
        elif r.resource_type == "aws:guardduty/filter:Filter" and _get(r.props, "action") == "ARCHIVE":
            report("a GuardDuty filter that archives findings as they arrive: findings must reach people", r.urn)


no_baseline_weakening = StackValidationPolicy(
    name="no-baseline-weakening",
    description=(
        "No workload stack creates a trail, detector, hub, Config recorder or analyzer of its own (they collide "
        "with the organization's baseline or record elsewhere), and no stack hides findings with a GuardDuty "
        "archive filter or an Access Analyzer archive rule (issue 29)."
    ),
    validate=_validate_weakening,
    severity=Severity.HIGH,
    remediation_steps=(
        "Remove the resource: the org stack's baseline records, detects and analyzes every account; ask the "
        "security team to tune a finding in the audit account instead of suppressing it."
    ),
    url=url("no-baseline-weakening"),
)

POLICIES = [security_baseline_present, no_baseline_weakening]
