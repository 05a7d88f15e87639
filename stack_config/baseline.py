"""The ``organization.baseline`` section: what the organization records and detects, and where.

A landing zone's security baseline (Control Tower's mandatory controls, the Landing Zone Accelerator's
``security-config.yaml``): an organization trail into a log archive in its own account, detection delegated to
the audit account, root locked down. Absent, the org stack is blind inside (issue 29); the pack's
``security-baseline-present`` policy refuses an org stack without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from policies import conventions
from stack_config.parsing import Problem, setting, show
from stack_config.services import EMAIL

if TYPE_CHECKING:
    from stack_config.organization import OrganizationConfig

LABEL = conventions.DNS_LABEL.pattern.strip("^$")

# What each delegated service needs trusted access for. The Organization resource owns the whole list: a service
# that enables its own trusted access (GuardDuty and Security Hub do, on delegation) would see it switched off by
# the next `up` unless it is in the list, so the loader asks for every one of them.
BASELINE_TRUSTED_SERVICES: tuple[str, ...] = (
    "access-analyzer.amazonaws.com",
    "account.amazonaws.com",  # alternate contacts of member accounts, from the management account
    "cloudtrail.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com",
    "config.amazonaws.com",
    "guardduty.amazonaws.com",
    "iam.amazonaws.com",  # centralized root access
    "malware-protection.guardduty.amazonaws.com",
    "securityhub.amazonaws.com",
)
# GuardDuty's protection plans (organization configuration features), by the API's names.
GUARDDUTY_FEATURES = (
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "LAMBDA_NETWORK_LOGS",
    "RUNTIME_MONITORING",
)
# Security Hub standards by short name -> the ARN path after 'arn:aws:securityhub:<region>::'.
SECURITY_HUB_STANDARDS = {
    "aws-foundational": "standards/aws-foundational-security-best-practices/v/1.0.0",
    "cis-3.0": "standards/cis-aws-foundations-benchmark/v/3.0.0",
    "nist-800-53": "standards/nist-800-53/v/5.0.0",
}
REQUIRED_STANDARDS = ("aws-foundational", "cis-3.0")
PHONE = r"\+[0-9]{6,15}"


@dataclass(frozen=True)
class ContactConfig:
    name: str = setting(pattern=r"[A-Za-z0-9 .'-]{1,64}", what="a person or team name")
    email: str = setting(pattern=EMAIL, what="an e-mail address like 'security@example.com'")
    phone: str = setting(pattern=PHONE, what="a phone number in E.164 like '+441234567890'")
    title: str = setting("Team", pattern=r"[A-Za-z0-9 .'-]{1,50}", what="a title like 'Security team'")


@dataclass(frozen=True)
class BaselineConfig:
    log_archive_account: str = setting(
        pattern=LABEL, what="the account (in accounts) that holds the log archive, like 'log-archive'"
    )
    audit_account: str = setting(
        pattern=LABEL,
        what="the account (in accounts) that administers detection, like 'security-audit'",
    )
    retention_days: int = setting(
        365, min=90, max=3650, doc="Object Lock keeps each log a year: CIS and most audits ask for one"
    )
    retention_mode: str = setting(
        "COMPLIANCE",
        choices=("COMPLIANCE", "GOVERNANCE"),
        doc="COMPLIANCE: nobody, not even the archive account's root, deletes a log before its time",
    )
    glacier_after_days: int = setting(90, min=30, max=3650, doc="logs are read in the first weeks, then kept cold")
    state_data_events: bool = setting(
        True,
        doc="object writes of the state bucket (a few hundred per deploy; $0.10 per 100,000 data events)",
    )
    guardduty_features: list[str] = setting(
        default_factory=lambda: list(GUARDDUTY_FEATURES),
        each={"choices": GUARDDUTY_FEATURES},
        doc="every protection plan: the plans cost by usage, a missed one is a blind spot",
    )
    security_hub_standards: list[str] = setting(
        default_factory=lambda: list(REQUIRED_STANDARDS),
        each={"choices": tuple(SECURITY_HUB_STANDARDS)},
        doc="AWS Foundational Security Best Practices and CIS, Control Tower's and LZA's defaults",
    )
    alert_emails: list[str] = setting(
        default_factory=list,
        min=1,
        each={"pattern": EMAIL, "what": "an e-mail address"},
        doc="who hears of high and critical findings (a topic nobody reads is no alert)",
    )
    # Required (baseline_checks): AWS writes about abuse, compromise and operational events to these, not only to
    # the account's root e-mail (components/account_defaults.py sets them in every member account).
    security_contact: ContactConfig | None = setting(None, doc="alternate contact AWS writes to about security")
    operations_contact: ContactConfig | None = setting(None, doc="alternate contact AWS writes to about operations")


def baseline_checks(org: OrganizationConfig, key: str) -> list[Problem]:
    """The baseline's accounts exist, sit in an OU whose guardrails protect them, and are not the management
    account's stand-ins; every service it delegates has trusted access."""
    base = org.baseline
    if base is None:
        return []
    problems: list[Problem] = []
    by_name = {a.name: a for a in org.accounts}
    for field, name in (("logArchiveAccount", base.log_archive_account), ("auditAccount", base.audit_account)):
        if name not in by_name:
            problems.append(
                Problem(
                    f"{key}.{field}",
                    f"{show(name)} is not an account (allowed: {', '.join(sorted(by_name)) or 'none defined'})",
                )
            )
        elif by_name[name].deploy_environment:
            problems.append(
                Problem(
                    f"{key}.{field}",
                    f"{show(name)} has a deployEnvironment: a workload deploy role in the account that judges the "
                    "workloads could rewrite their records",
                )
            )
    if base.log_archive_account == base.audit_account:
        problems.append(
            Problem(
                f"{key}.logArchiveAccount",
                f"{show(base.log_archive_account)} is also auditAccount: the records and their readers are kept apart",
            )
        )
    missing = [s for s in BASELINE_TRUSTED_SERVICES if s not in org.trusted_services]
    if missing:
        problems.append(
            Problem(
                f"{key.rsplit('.', 1)[0]}.trustedServices",
                f"lacks {', '.join(missing)}, which baseline needs (the organization would switch the delegated "
                "services' trusted access off on the next up)",
            )
        )
    for index, standard in enumerate(REQUIRED_STANDARDS):
        if standard not in base.security_hub_standards:
            problems.append(
                Problem(
                    f"{key}.securityHubStandards",
                    f"{show(base.security_hub_standards)} lacks {show(standard)} (required: "
                    f"{', '.join(REQUIRED_STANDARDS)}; index {index})",
                )
            )
    for field, contact in (("securityContact", base.security_contact), ("operationsContact", base.operations_contact)):
        if contact is None:
            problems.append(
                Problem(
                    f"{key}.{field}",
                    "None is missing (allowed: a mapping {name, email, phone in E.164, title}, like "
                    "{name: Security team, email: security@example.com, phone: '+441234567890', title: Security}): "
                    "every member account gets it as its alternate contact, so AWS's notices reach a team",
                )
            )
    protected = set(org.guardrails.protect_baseline)
    for name in {base.log_archive_account, base.audit_account} & set(by_name):
        if by_name[name].ou not in protected:
            problems.append(
                Problem(
                    f"{key.rsplit('.', 1)[0]}.guardrails.protectBaseline",
                    f"does not list OU {show(by_name[name].ou)}, where {show(name)} lives: the baseline's own "
                    "accounts must be protected first",
                )
            )
    return problems


