"""Destroy the EPHEMERAL stacks (an engineer's ``dev-alice``) 24 hours after their last update.

conventions-tagging-naming-validation.md: ephemeral stacks are removed after 24 hours, so nobody's experiment
keeps billing. A stack is destroyed only when everything agrees: its name is ``<stage>-<suffix>`` (a shared
``dev`` or ``staging`` never is, whatever its config says), its stage admits EPHEMERAL
(``conventions.ALLOWED_USAGES``), its own ``usage`` output says EPHEMERAL, no update is running, and its last
update is older than ``conventions.EPHEMERAL_LIFETIME_HOURS``.

Run by ``.github/workflows/expire-ephemeral-stacks.yml`` with the Pulumi CLI:
``python -m tools.expire_stacks --stage dev [--dry-run]``
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from policies import conventions

EPHEMERAL = "EPHEMERAL"


@dataclass(frozen=True)
class StackSummary:
    name: str
    last_update: datetime.datetime | None
    update_in_progress: bool = False


def expired(
    stacks: Iterable[StackSummary],
    outputs_of: Callable[[str], dict[str, Any]],
    now: datetime.datetime,
    stage: str,
) -> Iterator[tuple[str, str]]:
    """``(stack, why)`` for every stack of ``stage`` that has outlived its EPHEMERAL lifetime."""
    lifetime = datetime.timedelta(hours=conventions.EPHEMERAL_LIFETIME_HOURS)
    if EPHEMERAL not in conventions.ALLOWED_USAGES.get(stage, ()):
        return
    for stack in sorted(stacks, key=lambda s: s.name):
        shared = stack.name in conventions.STAGES or stack.name in conventions.STACK_STAGES
        if shared or conventions.stage_for_stack(stack.name) != stage:
            continue
        if stack.update_in_progress or stack.last_update is None or now - stack.last_update < lifetime:
            continue
        if outputs_of(stack.name).get("usage") != EPHEMERAL:
            continue
        age = (now - stack.last_update).total_seconds() / 3600
        yield (
            stack.name,
            f"usage EPHEMERAL, last updated {age:.0f} h ago (lifetime {lifetime.total_seconds() / 3600:.0f} h)",
        )


def _pulumi(*args: str) -> str:
    proc = subprocess.run(["pulumi", *args, "--non-interactive"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"pulumi {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _parse_time(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def list_stacks() -> list[StackSummary]:
    return [
        StackSummary(s["name"], _parse_time(s.get("lastUpdate")), bool(s.get("updateInProgress")))
        for s in json.loads(_pulumi("stack", "ls", "--json"))
    ]


def stack_outputs(stack: str) -> dict[str, Any]:
    return json.loads(_pulumi("stack", "output", "--json", "--stack", stack) or "{}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--stage", required=True, choices=[s for s, u in conventions.ALLOWED_USAGES.items() if EPHEMERAL in u]
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be destroyed, destroy nothing")
    parser.add_argument("--now", default=None, help="ISO time to judge ages against (default: now, UTC)")
    args = parser.parse_args(argv)
    now = _parse_time(args.now) or datetime.datetime.now(datetime.UTC)
    failures = 0
    doomed = list(expired(list_stacks(), stack_outputs, now, args.stage))
    for stack, why in doomed:
        print(f"{stack}: {why}: {'would destroy' if args.dry_run else 'destroying'}")
        if args.dry_run:
            continue
        try:
            _pulumi("destroy", "--yes", "--stack", stack, "--remove")
        except RuntimeError as err:
            failures += 1
            print(f"::error::{stack}: {err}", file=sys.stderr)
    print(f"{len(doomed)} expired EPHEMERAL stack(s) of stage {args.stage}; {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
