"""The simulator's rehearsal: the deploy role's creates in the stack's account, simulated while the program runs,
with no effect on any verdict, and the bootstrap roles it renders taken only where they are the same rendering
(access/rehearsal.py, access/node/simulate.mjs)."""

from __future__ import annotations

import json
import os

import pytest

import stack_config
from access import accesses, documents, rehearsal, simulator
from access.create_actions import CREATE_ACTIONS
from preview import world as worlds
from stack_config import backend
from stack_config.loader import NAMESPACE
from tests.conftest import SHIPPED_STACKS


def _plan(stack: str) -> rehearsal.Plan:
    config = stack_config.load_file(stack)
    references = [ref for _, ref in backend.references(config, NAMESPACE)]
    return rehearsal.Plan.for_stack(config, worlds.for_stack(config), references)


@pytest.fixture(scope="module")
def prod_rehearsal() -> tuple[rehearsal.Plan, dict, list[dict]]:
    plan = _plan("prod")
    rendered, lines = rehearsal.rehearse(plan)
    return plan, rendered, [json.loads(line) for line in lines]


def test_the_rehearsal_is_the_deploy_role_creating_every_type_in_the_stacks_account_region_and_tags(prod_rehearsal):
    plan, _, simulations = prod_rehearsal
    (org_outputs,) = plan.organization.values()
    deployer = accesses.Organization(org_outputs).role(plan.account, accesses.DEPLOY)
    assert deployer.split(":")[4] == plan.account
    requests = [s["request"] for s in simulations]
    assert {r["principal"] for r in requests} == {deployer}
    assert {r["action"] for r in requests} == set(CREATE_ACTIONS.values())
    assert {r["contextVariables"]["aws:RequestedRegion"] for r in requests} == {plan.region}
    tagged = [r["contextVariables"] for r in requests if "aws:TagKeys" in r["contextVariables"]]
    assert tagged, "the types that take the provider's tags carry them"
    assert all(
        {k: v for k, v in c.items() if k.startswith("aws:RequestTag/")}
        == {f"aws:RequestTag/{k}": v for k, v in plan.tags.items()}
        for c in tagged
    )
    assert all(s["serviceControlPolicies"] for s in simulations), "judged against the account's SCPs"


def test_the_roles_it_hands_over_are_the_rendering_the_derivation_would_make(prod_rehearsal, evidence, monkeypatch):
    plan, rendered, _ = prod_rehearsal
    prod = evidence("prod")
    template = prod.documents.bootstrap
    assert template is not None
    key = documents.rendering_key(template, plan.account)
    assert set(rendered) == {key}
    assert json.loads(json.dumps(rendered))[key] == documents.bootstrap_roles(template, plan.account)

    expected = [a.simulation() for a in accesses.Derivation(prod.snapshot, prod.documents, prod.organization).all()]

    def render_again(*args: object) -> None:
        raise AssertionError("the derivation rendered roles it was handed")

    monkeypatch.setattr(accesses, "bootstrap_roles", render_again)
    handed = accesses.Derivation(prod.snapshot, prod.documents, prod.organization, rendered=rendered)
    assert [a.simulation() for a in handed.all()] == expected


def test_roles_rendered_from_another_template_are_rendered_again(prod_rehearsal, evidence, monkeypatch):
    plan, rendered, _ = prod_rehearsal
    prod = evidence("prod")
    changed = {**prod.documents.bootstrap, "Description": "a template the rehearsal did not render"}
    docs = documents.Documents(prod.documents.roles, prod.documents.resource_policies, prod.documents.scps, changed)
    renders: list[str] = []
    real = accesses.bootstrap_roles
    monkeypatch.setattr(accesses, "bootstrap_roles", lambda t, a: renders.append(a) or real(t, a))
    accesses.Derivation(prod.snapshot, docs, prod.organization, rendered=rendered).all()
    assert renders == [plan.account]


def test_a_rehearsed_simulator_answers_the_stacks_simulations_as_a_fresh_one_does(prod_rehearsal, evidence):
    plan, _, simulations = prod_rehearsal
    rehearsed = {json.dumps(s, separators=(",", ":")) for s in simulations}
    prod = evidence("prod")
    asked = [
        a
        for a in accesses.Derivation(prod.snapshot, prod.documents, prod.organization).all()
        if a.kind in ("create", "pull", "publish")
    ]
    same = [a for a in asked if json.dumps(a.simulation(), separators=(",", ":")) in rehearsed]
    assert same and len(same) < len(asked), "some of the stack's questions are rehearsed ones, not all"

    started = simulator.Simulator(rehearsal=True)
    assert started.rehearsal_writer is not None
    process = rehearsal.Rehearsal(plan, started.rehearsal_writer)
    started.handed_over()
    try:
        assert process.rendered(), "the rehearsal rendered the deploy account's bootstrap roles"
        assert process.process.wait(timeout=120) == 0  # every rehearsal line was taken before the stack's came
        after_rehearsal = simulator.Run(asked, started).verdicts()
    finally:
        started.close()
        process.close()
    fresh = simulator.simulate(asked)
    assert [(v.result, v.denials, v.grants) for v in after_rehearsal] == [
        (v.result, v.denials, v.grants) for v in fresh
    ]


def test_a_rehearsal_that_fails_is_reported_and_hands_over_nothing(capsys):
    org = "organization/aws-platform/org"
    broken = rehearsal.Plan(
        "prod", "190910285287", "eu-west-1", {}, [org], {org: {"accounts": "not the org's accounts"}}
    )
    reader, writer = os.pipe()
    process = rehearsal.Rehearsal(broken, writer)
    os.close(writer)
    try:
        assert process.rendered() == {}
    finally:
        process.close()
        os.close(reader)
    reported = capsys.readouterr().err
    assert "rehearsal failed (exit 1: AttributeError" in reported and "go on without it" in reported


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_no_shipped_preview_goes_on_without_its_rehearsal(shipped_preview, stack):
    result = shipped_preview(stack)
    assert "rehearsal failed" not in result.stderr, result.stderr
