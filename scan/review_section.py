"""The review comment's security lines: this stack's checkov figures, the failures the change introduces, the
exceptions about to expire (or expired), and links to both SARIF reports in code scanning.

Both sides are judged by the working tree's converter, checkov and accepted
findings, so only the infrastructure change counts (as the policy diff does).
A failure is new when its check and resource (by URN) fail on the head and not
on the base.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import re
import tempfile
from collections.abc import Mapping
from typing import Any

from policies import exceptions
from scan import findings, terraform_plan


def _scan(stack: str, snapshot: dict[str, Any], out: pathlib.Path) -> findings.ScanResult:
    return findings.scan(stack, terraform_plan.to_terraform_plan(snapshot), out, exceptions.load())


def new_failures(base: findings.ScanResult | None, head: findings.ScanResult) -> list[findings.Finding]:
    before = {(f.check, f.urn or f.address) for f in base.failed} if base else set()
    return [f for f in head.failed if (f.check, f.urn or f.address) not in before]


def report_links(stack: str, env: Mapping[str, str] | None = None) -> str:
    """Where a reviewer reads both reports: this pull request's code scanning alerts per tool, else the files."""
    env = os.environ if env is None else env
    server, repo = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY")
    pr = re.fullmatch(r"refs/pull/(\d+)/merge", env.get("GITHUB_REF", ""))
    files = f"`build/scan/{stack}/results_sarif.sarif` (checkov), `build/{stack}-policy.sarif` (policy pack)"
    if not (server and repo and pr):
        return f"Reports: {files}."
    alerts = f"{server}/{repo}/security/code-scanning?query=is%3Aopen+pr%3A{pr.group(1)}"
    return (
        f"Reports in code scanning: [checkov]({alerts}+tool%3Acheckov) · "
        f"[policy pack]({alerts}+tool%3Aaws-platform) ({files} in the review artifact)."
    )


def exception_lines(entries: list[exceptions.Exception_], on: datetime.date) -> list[str]:
    """Expired entries (they fail every stack) and those expiring within ``exceptions.WARN_DAYS`` days."""
    lines = [f"- ❌ {exceptions.expiry_line(e)}" for e in exceptions.expired(entries, on)]
    lines += [
        f"- ⏳ `{e.label}` expires on {e.expires} ({(e.expires - on).days} days; owner {e.owner}): fix the "
        f"finding or renew the entry (docs/policies.md#exceptions)"
        for e in exceptions.expiring(entries, on)
        if e.expires is not None
    ]
    return ["", "Exceptions (policies/exceptions.yaml):", *lines] if lines else []


def render(
    head: findings.ScanResult,
    base: findings.ScanResult | None,
    entries: list[exceptions.Exception_] | None = None,
    on: datetime.date | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
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
    on = on or exceptions.today()
    lines += exception_lines(exceptions.load(on=on) if entries is None else entries, on)
    lines += ["", report_links(head.stack, env)]
    return "\n".join(lines) + "\n"


def section(stack: str, base_snapshot: dict[str, Any] | None, head_snapshot: dict[str, Any]) -> str:
    """The Markdown appended to the stack's review comment; a one-line note when checkov is not installed."""
    try:
        findings.checkov_binary()
    except findings.CheckovMissing as err:  # the exceptions' expiry is still this comment's to warn about
        on = exceptions.today()
        return "\n".join([f"\n### Security scan skipped\n\n{err}", *exception_lines(exceptions.load(on=on), on)]) + "\n"
    with tempfile.TemporaryDirectory(prefix="scan-review-") as tmp:
        head = _scan(stack, head_snapshot, pathlib.Path(tmp) / "head")
        base = _scan(stack, base_snapshot, pathlib.Path(tmp) / "base") if base_snapshot else None
    return render(head, base)
