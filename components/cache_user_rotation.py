"""Secrets Manager rotation of the Valkey cache user's password (issue 13: "secrets with no rotation").

A password that never changes outlives every person and task that ever read it. AWS supports
rotating ElastiCache RBAC users through Secrets Manager with a rotation function that calls
``ModifyUser``; AWS publishes that function as sample code to deploy yourself, not as a managed
rotation, so the function is ours (``lambda_src/cache_user_rotation``, on the protocol module
every rotated secret shares) and deployed here, one function for one secret and one user. Its
role may change exactly that user and write exactly that secret, and the schedule is wired
the way every rotated secret is (``foundation/rotation.py``: invoked for that secret only, set up
without rotating so the first ``pulumi up`` proves the function, an alarm when a step fails).

Pulumi keeps the initial value: its inputs do not change after a rotation, so a later
``pulumi up`` writes no version and leaves the rotated password alone. A change of the user
(replaced, or its password input changed) writes Pulumi's password to the user *and* the
secret in the same deploy, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.function_base import function_base
from foundation.identity import StackIdentity
from foundation.rotation import rotate_secret, rotation_alarm, rotation_statements
from stack_config.data import PASSWORD_ROTATION_DAYS

# The function's code with its package path, so ``lambda_src.secret_rotation`` imports the same way in tests.
CODE_FILES = (
    "lambda_src/__init__.py",
    "lambda_src/secret_rotation/__init__.py",
    "lambda_src/secret_rotation/protocol.py",
    "lambda_src/cache_user_rotation/__init__.py",
    "lambda_src/cache_user_rotation/handler.py",
)
HANDLER = "lambda_src.cache_user_rotation.handler.handler"
RUNTIME = "python3.12"  # the runtime's boto3 is all it needs; supported by Lambda until 2028
TIMEOUT_SECONDS = 900  # waiting for the user to be active again may take minutes (the handler waits up to 600 s)
LOG_RETENTION_DAYS = 90  # a rotation's evidence for a quarter's access review


@dataclass(frozen=True)
class CacheUserRotationArgs:
    identity: StackIdentity
    secret_arn: pulumi.Input[str]
    user_arn: pulumi.Input[str]
    rotation_days: int = 30  # long enough that a task started before a rotation outlives it (two passwords)
    # Rotation is set up once the secret holds its first value: testSecret reads it.
    after: Sequence[pulumi.Resource] = ()
    alarm_topic_arn: pulumi.Input[str] | None = None


class CacheUserRotation(pulumi.ComponentResource):
    """The rotation function for one cache user's secret, and the schedule that calls it."""

    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    alarm: aws.cloudwatch.MetricAlarm

    def __init__(self, name: str, args: CacheUserRotationArgs, opts: pulumi.ResourceOptions | None = None):
        low, high = PASSWORD_ROTATION_DAYS["min"], PASSWORD_ROTATION_DAYS["max"]
        if not low <= args.rotation_days <= high:  # the loader refuses it too; callers may not use it
            raise ValueError(
                f"cache: passwordRotationDays {args.rotation_days} (allowed: {low}..{high}; "
                f"a shorter period than the services' task lifetime makes them reconnect with a stale password)"
            )
        super().__init__("platform:data:CacheUserRotation", name, None, opts)
        ident = args.identity
        child = pulumi.ResourceOptions(parent=self)
        base = function_base(
            "cache-rotation",
            ident,
            "cache-rotation",
            "rotates the Valkey cache user's password (one user, one secret)",
            LOG_RETENTION_DAYS,
            self,
        )
        function_name, logs, role = base.name, base.logs, base.role
        policy = aws.iam.RolePolicy(
            "cache-rotation",
            role=role.id,
            policy=pulumi.Output.all(args.secret_arn, args.user_arn, logs.arn).apply(
                lambda v: rotation_policy(secret_arn=v[0], user_arn=v[1], log_group_arn=v[2])
            ),
            opts=child,
        )
        function = aws.lambda_.Function(
            "cache-rotation",
            name=function_name,
            description="Secrets Manager rotation of the cache user's password (ModifyUser, two passwords)",
            runtime=RUNTIME,
            handler=HANDLER,
            # Paths relative to the project (Pulumi runs the program there): the same asset on every machine.
            code=pulumi.AssetArchive({path: pulumi.FileAsset(path) for path in CODE_FILES}),
            role=role.arn,
            timeout=TIMEOUT_SECONDS,
            memory_size=128,
            # One rotation at a time: Secrets Manager never runs two for one secret, nothing else may call it.
            reserved_concurrent_executions=1,
            # A failed rotation shows in its trace where the time or the AccessDenied went.
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            # ARNs only, no secret: what it may rotate, checked again in the code.
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={"SECRET_ARN": args.secret_arn, "USER_ARN": args.user_arn}
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs, policy]),
        )
        rotate_secret("cache-credentials", args.secret_arn, function, args.rotation_days, self, [policy, *args.after])
        self.alarm = rotation_alarm(
            "cache-rotation", ident, function_name, "The cache password's rotation", args.alarm_topic_arn, self
        )
        self.function_arn = function.arn
        self.role_arn = role.arn
        self.register_outputs({"function_arn": self.function_arn})


def rotation_policy(secret_arn: str, user_arn: str, log_group_arn: str) -> str:
    """Exactly what one rotation does: read and write one secret, change one user, write its own logs."""
    return iam.document(
        *rotation_statements(secret_arn),
        iam.statement(["elasticache:DescribeUsers", "elasticache:ModifyUser"], [user_arn]),
        iam.statement(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
        # "*": X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
        iam.statement(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
    )
