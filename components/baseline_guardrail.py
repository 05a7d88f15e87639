"""The SCP that makes the security baseline protect itself, and keeps root out of member accounts.

Issue 29: any principal with broad rights in a member account (an SSO administrator, the deploy role, a leaked
key) could stop the trail, delete the detector, disable Security Hub, stop the Config recorder, delete the analyzer
or rewrite the bootstrap's roles, and nothing would have recorded that it happened; or undo the account's secure
defaults (S3 Block Public Access, EBS encryption and IMDSv2 by default, alternate contacts). This SCP denies exactly that
to every principal of the accounts it is attached to except the two the baseline itself runs as:
``OrganizationAccountAccessRole`` (the org stack, from the management account) and the StackSet execution role
(the bootstrap). It also denies everything to the root user (Control Tower's "disallow actions as a root user";
privileged root tasks go through centralized root access, ``components/root_access.py``, whose sessions carry
``aws:AssumedRoot``), and leaving the organization (merged here from ``deny-leave``: Organizations allows five
SCPs per target, ``FullAWSAccess`` counting, so statements are merged rather than policies added).

What is denied is written as the attacker's verbs, with service wildcards only where every matching action
weakens detection (``guardduty:Delete*``). ``access/tamper.py`` holds a separate list of concrete tamper attempts
that the access simulation evaluates against this document for representative principals of each member account.
"""

from __future__ import annotations

from typing import Any

from components.account_bootstrap import ROLE_CHANGES, bootstrap_names
from foundation.account_providers import ACCOUNT_ACCESS_ROLE
from foundation.identity import StackIdentity

# The principals the baseline runs as: the org stack (through the role Organizations creates) and the bootstrap's
# StackSet (service-managed StackSets act through this execution role in each member account).
BASELINE_PRINCIPALS = (f"arn:aws:iam::*:role/{ACCOUNT_ACCESS_ROLE}", "arn:aws:iam::*:role/stacksets-exec-*")

TAMPER_ACTIONS: tuple[str, ...] = (
    # A member's secure defaults (components/account_defaults.py): public buckets, unencrypted volumes, IMDSv1 and
    # AWS's notices sent elsewhere are each one call away. Deleting the account's Block Public Access is
    # s3:PutAccountPublicAccessBlock too (Service Authorization Reference).
    "account:DeleteAlternateContact",
    "account:PutAlternateContact",
    "ec2:DisableEbsEncryptionByDefault",
    "ec2:ModifyInstanceMetadataDefaults",
    "s3:PutAccountPublicAccessBlock",
    "access-analyzer:CreateArchiveRule",
    "access-analyzer:DeleteAnalyzer",
    "access-analyzer:UpdateArchiveRule",
    "cloudtrail:DeleteTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:StopLogging",
    "cloudtrail:UpdateTrail",
    "config:DeleteConfigurationAggregator",
    "config:DeleteConfigurationRecorder",
    "config:DeleteDeliveryChannel",
    "config:DeleteRetentionConfiguration",
    "config:PutConfigurationRecorder",
    "config:PutDeliveryChannel",
    "config:StopConfigurationRecorder",
    "guardduty:CreateFilter",
    "guardduty:CreateIPSet",
    "guardduty:Delete*",
    "guardduty:Disassociate*",
    "guardduty:StopMonitoringMembers",
    "guardduty:Update*",
    "securityhub:BatchDisableStandards",
    "securityhub:Delete*",
    "securityhub:Disable*",
    "securityhub:Disassociate*",
    "securityhub:UpdateConfigurationPolicy",
    "securityhub:UpdateOrganizationConfiguration",
    "securityhub:UpdateSecurityHubConfiguration",
    "securityhub:UpdateStandardsControl",
)


def protected_roles(identity: StackIdentity) -> list[str]:
    """The bootstrap's roles (deploy, read-only, replication) and boundary, and the role the baseline runs as."""
    names = bootstrap_names(identity)
    roles = [names.deploy_role, names.read_only_role, names.replication_role, ACCOUNT_ACCESS_ROLE]
    return [
        *(f"arn:aws:iam::*:role/{role}" for role in roles if role),
        f"arn:aws:iam::*:policy/{names.boundary_policy}",
    ]


def protect_baseline_document(identity: StackIdentity) -> dict[str, Any]:
    """Deny tampering (except to the baseline's own principals), root, and leaving."""
    not_the_baseline = {"ArnNotLike": {"aws:PrincipalArn": list(BASELINE_PRINCIPALS)}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyDetectionTamper",
                "Effect": "Deny",
                "Action": list(TAMPER_ACTIONS),
                "Resource": "*",
                "Condition": not_the_baseline,
            },
            {
                "Sid": "DenyBootstrapRoleChanges",
                "Effect": "Deny",
                "Action": list(ROLE_CHANGES),
                "Resource": protected_roles(identity),
                "Condition": not_the_baseline,
            },
            {
                # A root sign-in is denied everything; a privileged-task session from centralized root access
                # (sts:AssumeRoot, scoped by its task policy) carries aws:AssumedRoot and is let through.
                "Sid": "DenyRoot",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
                    "BoolIfExists": {"aws:AssumedRoot": "false"},
                },
            },
            {
                "Sid": "DenyLeaveOrganization",
                "Effect": "Deny",
                "Action": "organizations:LeaveOrganization",
                "Resource": "*",
            },
        ],
    }
