"""What `make lint` adds to `make test`, cold as on a CI clone (docs/development.md).

Clones HEAD into a temporary directory (no .ruff_cache, no .mypy_cache; pyright keeps no cache), links the project's
.venv, and times each checker there: wall time and CPU time (user + sys of the child). On a shared machine the wall
time includes waiting for a core; the CPU time is what an idle single-core runner would take. mypy, cold and warm,
with the scope and rules it would need, is the comparison that chose pyright.

    .venv/bin/python bench/lint.py [--no-mypy]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
# What pyright checks (pyproject.toml's include), for mypy.
SCOPE = [
    "__main__.py",
    "components",
    "foundation",
    "stack_config",
    "policies",
    "preview",
    "review",
    "lambda_src",
    "tools",
    "bench",
]


def timed(name: str, command: list[str], cwd: pathlib.Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + sys of the child) and the exit code of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    load = os.getloadavg()[0]
    print(f"{name:<22} wall {wall:6.1f} s   cpu {cpu:6.1f} s   exit {result.returncode}   load {load:.1f}", flush=True)
    return wall, cpu, result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--no-mypy", action="store_true", help="only the checkers `make lint` runs")
    args = parser.parse_args(argv)
    venv = ROOT / ".venv" / "bin"
    with tempfile.TemporaryDirectory() as tmp:
        clone = pathlib.Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        (clone / ".venv").symlink_to((ROOT / ".venv").resolve())
        runs = [
            ("ruff check (cold)", [str(venv / "ruff"), "check", "."]),
            ("ruff check (warm)", [str(venv / "ruff"), "check", "."]),
            ("ruff format --check", [str(venv / "ruff"), "format", "--check", "."]),
            ("pyright (always cold)", [str(venv / "pyright")]),
        ]
        if not args.no_mypy:
            mypy = [str(venv / "mypy"), "--check-untyped-defs", "--cache-dir", str(clone / ".mypy_cache"), *SCOPE]
            runs += [("mypy (cold)", mypy), ("mypy (warm)", mypy)]
        wall_total = cpu_total = 0.0
        for name, command in runs:
            wall, cpu, _ = timed(name, command, clone)
            if name in ("ruff check (cold)", "ruff format --check", "pyright (always cold)"):
                wall_total, cpu_total = wall_total + wall, cpu_total + cpu
        print(f"make lint, cold: wall {wall_total:.1f} s, cpu {cpu_total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
