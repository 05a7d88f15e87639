"""Benchmark: the generated viewer-request function beside the field's detectors, on corpora none of them wrote.

Run from the repository root:  python bench/edge_crawlers.py   (needs node; corpora and detectors from `make venv`)
Runs the real function code in Node (tools/cloudfront_harness.mjs) once per user agent and counts who is sent to
the renderer; runs isbot and ua-parser-js's bot detection (bench/node/, pinned) on the same strings. Prints, per
detector: recall per crawler category (per string and averaged per operator) on each crawler corpus, and false
positives on each real-browser corpus; also the function's size and its recall without the operator terms.
Writes the figures to bench/results/edge_crawlers.json (README and docs/edge.md quote them).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import edge_corpora  # noqa: E402

from tools import cloudfront_harness as cf  # noqa: E402
from tools import generate_edge_function as gen  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "edge_crawlers.json"
DETECTORS_SCRIPT = ROOT / "bench" / "node" / "detectors.mjs"
OURS = "edge function"
OTHERS = ("isbot", "ua-parser-js")
TARGET_RECALL = 0.95


def edge_routes(function: Path, user_agents: list[str]) -> dict[str, bool]:
    """Whether the function sends each user agent to the renderer: one Node process for all of them."""
    results = cf.run(function, {}, [cf.viewer_request("/products/42", ua) for ua in user_agents], calls_only=True)
    return {ua: any("group" in c for c in r["calls"]) for ua, r in zip(user_agents, results, strict=True)}


def detector_verdicts(user_agents: list[str]) -> dict[str, dict[str, bool]]:
    """isbot's and ua-parser-js's verdict on each user agent (bench/node/detectors.mjs)."""
    stdin = "".join(json.dumps(ua) + "\n" for ua in user_agents)
    proc = subprocess.run(
        [cf.node(), str(DETECTORS_SCRIPT)], input=stdin, capture_output=True, text=True, timeout=600, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench/node/detectors.mjs failed (run `make venv` for its packages):\n{proc.stderr}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return {name: {ua: v[name] for ua, v in zip(user_agents, lines, strict=True)} for name in OTHERS}


def without_operator_terms() -> Path:
    """The function as generated from the dataset, the crawler words and the supplement, without operator terms."""
    operator_terms, gen.OPERATOR_TERMS = gen.OPERATOR_TERMS, ()
    try:
        text = gen.render()[gen.SOURCE / "viewer_request.js"]
    finally:
        gen.OPERATOR_TERMS = operator_terms
    path = Path(tempfile.mkdtemp()) / "viewer_request.js"
    path.write_text(text)
    return path


def recall(items: list[tuple[str, str]], verdict: dict[str, bool]) -> dict[str, float | int]:
    """Share of strings routed, and the average over operators of each operator's share."""
    by_operator: dict[str, list[bool]] = defaultdict(list)
    for ua, operator in items:
        by_operator[operator].append(verdict[ua])
    per_operator = [sum(v) / len(v) for v in by_operator.values()]
    return {
        "strings": len(items),
        "operators": len(by_operator),
        "per_string": sum(verdict[ua] for ua, _ in items) / len(items),
        "per_operator": sum(per_operator) / len(per_operator),
    }


