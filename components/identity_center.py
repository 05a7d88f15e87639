"""IAM Identity Center: groups, permission sets and their account assignments.

Enabling Identity Center in a management account is a console step: ``CreateInstance`` works only for
standalone accounts (aws-organizations-as-code.md, "SSO Setup"). Until that step has produced an instance
ARN and identity store id (``organization.identityCenter`` in the config), the org stack builds none of
this; the caller constructs ``IdentityCenter`` only when they are given, and the pack's
``identity-center-readiness`` policy refuses SSO resources without a well-formed instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation.identity import StackIdentity
from stack_config.organization import GroupConfig, IdentityCenterConfig, PermissionSetConfig


def managed_policy_arn(name: str) -> str:
    """``ReadOnlyAccess`` or ``job-function/ViewOnlyAccess`` -> the AWS managed policy's ARN."""
    return f"arn:aws:iam::aws:policy/{name}"


@dataclass(frozen=True)
class IdentityCenterArgs:
    identity: StackIdentity
    instance: IdentityCenterConfig
    permission_sets: tuple[PermissionSetConfig, ...]
    groups: tuple[GroupConfig, ...]
    account_ids: Mapping[str, pulumi.Input[str]]  # account name -> id


class IdentityCenter(pulumi.ComponentResource):
    """One permission set per config entry, one group per config entry, assigned to its accounts."""

    permission_set_arns: dict[str, pulumi.Output[str]]
    group_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: IdentityCenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:IdentityCenter", name, None, opts)
        ident, instance = args.identity, args.instance
        # Identity Center lives in its home region, whatever the stack's region: say it on every resource.
        region = instance.region
        sets: dict[str, aws.ssoadmin.PermissionSet] = {}
        attachments: dict[str, aws.ssoadmin.ManagedPolicyAttachment] = {}
        for ps in args.permission_sets:
            sets[ps.name] = aws.ssoadmin.PermissionSet(
                ps.name,
                name=ident.name("aws:ssoadmin/permissionSet:PermissionSet", ps.name),
                description=f"{ps.managed_policy} for {ps.session_hours}h",
                instance_arn=instance.instance_arn,
                session_duration=f"PT{ps.session_hours}H",
                region=region,
                opts=pulumi.ResourceOptions(parent=self),
            )
            attachments[ps.name] = aws.ssoadmin.ManagedPolicyAttachment(
                ps.name,
                instance_arn=instance.instance_arn,
                permission_set_arn=sets[ps.name].arn,
                managed_policy_arn=managed_policy_arn(ps.managed_policy),
                region=region,
                opts=pulumi.ResourceOptions(parent=sets[ps.name]),
            )
        self.group_ids = {}
        for group in args.groups:
            store_group = aws.identitystore.Group(
                group.name,
                display_name=ident.name("aws:identitystore/group:Group", group.name),
                description=f"{group.permission_set} on {', '.join(group.accounts) or 'no account yet'}",
                identity_store_id=instance.identity_store_id,
                region=region,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.group_ids[group.name] = store_group.group_id
            for account in group.accounts:
                aws.ssoadmin.AccountAssignment(
                    f"{group.name}-{account}",
                    instance_arn=instance.instance_arn,
                    permission_set_arn=sets[group.permission_set].arn,
                    principal_id=store_group.group_id,
                    principal_type="GROUP",
                    target_id=args.account_ids[account],
                    target_type="AWS_ACCOUNT",
                    region=region,
                    # Assigning provisions the permission set into the account: its policy must be attached first.
                    opts=pulumi.ResourceOptions(parent=store_group, depends_on=[attachments[group.permission_set]]),
                )
        self.permission_set_arns = {name: ps.arn for name, ps in sets.items()}
        self.register_outputs({"permission_set_arns": self.permission_set_arns, "group_ids": self.group_ids})
