"""Staging, prod and the shared dev deploy only into their own account: every AWS provider names it."""

from __future__ import annotations

import json
from typing import Any

import conventions
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, Severity
from rules.docs import url
from rules.resource import AWS_PROVIDER, stack_of


def _allowed_accounts(props: Any) -> list[str]:
    value = props.get("allowedAccountIds") or []
    if isinstance(value, str):  # provider config reaches the engine JSON-encoded
        value = json.loads(value) if value.startswith("[") else [value]
    return [str(v) for v in value if v]


def _validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != AWS_PROVIDER:
        return
    stack = stack_of(args)
    if conventions.must_pin_account(stack) and not _allowed_accounts(args.props):
        report(
            f"AWS provider of stack '{stack}' has no allowed_account_ids: it would deploy into whatever account the "
            f"credentials reach (set aws-platform:orgStack or aws-platform:accountId)",
            None,
        )


provider_pinned_account = ResourceValidationPolicy(
    name="provider-pinned-account",
    description=(
        "AWS providers of staging, prod and the shared dev stack name the one account they may deploy into "
        "(allowed_account_ids): a dev config run with prod credentials, or the reverse, fails before the first "
        "change (issue 12, day one)."
    ),
    validate=_validate,
    severity=Severity.HIGH,
    remediation_steps=(
        "Set the provider's allowed_account_ids to the stack's one account (the stack config's accountId)."
    ),
    url=url("provider-pinned-account"),
)
