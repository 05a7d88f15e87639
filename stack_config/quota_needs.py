"""What the environment stacks need of each quota, per account and Region, and what the org requests from it.

The needs are counted from each shipped stack's preview (``preview/quotas.py``) and recorded in
``stack_config/quota_needs.json`` by ``make quota-needs`` (``tools/record_quota_needs.py``), never written by hand;
``tests/preview/test_quotas.py`` fails when the file and today's previews disagree. The org stack reads the file
to build its Service Quotas request template (``components/quota_requests.py``), and the offline world reads it to
know what a vended account will have: the template applies to every account created after it, in each Region,
so its value per Region is the largest need any account has there.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping

from stack_config.quotas import QUOTAS

RECORDED = pathlib.Path(__file__).resolve().parent / "quota_needs.json"


def path() -> pathlib.Path:
    """The recorded needs; PREVIEW_QUOTA_NEEDS swaps in another file (tests)."""
    return pathlib.Path(os.environ.get("PREVIEW_QUOTA_NEEDS") or RECORDED)


def recorded() -> dict[str, dict[str, dict[str, int]]]:
    """account name -> Region -> quota key -> need (margin included: what the account must have)."""
    file = path()
    return json.loads(file.read_text()).get("accounts", {}) if file.exists() else {}


def template(needs: Mapping[str, Mapping[str, Mapping[str, int]]] | None = None) -> dict[str, dict[str, int]]:
    """Region -> quota key -> value the org's request template asks for: only what exceeds a new account's value."""
    needs = recorded() if needs is None else needs
    asked: dict[str, dict[str, int]] = {}
    for regions in needs.values():
        for region, quotas in regions.items():
            for key, value in quotas.items():
                if value > QUOTAS[key].new_account:
                    asked.setdefault(region, {})[key] = max(value, asked.get(region, {}).get(key, 0))
    return {region: dict(sorted(q.items())) for region, q in sorted(asked.items())}


def requested_for(account: str, organization_accounts: frozenset[str] | None = None) -> dict[str, dict[str, int]]:
    """What ``account`` has been given by the template: every account the org creates gets it, others nothing."""
    if organization_accounts is not None and account not in organization_accounts:
        return {}
    return template()
