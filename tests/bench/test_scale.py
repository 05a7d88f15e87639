"""The scale benchmark's generated stacks are real stacks: at a smoke size they pass every judge the shipped ones
pass, and the published sizes still preview to the resource counts and exit codes recorded with their figures."""

from __future__ import annotations

import collections

from preview import __main__ as cli
from preview import policy_client
from tests.bench.conftest import SMOKE_SERVICES
from tools import figures


def _verdicts(scale, result):
    return scale.Verdicts.read(result.exit_code, result.stdout)


def test_a_generated_prod_passes_every_judge(scale, generated_prod):
    verdicts = _verdicts(scale, generated_prod)
    assert verdicts.denied == 0 and verdicts.violations == 0, generated_prod.stdout[-3000:]
    assert verdicts.problems() == [], generated_prod.stdout[-3000:] + generated_prod.stderr[-2000:]


def _services(result) -> dict[str, str]:
    """Each ECS service of the snapshot and the image its task definition runs."""
    tasks = {r["urn"]: r for r in result.resources("aws:ecs/taskDefinition:TaskDefinition")}
    found = {}
    for service in result.resources("aws:ecs/service:Service"):
        task = next(t for t in tasks.values() if t["parent"] == service["parent"])
        found[service["name"]] = task["inputs"].get("containerDefinitions", "")
    return found


def test_each_generated_service_runs_an_image_promoted_into_its_own_repository(generated_prod):
    generated = {name: image for name, image in _services(generated_prod).items() if "svc-" in name}
    assert len(generated) == SMOKE_SERVICES
    promoted = {r["name"] for r in generated_prod.resources() if "promot" in r["type"].lower() + r["name"].lower()}
    for name in generated:
        svc = name.split("-task")[0].removeprefix("shop-prod-")
        assert any(svc in p for p in promoted), f"{name}: no promotion of its image in {sorted(promoted)}"


def _per_service(result) -> tuple[int, int]:
    """(resources of one generated service, resources of the rest of the stack), from the snapshot's URNs."""
    owned = collections.Counter()
    for r in result.resources():
        names = {f"svc-{i:03d}" for i in range(SMOKE_SERVICES) if f"svc-{i:03d}" in r["urn"]}
        if len(names) == 1:
            owned[names.pop()] += 1
    counts = set(owned.values())
    assert len(owned) == SMOKE_SERVICES and len(counts) == 1, owned
    (each,) = counts
    return each, len(result.resources()) - each * SMOKE_SERVICES


def test_published_scale_figures_were_measured_on_stacks_that_preview_as_recorded_today(generated_prod):
    """A generated size's recorded resource count is today's (the rest of prod plus that many services, counted
    on the smoke preview), and it was green, as the smoke size is today."""
    data = figures.load()
    assert "scale" in data, "no bench/results/scale.json"
    each, rest = _per_service(generated_prod)
    stale = []
    for row in data["scale"]["figures"]:
        values = row["values"]
        if "services" not in values:
            continue
        expected = rest + each * values["services"]
        if values["resources"] != expected or values.get("exit_code") != generated_prod.exit_code:
            stale.append(
                f"{row['key']}: recorded {values['resources']} resources, exit {values.get('exit_code')}; "
                f"today {expected} resources, exit {generated_prod.exit_code}"
            )
        if values.get("denied") != 0 or values.get("violations") != 0:
            stale.append(f"{row['key']}: measured a stack that was not green ({values})")
    assert any("services" in r["values"] for r in data["scale"]["figures"]), "scale.json has no generated size"
    assert not stale, "rerun `bench/scale.py`, then `make docs`:\n" + "\n".join(stale)


def test_the_benchmark_names_each_judge_that_did_not_pass(scale):
    waived = policy_client.Violation("ecs-image-by-digest", "mandatory", "d\nwaived (x)", "urn:a::b::c::d")
    failing = policy_client.Violation("required-tags", "mandatory", "d\nmissing tags", "urn:a::b::c::d")
    stdout = "\n".join(
        [
            "stack prod (321 resources)",
            "access simulation (@cloud-copilot/iam-simulate 0.1.173): 399 accesses (pull 8), 3 denied, 0 on trust, in 1 s",
            cli.render_violations([failing, waived]),
        ]
    )
    verdicts = scale.Verdicts.read(1, stdout)
    assert (verdicts.resources, verdicts.denied, verdicts.violations) == (321, 3, 1)
    problems = " ".join(verdicts.problems())
    assert "access simulation denied 3" in problems and "policy pack reported 1" in problems
    assert "exited 1" in problems
    clean = scale.Verdicts.read(0, "stack prod (3 resources)\n" + cli.render_violations([waived]))
    assert clean.problems() == [] and clean.violations == 0
