"""Log groups expire (ec2-to-ecs-fargate-migration.md: logging is non-negotiable, and so is its bill)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity
from rules.docs import url

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def _retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == LOG_GROUP and not args.props.get("retentionInDays"):
        report("log group keeps logs forever: set retentionInDays (14 days outside prod, 90 in prod by default)", None)


log_retention = ResourceValidationPolicy(
    name="log-retention",
    description=(
        "Every log group has a retention: without one CloudWatch keeps (and bills) logs forever, and "
        "container logs are the only debugging a Fargate task offers (ec2-to-ecs-fargate-migration.md)."
    ),
    validate=_retention,
    severity=Severity.LOW,
    remediation_steps=(
        "Set retention_in_days on the log group (the stack's logRetentionDays: 14 outside prod, 90 in prod by default)."
    ),
    url=url("log-retention"),
)
