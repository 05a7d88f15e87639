"""IAM policy documents built as Python data, so every statement is visible in review and tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def statement(
    actions: Iterable[str] | str,
    resources: Iterable[str] | str,
    *,
    effect: str = "Allow",
    sid: str | None = None,
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Effect": effect,
        "Action": sorted(actions) if not isinstance(actions, str) else actions,
        "Resource": sorted(resources) if not isinstance(resources, str) else resources,
    }
    if sid:
        body = {"Sid": sid, **body}
    if condition:
        body["Condition"] = condition
    return body


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def assume_role_policy(service: str, *, condition: dict[str, Any] | None = None) -> str:
    """Trust policy letting one AWS service principal assume the role."""
    trust: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        trust["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [trust]}, sort_keys=True)


def tls_only(bucket_arn: str) -> dict[str, Any]:
    """The bucket refuses every request not made over TLS."""
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def account_administers_key(account: str) -> dict[str, Any]:
    """Key policy: the account administers the key through IAM, as for every other key (no lock-out); in a key
    policy "*" is the key itself."""
    return {
        "Sid": "AccountAdministers",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
