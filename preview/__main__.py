"""Offline preview: ``python -m preview --stack dev [--json FILE]``.

Validates the stack's config (exit 2 on any problem), runs the real program under
Pulumi's mocks, prints the resource tree, writes a deterministic snapshot, and
runs the policy pack through its analyzer gRPC interface (exit 1 on any
mandatory violation; a violation policies/exceptions.yaml waives is reported,
never a failure), and simulates every access the snapshot implies with a pinned
IAM simulator (exit 1 on any denied access: access/, docs/access.md).
``--sarif FILE`` also writes the violations for code scanning. Exit 3 when the
program itself fails.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import sys
import traceback
from typing import Any, NoReturn

import pulumi

import stack_config
import stack_config.loader
from access import judge as access_judge
from access import rehearsal as access_rehearsal
from access import report as access_report
from access import simulator as access_simulator
from policies import secret_scan
from preview import ordering, policy_client, priority, program, quotas, region_loss, sarif
from preview import world as worlds
from stack_config import accounts, backend, externals

EXIT_OK, EXIT_MANDATORY, EXIT_CONFIG, EXIT_PROGRAM = 0, 1, 2, 3


def write_snapshot(snapshot: dict[str, Any], path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written as it is encoded: at 200 services the whole text, and its bytes, were ~50 MB more at the preview's peak.
    with path.open("w", encoding="utf-8") as out:
        json.dump(snapshot, out, indent=1, sort_keys=True)
        out.write("\n")


def render_tree(snapshot: dict[str, Any]) -> str:
    resources = snapshot["resources"]
    children: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    urns = {r["urn"] for r in resources}
    for r in resources:
        children[r["parent"] if r["parent"] in urns else ""].append(r)
    lines = [f"stack {snapshot['stack']} ({len(resources)} resources)"]

    def walk(parent: str, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (r["custom"], r["type"], r["name"])):
            flags = "".join(f" [{f}]" for f, on in (("protect", r["protect"]), ("retain", r["retainOnDelete"])) if on)
            lines.append(f"{'  ' * depth}{'+' if not r['custom'] else '-'} {r['type']} {r['name']}{flags}")
            walk(r["urn"], depth + 1)

    walk("", 1)
    counts = collections.Counter(r["type"] for r in resources)
    lines.append("counts by type:")
    lines += [f"  {n:4d}  {t}" for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(lines)


def render_violations(violations: list[policy_client.Violation]) -> str:
    """Failures first, then advisories, then what policies/exceptions.yaml waives; each group says its severity."""
    if not violations:
        return "policy pack: no violations"
    by_policy: dict[tuple[str, str, str], list[policy_client.Violation]] = collections.defaultdict(list)
    for v in violations:
        by_policy[(v.policy, "waived" if v.waived else v.level, v.severity)].append(v)
    waived = sum(v.waived for v in violations)
    lines = [f"policy pack: {len(violations) - waived} violation(s), {waived} waived by policies/exceptions.yaml"]
    order = {"mandatory": 0, "advisory": 1, "waived": 2}
    for (policy, level, severity), items in sorted(by_policy.items(), key=lambda kv: (order.get(kv[0][1], 1), kv[0])):
        lines.append(f"  {policy} [{level}] severity {severity} ({len(items)})")
        for v in sorted(items, key=lambda v: (v.urn, v.message)):
            kind, name = v.urn.split("::")[-2:] if v.urn.count("::") >= 3 else ("stack", v.urn)
            lines.append(f"    {kind.rsplit('$', 1)[-1]} {name}: {v.detail}")
    return "\n".join(lines)


def violations_report(snapshot: dict[str, Any], violations: list[policy_client.Violation]) -> str:
    """``render_violations`` as the log prints it: a policy's message may quote an input (a name, say), never
    one detect-secrets flags (issue 34)."""
    return secret_scan.redact(render_violations(violations), secret_scan.snapshot_values(snapshot, violations))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preview", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument(
        "--config", type=pathlib.Path, help="stack config file (default environments/Pulumi.<stack>.yaml)"
    )
    parser.add_argument("--json", type=pathlib.Path, help="write the snapshot here")
    parser.add_argument("--program", type=pathlib.Path, default=program.PROGRAM)
    parser.add_argument("--policy-config", type=pathlib.Path, help="default policies/config/<stack>.json")
    parser.add_argument("--no-policy", action="store_true", help="skip the policy pack")
    parser.add_argument("--sarif", type=pathlib.Path, help="also write the pack's violations here as SARIF 2.1.0")
    parser.add_argument("--quiet", action="store_true", help="print the summary only, not the tree")
    parser.add_argument("--no-access", action="store_true", help="skip the access simulation (access/)")
    parser.add_argument(
        "--no-quotas", action="store_true", help="skip the quota check (preview/quotas.py; `make quota-needs` counts)"
    )
    parser.add_argument(
        "--world",
        choices=worlds.MODES,
        default=worlds.DAY_ZERO,
        help="day-zero (default): a first deploy, nothing this stack creates exists yet; "
        "update: the stack exists, what it created is there; pull-request: as CI's read-only role; "
        "region-lost: a first deploy while --lost-region does not answer",
    )
    parser.add_argument(
        "--lost-region",
        default=os.environ.get("LOST_REGION") or None,
        help=f"the region that does not answer in the region-lost world (default {region_loss.DEFAULT_LOST_REGION})",
    )
    args = parser.parse_args(argv)

    try:
        config_path = args.config or stack_config.loader.stack_file(args.stack)
        config = stack_config.load_file(args.stack, config_path)
        values = stack_config.engine_values_from_yaml(config_path)
    except stack_config.ConfigError as err:
        print(err, file=sys.stderr)
        return EXIT_CONFIG
    expected = externals.render(externals.expectations(config))

    try:
        world = worlds.for_stack(config, args.world, args.lost_region)
    except region_loss.RegionUnreachable as err:
        print(err, file=sys.stderr)
        return EXIT_PROGRAM
    # The program refuses a foreign account at up (its org stack reference); here, from the recorded outputs.
    org_outputs = world.stack_references.get(config.org_stack or "") or {}
    foreign = accounts.foreign_account_problems(
        accounts.named_accounts(values), accounts.organization_accounts(org_outputs)
    )
    if org_outputs and foreign:
        print(stack_config.ConfigError(str(config_path), foreign), file=sys.stderr)
        return EXIT_CONFIG
    # The judges' processes start now, below the program's priority, on the other core while the program runs: the
    # pack imports (and is asked about each resource as the program registers it), Node loads the simulator (asked
    # once the snapshot is made) and rehearses on the deploy role's creates meanwhile (access/rehearsal.py).
    references = [ref for _, ref in backend.references(config, stack_config.loader.NAMESPACE)]
    # Only a stack in the org's accounts has a deploy role to rehearse as (the org stack has no org stack).
    try:
        simulator = None if args.no_access else access_simulator.Simulator(priority.lowered(), bool(org_outputs))
    except access_simulator.SimulatorMissing as err:
        print(err, file=sys.stderr)
        return EXIT_PROGRAM
    rehearsal: access_rehearsal.Rehearsal | None = None
    pack: policy_client.PolicyPack | None = None
    try:
        if simulator is not None and simulator.rehearsal_writer is not None:
            plan = access_rehearsal.Plan.for_stack(config, world, references)
            rehearsal = access_rehearsal.Rehearsal(plan, simulator.rehearsal_writer, priority.lowered())
            simulator.handed_over()
        pack = None if args.no_policy else policy_client.PolicyPack(connect=False)
        return _preview(args, values, world, expected, pack, simulator, rehearsal, references)
    finally:
        if pack is not None:
            pack.close()
        if simulator is not None:
            simulator.close()
        if rehearsal is not None:
            rehearsal.close()


def _preview(
    args: argparse.Namespace,
    values: dict[str, str],
    world: worlds.World,
    expected: str,
    pack: policy_client.PolicyPack | None,
    simulator: access_simulator.Simulator | None,
    rehearsal: access_rehearsal.Rehearsal | None,
    references: list[str],
) -> int:
    # The pack judges each resource as the program registers it (on the other core), as the engine streams them.
    file_config = (
        json.loads(args.policy_config.read_text())
        if args.policy_config
        else policy_client.policy_config_for(args.stack)
    )
    analysis = pack.stream(args.stack, file_config) if pack is not None else None
    try:
        run = program.run(args.stack, values, args.program, world, analysis.observe if analysis else None)
    except pulumi.RunError as err:  # the program's own refusal (a missing external...): its message says it all
        print(expected, file=sys.stderr)
        print(err, file=sys.stderr)
        return EXIT_PROGRAM
    except Exception:
        traceback.print_exc()
        return EXIT_PROGRAM
    priority.program_ended()
    snapshot = run.snapshot()
    if args.json:
        write_snapshot(snapshot, args.json)
    # A first `up` runs what does not wait in parallel: AWS refuses what comes before its prerequisite.
    out_of_order = ordering.problems(snapshot) if world.mode == worlds.DAY_ZERO else []
    if out_of_order:
        print("a first `pulumi up` would be refused (preview/ordering.py):", file=sys.stderr)
        print("\n".join(f"  {line}" for line in out_of_order), file=sys.stderr)
        return EXIT_PROGRAM
    tree = render_tree(snapshot)
    print(tree if not args.quiet else tree.splitlines()[0])
    print(expected)
    # What the account's quotas allow (a new account's, raised where the org requested): AWS's refusal, ahead of time.
    quota_code = EXIT_OK
    if not args.no_quotas:
        quota_verdict, quota_refused = quotas.check(args.stack, snapshot, world)
        print(quota_verdict)
        quota_code = EXIT_MANDATORY if quota_refused else EXIT_OK
    # The simulator runs in its own process while the pack answers below.
    simulation = (
        None
        if simulator is None
        else access_judge.start(
            args.stack,
            snapshot,
            world.stack_references,
            caller=world.caller,
            references=references,
            started_simulator=simulator,
            rendered=rehearsal.rendered() if rehearsal is not None else None,
        )
    )

    def access_verdict() -> int:
        if simulation is None:
            return EXIT_OK
        judgement = simulation.result()
        print(access_report.render(judgement))
        return EXIT_MANDATORY if judgement.failing else EXIT_OK

    if pack is None or analysis is None:
        return access_verdict() or quota_code
    try:
        violations = analysis.finish(snapshot)
    except policy_client.PackError as err:  # e.g. policies/exceptions.yaml refused: its problems, one a line
        print(err, file=sys.stderr)
        return EXIT_CONFIG
    # Its verdicts are in: the pack's process goes now, not after the simulator's (at 200 services its ~95 MB were
    # part of the preview's peak, reached as the simulator finished).
    pack.close()
    code = access_verdict() or quota_code
    print(violations_report(snapshot, violations))
    if args.sarif:
        sarif.write(args.sarif, sarif.report(snapshot, violations, pack.info, pack.version))
    return EXIT_MANDATORY if any(v.failing for v in violations) else code


def exit_now(code: int) -> NoReturn:
    """Exit once the output is out, without the interpreter's teardown of every module and object: measured at
    1.3-3 s of each prod preview (the SDKs' thousands of classes), work that ends in the process going away."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