# Organizations: at most five SCPs attached to one target, FullAWSAccess (attached everywhere by default) counting
# (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html).
MAX_SCPS_PER_TARGET = 5
SCP_GUARDRAILS = ("require_tags", "deny_leave", "region_allow_list", "protect_baseline")


def scp_slot_checks(org: OrganizationConfig, key: str) -> list[Problem]:
    """Every OU keeps within the five-SCP quota; an OU that denies leaving twice wastes a slot."""
    from stack_config.parsing import camel

    rails = org.guardrails
    problems: list[Problem] = []
    for ou in sorted({ou for field in SCP_GUARDRAILS for ou in getattr(rails, field)}):
        attached = [camel(field) for field in SCP_GUARDRAILS if ou in getattr(rails, field)]
        if len(attached) + 1 > MAX_SCPS_PER_TARGET:
            problems.append(
                Problem(
                    f"{key}.guardrails",
                    f"OU {show(ou)} would carry {len(attached) + 1} SCPs (FullAWSAccess, {', '.join(attached)}); "
                    f"AWS allows {MAX_SCPS_PER_TARGET} per target: merge statements instead of adding a policy",
                )
            )
        if ou in rails.deny_leave and ou in rails.protect_baseline:
            problems.append(
                Problem(
                    f"{key}.guardrails.denyLeave",
                    f"OU {show(ou)} is also in protectBaseline, which denies leaving already: remove it here to "
                    "keep one of its five SCP slots free",
                )
            )
    return problems
