"""Tamper attempts: what someone in a member account would do to blind the organization, judged like any access.

Issue 29: the baseline must protect itself. These are concrete API calls an intruder (or a hurried engineer) makes
to stop recording and detection, written here as attacks, independently of how the ``protect-baseline`` SCP
phrases its denials (``components/baseline_guardrail.py``), so a wildcard, a condition or an attachment that does
not hold shows up as an attempt the simulator allows. Each is evaluated for representative principals of every
member account (its deploy role, an Identity Center session of each permission set assigned there, the root
user), with the account's SCPs, and the preview fails if any one is allowed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# A resource id AWS would generate (a detector's): the attempt is on the member's own detector, whatever its id.
DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"


@dataclass(frozen=True)
class Attempt:
    action: str
    resource: str  # with {region}, {account}, {trail_arn}, {analyzer}, {bucket} and the bootstrap's role names
    only_in: str = ""  # 'log-archive': an attempt that only makes sense from the archive's own account


ATTEMPTS: tuple[Attempt, ...] = (
    Attempt("cloudtrail:StopLogging", "{trail_arn}"),
    Attempt("cloudtrail:DeleteTrail", "{trail_arn}"),
    Attempt("cloudtrail:PutEventSelectors", "{trail_arn}"),
    Attempt("guardduty:DeleteDetector", "arn:aws:guardduty:{region}:{account}:detector/" + DETECTOR),
    Attempt("guardduty:UpdateDetector", "arn:aws:guardduty:{region}:{account}:detector/" + DETECTOR),
    Attempt("guardduty:DisassociateFromAdministratorAccount", "*"),
    # A suppression filter archives findings as they arrive: detection switched off without stopping anything.
    Attempt("guardduty:CreateFilter", "arn:aws:guardduty:{region}:{account}:detector/" + DETECTOR + "/filter/quiet"),
    Attempt("securityhub:DisableSecurityHub", "arn:aws:securityhub:{region}:{account}:hub/default"),
    Attempt("securityhub:DisassociateFromAdministratorAccount", "arn:aws:securityhub:{region}:{account}:hub/default"),
    Attempt("securityhub:BatchDisableStandards", "arn:aws:securityhub:{region}:{account}:hub/default"),
    Attempt("config:StopConfigurationRecorder", "*"),
    Attempt("config:DeleteConfigurationRecorder", "*"),
    Attempt("config:DeleteDeliveryChannel", "*"),
    Attempt("access-analyzer:DeleteAnalyzer", "arn:aws:access-analyzer:{region}:{account}:analyzer/{analyzer}"),
    Attempt(
        "access-analyzer:CreateArchiveRule",
        "arn:aws:access-analyzer:{region}:{account}:analyzer/{analyzer}/archive-rule/quiet",
    ),
    Attempt("iam:DeleteRole", "arn:aws:iam::{account}:role/{deploy_role}"),
    Attempt("iam:UpdateAssumeRolePolicy", "arn:aws:iam::{account}:role/{deploy_role}"),
    Attempt("iam:AttachRolePolicy", "arn:aws:iam::{account}:role/{read_only_role}"),
    Attempt("iam:PutRolePolicy", "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"),
    Attempt("organizations:LeaveOrganization", "*"),
    # The account's secure defaults (components/account_defaults.py), undone from inside the account.
    Attempt("s3:PutAccountPublicAccessBlock", "*"),
    Attempt("ec2:DisableEbsEncryptionByDefault", "*"),
    Attempt("ec2:ModifyInstanceMetadataDefaults", "*"),
    Attempt("account:PutAlternateContact", "arn:aws:account::{account}:account"),
    Attempt("account:DeleteAlternateContact", "arn:aws:account::{account}:account"),
    Attempt("s3:PutBucketPolicy", "arn:aws:s3:::{bucket}", only_in="log-archive"),
    Attempt("s3:PutLifecycleConfiguration", "arn:aws:s3:::{bucket}", only_in="log-archive"),
)


def attempts_for(
    baseline: Mapping[str, Any], account: str, account_name: str, management: str
) -> Iterator[tuple[Attempt, str, str]]:
    """Each attempt in the home region: (attempt, region, resource ARN). The SCPs judged here name no region (the
    region allow-list admits every allowed one), so another allowed region would ask the same question again."""
    names = {
        "management": management,
        "account": account,
        "trail_arn": baseline.get("trail_arn", ""),
        "analyzer": baseline.get("analyzer_name", ""),
        "bucket": baseline.get("log_archive_bucket", ""),
        "deploy_role": baseline.get("deploy_role", ""),
        "read_only_role": baseline.get("read_only_role", ""),
    }
    region = str(baseline.get("home_region") or "us-east-1")
    for attempt in ATTEMPTS:
        if attempt.only_in == "log-archive" and account_name != baseline.get("log_archive_account"):
            continue
        yield attempt, region, attempt.resource.format(region=region, **names)
