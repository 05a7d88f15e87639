"""Providers into the organization's member accounts, for what the org stack sets up inside them.

The org stack acts in a member account the way an administrator does: through the role Organizations creates in
every account it vends (``OrganizationAccountAccessRole``, trusted by the management account). A pull-request
preview runs as the management account's read-only role and must never become that administrator (the PR's code
would run as it): its providers assume the member's read-only role instead, which the bootstrap lets the
management account's read-only role assume (``components/account_bootstrap.py``). The choice follows the caller,
as the image push providers do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from foundation.ci_identity import read_only_role_name
from foundation.identity import StackIdentity

ACCOUNT_ACCESS_ROLE = "OrganizationAccountAccessRole"  # AWS's default; organizations.Account(role_name=...) names it


def member_role(account_id: str, caller_arn: str) -> str:
    """The role a provider into ``account_id`` assumes for ``caller_arn``: read-only for a read-only caller."""
    caller_role = caller_arn.split(":assumed-role/", 1)[-1].split("/", 1)[0]
    role = read_only_role_name() if caller_role == read_only_role_name() else ACCOUNT_ACCESS_ROLE
    return f"arn:aws:iam::{account_id}:role/{role}"


@dataclass
class AccountProviders:
    """One provider per (account name, region), made once and shared by every component that acts there."""

    identity: StackIdentity
    account_ids: Mapping[str, pulumi.Output[str]]
    parent: pulumi.Resource | None = None
    _made: dict[tuple[str, str], aws.Provider] = field(default_factory=dict)

    def provider(self, account: str, region: str) -> aws.Provider:
        if (account, region) in self._made:
            return self._made[(account, region)]
        account_id = self.account_ids[account]
        caller = aws.get_caller_identity_output().arn
        roles = pulumi.Output.all(account_id, caller).apply(
            lambda parts: [
                aws.ProviderAssumeRoleArgs(role_arn=member_role(parts[0], parts[1]), session_name="org-stack")
            ]
        )
        made = aws.Provider(
            f"aws-{account}-{region}",
            region=region,
            assume_roles=roles,
            allowed_account_ids=[account_id],
            default_tags=aws.ProviderDefaultTagsArgs(tags=self.identity.tags),
            opts=pulumi.ResourceOptions(parent=self.parent),
        )
        self._made[(account, region)] = made
        return made

    def opts(self, account: str, region: str) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.provider(account, region))
