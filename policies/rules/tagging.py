"""Every AWS resource carries the required tags, with values that match its stack, in its create request."""

from __future__ import annotations

from typing import Any

import conventions
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity
from rules.docs import url
from rules.resource import AWS_PROVIDER, default_tags, effective_tags, stack_of


def _validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    stack = stack_of(args)
    if args.resource_type == AWS_PROVIDER:
        for problem in conventions.tag_problems(default_tags(args.props), stack=stack):
            report(f"provider default_tags: {problem}; every resource it creates would miss it", None)
        return
    tags = effective_tags(args)
    if tags is not None:
        for problem in conventions.tag_problems(tags, stack=stack):
            report(problem, None)
    for problem in _launch_problems(args, stack):
        report(problem, None)


def _launch_problems(args: ResourceValidationArgs, stack: str) -> list[str]:
    """What AWS launches for us (tasks, instances, volumes) is tagged in the launch request too."""
    props: Any = args.props
    if args.resource_type == "aws:ecs/service:Service" and props.get("propagateTags") not in (
        "SERVICE",
        "TASK_DEFINITION",
    ):
        return ["ECS service does not propagate tags to its tasks (propagate_tags SERVICE)"]
    if args.resource_type == "aws:ec2/launchTemplate:LaunchTemplate":
        specs = {s.get("resourceType"): s.get("tags") or {} for s in props.get("tagSpecifications") or []}
        problems = []
        for kind in ("instance", "volume"):
            if kind not in specs:
                problems.append(f"launch template has no tag specification for '{kind}'")
            else:
                problems += [
                    f"{kind} tag specification: {p}" for p in conventions.tag_problems(specs[kind], stack=stack)
                ]
        return problems
    return []


required_tags = ResourceValidationPolicy(
    name="required-tags",
    description=(
        "Every AWS resource's create request carries the tags stage, context, owner, usage, "
        "managed-by and stack, matching its stack: SCPs on aws:RequestTag reject the call otherwise "
        "(scp-request-time-tags.md)."
    ),
    validate=_validate,
    severity=Severity.HIGH,
    remediation_steps=(
        "Create the resource through its component (which passes the stack's tags) or give the provider default_tags "
        "from foundation/tagging.py; for ECS services set propagate_tags SERVICE and give launch templates instance "
        "and volume tag specifications."
    ),
    url=url("required-tags"),
)
