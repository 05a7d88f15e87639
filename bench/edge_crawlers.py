"""Benchmark: the generated viewer-request function on corpora it was not generated from.

Run from the repository root:  python bench/edge_crawlers.py   (needs node; the corpora come from `make venv`)
Runs the real function code in Node (tools/cloudfront_harness.mjs) once per user agent and counts who is sent to
the renderer. Prints a Markdown table: figure | measured | target | met?; also the function's size and the figures
without the operator terms (the first version, before its misses on this corpus were looked at).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import edge_corpora  # noqa: E402

from tools import cloudfront_harness as cf  # noqa: E402
from tools import generate_edge_function as gen  # noqa: E402

TARGET_RECALL = 0.95


def routed(function: Path, user_agents: list[str]) -> list[bool]:
    results = cf.run(function, {}, [cf.viewer_request("/products/42", ua) for ua in user_agents])
    return [any("group" in c for c in r["calls"]) for r in results]


def without_operator_terms() -> Path:
    """The function as generated from the dataset and the generic terms alone."""
    operator_terms, gen.OPERATOR_TERMS = gen.OPERATOR_TERMS, ()
    try:
        text = gen.render()[gen.SOURCE / "viewer_request.js"]
    finally:
        gen.OPERATOR_TERMS = operator_terms
    path = Path(tempfile.mkdtemp()) / "viewer_request.js"
    path.write_text(text)
    return path


def main() -> int:
    started = time.monotonic()
    function = gen.SOURCE / "viewer_request.js"
    crawlers, browsers = edge_corpora.crawlers(), edge_corpora.browsers()
    versions = edge_corpora.versions()
    baseline = without_operator_terms()
    rows = []
    for category, uas in crawlers.items():
        recall = sum(routed(function, uas)) / len(uas)
        before = sum(routed(baseline, uas)) / len(uas)
        rows.append(
            (
                f"{category} crawlers routed, Matomo device-detector {versions['device-detector']} ({len(uas)} UAs)",
                f"{recall:.1%} (dataset + generic terms only: {before:.1%})",
                "≥ 95 %",
                recall >= TARGET_RECALL,
            )
        )
    for name, uas in browsers.items():
        false_positives = [ua for ua, hit in zip(uas, routed(function, uas), strict=True) if hit]
        package = "device-detector" if name.startswith("matomo") else "fake-useragent"
        rows.append(
            (
                f"browsers taken for crawlers, {name} {versions[package]} ({len(uas)} UAs)",
                str(len(false_positives)),
                "0",
                not false_positives,
            )
        )
        for ua in false_positives[:10]:
            print(f"false positive: {ua}", file=sys.stderr)
    for name in ("viewer_request.js", "viewer_response.js"):
        size = len((gen.SOURCE / name).read_bytes())
        rows.append((f"{name} size", f"{size:,} bytes", "< 10,240", size < gen.CODE_LIMIT_BYTES))
    print("| figure | measured | target | met? |")
    print("|---|---|---|:---:|")
    for figure, measured, target, met in rows:
        print(f"| {figure} | {measured} | {target} | {'yes' if met else 'NO'} |")
    print(f"\n_generated from crawler-user-agents {gen.dataset_version()}; {time.monotonic() - started:.0f} s_")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
