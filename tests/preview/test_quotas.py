"""The quotas of a new account: each stack's needs counted from its snapshot, and what AWS would refuse."""

from __future__ import annotations

import json

import pytest

from preview import quotas
from stack_config import quota_needs
from stack_config.quotas import FARGATE_ON_DEMAND_VCPU, LAMBDA_CONCURRENT_EXECUTIONS, QUOTAS
from tests.conftest import SHIPPED_STACKS, load_stack_yaml, run_preview
from tools import record_quota_needs


def need_of(snapshot: dict, key: str, region: str = "eu-west-1") -> quotas.Need:
    (found,) = [n for n in quotas.needs(snapshot) if n.quota.key == key and n.region == region]
    return found


def test_every_quota_names_its_source_and_the_day_it_was_read_and_says_when_its_value_is_assumed():
    for quota in QUOTAS.values():
        assert quota.source.startswith("https://"), quota.key
        assert quota.read_on, quota.key
        assert quota.documented or quota.assumed, f"{quota.key}: an undocumented value must say what was assumed"
        assert quota.new_account <= quota.published_default, quota.key


def test_recorded_needs_are_what_the_stacks_previews_need(shipped_preview):
    """stack_config/quota_needs.json is generated (`make quota-needs`): a stale file fails here."""
    snapshots = {stack: shipped_preview(stack).snapshot for stack in record_quota_needs.vended(SHIPPED_STACKS)}
    assert record_quota_needs.account_needs(snapshots) == quota_needs.recorded(), "run `make quota-needs`"


def test_fargate_need_is_every_task_at_maximum_scale_during_a_deployment(shipped_preview):
    snapshot = shipped_preview("prod").snapshot
    services = [r["inputs"] for r in snapshot["resources"] if r["type"] == "aws:ecs/service:Service"]
    cpu = {
        r["arn"]: int(r["inputs"]["cpu"])
        for r in snapshot["resources"]
        if r["type"] == "aws:ecs/taskDefinition:TaskDefinition"
    }
    top = {
        r["inputs"]["resourceId"].rsplit("/", 1)[-1]: r["inputs"]["maxCapacity"]
        for r in snapshot["resources"]
        if r["type"] == "aws:appautoscaling/target:Target"
    }
    expected = sum(
        top[s["name"]] * s["deploymentMaximumPercent"] / 100 * cpu[s["taskDefinition"]] / 1024 for s in services
    )
    need = need_of(snapshot, FARGATE_ON_DEMAND_VCPU.key)
    assert need.value == expected > FARGATE_ON_DEMAND_VCPU.new_account
    assert any("during a deployment" in why for why in need.why)


def test_lambda_need_is_the_reserved_concurrency_and_the_unreserved_hundred_must_stay_free(shipped_preview):
    snapshot = shipped_preview("prod").snapshot
    reserved = sum(
        r["inputs"]["reservedConcurrentExecutions"]
        for r in snapshot["resources"]
        if r["type"] == "aws:lambda/function:Function" and r["inputs"].get("reservedConcurrentExecutions") is not None
    )
    need = need_of(snapshot, LAMBDA_CONCURRENT_EXECUTIONS.key)
    assert need.value == reserved
    # An account with exactly the reserved sum refuses it: 100 must stay unreserved.
    assert quotas.judge("prod", "shop-prod", [need], {"eu-west-1": {need.quota.key: reserved}})
    assert not quotas.judge("prod", "shop-prod", [need], {"eu-west-1": {need.quota.key: reserved + 100}})


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_shipped_stack_fits_what_its_new_account_has_once_the_org_requested_it(shipped_preview, stack):
    result = shipped_preview(stack)
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " 0 refused" in result.stdout


def test_a_stack_whose_account_requested_nothing_is_refused_naming_quota_need_new_account_value_and_fix(
    tmp_path, monkeypatch
):
    empty = tmp_path / "quota_needs.json"
    empty.write_text(json.dumps({"accounts": {}}))
    monkeypatch.setenv("PREVIEW_QUOTA_NEEDS", str(empty))
    result = run_preview("prod", tmp_path, "--no-policy", "--no-access", "--quiet")
    assert result.exit_code == 1
    refused = [line for line in result.stdout.splitlines() if "REFUSED" in line]
    assert len(refused) == 2, result.stdout[-3000:]
    fargate = next(line for line in refused if FARGATE_ON_DEMAND_VCPU.quota_code in line)
    assert "stack prod" in fargate and "needs 16" in fargate
    assert f"a new account has {FARGATE_ON_DEMAND_VCPU.new_account} (assumed" in fargate
    assert "make quota-needs" in fargate and FARGATE_ON_DEMAND_VCPU.source in fargate
    lam = next(line for line in refused if LAMBDA_CONCURRENT_EXECUTIONS.quota_code in line)
    assert "+ 100 kept free" in lam and f"has {LAMBDA_CONCURRENT_EXECUTIONS.new_account}" in lam


def test_a_stack_that_needs_more_than_the_org_requested_is_refused_naming_both(stack_yaml, tmp_path):
    services = load_stack_yaml("prod")["config"]["aws-platform:containers"]
    services["services"][0]["maxCount"] = 20  # api: 20 x 200 % x 0.5 vCPU = 20, web 4: 24 > the 16 requested
    config = stack_yaml("prod", {"aws-platform:containers": services})
    result = run_preview("prod", tmp_path, "--config", str(config), "--no-policy", "--no-access", "--quiet")
    assert result.exit_code == 1
    (line,) = [line for line in result.stdout.splitlines() if "REFUSED" in line]
    requested = quota_needs.template()["eu-west-1"][FARGATE_ON_DEMAND_VCPU.key]
    assert "needs 24" in line and f"the org requested {requested}" in line


def test_support_only_facts_are_listed_with_what_to_do(shipped_preview):
    assert "support cloudfront-verification" in shipped_preview("prod").stdout
    assert "AWS Support" in shipped_preview("prod").stdout
