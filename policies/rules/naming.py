"""Every named AWS resource follows ``{context}-{stage}-{component}`` for its stack, within its service's limit."""

from __future__ import annotations

import conventions
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity
from rules.docs import url
from rules.resource import context_of, stage_of


def _validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    stage = stage_of(args)
    if stage is None:
        report(f"stack of {args.urn} names no stage; cannot check its names", None)
        return
    rule = conventions.NAME_RULES.get(args.resource_type)
    if rule is not None:
        name = args.props.get(rule.property)
        if not name:
            report(
                f"no explicit '{rule.property}': an auto-generated name does not follow "
                f"'{{context}}-{stage}-{{component}}' (use the conventions module)",
                None,
            )
            return
        for problem in conventions.name_problems(
            name, stage=stage, max_length=rule.max_length, context=context_of(args)
        ):
            report(problem, None)
        return
    prop = conventions.PATH_NAMED.get(args.resource_type)
    if prop is not None:
        path = args.props.get(prop)
        if not path:
            report(f"no explicit '{prop}': expected a '/{stage}/{{context}}/...' path", None)
            return
        for problem in conventions.path_problems(path, stage=stage, context=context_of(args)):
            report(problem, None)


naming_convention = ResourceValidationPolicy(
    name="naming-convention",
    description=(
        "Named resources are called {context}-{stage}-{component} (lowercase, within the service's "
        "length limit) and parameters/log groups live under /{stage}/{context}/, so two stacks never "
        "collide and every name says whose it is."
    ),
    validate=_validate,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Name the resource with conventions.resource_name (components do): {context}-{stage}-{component}, lowercase, "
        "within the service's length limit; put parameters and log groups under /{stage}/{context}/."
    ),
    url=url("naming-convention"),
)
