"""Benchmark: the offline preview as the platform grows, from the shipped stacks to 200 services.

For each shipped stack, and for environments generated from prod with 10, 50 and
200 services (each with its own repository, task definition, target group,
scaling and alarms), it runs the offline preview exactly as ``make preview``
does — program under mocks, snapshot, policy pack over gRPC — and records wall
time and peak memory (resident set of the preview and the pack process it
starts, summed, sampled every 20 ms).

Reproduce: ``make bench`` or ``.venv/bin/python bench/scale.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import copy
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import psutil
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import figures  # noqa: E402

SHIPPED = ("dev", "staging", "prod", "org")
SIZES = (10, 50, 200)
TARGET_SECONDS, TARGET_MB, TARGET_GROWTH = 60.0, 1024.0, 4.5
# In shop-prod's account (the org stack's): the preview refuses an image in an account outside the organization.
DIGEST = "190910285287.dkr.ecr.eu-west-1.amazonaws.com/shop-prod-svc@sha256:" + "ab" * 32


def generated_config(services: int, directory: pathlib.Path) -> pathlib.Path:
    """prod's configuration with ``services`` services, each routed by host so no two share a rule."""
    document = yaml.safe_load((ROOT / "environments" / "Pulumi.prod.yaml").read_text())
    containers = copy.deepcopy(document["config"]["aws-platform:containers"])
    # A pinned-digest service if prod has one, else its first (each copy reads that service's secrets, so the
    # externals prod declares stay read).
    shipped = containers["services"]
    template = next((s for s in shipped if "digest" in s["image"]), shipped[0])
    generated = []
    for i in range(services):
        svc = copy.deepcopy(template)
        svc["name"] = f"svc-{i:03d}"
        svc["image"] = {"digest": DIGEST}
        svc["routing"] = {"host": f"svc-{i:03d}.shop.example.com", "priority": i + 1}
        generated.append(svc)
    containers["services"] = generated
    # Pinned digests must be declared with their owner (stack_config/externals.py), as a real stack would.
    document["config"].setdefault("aws-platform:externals", []).append(
        {"ref": DIGEST, "owner": "bench", "how": "the benchmark's stand-in image, pushed by whoever runs it"}
    )
    document["config"]["aws-platform:containers"] = containers
    path = directory / f"Pulumi.prod-{services}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def measure(stack: str, config: pathlib.Path | None, out: pathlib.Path) -> tuple[float, float, int, int]:
    """Wall seconds, peak MB (process tree), resources, exit code of one offline preview."""
    command = [sys.executable, "-m", "preview", "--stack", stack, "--json", str(out), "--quiet"]
    if config is not None:
        # A generated stack is measured, never deployed: its hundreds of tasks exceed any account's quotas.
        command += ["--config", str(config), "--no-quotas"]
    # Output to files, not pipes: nothing reads a pipe until the preview ends, and a large stack's output
    # (200 services' externals) fills one and blocks the preview for good.
    with tempfile.TemporaryFile("w+") as stdout_file, tempfile.TemporaryFile("w+") as stderr_file:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, stdout=stdout_file, stderr=stderr_file, text=True)
        parent, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            try:
                tree = [parent, *parent.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)
        wall = time.perf_counter() - start
        stdout_file.seek(0)
        stderr_file.seek(0)
        stdout, stderr = stdout_file.read(), stderr_file.read()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"preview {stack} failed ({proc.returncode}):\n{stderr[-3000:]}")
    resources = int(stdout.split("(", 1)[1].split(" ", 1)[0])
    return wall, peak / 2**20, resources, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = parser.parse_args()

    rows, walls = [], {}
    data: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = pathlib.Path(tmp)
        cases = [(s, s, None) for s in SHIPPED] + [
            (f"prod, {n} services", "prod", generated_config(n, tmpdir)) for n in args.sizes
        ]
        for label, stack, config in cases:
            results = [measure(stack, config, tmpdir / "out.json") for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in results)
            peak = max(r[1] for r in results)
            resources, code = results[0][2], results[0][3]
            walls[label] = wall
            met = wall < TARGET_SECONDS and peak < TARGET_MB and code == 0
            rows.append(
                (
                    label,
                    resources,
                    f"{wall:.1f} s",
                    f"{peak:.0f} MB",
                    "none" if code == 0 else "MANDATORY",
                    "yes" if met else "NO",
                )
            )
            key = stack if config is None else f"prod-{label.split()[1]}"
            data.append(
                figures.figure(
                    key,
                    f"offline preview + policy pack, {label} ({resources:,} resources), median of {args.runs}",
                    f"{wall:.1f} s, {peak:.0f} MB peak" + ("" if code == 0 else ", MANDATORY violations"),
                    f"< {TARGET_SECONDS:.0f} s, < {TARGET_MB:.0f} MB",
                    met,
                    seconds=round(wall, 3),
                    peak_mb=round(peak),
                    resources=resources,
                    exit_code=code,
                    **({"stack": stack} if config is None else {}),
                )
            )

    print(
        "| environment | resources | preview + policy pack (median) | peak memory | violations | "
        f"< {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")
    small, large = f"prod, {min(args.sizes)} services", f"prod, {max(args.sizes)} services"
    if 50 in args.sizes and 200 in args.sizes:
        growth = walls["prod, 200 services"] / walls["prod, 50 services"]
        data.append(
            figures.figure(
                "growth",
                "growth from 50 to 200 services (4x the services)",
                f"{growth:.2f}x the time",
                f"<= {TARGET_GROWTH}x",
                growth <= TARGET_GROWTH,
                ratio=round(growth, 3),
            )
        )
        print(
            f"\ngrowth 50 -> 200 services (4x the services): {growth:.2f}x the time "
            f"(target <= {TARGET_GROWTH}x: {'met' if growth <= TARGET_GROWTH else 'MISSED'})"
        )
    elif small in walls and large in walls:
        print(f"\ngrowth {small} -> {large}: {walls[large] / walls[small]:.2f}x")
    command = f".venv/bin/python bench/scale.py --runs {args.runs} --sizes {' '.join(map(str, args.sizes))}"
    print(f"\nreproduce: {command}")
    figures.record("scale", command, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
