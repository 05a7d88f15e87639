"""Secrets Manager rotation wired the one way every rotated secret is (issue 13: "secrets with no rotation").

- Secrets Manager may invoke the function for that one secret only (``source_arn``);
- ``rotate_immediately=False``: setting rotation up runs only ``testSecret``, on the current value, so the
  first ``pulumi up`` proves the function and its permissions without changing a password in use; the
  first rotation follows the schedule;
- the function's role reads and writes that one secret; ``GetRandomPassword`` is the one ``*``;
- a failed step alarms: the rotation then stays pending and Secrets Manager refuses the next ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.alarms import metric_alarm
from foundation.identity import StackIdentity

SECRET_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)
RUNBOOK = "docs/operations.md, 'A password rotation failed'"


def rotation_statements(secret_arn: str) -> list[dict[str, Any]]:
    """What a rotation function needs of Secrets Manager: one secret, and the password generator."""
    return [
        iam.statement(SECRET_ACTIONS, [secret_arn]),
        # "*": GetRandomPassword generates a string; it reads no resource, so IAM has none to name.
        iam.statement(["secretsmanager:GetRandomPassword"], ["*"]),
    ]


def rotate_secret(
    name: str,
    secret_arn: pulumi.Input[str],
    function: aws.lambda_.Function,
    days: int,
    parent: pulumi.Resource,
    after: Sequence[pulumi.Resource] = (),
) -> aws.secretsmanager.SecretRotation:
    """``function`` rotates ``secret_arn`` every ``days``; set up once ``after`` (its grants, the first value) exist."""
    permission = aws.lambda_.Permission(
        f"{name}-rotation",
        action="lambda:InvokeFunction",
        function=function.name,
        principal="secretsmanager.amazonaws.com",
        source_arn=secret_arn,  # no other secret can point its rotation at this function
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return aws.secretsmanager.SecretRotation(
        name,
        secret_id=secret_arn,
        rotation_lambda_arn=function.arn,
        rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(automatically_after_days=days),
        rotate_immediately=False,
        # Set-up runs testSecret at once: the function's grant, its role and the first value must already exist.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[permission, *after]),
    )


def rotation_alarm(
    name: str,
    identity: StackIdentity,
    function_name: str,
    what: str,
    topic_arn: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> aws.cloudwatch.MetricAlarm:
    """Any error of the function that rotates ``what``: the old password still works, the rotation is stuck."""
    return metric_alarm(
        f"{name}-errors",
        identity,
        f"{name}-errors",
        f"{what} failed (Lambda Errors > 0): the current password still works, but the rotation stays pending "
        f"until fixed; {RUNBOOK}",
        topic_arn,
        parent,
        namespace="AWS/Lambda",
        metric_name="Errors",
        dimensions={"FunctionName": function_name},
        statistic="Sum",
        period=300,
        evaluation_periods=1,
        threshold=0,
        comparison_operator="GreaterThanThreshold",
    )
