"""CI's deploy identity in this account: the deploy role the org stack's bootstrap creates in every member account.

Roles that CI assumes (the image push roles) trust exactly this role, never the
account root: ``arn:aws:iam::<account>:root`` without a condition lets every
principal of the account whose own policy allows it assume the role.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.account_bootstrap import bootstrap_names
from foundation.identity import StackIdentity

# The org stack's identity (environments/Pulumi.org.yaml): the bootstrap names the deploy role after it.
ORG_STACK_IDENTITY = StackIdentity(
    stage="prod", context="org", owner="platform-team", usage="PRODUCTION", stack="org", region="us-east-1"
)


def deploy_role_name() -> str:
    return bootstrap_names(ORG_STACK_IDENTITY).deploy_role


def read_only_role_name() -> str:
    """The role pull-request previews and drift checks run as (the bootstrap's read-only role)."""
    return bootstrap_names(ORG_STACK_IDENTITY).read_only_role


def ci_deploy_role_arn(account_id: pulumi.Input[str] | None = None) -> pulumi.Output[str]:
    """The bootstrap's deploy role in ``account_id`` (default: the account the stack deploys into)."""
    account = account_id if account_id is not None else aws.get_caller_identity_output().account_id
    return pulumi.Output.from_input(account).apply(lambda acct: f"arn:aws:iam::{acct}:role/{deploy_role_name()}")
