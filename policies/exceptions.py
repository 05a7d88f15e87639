"""The one place a finding is accepted: ``policies/exceptions.yaml``, read by the pack and by the scan alike.

An acceptance with no owner and no end outlives the code it described (issue 23: half the reasons of the old
accepted-findings file described plans long done). So every entry names the judge's rule (a pack ``policy`` or a
checkov ``check``), the resources (a glob on the Pulumi name or URN, or the Terraform address for a check), the
team that owns it and the day it expires, at most ``MAX_DAYS`` ahead; a checkov false positive says so
(``falsePositive: true``) instead of expiring. An expired entry waives nothing and fails every stack until it is
renewed or removed.

Standard library and PyYAML only (PyYAML comes with the pack's pulumi): the pack imports this file as
``exceptions``, the scan and the tests as ``policies.exceptions``. "Today" is a parameter everywhere, so the
checks are tested on dates of the test's choosing.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import fnmatch
import pathlib
import re
from collections.abc import Collection, Iterable

import yaml

FILE = pathlib.Path(__file__).resolve().parent / "exceptions.yaml"
KEYS = ("policy", "check", "resource", "stacks", "reason", "owner", "expires", "falsePositive")
CHECK_ID = re.compile(r"CKV2?_AWS_\d+")
TEAM = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*-team")  # the owner tag's teams: platform-team, product-team
MIN_REASON = 20  # a reason says what is true of the code, not "ok" or "n/a"
MAX_DAYS = 180  # an exception is looked at again at least twice a year
WARN_DAYS = 30  # the review comment warns this long before an expiry


class ExceptionsError(ValueError):
    """The file has entries that cannot be used; one line per problem."""


def today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


@dataclasses.dataclass(frozen=True)
class Exception_:
    """One entry of the file; ``number`` is its 1-based position, which every message names."""

    number: int
    reason: str
    owner: str
    resource: str
    policy: str | None = None
    check: str | None = None
    stacks: tuple[str, ...] = ()
    expires: datetime.date | None = None
    false_positive: bool = False

    @property
    def rule(self) -> str:
        return self.policy or self.check or ""

    @property
    def label(self) -> str:
        """How messages name the entry: ``exceptions.yaml entry 3 (CKV_AWS_21 on *cache*)``."""
        return f"{FILE.name} entry {self.number} ({self.rule} on {self.resource})"

    @property
    def terms(self) -> str:
        """Who answers for it and until when, as a waived finding shows it."""
        until = "false positive, no expiry" if self.false_positive else f"expires {self.expires}"
        return f"owner {self.owner}, {until}"

    def expired(self, on: datetime.date) -> bool:
        return self.expires is not None and self.expires < on

    def expiring(self, on: datetime.date, within: int = WARN_DAYS) -> bool:
        return self.expires is not None and not self.expired(on) and (self.expires - on).days <= within

    def covers(self, rule: str, stack: str, names: Iterable[str]) -> bool:
        if rule != self.rule or (self.stacks and stack not in self.stacks):
            return False
        names = [n for n in names if n]
        if not names:  # a stack-wide violation names no resource: only an entry for every resource covers it
            return self.resource == "*"
        return any(fnmatch.fnmatchcase(n, self.resource) for n in names)


def _entry_problems(entry: dict, where: str, on: datetime.date, policies: Collection[str] | None) -> list[str]:
    problems = []
    for key in entry:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(f"{where}: {key}: unknown key (allowed: {', '.join(KEYS)}){hint}")
    policy, check = entry.get("policy"), entry.get("check")
    if (policy is None) == (check is None):
        problems.append(f"{where}: give exactly one of 'policy' (a pack policy) or 'check' (a checkov check id)")
    if policy is not None and (not isinstance(policy, str) or (policies is not None and policy not in policies)):
        close = difflib.get_close_matches(str(policy), list(policies or ()), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        problems.append(f"{where}: policy: {policy!r} is not a policy of the pack{hint}")
    if check is not None and (not isinstance(check, str) or not CHECK_ID.fullmatch(check)):
        problems.append(f"{where}: check: {check!r} is not a checkov AWS check id (CKV_AWS_<n> or CKV2_AWS_<n>)")
    resource = entry.get("resource")
    if not isinstance(resource, str) or not resource:
        problems.append(
            f"{where}: resource: {resource!r} must be a glob on the Pulumi name or URN (or Terraform address); "
            f'"*" for every resource'
        )
    stacks = entry.get("stacks", [])
    well_formed = isinstance(stacks, list) and all(isinstance(s, str) and s for s in stacks)
    if not well_formed or ("stacks" in entry and not stacks):
        problems.append(f"{where}: stacks: {stacks!r} must be a non-empty list of stack names (or left out: all)")
    reason = entry.get("reason")
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON:
        problems.append(f"{where}: reason: {reason!r} must say what is true of the code, in {MIN_REASON}+ characters")
    owner = entry.get("owner")
    if not isinstance(owner, str) or not TEAM.fullmatch(owner):
        problems.append(f"{where}: owner: {owner!r} must be the team that answers for it (<name>-team)")
    false_positive, expires = entry.get("falsePositive", False), entry.get("expires")
    if not isinstance(false_positive, bool):
        problems.append(f"{where}: falsePositive: {false_positive!r} must be true or false")
    elif false_positive:
        if policy is not None:
            problems.append(f"{where}: falsePositive: only a checkov check can misread a resource; fix the policy")
        if expires is not None:
            problems.append(f"{where}: expires: {expires!r} - a false positive does not expire; remove the date")
    elif not isinstance(expires, datetime.date) or isinstance(expires, datetime.datetime):
        problems.append(f"{where}: expires: {expires!r} must be a date (YYYY-MM-DD), at most {MAX_DAYS} days ahead")
    elif (expires - on).days > MAX_DAYS:
        latest = on + datetime.timedelta(days=MAX_DAYS)
        problems.append(f"{where}: expires: {expires} is more than {MAX_DAYS} days ahead (latest {latest})")
    return problems


def load(
    path: pathlib.Path = FILE, *, on: datetime.date | None = None, policies: Collection[str] | None = None
) -> list[Exception_]:
    """Every entry, or ExceptionsError listing every problem (entry, key, value, what is allowed).

    ``on`` is today (the 180-day limit counts from it); ``policies`` the pack's policy names, when known.
    An expired entry loads: it is reported by ``expired`` (and fails the stack), not refused as bad input.
    """
    on = on or today()
    document = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    entries = document.get("exceptions") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ExceptionsError(f"{path.name}: expected a mapping with 'exceptions': a list of entries")
    problems: list[str] = []
    found: list[Exception_] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path.name}: entry {number}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: {entry!r} is not a mapping with {', '.join(KEYS)}")
            continue
        entry_problems = _entry_problems(entry, where, on, policies)
        problems += entry_problems
        if not entry_problems:
            found.append(
                Exception_(
                    number=number,
                    reason=" ".join(entry["reason"].split()),
                    owner=entry["owner"],
                    resource=entry["resource"],
                    policy=entry.get("policy"),
                    check=entry.get("check"),
                    stacks=tuple(entry.get("stacks", [])),
                    expires=entry.get("expires"),
                    false_positive=entry.get("falsePositive", False),
                )
            )
    if problems:
        raise ExceptionsError(f"invalid {path.name} ({len(problems)} problem(s)):\n  " + "\n  ".join(problems))
    return found


def match(
    entries: Iterable[Exception_], rule: str, stack: str, names: Iterable[str], on: datetime.date
) -> Exception_ | None:
    """The entry that waives ``rule`` on a resource known by ``names`` in ``stack``; an expired one waives nothing."""
    names = tuple(names)
    return next((e for e in entries if not e.expired(on) and e.covers(rule, stack, names)), None)


def expired(entries: Iterable[Exception_], on: datetime.date) -> list[Exception_]:
    return [e for e in entries if e.expired(on)]


def expiring(entries: Iterable[Exception_], on: datetime.date, within: int = WARN_DAYS) -> list[Exception_]:
    return [e for e in entries if e.expiring(on, within)]


def expiry_line(entry: Exception_) -> str:
    """The failure every stack shows while an entry is expired: which entry, whose, and what to do."""
    return (
        f"{entry.label} expired on {entry.expires} (owner {entry.owner}): it waives nothing now; fix the finding "
        f"and delete the entry, or, if the reason still describes the code, renew it (a new date at most "
        f"{MAX_DAYS} days ahead, reason re-read) - docs/policies.md#exceptions"
    )