def measure() -> dict:
    crawlers, browsers = edge_corpora.crawlers(), edge_corpora.browsers()
    crawler_uas = sorted({ua for corpus in crawlers.values() for items in corpus.values() for ua, _ in items})
    browser_uas = sorted({ua for uas in browsers.values() for ua in uas})
    everything = sorted({*crawler_uas, *browser_uas})
    verdicts = {OURS: edge_routes(gen.SOURCE / "viewer_request.js", everything), **detector_verdicts(everything)}
    baseline = edge_routes(without_operator_terms(), crawler_uas)
    figures: dict = {"recall": [], "false_positives": [], "size_bytes": {}}
    for corpus, by_category in crawlers.items():
        for category in edge_corpora.CATEGORIES:
            items = by_category[category]
            row: dict[str, Any] = {"corpus": corpus, "category": category}
            for name, verdict in verdicts.items():
                row[name] = recall(items, verdict)
            row["edge function without operator terms"] = recall(items, baseline)
            figures["recall"].append(row)
    for corpus, uas in browsers.items():
        row: dict[str, Any] = {"corpus": corpus, "strings": len(uas)}
        for name, verdict in verdicts.items():
            hits = [ua for ua in uas if verdict[ua]]
            row[name] = len(hits)
            if name == OURS:
                row["edge function examples"] = hits[:10]
        figures["false_positives"].append(row)
    for name in ("viewer_request.js", "viewer_response.js"):
        figures["size_bytes"][name] = len((gen.SOURCE / name).read_bytes())
    figures["browser_strings"] = sum(len(uas) for uas in browsers.values())
    return figures


def table(figures: dict) -> list[str]:
    names = [OURS, *OTHERS]
    lines = [
        "| crawler corpus, category (strings / operators) | " + " | ".join(names) + " | met? |",
        "|---|" + "---|" * len(names) + ":---:|",
    ]
    for row in figures["recall"]:
        first = row[OURS]
        cells = [f"{row[n]['per_string']:.1%} / {row[n]['per_operator']:.1%}" for n in names]
        met = all(row[OURS][k] >= row["isbot"][k] for k in ("per_string", "per_operator"))
        met = met and first["per_string"] >= TARGET_RECALL
        label = f"{row['corpus']}, {row['category']} ({first['strings']} / {first['operators']})"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {'yes' if met else 'NO'} |")
    lines += [
        "",
        "| real-browser corpus (strings) | " + " | ".join(names) + " | met? |",
        "|---|" + "---|" * len(names) + ":---:|",
    ]
    for row in figures["false_positives"]:
        cells = [str(row[n]) for n in names]
        lines.append(
            f"| {row['corpus']} ({row['strings']:,}) | "
            + " | ".join(cells)
            + f" | {'yes' if not row[OURS] else 'NO'} |"
        )
    lines.append("")
    for name, size in figures["size_bytes"].items():
        lines.append(f"- {name}: {size:,} bytes (limit {gen.CODE_LIMIT_BYTES:,})")
    for row in figures["recall"]:
        base = row["edge function without operator terms"]
        lines.append(
            f"- without operator terms, {row['corpus']}, {row['category']}: "
            f"{base['per_string']:.1%} / {base['per_operator']:.1%}"
        )
    return lines


def met(figures: dict) -> bool:
    recall_met = all(
        row[OURS]["per_string"] >= TARGET_RECALL
        and all(row[OURS][k] >= row["isbot"][k] for k in ("per_string", "per_operator"))
        for row in figures["recall"]
    )
    sizes_met = all(size < gen.CODE_LIMIT_BYTES for size in figures["size_bytes"].values())
    return recall_met and sizes_met and not any(row[OURS] for row in figures["false_positives"])


def main() -> int:
    started = time.monotonic()
    figures = measure()
    for line in table(figures):
        print(line)
    for row in figures["false_positives"]:
        for ua in row["edge function examples"]:
            print(f"false positive ({row['corpus']}): {ua}", file=sys.stderr)
    versions = edge_corpora.versions()
    node_lock = json.loads((ROOT / "bench" / "node" / "package-lock.json").read_text())["packages"]
    result = {
        "harness": "edge_crawlers",
        "command": "python bench/edge_crawlers.py",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, node {cf.node_version()}",
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "dataset": f"{gen.DATASET_PACKAGE} {gen.dataset_version()}",
        "corpora": versions,
        "detectors": {n: node_lock[f"node_modules/{n}"]["version"] for n in OTHERS},
        "seconds": round(time.monotonic() - started),
        "figures": figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        f"\n_generated from crawler-user-agents {gen.dataset_version()}; {result['seconds']} s; wrote {RESULTS.name}_"
    )
    return 0 if met(figures) else 1


if __name__ == "__main__":
    sys.exit(main())
