"""How the pack honours ``exceptions.yaml``: a waived violation is reported as advisory and says so; an expired
exception fails the stack.

The logic is in the pack, not in a client, so ``pulumi preview --policy-pack policies`` and the offline preview
give the same verdict. pulumi-policy 1.21.0 fixes a violation's enforcement level when it hands a policy its
``report_violation``; ``install`` gives that callable a sibling, ``report.waived``, made by the SDK's own
factory at the advisory level (the same deliberate patching of the pinned SDK as ``once_per_request``). Each
policy's ``validate`` is wrapped so a violation on a resource an unexpired exception covers goes there, its
message starting with ``WAIVED`` and naming the exception's owner and expiry.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

import conventions
import exceptions
import pulumi_policy.policy as _policy
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from rules.docs import url

WAIVED = "waived ("  # a waived violation's message starts so: "waived (owner x-team, expires 2027-05-01; ...): ..."
EXPIRY_POLICY = "exceptions-not-expired"


def install() -> None:
    """Every ``report_violation`` the servicer makes gets ``.waived``: the same report at the advisory level."""
    servicer: Any = _policy._PolicyAnalyzerServicer  # pyright: ignore[reportPrivateUsage]  (the class this patches)
    if getattr(servicer, "_waivable", False):
        return
    create = servicer._create_report_violation

    def create_waivable(self: Any, response: Any, name: str, description: str, level: Any, severity: Any = None):
        report = create(self, response, name, description, level, severity)
        advisory = create(self, response, name, description, EnforcementLevel.ADVISORY, severity)
        setattr(report, "waived", advisory)  # noqa: B010  (a function attribute; pyright types the SDK's callable)
        return report

    servicer._create_report_violation = create_waivable
    servicer._waivable = True  # our marker on their class


def _stack(urn: str | None) -> str:
    try:
        return conventions.stack_from_urn(urn or "")
    except ValueError:
        return ""


def _waiving_report(
    policy: str,
    report: ReportViolation,
    default_urn: str,
    stack: Callable[[str], str],
    entries: list[exceptions.Exception_],
    on: datetime.date,
) -> ReportViolation:
    def report_or_waive(message: str, urn: str | None = None) -> None:
        target = urn or default_urn
        names = (target.rsplit("::", 1)[-1], target) if target else ("",)
        entry = exceptions.match(entries, policy, stack(target), names, on)
        waived = getattr(report, "waived", None)
        if entry is None or waived is None:
            report(message, urn)
        else:
            waived(f"{WAIVED}{entry.terms}; {entry.label}: {entry.reason}): {message}", urn)

    return report_or_waive


def _waiving_validate(policy: Any, entries: list[exceptions.Exception_], on: datetime.date) -> Callable[..., Any]:
    original = policy.validate
    if isinstance(policy, StackValidationPolicy):

        def validate_stack(args: StackValidationArgs, report_violation: ReportViolation) -> Any:
            # A stack-wide violation (no URN) belongs to the stack every resource is in.
            stack_name = _stack(args.resources[0].urn) if args.resources else ""
            stack = lambda urn: _stack(urn) if urn else stack_name  # noqa: E731
            return original(args, _waiving_report(policy.name, report_violation, "", stack, entries, on))

        return validate_stack

    def validate_resource(args: Any, report_violation: ReportViolation) -> Any:
        return original(args, _waiving_report(policy.name, report_violation, args.urn, _stack, entries, on))

    return validate_resource


def apply(policies: Iterable[Any], entries: list[exceptions.Exception_], on: datetime.date) -> None:
    """Wrap each policy's ``validate`` (an instance attribute shadowing the SDK's method) to honour ``entries``."""
    for policy in policies:
        if any(e.policy == policy.name for e in entries):
            policy.validate = _waiving_validate(policy, entries, on)


def expiry_policy(entries: list[exceptions.Exception_], on: datetime.date) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for entry in exceptions.expired(entries, on):
            report(exceptions.expiry_line(entry), None)

    return StackValidationPolicy(
        name=EXPIRY_POLICY,
        description=(
            "No exception in policies/exceptions.yaml (a pack policy's or a checkov check's) is past its expiry: "
            "an acceptance nobody re-reads outlives the code it described (issue 23)."
        ),
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        remediation_steps=(
            "Fix the finding the exception waived and delete the entry; or, if its reason still describes the "
            "code, re-read it and set a new expiry at most 180 days ahead, reviewed by the owning team."
        ),
        url=url(EXPIRY_POLICY),
    )
