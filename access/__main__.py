"""``python -m access --stack <stack>``: the access simulation alone, on a snapshot the preview wrote.

Reads ``build/<stack>.json`` (``make preview`` writes it) or ``--snapshot``; the documents of referenced stacks
come from ``access/recorded_documents.json`` and the organization from ``preview/stack_references.json``.
``--caller read-only`` judges it as a pull-request preview would run. Exit 0: every access allowed; 1: a denied
access (or a resource type with no create action); 2: bad input; 3: the simulator is missing or failed.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from access import accesses, judge, report, simulator
from preview import world

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m access", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--snapshot", type=pathlib.Path, help="offline preview snapshot (default build/<stack>.json)")
    parser.add_argument("--caller", choices=(accesses.DEPLOY, accesses.READ_ONLY), default=accesses.DEPLOY)
    args = parser.parse_args(argv)
    source = args.snapshot or ROOT / "build" / f"{args.stack}.json"
    try:
        snapshot = json.loads(source.read_text())
    except (OSError, json.JSONDecodeError) as err:
        print(f"access: {err}", file=sys.stderr)
        return 2
    try:
        result = judge.judge(args.stack, snapshot, world.recorded_references(), caller=args.caller)
    except (simulator.SimulatorMissing, RuntimeError) as err:
        print(f"access: {err}", file=sys.stderr)
        return 3
    print(report.render(result))
    return 1 if result.failing else 0


if __name__ == "__main__":
    sys.exit(main())
