"""A provider that assumes a role created in the same `up` waits for the role's policies and IAM's propagation."""

from __future__ import annotations

import json

import pytest

from foundation.propagation import PROPAGATION_SECONDS

COMMAND = "command:local:Command"
POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "prod-dr"])
def test_a_provider_assumes_a_new_role_only_after_its_policies_and_a_pause(shipped_preview, stack):
    preview = shipped_preview(stack)
    by_urn = {r["urn"]: r for r in preview.resources()}
    roles = {r["inputs"]["name"]: r for r in preview.resources("aws:iam/role:Role")}
    assuming = [
        (provider, json.loads(provider["inputs"]["assumeRoles"]))
        for provider in preview.resources("pulumi:providers:aws")
        if provider["inputs"].get("assumeRoles")
    ]
    assert assuming, "every stack with images has push providers"
    for provider, assumed in assuming:
        (role_arn,) = [a["roleArn"] for a in assumed]
        role = roles.get(role_arn.rsplit("/", 1)[-1])
        if role is None:
            continue  # a role some other stack made long ago: nothing to wait for
        policies = {
            r["urn"] for r in preview.resources() if r["type"] in POLICY_TYPES and role["urn"] in r["dependencies"]
        }
        waits = [by_urn[u] for u in provider["propertyDependencies"]["assumeRoles"] if by_urn[u]["type"] == COMMAND]
        assert len(waits) == 1, provider["name"]
        (wait,) = waits
        assert wait["inputs"]["create"] == f"sleep {PROPAGATION_SECONDS}"
        # After the role and every policy of it; again whenever the role or a policy changes.
        assert {role["urn"], *policies} <= set(wait["dependencies"]), provider["name"]
        assert policies and role_arn in wait["inputs"]["triggers"]
