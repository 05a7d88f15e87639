"""Benchmark: what no-plaintext-secrets (issue 34) adds to the policy pack's time on prod.

Each run starts a fresh pack process (its detect-secrets memo is empty, as in a real preview) and judges prod's
snapshot through the analyzer interface twice, the policy disabled and then enabled, in alternating order so both
see the same load; the figure is the median difference. The detect-secrets import at the pack's start-up is
measured on its own (it overlaps the program run in the offline preview, not in `pulumi preview`).

Reproduce: ``.venv/bin/python bench/secret_scan.py [--runs N]`` (writes bench/results/secret_scan.json).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import psutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies import secret_scan  # noqa: E402
from preview import policy_client  # noqa: E402
from tools import figures  # noqa: E402

TARGET_SECONDS = 0.5  # issue 34: the pack's added time on prod


def snapshot_of(stack: str) -> tuple[dict, int]:
    """The stack's snapshot (program and access simulation, no pack) and the preview's exit code."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / f"{stack}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "preview", "--stack", stack, "--json", str(out), "--quiet", "--no-policy"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if proc.returncode not in (0, 1):
            raise SystemExit(f"preview {stack} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return json.loads(out.read_text()), proc.returncode


def judged_seconds(snapshot: dict, level: str) -> tuple[float, float]:
    """Wall and pack-process CPU seconds of every Analyze and the AnalyzeStack for the snapshot, in a fresh pack,
    the policy at ``level``. CPU seconds are the figure: on a shared machine wall time mostly measures the others."""
    config = {**policy_client.policy_config_for(snapshot["stack"]), secret_scan.POLICY: level}
    with policy_client.PolicyPack() as pack:
        pack.configure(snapshot["stack"], config)
        requests, stack_request = pack.requests(snapshot), pack.stack_request(snapshot)
        process = psutil.Process(pack.process.pid)
        cpu, start = sum(process.cpu_times()[:2]), time.perf_counter()
        pack.analyze(requests)
        pack.analyze_stack(stack_request)
        return time.perf_counter() - start, sum(process.cpu_times()[:2]) - cpu


def import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import detect_secrets.core.scan; print(time.perf_counter() - t)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--stack", default="prod")
    args = parser.parse_args()
    snapshot, exit_code = snapshot_of(args.stack)
    strings = sum(1 for r in snapshot["resources"] for _ in secret_scan.walk(r["inputs"]))
    added, added_wall, without = [], [], []
    for i in range(args.runs):
        order = ("disabled", "mandatory") if i % 2 == 0 else ("mandatory", "disabled")
        seconds = {level: judged_seconds(snapshot, level) for level in order}
        added.append(seconds["mandatory"][1] - seconds["disabled"][1])
        added_wall.append(seconds["mandatory"][0] - seconds["disabled"][0])
        without.append(seconds["disabled"][1])
    imports = statistics.median(import_seconds() for _ in range(3))
    median = statistics.median(added)
    resources = len(snapshot["resources"])
    rows = [
        figures.figure(
            "policy_added",
            f"no-plaintext-secrets' added time (pack CPU seconds) on its verdict on {args.stack} ({resources} "
            f"resources, {strings:,} string inputs; the pack without it: {statistics.median(without):.2f} s; wall "
            f"added: {statistics.median(added_wall):.2f} s), median of {args.runs} fresh packs",
            f"{median:.2f} s",
            f"< {TARGET_SECONDS} s",
            median < TARGET_SECONDS,
            seconds=round(median, 3),
            runs=[round(a, 3) for a in added],
            wall_runs=[round(a, 3) for a in added_wall],
            strings=strings,
            resources=resources,
            exit_code=exit_code,
            stack=args.stack,
        ),
        figures.figure(
            "import",
            "detect-secrets' import at the pack's start-up (overlaps the program run in the offline preview)",
            f"{imports:.2f} s",
            "(info)",
            True,
            seconds=round(imports, 3),
        ),
    ]
    print("| figure | measured | target | met |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['figure']} | {row['measured']} | {row['target']} | {'yes' if row['met'] else 'NO'} |")
    command = f".venv/bin/python bench/secret_scan.py --runs {args.runs} --stack {args.stack}"
    print(f"\nreproduce: {command}")
    figures.record("secret_scan", command, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
