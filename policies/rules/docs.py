"""Where each policy is documented: its row of docs/policies.md's generated table, anchored by the policy's name.

Repository-relative, so the link works in the checkout a reader has (the Pulumi CLI prints it beside a
violation); the SARIF report makes it absolute against the repository it is uploaded for.
"""

from __future__ import annotations

PAGE = "docs/policies.md"


def url(policy: str) -> str:
    return f"{PAGE}#{policy}"
