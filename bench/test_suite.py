"""Benchmark: how long the feedback takes, `make test`'s lint and pytest, and where pytest's time goes.

Runs the three lint commands of `make lint` and then pytest exactly as `make test` does (both cores, the slowest
tests named), timing each; records the wall times, the pass/fail counts and the slowest tests by duration.
The target (issue 25): `make test` under eight minutes on this 2-core machine. A clean clone adds the install
(`make venv`, `make checkov`), which this harness does not time.

Reproduce: ``.venv/bin/python bench/test_suite.py`` (the whole suite once: about as long as `make test`).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import figures  # noqa: E402

TARGET_SECONDS = 8 * 60
VENV = ROOT / ".venv" / "bin"
LINT = (
    ("lint-ruff", "ruff check", [str(VENV / "ruff"), "check", "."]),
    ("lint-format", "ruff format --check", [str(VENV / "ruff"), "format", "--check", "."]),
    ("lint-pyright", "pyright", [str(VENV / "pyright")]),
)
PYTEST = [str(VENV / "python"), "-m", "pytest", "-n", "auto", "--dist", "loadgroup"]
DURATION = re.compile(r"^\s*(\d+\.\d+)s (call|setup|teardown)\s+(\S+)", re.MULTILINE)
SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors|skipped|deselected|xfailed|xpassed)")


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    return time.perf_counter() - start, proc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--durations", type=int, default=40, help="how many of the slowest tests to record")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (default: the whole suite)")
    args = parser.parse_args()

    rows, lint_total = [], 0.0
    for key, name, command in LINT:
        seconds, proc = timed(command)
        lint_total += seconds
        rows.append(
            figures.figure(
                key,
                f"`{name}`",
                f"{seconds:.0f} s" + ("" if proc.returncode == 0 else " (**failed**)"),
                "-",
                proc.returncode == 0,
                seconds=round(seconds, 1),
                exit_code=proc.returncode,
            )
        )
    command = [*PYTEST, f"--durations={args.durations}", *args.pytest_args]
    seconds, proc = timed(command)
    log = ROOT / "build" / "test_suite.log"  # the whole report, failures included (build/ is not checked in)
    log.parent.mkdir(exist_ok=True)
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    tail = proc.stdout[-3000:] + f"\nfull output: {log.relative_to(ROOT)}"
    counts = {kind: int(n) for n, kind in SUMMARY.findall(proc.stdout.splitlines()[-1] if proc.stdout else "")}
    slowest = [{"seconds": float(s), "phase": phase, "test": test} for s, phase, test in DURATION.findall(proc.stdout)]
    rows.append(
        figures.figure(
            "pytest",
            f"pytest on both cores ({counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed)",
            f"{seconds:.0f} s",
            "-",
            proc.returncode == 0,
            seconds=round(seconds, 1),
            exit_code=proc.returncode,
            **counts,
        )
    )
    total = lint_total + seconds
    rows.append(
        figures.figure(
            "make-test",
            "`make test` after install: lint + pytest",
            f"{total / 60:.1f} min ({total:.0f} s)",
            "< 8 min",
            total < TARGET_SECONDS and proc.returncode == 0,
            seconds=round(total, 1),
        )
    )
    print("| figure | measured | target | met |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['figure']} | {row['measured']} | {row['target']} | {'yes' if row['met'] else 'NO'} |")
    print("\n" + tail)
    reproduce = ".venv/bin/python bench/test_suite.py" + "".join(f" {a}" for a in args.pytest_args)
    pytest_command = " ".join([".venv/bin/python", *command[1:]])
    figures.record("test_suite", reproduce, rows, pytest_command=pytest_command, slowest=slowest)
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
