"""provider-pinned-account: through the analyzer, staging, prod and the shared dev name their one account."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PROVIDERS, provider_resource, resource, stack_tags

POLICY = "provider-pinned-account"


def check(policy_pack, stack: str, accounts: list[str] | None) -> list[str]:
    providers = []
    for region in PROVIDERS:
        provider = provider_resource(stack, stack_tags(stack), region)
        if accounts is not None:
            provider["inputs"]["allowedAccountIds"] = json.dumps(accounts)
        providers.append(provider)
    bucket = resource(stack, "aws:s3/bucket:Bucket", "assets", {"bucket": f"shop-{stack}-assets"})
    snapshot = {"stack": stack, "resources": [*providers, bucket]}
    return [v.message for v in policy_pack.check(snapshot, {"all": "mandatory"}) if v.policy == POLICY]


@pytest.mark.parametrize("stack", ["prod", "staging", "dev", "prod-dr", "org"])
def test_an_unpinned_provider_fires(policy_pack, stack):
    found = check(policy_pack, stack, None)
    assert len(found) == len(PROVIDERS)
    assert f"AWS provider of stack '{stack}' has no allowed_account_ids" in found[0]


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_a_pinned_provider_passes(policy_pack, stack):
    assert check(policy_pack, stack, ["210987654321"]) == []


def test_an_engineers_dev_stack_may_stay_unpinned(policy_pack):
    assert check(policy_pack, "dev-alice", None) == []
