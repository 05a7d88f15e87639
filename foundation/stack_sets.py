"""The organization's service-managed StackSets: one set of deployment settings for every StackSet the org stack owns.

The account bootstrap and the security baseline's Config recorders both reach every member account through a
service-managed StackSet; how CloudFormation rolls them out (auto-deployment, one region at a time, a quarter of the
accounts at once, no failure tolerated) is one decision, written here once.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from foundation.identity import StackIdentity


def service_managed_stack_set(
    resource_name: str,
    ident: StackIdentity,
    *,
    component: str,
    description: str,
    template_body: pulumi.Input[str],
    retain_stacks_on_account_removal: bool,
    opts: pulumi.ResourceOptions,
) -> aws.cloudformation.StackSet:
    """A StackSet deployed by Organizations to every account of its target OUs, new or moved ones included."""
    return aws.cloudformation.StackSet(
        resource_name,
        name=ident.name("aws:cloudformation/stackSet:StackSet", component),
        description=description,
        permission_model="SERVICE_MANAGED",
        # Auto-deployment: a new or moved account gets its stack from CloudFormation, without a pulumi up.
        auto_deployment=aws.cloudformation.StackSetAutoDeploymentArgs(
            enabled=True, retain_stacks_on_account_removal=retain_stacks_on_account_removal
        ),
        capabilities=["CAPABILITY_NAMED_IAM"],
        template_body=template_body,
        managed_execution=aws.cloudformation.StackSetManagedExecutionArgs(active=True),
        # One region at a time, a quarter of the accounts at once, and stop at the first failure: a broken template
        # reaches few accounts before anyone looks.
        operation_preferences=aws.cloudformation.StackSetOperationPreferencesArgs(
            failure_tolerance_count=0, max_concurrent_percentage=25, region_concurrency_type="SEQUENTIAL"
        ),
        # Stack-level tags are in every CreateStack request (scp-request-time-tags.md).
        tags=ident.tags,
        # AWS fills in its service-managed role; it is not ours to change.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["administrationRoleArn"])),
    )
