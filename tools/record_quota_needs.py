"""`make quota-needs`: record what each shipped environment stack needs of each quota, per account and Region.

Each stack is previewed (the same offline snapshot ``make preview`` judges) and its needs are counted by
``preview/quotas.py``; ``stack_config/quota_needs.json`` keeps, per account the org vends and Region, the largest
need with the margin AWS keeps free. The org stack's Service Quotas request template is built from it
(``components/quota_requests.py``), so the increases a new account gets are derived from the stacks, not a hand
list. ``tests/preview/test_quotas.py`` fails when the file and today's previews disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import stack_config
from preview import quotas
from stack_config import quota_needs
from tools.record_stack_references import RECORDED, SHIPPED, snapshot_of


def vended(stacks: tuple[str, ...] = SHIPPED) -> list[str]:
    """The shipped stacks pinned through the org stack: only accounts the org vends get its requests."""
    return [stack for stack in stacks if stack_config.load_file(stack).org_stack]


def account_needs(snapshots: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, dict[str, int]]]:
    """account name -> Region -> quota key -> need + margin, from each stack's snapshot."""
    found: dict[str, dict[str, dict[str, int]]] = {}
    for stack, snapshot in snapshots.items():
        config = stack_config.load_file(stack)
        account = f"{config.context}-{config.stage}"
        for need in quotas.needs(snapshot):
            per_region = found.setdefault(account, {}).setdefault(need.region, {})
            per_region[need.quota.key] = max(per_region.get(need.quota.key, 0), need.value + need.quota.margin)
    return found


def record() -> bool:
    """Regenerate the file; True when it changed."""
    path = quota_needs.RECORDED
    before = path.read_text() if path.exists() else ""
    snapshots = {stack: snapshot_of(stack, RECORDED, "--no-quotas") for stack in vended()}
    path.write_text(json.dumps({"accounts": account_needs(snapshots)}, indent=1, sort_keys=True) + "\n")
    return path.read_text() != before


if __name__ == "__main__":
    print(f"stack_config/quota_needs.json: {'updated' if record() else 'unchanged'}")
