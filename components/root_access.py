"""Centralized root access: member accounts have no root credentials to lose, and root tasks are sessions.

Issue 29: every member account was vended with a root user whose password reset goes to the account's e-mail,
unrestricted. IAM's organization features remove that: ``RootCredentialsManagement`` lets the management account
delete (and keep deleted) the root credentials of member accounts, and new accounts are created without them;
``RootSessions`` lets it perform the few tasks only root can do (unlock a bucket policy that denies everyone,
for example) as a short ``sts:AssumeRoot`` session scoped by a task policy, instead of signing in as root.
The SCP ``protect-baseline`` (``components/baseline_guardrail.py``) denies root everything else.

Needs trusted access for ``iam.amazonaws.com`` first (a dependency on the organization, checked by
``preview/ordering.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

ROOT_FEATURES = ("RootCredentialsManagement", "RootSessions")


@dataclass(frozen=True)
class RootAccessArgs:
    trusted_access: pulumi.Resource  # the organization, with iam.amazonaws.com trusted


class RootAccess(pulumi.ComponentResource):
    """IAM's organization features for root credentials and root sessions, from the management account."""

    def __init__(self, name: str, args: RootAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:RootAccess", name, None, opts)
        aws.iam.OrganizationsFeatures(
            "root-access",
            enabled_features=list(ROOT_FEATURES),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.trusted_access]),
        )
        self.register_outputs({})
