"""The accesses come from the snapshot, not a hand list, and every shipped stack's are allowed in both worlds."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from access import accesses, iam_data, judge, report
from access.create_actions import CREATE_ACTIONS
from preview import world
from tests.conftest import SHIPPED_STACKS, run_preview

ROOT = pathlib.Path(__file__).resolve().parents[2]
ALL_STACKS = (*SHIPPED_STACKS, "org")
SUMMARY = re.compile(
    r"access simulation \(@cloud-copilot/iam-simulate [\d.]+\): (\d+) accesses .*, (\d+) denied, .* in [\d.]+ s"
)


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_shipped_stack_previews_with_no_denied_access_on_day_zero(shipped_preview, stack):
    result = shipped_preview(stack)
    match = SUMMARY.search(result.stdout)
    assert match, result.stdout[-2000:]
    verdicts = judge.judge(stack, result.snapshot, world.recorded_references())
    assert int(match[1]) == len(verdicts.verdicts) > 0
    assert int(match[2]) == 0 and not verdicts.denied and not verdicts.on_trust and not verdicts.unmapped


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_a_pull_request_preview_as_the_read_only_role_is_denied_nothing(tmp_path, stack):
    result = run_preview(stack, tmp_path, "--world", world.PULL_REQUEST, "--quiet")
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr[-2000:]
    match = SUMMARY.search(result.stdout)
    assert match and int(match[2]) == 0
    assert "  DENIED" not in result.stdout
    # The push providers follow the caller: nothing in a pull-request preview becomes the push role.
    providers = [r for r in result.snapshot["resources"] if r["name"].endswith(("-ecr-push", "-ecr-source"))]
    assert providers and all(json.loads(p["inputs"].get("assumeRoles") or "[]") == [] for p in providers)


def test_every_kind_of_access_is_derived_from_the_prod_snapshot(shipped_preview):
    snapshot = shipped_preview("prod").snapshot
    kinds = {v.access.kind for v in judge.judge("prod", snapshot, world.recorded_references()).verdicts}
    assert kinds >= {
        "create",
        "via-service",
        "assume",
        "lookup",
        "pull",
        "secret",
        "push",
        "promote",
        "origin",
        "log-delivery",
    }


def test_each_task_definition_yields_a_pull_of_each_image_it_names(shipped_preview):
    snapshot = shipped_preview("prod").snapshot
    docs, organization = judge.evidence("prod", snapshot, world.recorded_references())
    pulls = {
        (a.principal, a.resource)
        for a in accesses.Derivation(snapshot, docs, organization).task_accesses()
        if a is not None and a.action == "ecr:BatchGetImage"
    }
    expected = set()
    for r in snapshot["resources"]:
        if r["type"] == "aws:ecs/taskDefinition:TaskDefinition":
            for container in json.loads(r["inputs"]["containerDefinitions"]):
                image = accesses.ecr_image(container["image"])
                assert image is not None
                expected.add((r["inputs"]["executionRoleArn"], image[0]))
    assert pulls == expected and expected


def test_creates_carry_the_request_tags_the_provider_sends(shipped_preview):
    snapshot = shipped_preview("prod").snapshot
    docs, organization = judge.evidence("prod", snapshot, world.recorded_references())
    (repository,) = [
        a
        for a in accesses.Derivation(snapshot, docs, organization).creates()
        if a is not None and a.action == "ecr:CreateRepository" and a.resource.endswith("shop-prod-api")
    ]
    assert repository.context["aws:RequestTag/stage"] == "prod"
    assert repository.context["aws:RequestedRegion"] == "eu-west-1"
    assert set(repository.context["aws:TagKeys"]) >= {"stage", "context", "owner", "usage", "managed-by", "stack"}


def _component_types() -> set[str]:
    """Every AWS resource type the program's source can register (``aws.<module>.<Resource>(``)."""
    found = set()
    for path in [*ROOT.glob("components/*.py"), *ROOT.glob("foundation/*.py"), ROOT / "__main__.py"]:
        for module, name in re.findall(r"\baws\.([a-z0-9_]+)\.([A-Z][A-Za-z0-9]+)\(", path.read_text()):
            if not name.endswith("Args") and name != "Provider" and not name.startswith("get"):
                found.add(f"aws:{module.rstrip('_')}/{name[0].lower()}{name[1:]}:{name}")
    return found


def test_every_resource_type_the_program_can_create_has_its_create_action():
    assert _component_types() - set(CREATE_ACTIONS) == set()


def test_every_create_action_is_one_the_simulators_dataset_knows():
    assert [a for a in CREATE_ACTIONS.values() if not iam_data.action(a)] == []


def test_a_resource_type_without_a_create_action_fails_the_simulation(shipped_preview):
    snapshot = json.loads(json.dumps(shipped_preview("dev").snapshot))
    snapshot["resources"][0] = {**snapshot["resources"][0], "type": "aws:example/new:New", "custom": True}
    result = judge.judge("dev", snapshot, world.recorded_references())
    assert result.unmapped == ["aws:example/new:New"] and result.failing
    assert "UNMAPPED  aws:example/new:New" in report.render(result)


def test_the_review_line_names_what_a_change_newly_denies_and_newly_allows(shipped_preview):
    snapshot = shipped_preview("prod").snapshot
    head = judge.judge("prod", snapshot, world.recorded_references())
    base = judge.judge("prod", snapshot, world.recorded_references())
    line = report.review_line("prod", base, head)
    assert f"{len(head.verdicts)} checked, 0 denied; 0 newly denied, 0 newly allowed" in line
    narrowed = json.loads(json.dumps(snapshot))
    narrowed["invokes"] = []
    fewer = judge.judge("prod", narrowed, world.recorded_references())
    widened = report.review_line("prod", fewer, head)
    assert "newly allowed: `lookup" in widened and "0 newly denied" in widened


def test_a_denied_access_fails_the_preview_naming_principal_action_resource_and_statement(tmp_path, monkeypatch):
    """Staging's repository without the statement that admits later stages: prod's promotion is denied, exit 1."""
    from access import documents

    recorded = documents.recorded()
    staging = recorded["organization/aws-platform/staging"]
    arn = "arn:aws:ecr:eu-west-1:267721532588:repository/shop-staging-api"
    policy = staging["resourcePolicies"][arn]["policy"]
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "LaterStagesPromote"]
    path = tmp_path / "recorded_documents.json"
    path.write_text(json.dumps(recorded))
    monkeypatch.setenv("ACCESS_RECORDED_DOCUMENTS", str(path))
    result = run_preview("prod", tmp_path, "--quiet", "--no-policy")
    assert result.exit_code == 1, result.stderr[-2000:]
    line = next(line for line in result.stdout.splitlines() if "DENIED  promote:" in line and "BatchGetImage" in line)
    assert "role/shop-prod-api-ecr-push ecr:BatchGetImage on " + arn in line
    decided = result.stdout.splitlines()[result.stdout.splitlines().index(line) + 1]
    assert decided.strip().endswith("RepositoryPolicy::api-images-access (no statement allows)")
