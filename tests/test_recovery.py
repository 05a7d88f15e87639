"""Generated secrets survive losing their account: they are Pulumi state, and the state replicates elsewhere.

you-are-not-saved-by-iac.md ("lost secrets that cannot be restored"): a password generated in an account and
kept only there dies with it. Here every generated value is a ``random`` resource, so its value is in the
stack's state (encrypted by the stack's secrets provider), and the state bucket replicates to the backup
account (tests/components/test_account_bootstrap.py). The one password AWS generates outside the state,
DocumentDB's master user, is not needed to come back: a cluster restored from a snapshot gets a new one.
"""

from __future__ import annotations

import pytest

from tests.conftest import SHIPPED_STACKS

RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_generated_passwords_are_resources_whose_values_the_state_keeps(shipped_preview, stack):
    passwords = shipped_preview(stack).resources(RANDOM_PASSWORD)
    assert passwords and all(p["custom"] for p in passwords)  # values in state, replicated with it


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_only_documentdbs_master_password_is_generated_outside_the_state(shipped_preview, stack):
    outside = [
        (r["type"], r["name"])
        for r in shipped_preview(stack).resources()
        if r["inputs"].get("manageMasterUserPassword") or r["inputs"].get("manageUserPassword")
    ]
    assert all(kind == "aws:docdb/cluster:Cluster" for kind, _ in outside), outside
