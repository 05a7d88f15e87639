"""The review comment's security lines: this stack's checkov figures and the failures the change introduces.

Both sides are judged by the working tree's converter, checkov and accepted
findings, so only the infrastructure change counts (as the policy diff does).
A failure is new when its check and resource (by URN) fail on the head and not
on the base.
"""

from __future__ import annotations

import pathlib
import tempfile
from typing import Any

from scan import accepted_findings, findings, terraform_plan


def _scan(stack: str, snapshot: dict[str, Any], out: pathlib.Path) -> findings.ScanResult:
    return findings.scan(stack, terraform_plan.to_terraform_plan(snapshot), out, accepted_findings.load())


def new_failures(base: findings.ScanResult | None, head: findings.ScanResult) -> list[findings.Finding]:
    before = {(f.check, f.urn or f.address) for f in base.failed} if base else set()
    return [f for f in head.failed if (f.check, f.urn or f.address) not in before]


def render(head: findings.ScanResult, base: findings.ScanResult | None) -> str:
    mark = "❌" if head.blocking else ("⚠️" if head.failed else "✅")
    lines = [
        "",
        f"### {mark} Security scan (checkov {head.checkov_version}, `make scan STACK={head.stack}`)",
        "",
        f"**{head.stack}**: {head.passed} passed, {len(head.failed)} failed, {len(head.accepted)} accepted"
        + ("" if head.blocking or not head.failed else " (reported only in this stage)"),
    ]
    introduced = new_failures(base, head)
    if introduced:
        lines += ["", "New failures this change introduces:"]
        lines += [f"- `{f.check}` `{f.address}` — {f.title}" for f in introduced]
    elif base is not None:
        lines += ["", "This change introduces no new failure."]
    return "\n".join(lines) + "\n"


def section(stack: str, base_snapshot: dict[str, Any] | None, head_snapshot: dict[str, Any]) -> str:
    """The Markdown appended to the stack's review comment; a one-line note when checkov is not installed."""
    try:
        findings.checkov_binary()
    except findings.CheckovMissing as err:
        return f"\n### Security scan skipped\n\n{err}\n"
    with tempfile.TemporaryDirectory(prefix="scan-review-") as tmp:
        head = _scan(stack, head_snapshot, pathlib.Path(tmp) / "head")
        base = _scan(stack, base_snapshot, pathlib.Path(tmp) / "base") if base_snapshot else None
    return render(head, base)
