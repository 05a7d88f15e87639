"""``python -m scan --stack <stack>``: checkov's AWS checks on a stack's preview.

Reads the offline preview's snapshot (``build/<stack>.json``; ``make scan`` runs
the preview first) or, with ``--pulumi-preview``, the output of a real
``pulumi preview --json``. Writes ``build/scan/<stack>/`` (the Terraform plan,
checkov's JSON and SARIF, ``summary.json``). Findings are accepted by
``policies/exceptions.yaml`` only. Exit 0: nothing unaccepted, or a report-only
stage (dev, sandbox); 1: unaccepted findings, or an expired exception (in every
stack); 2: bad input (the exceptions file, the snapshot); 3: checkov missing or failed.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from policies import exceptions
from scan import findings, terraform_plan

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scan", description="checkov's AWS checks on a stack's preview")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--snapshot", type=pathlib.Path, help="offline preview snapshot (default build/<stack>.json)")
    parser.add_argument("--pulumi-preview", type=pathlib.Path, help="output of a real `pulumi preview --json`")
    parser.add_argument("--out", type=pathlib.Path, help="report directory (default build/scan/<stack>)")
    args = parser.parse_args(argv)
    source = args.pulumi_preview or args.snapshot or ROOT / "build" / f"{args.stack}.json"
    out_dir = args.out or ROOT / "build" / "scan" / args.stack
    try:
        document = json.loads(source.read_text())
        entries = exceptions.load()
        plan = terraform_plan.to_terraform_plan(document)
    except (OSError, json.JSONDecodeError, exceptions.ExceptionsError, terraform_plan.ConversionError) as err:
        print(f"scan: {err}", file=sys.stderr)
        return 2
    try:
        result = findings.scan(args.stack, plan, out_dir, entries)
    except (findings.CheckovMissing, RuntimeError) as err:
        print(f"scan: {err}", file=sys.stderr)
        return 3
    (out_dir / "summary.json").write_text(json.dumps(result.as_json(), indent=2) + "\n")
    print(f"checkov {result.checkov_version} on {source.name}: {result.summary()}")
    for finding in result.failed:
        print(f"  FAILED    {finding.line()}")
    for entry in result.expired:
        print(f"  EXPIRED   {exceptions.expiry_line(entry)}")
    for finding in result.accepted:
        by = finding.accepted_by
        terms = f" ({by.terms}; entry {by.number})" if by else ""
        print(f"  accepted  {finding.check} {finding.address}{terms}: {by.reason if by else ''}")
    if result.failed and not result.blocking:
        print(f"  ({args.stack} reports findings without failing; staging, prod and org fail on them)")
    return 1 if result.blocking else 0


if __name__ == "__main__":
    sys.exit(main())
