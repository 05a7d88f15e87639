"""The stack config loader refuses bad input before a single resource is registered.

Each message names the file, the key, the value and what is allowed.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

import stack_config
from stack_config import ConfigError
from tests.conftest import ROOT, load_stack_yaml, run_preview


def problems_for(stack_yaml, stack: str, base: str, changes=None, drop=()) -> list[str]:
    path = stack_yaml(base, changes, drop, name=stack)
    with pytest.raises(ConfigError) as err:
        stack_config.load_file(stack, path)
    assert all(str(path) in line for line in str(err.value).splitlines()[1:]), "every line names the file"
    return [str(p) for p in err.value.problems]


def test_shipped_stacks_load(stack_yaml):
    for stack in ("dev", "staging", "prod"):
        config = stack_config.load_file(stack)
        assert config.stage == stack and config.stack == stack and config.region == "eu-west-1"


def test_unknown_stage_names_value_and_allowed(stack_yaml):
    (problem,) = problems_for(stack_yaml, "dev", "dev", {"aws-platform:stage": "qa"})
    assert problem == "aws-platform:stage: 'qa' is not allowed (allowed: dev, sandbox, staging, prod)"


@pytest.mark.parametrize("stack,usage", [("prod", "EPHEMERAL"), ("staging", "POC"), ("prod", "POC")])
def test_production_stages_may_only_be_production(stack_yaml, stack, usage):
    (problem,) = problems_for(stack_yaml, stack, stack, {"aws-platform:usage": usage})
    assert problem.startswith(f"aws-platform:usage: '{usage}' is not allowed for stage '{stack}'")
    assert "allowed: PRODUCTION" in problem


@pytest.mark.parametrize("usage", ["EPHEMERAL", "POC", "PRODUCTION"])
def test_dev_may_be_ephemeral_poc_or_production(stack_yaml, usage):
    changes: dict = {"aws-platform:usage": usage}
    if usage == "PRODUCTION":  # production data keeps snapshots (conventions.keeps_data)
        changes["aws-platform:cache"] = {
            **load_stack_yaml("dev")["config"]["aws-platform:cache"],
            "snapshotRetentionDays": 1,
        }
    config = stack_config.load_file("dev", stack_yaml("dev", changes))
    assert config.usage == usage


def test_unknown_usage(stack_yaml):
    (problem,) = problems_for(stack_yaml, "dev", "dev", {"aws-platform:usage": "TEST"})
    assert "'TEST' is not allowed (allowed: PRODUCTION, EPHEMERAL, POC)" in problem


@pytest.mark.parametrize("value", ["Shop", "shop_api", "-shop", "a" * 64, "shöp"])
def test_names_must_be_lowercase_dns_labels(stack_yaml, value):
    (problem,) = problems_for(stack_yaml, "dev", "dev", {"aws-platform:context": value})
    assert problem.startswith("aws-platform:context: ") and "is not a lowercase DNS label" in problem


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "10.0.0.1/16", "300.0.0.0/16", "banana"])
def test_invalid_cidr(stack_yaml, cidr):
    (problem,) = problems_for(stack_yaml, "dev", "dev", {"aws-platform:network": {"cidr": cidr}})
    assert problem.startswith("aws-platform:network.cidr: ") and "is not a valid IPv4 CIDR" in problem


def test_cidr_too_small_for_the_subnets(stack_yaml):
    (problem,) = problems_for(
        stack_yaml, "prod", "prod", {"aws-platform:network": {"cidr": "10.0.0.0/20", "azCount": 3}}
    )
    assert "too small for 6 /20 subnets (allowed: a prefix of /17 or larger)" in problem


@pytest.mark.parametrize("count", [1, 7, 0, -2])
def test_az_count_out_of_range(stack_yaml, count):
    (problem,) = problems_for(stack_yaml, "dev", "dev", {"aws-platform:network": {"azCount": count}})
    assert problem == f"aws-platform:network.azCount: {count} is out of range (allowed 2..6)"


def test_wrong_type_is_named(stack_yaml):
    (problem,) = problems_for(stack_yaml, "dev", "dev", {"aws-platform:network": {"azCount": "two"}})
    assert problem == "aws-platform:network.azCount: 'two' is not a whole number"


def test_unknown_keys_are_errors_with_the_closest_valid_key(stack_yaml):
    found = problems_for(
        stack_yaml,
        "dev",
        "dev",
        {"aws-platform:netwrok": {"cidr": "10.0.0.0/16"}, "aws-platform:network": {"azCuont": 2}},
    )
    assert any(p.startswith("aws-platform:netwrok: unknown key") and "did you mean 'network'?" in p for p in found)
    assert any(
        p.startswith("aws-platform:network.azCuont: unknown key") and "did you mean 'azCount'?" in p for p in found
    )


def test_unknown_namespace_is_an_error(stack_yaml):
    found = problems_for(stack_yaml, "dev", "dev", {"platfrom:stage": "dev"})
    assert any(p.startswith("platfrom:stage: unknown namespace 'platfrom'") for p in found)


def test_stage_must_match_the_stack(stack_yaml):
    found = problems_for(stack_yaml, "prod", "staging", drop=("aws-platform:edge",))  # staging's aliases
    problem = next(p for p in found if p.startswith("aws-platform:stage"))
    assert problem == "aws-platform:stage: 'staging' but stack 'prod' is stage 'prod' (allowed: 'prod')"


def test_stack_name_must_name_a_stage(stack_yaml):
    found = problems_for(stack_yaml, "feature", "dev")
    assert any(p.startswith("stack: 'feature' names no stage") for p in found)


def test_suffixed_stack_belongs_to_its_stage(stack_yaml):
    # dev-alice's own data tier is shop-dev-alice-*: its services read those secrets, never dev's.
    containers = load_stack_yaml("dev")["config"]["aws-platform:containers"]
    for service in containers["services"]:
        service["secrets"] = {
            env: ref.replace("shop-dev-", "shop-dev-alice-") for env, ref in service.get("secrets", {}).items()
        }
    edge = {**load_stack_yaml("dev")["config"]["aws-platform:edge"], "domainNames": ["alice.dev.shop.example.com"]}
    path = stack_yaml("dev", {"aws-platform:containers": containers, "aws-platform:edge": edge}, name="dev-alice")
    assert stack_config.load_file("dev-alice", path).stage == "dev"


def test_missing_required_keys(stack_yaml):
    found = problems_for(stack_yaml, "dev", "dev", drop=("aws-platform:owner", "aws:region"))
    assert "aws:region: is required (the stack's AWS region, like 'eu-west-1')" in found
    assert "aws-platform:owner: is required" in found


def test_imported_vpc_needs_two_subnets_of_each_tier(stack_yaml):
    found = problems_for(
        stack_yaml,
        "dev",
        "dev",
        {"aws-platform:network": {"vpcId": "vpc-0abc12345def67890", "privateSubnetIds": ["subnet-0abc12345def67890"]}},
    )
    assert (
        "aws-platform:network.privateSubnetIds: 1 subnet(s) given; an imported VPC needs at least 2, in different AZs"
        in found
    )
    assert any(p.startswith("aws-platform:network.publicSubnetIds: 0 subnet(s)") for p in found)


def test_every_problem_is_reported_at_once(stack_yaml):
    found = problems_for(
        stack_yaml,
        "prod",
        "prod",
        {"aws-platform:usage": "POC", "aws-platform:context": "Shop", "aws-platform:network": {"azCount": 9}},
    )
    assert len(found) == 3


def test_preview_exits_2_and_registers_nothing_on_bad_config(stack_yaml, tmp_path):
    bad = stack_yaml("dev", {"aws-platform:usage": "WHATEVER"})
    result = run_preview("dev", tmp_path, "--config", str(bad))
    assert result.exit_code == 2
    assert "aws-platform:usage: 'WHATEVER' is not allowed" in result.stderr
    assert not result.snapshot_path.exists()


def test_program_itself_refuses_bad_config_before_registering(stack_yaml):
    """Under `pulumi up` the program gets config from the engine; it must stop before any registration."""
    bad = stack_yaml("prod", {"aws-platform:usage": "POC"})
    script = f"""
