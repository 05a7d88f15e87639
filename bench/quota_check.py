"""Benchmark: what the quota check adds to `make preview STACK=prod` (target: within 1 s of the preview without it).

Reproduce: ``.venv/bin/python bench/quota_check.py [--runs N]``. Two figures: the check's own time on prod's
snapshot, in process (counting needs, judging them, the Support facts), and the preview end to end with and
without it (``--no-quotas``), runs interleaved so a busy machine slows both alike.
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

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import stack_config  # noqa: E402
from preview import quotas  # noqa: E402
from preview import world as worlds  # noqa: E402
from tools import figures  # noqa: E402

TARGET_ADDED_SECONDS = 1.0


def preview_seconds(out: pathlib.Path, *extra: str) -> float:
    command = [sys.executable, "-m", "preview", "--stack", "prod", "--json", str(out), "--quiet", *extra]
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"preview prod failed ({proc.returncode}): {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="end-to-end runs per variant; the median is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "prod.json"
        with_check, without = [], []
        for _ in range(args.runs):
            with_check.append(preview_seconds(out))
            without.append(preview_seconds(out, "--no-quotas"))
        snapshot = json.loads(out.read_text())
    world = worlds.for_stack(stack_config.load_file("prod"))
    own = []
    for _ in range(20):
        start = time.perf_counter()
        quotas.check("prod", snapshot, world)
        own.append(time.perf_counter() - start)
    check_ms = statistics.median(own) * 1000
    added = statistics.median(with_check) - statistics.median(without)
    resources = len(snapshot["resources"])
    figures.record(
        "quota_check",
        f".venv/bin/python bench/quota_check.py --runs {args.runs}",
        [
            figures.figure(
                "check",
                f"quota check on prod's snapshot ({resources} resources), in process, median of 20",
                f"{check_ms:.1f} ms",
                f"<= {TARGET_ADDED_SECONDS * 1000:.0f} ms",
                check_ms <= TARGET_ADDED_SECONDS * 1000,
                milliseconds=round(check_ms, 2),
                resources=resources,
                exit_code=0,  # preview_seconds stops the benchmark on any other
                stack="prod",
            ),
            figures.figure(
                "preview_added",
                f"`make preview STACK=prod` with the quota check minus without (`--no-quotas`), median of {args.runs}",
                f"{statistics.median(with_check):.2f} s - {statistics.median(without):.2f} s = {added:+.2f} s",
                f"<= +{TARGET_ADDED_SECONDS:.0f} s",
                added <= TARGET_ADDED_SECONDS,
                with_seconds=round(statistics.median(with_check), 3),
                without_seconds=round(statistics.median(without), 3),
                resources=resources,
                exit_code=0,  # preview_seconds stops the benchmark on any other
                stack="prod",
            ),
        ],
    )
    print(f"quota check: {check_ms:.1f} ms in process; preview {added:+.2f} s with it (median of {args.runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
