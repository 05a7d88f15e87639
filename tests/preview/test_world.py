"""The offline world answers as AWS would on a first deploy: whose account, what exists yet, what may be read."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import stack_config
from preview import world as worlds
from stack_config.accounts import AWS_SERVICE_ACCOUNTS, organization_accounts
from tests.conftest import ROOT, SHIPPED_STACKS, run_preview

ALL_STACKS = (*SHIPPED_STACKS, "org")
ACCOUNT_IN_SNAPSHOT = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):|(\d{12})\.dkr\.ecr\.")
REPOSITORY = "shop-dev-web"
DIGEST = "sha256:" + "ab" * 32


def recorded() -> dict:
    return json.loads(worlds.stack_references_path().read_text())


def org_accounts() -> dict[str, str]:
    return organization_accounts(recorded()["organization/aws-platform/org"])


def accounts_in(snapshot: dict) -> set[str]:
    text = json.dumps(snapshot["resources"])
    return {a or b for a, b in ACCOUNT_IN_SNAPSHOT.findall(text)}


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_each_stack_previews_as_the_account_it_is_pinned_to(shipped_preview, stack):
    snapshot = shipped_preview(stack).snapshot
    config = stack_config.load_file(stack)
    pinned = worlds.pinned_account(config, recorded())
    world = snapshot["world"]
    assert {k: world[k] for k in ("mode", "account", "pinned")} == {
        "mode": worlds.DAY_ZERO,
        "account": pinned,
        "pinned": True,
    }
    # Every zone the stack writes in is its own account's (docs/dns.md).
    assert set((world.get("zones") or {}).values()) <= {pinned}
    found = accounts_in(snapshot)
    assert pinned in found
    # Any other account is one of the organization's (a promotion source, a state backup) or AWS's own.
    assert found <= {*org_accounts(), *AWS_SERVICE_ACCOUNTS}, found - {*org_accounts(), *AWS_SERVICE_ACCOUNTS}
    assert worlds.UNPINNED_ACCOUNT not in json.dumps(snapshot)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_pinned_provider_is_pinned_to_the_stacks_own_account(shipped_preview, stack):
    snapshot = shipped_preview(stack).snapshot
    providers = [r for r in snapshot["resources"] if r["type"] == "pulumi:providers:aws"]
    assert providers
    for provider in providers:
        assert json.loads(provider["inputs"]["allowedAccountIds"]) == [snapshot["world"]["account"]], provider["name"]
        for role in json.loads(provider["inputs"].get("assumeRoles") or "[]"):
            assert role["roleArn"].split(":")[4] == snapshot["world"]["account"], provider["name"]


def test_recorded_stack_outputs_are_what_those_stacks_export(shipped_preview):
    """preview/stack_references.json is generated (`make stack-references`): a stale file fails here."""
    for reference, outputs in recorded().items():
        stack = reference.rsplit("/", 1)[-1]
        assert outputs == shipped_preview(stack).snapshot["outputs"], f"{reference}: run `make stack-references`"


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_stack_previews_green_in_the_update_world_too(tmp_path, stack):
    result = run_preview(stack, tmp_path, "--world", worlds.UPDATE, "--quiet")
    assert result.exit_code == 0, result.stderr[-3000:]
    assert result.snapshot["world"]["mode"] == worlds.UPDATE
    assert "policy pack: no violations" in result.stdout


def dev_world(mode: str = worlds.DAY_ZERO, **changes: object) -> worlds.World:
    base = worlds.for_stack(stack_config.load_file("dev"), mode)
    return worlds.World(**{**base.__dict__, **changes})


def image(repository: str = REPOSITORY, registry: str | None = None) -> tuple[str, str, str]:
    registry = registry or dev_world().account
    return f"{registry}.dkr.ecr.eu-west-1.amazonaws.com/{repository}@{DIGEST}", repository, registry


def test_on_day_zero_a_repository_the_stack_creates_does_not_exist_yet():
    world = dev_world()
    assert REPOSITORY in world.own_repositories
    assert "RepositoryNotFoundException" in (world.image_exists(*image()) or "")


def test_on_update_what_the_stack_pushed_into_its_own_repository_is_there():
    assert dev_world(worlds.UPDATE).image_exists(*image()) is None


def test_an_image_nobody_declares_does_not_exist_and_a_declared_one_does():
    ref, repository, registry = image("shop-dev-partner-feed")
    assert "nothing declares" in (dev_world().image_exists(ref, repository, registry) or "")
    assert dev_world(declared=frozenset({ref})).image_exists(ref, repository, registry) is None
    absent = {"images": frozenset({ref}), "parameters": frozenset(), "secrets": frozenset()}
    gone = dev_world(declared=frozenset({ref}), absent=absent).image_exists(ref, repository, registry)
    assert "ImageNotFoundException" in (gone or "")


def test_an_image_an_earlier_stage_published_exists_for_the_stage_that_promotes_it():
    world = worlds.for_stack(stack_config.load_file("prod"))
    staging = recorded()["organization/aws-platform/staging"]["services"]["web"]["image"]
    registry, rest = staging.split(".dkr.ecr.", 1)
    assert world.image_exists(staging, rest.split("/", 1)[1].split("@")[0], registry) is None


def test_a_parameter_or_secret_exists_only_where_config_declares_it_with_its_owner():
    world = dev_world()
    declared = [e.ref for e in stack_config.load_file("dev").externals]
    assert declared and all(world.value_exists(ref) for ref in declared)
    assert not world.value_exists("ssm:/dev/shop/api/somebody-set-this-by-hand")
    assert not world.value_exists("shop-dev-partner-api-key")


def test_an_image_in_a_repository_the_stack_creates_is_a_config_error_with_the_fix(stack_yaml, tmp_path):
    document = stack_config.loader.engine_values_from_yaml(stack_config.loader.stack_file("dev"))
    services = json.loads(document["aws-platform:containers"])["services"]
    web = next(i for i, s in enumerate(services) if s["name"] == "web")
    services[web]["image"] = {"digest": image()[0]}
    config = stack_yaml(
        "dev", {"aws-platform:containers": {**json.loads(document["aws-platform:containers"]), "services": services}}
    )
    result = run_preview("dev", tmp_path, "--config", str(config))
    assert result.exit_code == 2, result.stderr
    line = next(line for line in result.stderr.splitlines() if f"services[{web}].image.digest" in line)
    assert "a repository this stack creates" in line and "image.build" in line and "promoteFrom" in line
    assert "Traceback" not in result.stderr


def test_a_config_account_outside_the_organization_is_refused_naming_the_ones_it_knows(stack_yaml, tmp_path):
    placeholder = "arn:aws:acm:eu-west-1:123456789012:certificate/0b6c5f3e-1d2a-4e8b-9c7d-5a4b3c2d1e0f"
    values = stack_config.loader.engine_values_from_yaml(stack_config.loader.stack_file("prod"))
    containers = json.loads(values["aws-platform:containers"])
    containers["loadBalancer"]["certificateArn"] = placeholder
    result = run_preview("prod", tmp_path, "--config", str(stack_yaml("prod", {"aws-platform:containers": containers})))
    assert result.exit_code == 2, result.stderr
    assert "containers.loadBalancer.certificateArn" in result.stderr and "123456789012" in result.stderr
    assert all(f"{name} {acct}" in result.stderr for acct, name in org_accounts().items())


def test_the_program_refuses_a_foreign_account_itself_at_up(stack_yaml):
    """Unsafe input refused twice: the preview's loader above, and the program reading the org stack's outputs."""
    values = stack_config.loader.engine_values_from_yaml(stack_config.loader.stack_file("prod"))
    containers = json.loads(values["aws-platform:containers"])
    containers["loadBalancer"]["certificateArn"] = containers["loadBalancer"]["certificateArn"].replace(
        "190910285287", "123456789012"
    )
    path = stack_yaml("prod", {"aws-platform:containers": containers})
    script = (
        "import sys, stack_config; from preview import program\n"
        f"values = stack_config.loader.engine_values_from_yaml(__import__('pathlib').Path({str(path)!r}))\n"
        "program.run('prod', values)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "names account 123456789012, which is not an account of the organization" in proc.stderr
