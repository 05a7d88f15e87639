"""The findings a team has accepted, each with its reason: ``policies/accepted-findings.yaml``.

Every entry names one checkov check, optionally narrows it to resources (a glob on
the Terraform address or the Pulumi name) and stacks, and must say why. A finding
no entry accepts fails the scan in staging, prod and org.
"""

from __future__ import annotations

import difflib
import fnmatch
import pathlib
import re
from dataclasses import dataclass

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
ACCEPTED_FILE = ROOT / "policies" / "accepted-findings.yaml"
CHECK_ID = re.compile(r"CKV2?_AWS_\d+")
KEYS = ("check", "resource", "stacks", "reason")
MIN_REASON = 20  # a reason says why, not "ok" or "n/a"


class AcceptanceError(ValueError):
    """The file has entries that cannot be used; one line per problem."""


@dataclass(frozen=True)
class Acceptance:
    check: str
    reason: str
    resource: str | None = None
    stacks: tuple[str, ...] = ()

    def accepts(self, check: str, stack: str, names: tuple[str, ...]) -> bool:
        if check != self.check or (self.stacks and stack not in self.stacks):
            return False
        return self.resource is None or any(fnmatch.fnmatchcase(n, self.resource) for n in names)


def load(path: pathlib.Path = ACCEPTED_FILE) -> list[Acceptance]:
    """Every entry, or AcceptanceError listing every problem (file, entry, key, value, what is allowed)."""
    document = yaml.safe_load(path.read_text()) if path.exists() else []
    entries = (document or {}).get("accepted", []) if isinstance(document, dict) else document
    problems: list[str] = []
    found: list[Acceptance] = []
    if not isinstance(entries, list):
        raise AcceptanceError(f"{path.name}: 'accepted' must be a list of entries")
    for index, entry in enumerate(entries):
        where = f"{path.name}: entry {index + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: {entry!r} is not a mapping with {', '.join(KEYS)}")
            continue
        for key in entry:
            if key not in KEYS:
                close = difflib.get_close_matches(str(key), KEYS, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                problems.append(f"{where}: {key}: unknown key (allowed: {', '.join(KEYS)}){hint}")
        check, reason = entry.get("check"), entry.get("reason")
        resource, stacks = entry.get("resource"), entry.get("stacks") or []
        if not isinstance(check, str) or not CHECK_ID.fullmatch(check):
            problems.append(f"{where}: check: {check!r} is not a checkov AWS check id (CKV_AWS_<n> or CKV2_AWS_<n>)")
        if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON:
            problems.append(f"{where}: reason: {reason!r} must say why, in at least {MIN_REASON} characters")
        if resource is not None and (not isinstance(resource, str) or not resource):
            problems.append(f"{where}: resource: {resource!r} must be a glob on a Terraform address or Pulumi name")
        if not isinstance(stacks, list) or not all(isinstance(s, str) for s in stacks):
            problems.append(f"{where}: stacks: {stacks!r} must be a list of stack names")
        found.append(Acceptance(str(check), str(reason), resource, tuple(stacks) if isinstance(stacks, list) else ()))
    if problems:
        raise AcceptanceError(f"invalid accepted findings ({len(problems)} problem(s)):\n  " + "\n  ".join(problems))
    return found


def match(accepted: list[Acceptance], check: str, stack: str, names: tuple[str, ...]) -> Acceptance | None:
    return next((a for a in accepted if a.accepts(check, stack, names)), None)