import stack_config, pulumi
from preview import program
registered = []
original = program.RecordingMonitor.RegisterResource
def counting(self, request):
    registered.append(request.type)
    return original(self, request)
program.RecordingMonitor.RegisterResource = counting
values = stack_config.engine_values_from_yaml(__import__('pathlib').Path({str(bad)!r}))
try:
    program.run('prod', values)
except pulumi.RunError as err:
    print('REFUSED', err)
print('REGISTERED', [t for t in registered if t != 'pulumi:pulumi:Stack'])
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "REFUSED invalid stack configuration" in proc.stdout, proc.stderr
    assert "'POC' is not allowed for stage 'prod'" in proc.stdout
    assert "REGISTERED []" in proc.stdout


def test_region_must_be_a_real_region_with_a_suggestion(stack_yaml):
    (problem,) = problems_for(stack_yaml, "dev", "dev", {"aws:region": "eu-west1"})
    assert problem == "aws:region: 'eu-west1' is not an AWS region; did you mean 'eu-west-1'?"


@pytest.mark.parametrize("stack", ["staging", "prod", "dev"])
def test_staging_prod_and_the_shared_dev_refuse_to_preview_unpinned(stack_yaml, stack):
    """Without accountId or orgStack, the providers would deploy into whatever account the credentials reach."""
    found = problems_for(stack_yaml, stack, stack, drop=("aws-platform:orgStack", "aws-platform:accountId"))
    (problem,) = [p for p in found if p.startswith("aws-platform:orgStack:")]
    assert problem.startswith(f"aws-platform:orgStack: unset, and so is accountId: stack '{stack}' (stage '{stack}')")
    assert "allowed: orgStack '<org>/aws-platform/org'" in problem and "accountId '<12 digits>'" in problem


