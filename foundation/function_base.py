"""What every Lambda function of the platform has before its code: a convention name, a log group, a role.

The log group is created before the function with a retention (Lambda would create one itself on the first
log line, kept forever, and `log-retention` could not see it); the role trusts the Lambda service only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.identity import StackIdentity

FUNCTION_TYPE = "aws:lambda/function:Function"


@dataclass(frozen=True)
class FunctionBase:
    name: str  # the function's physical name, which its log group and alarms follow
    logs: aws.cloudwatch.LogGroup
    role: aws.iam.Role


def function_base(
    resource_name: str,
    identity: StackIdentity,
    component: str,
    description: str,
    log_retention_days: int,
    parent: pulumi.Resource,
) -> FunctionBase:
    """``{context}-{stage}-{component}``, its ``/aws/lambda/`` log group and an execution role of the same name."""
    child = pulumi.ResourceOptions(parent=parent)
    name = identity.name(FUNCTION_TYPE, component)
    logs = aws.cloudwatch.LogGroup(
        resource_name, name=f"/aws/lambda/{name}", retention_in_days=log_retention_days, opts=child
    )
    role = aws.iam.Role(
        resource_name,
        name=identity.name("aws:iam/role:Role", component),
        description=description,
        assume_role_policy=iam.assume_role_policy("lambda.amazonaws.com"),
        opts=child,
    )
    return FunctionBase(name, logs, role)
