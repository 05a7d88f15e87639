"""The scale benchmark's generated stacks are real stacks: at a smoke size they pass every judge the shipped ones
pass, and the published sizes still preview to the resource counts and exit codes recorded with their figures."""

from __future__ import annotations

import re

from preview import __main__ as cli
from preview import policy_client
from tests.bench.conftest import SMOKE_SERVICES
from tools import figures

GENERATED = re.compile(r"prod-\d+$")  # bench/scale.py's key of a generated size


def _verdicts(scale, result):
    return scale.Verdicts.read(result.exit_code, result.stdout)


def test_a_generated_prod_passes_every_judge(scale, generated_prod):
    verdicts = _verdicts(scale, generated_prod)
    assert verdicts.denied == 0 and verdicts.violations == 0, generated_prod.stdout[-3000:]
    assert verdicts.problems() == [], generated_prod.stdout[-3000:] + generated_prod.stderr[-2000:]


def test_each_generated_service_is_promoted_from_what_staging_ran_into_its_own_repository(generated_prod):
    services = sorted(r["name"].removesuffix("-service") for r in generated_prod.resources("aws:ecs/service:Service"))
    generated = [name for name in services if name.startswith("svc-")]
    assert len(generated) == SMOKE_SERVICES, services
    copies = {r["name"]: str(r["inputs"]) for r in generated_prod.resources("command:local:Command")}
    for name in generated:
        copy = copies.get(f"{name}-images-promote", "")
        assert f"shop-staging-{name}@sha256:" in copy, f"{name}: not copied from staging's own image: {copy[:500]}"
        assert f"shop-prod-{name}" in copy, f"{name}: not copied into its own repository: {copy[:500]}"


def test_published_scale_figures_were_measured_on_stacks_that_preview_as_recorded_today(generated_prod):
    """The recorded sizes are green, and today's smoke preview lies on the line their resource counts draw (a
    stack, or a service, that grew or shrank since they were measured moves it off): the figures are today's."""
    data = figures.load()
    assert "scale" in data, "no bench/results/scale.json"
    sizes = sorted(
        (int(row["key"].split("-", 1)[1]), row) for row in data["scale"]["figures"] if GENERATED.match(row["key"])
    )
    assert len(sizes) >= 2, "bench/results/scale.json needs two generated sizes or more"
    (small, first), (large, last) = sizes[0], sizes[-1]
    each = (last["values"]["resources"] - first["values"]["resources"]) / (large - small)
    stale = []
    for services, row in sizes:
        values = row["values"]
        if values.get("exit_code") != 0 or values.get("denied") != 0 or values.get("violations") != 0:
            stale.append(f"{row['key']}: measured a stack that was not green ({values})")
        expected = first["values"]["resources"] + each * (services - small)
        if values["resources"] != expected:
            stale.append(f"{row['key']}: {values['resources']} resources, off the line of the others ({expected:.0f})")
    today = len(generated_prod.resources())
    recorded = first["values"]["resources"] + each * (SMOKE_SERVICES - small)
    if today != recorded:
        stale.append(
            f"{SMOKE_SERVICES} services preview to {today} resources today; the recorded sizes say {recorded:.0f} "
            f"({each:.1f} a service)"
        )
    if generated_prod.exit_code != 0:
        stale.append(f"{SMOKE_SERVICES} services exit {generated_prod.exit_code} today; the figures were green")
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