def test_a_pinned_account_id_is_enough(stack_yaml):
    # Account names (promotionAccounts) resolve through the org stack only: pinned by id, prod promotes to nobody.
    containers = load_stack_yaml("prod")["config"]["aws-platform:containers"]
    containers["imageRepositories"].pop("promotionAccounts")
    path = stack_yaml(
        "prod",
        {"aws-platform:accountId": "210987654321", "aws-platform:containers": containers},
        drop=("aws-platform:orgStack",),
    )
    assert stack_config.load_file("prod", path).account_id == "210987654321"


def test_an_engineers_dev_stack_may_stay_unpinned(stack_yaml):
    from tests.conftest import load_stack_yaml

    # Her stack's names carry her suffix, so her services read her own connection secrets.
    containers = load_stack_yaml("dev")["config"]["aws-platform:containers"]
    for service in containers["services"]:
        service["secrets"] = {
            k: v.replace("shop-dev-", "shop-dev-alice-") for k, v in service.get("secrets", {}).items()
        }
    edge = {**load_stack_yaml("dev")["config"]["aws-platform:edge"], "domainNames": ["alice.dev.shop.example.com"]}
    overrides = {"aws-platform:usage": "EPHEMERAL", "aws-platform:containers": containers, "aws-platform:edge": edge}
    path = stack_yaml("dev", overrides, drop=("aws-platform:orgStack",), name="dev-alice")
    assert stack_config.load_file("dev-alice", path).org_stack is None


def test_shipped_environments_are_pinned_through_the_org_stack():
    for stack in ("dev", "staging", "prod"):
        assert stack_config.load_file(stack).org_stack == "organization/aws-platform/org", stack


@pytest.mark.parametrize(
    "text,where,problem",
    [
        (
            "config:\n  aws:region: eu-west-1\n   aws-platform:stage: [dev\n",
            ":3:22:",
            "mapping values are not allowed here",
        ),
        ("config:\n  aws:region: eu-west-1\n\taws-platform:stage: dev\n", ":3:1:", "found character '\\t'"),
        ("config:\n  aws-platform:stage: 'dev\n", ":3:1:", "found unexpected end of stream"),
    ],
    ids=["indented-key", "tab", "unclosed-quote"],
)
def test_a_stack_file_that_does_not_parse_exits_2_at_its_line_and_column(
    tmp_path: pathlib.Path, text: str, where: str, problem: str
) -> None:
    bad = tmp_path / "Pulumi.x.yaml"
    bad.write_text(text)
    result = run_preview("x", tmp_path, "--config", str(bad))
    assert result.exit_code == 2, result.stderr
    assert f"{bad}{where} yaml: {problem}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not result.snapshot_path.exists()
