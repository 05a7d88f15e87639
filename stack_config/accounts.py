"""Every account id a stack's config names belongs to the organization, or to AWS itself.

Placeholders outlived their welcome: ``123456789012`` (AWS's documentation account) stood for "prod's
account" in ``promotionAccounts`` and in the accounts of image references and certificates, while the
providers were pinned to the real accounts; a first ``up`` would have admitted nobody, or written into an
account that is not ours (issue 21). Which ids are the organization's only the org stack knows (it creates
the accounts), so the check runs where its outputs are read: the offline preview refuses with the
recorded outputs before the program runs (exit 2), and the program refuses again at ``up`` with the real ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from stack_config.aws_values import ELB_LOG_DELIVERY_ACCOUNTS
from stack_config.parsing import Problem, show

# An account inside an ARN ("arn:aws:acm:eu-west-1:<id>:certificate/…") or an ECR registry ("<id>.dkr.ecr.…").
ACCOUNT_IN_VALUE = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):|(?:^|/)(\d{12})\.dkr\.ecr\.")
# Accounts AWS documents as its own in policies a stack writes: each region's Elastic Load Balancing account.
AWS_SERVICE_ACCOUNTS: dict[str, str] = {
    acct: f"Elastic Load Balancing in {r}" for r, acct in ELB_LOG_DELIVERY_ACCOUNTS.items()
}


def named_accounts(values: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(key, value, account id)`` for every account id the engine-format config ``values`` name."""
    found = []
    for key, text in sorted(values.items()):
        try:
            decoded: Any = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            decoded = text
        for path, value in _strings(key, decoded):
            for match in ACCOUNT_IN_VALUE.finditer(value):
                found.append((path, value, match.group(1) or match.group(2)))
    if values.get("aws-platform:accountId"):
        found.append(("aws-platform:accountId", values["aws-platform:accountId"], values["aws-platform:accountId"]))
    return found


def _strings(path: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(f"{path}.{k}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(f"{path}[{i}]", v)


def organization_accounts(org_outputs: Mapping[str, Any]) -> dict[str, str]:
    """``{account id: name}`` from the org stack's outputs: its member accounts and the management account."""
    known = {str(a["id"]): name for name, a in (org_outputs.get("accounts") or {}).items() if a.get("id")}
    if org_outputs.get("management_account_id"):
        known[str(org_outputs["management_account_id"])] = "management"
    return known


def foreign_account_problems(named: list[tuple[str, str, str]], known: Mapping[str, str]) -> list[Problem]:
    """Every named account that is neither the organization's (``known``: id -> name) nor AWS's own."""
    allowed = ", ".join(f"{name} {acct}" for acct, name in sorted(known.items(), key=lambda kv: kv[1]))
    return [
        Problem(
            key,
            f"{show(value)} names account {acct}, which is not an account of the organization (known: "
            f"{allowed or 'none'}) nor an AWS service account (Elastic Load Balancing's, by region); "
            "replace the placeholder with the account the org stack gives",
        )
        for key, value, acct in named
        if acct not in known and acct not in AWS_SERVICE_ACCOUNTS
    ]
