"""Benchmark: the generated viewer-request function beside the field's detectors, on corpora none of them wrote.

Run from the repository root:  python bench/edge_crawlers.py   (needs node; corpora and detectors from `make venv`)
Runs the real function code in Node (tools/cloudfront_harness.mjs) once per user agent and counts who is sent to
the renderer; runs isbot and ua-parser-js's bot detection (bench/node/, pinned) on the same strings. Prints, per
detector: recall per crawler category (per string and averaged per operator) on each crawler corpus, and false
positives on each real-browser corpus; also the function's size and its recall without the operator terms.
Writes the figures to bench/results/edge_crawlers.json (README and docs/edge.md quote them).
"""

from __future__ import annotations

import json
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
from tools import figures  # noqa: E402
from tools import generate_edge_function as gen  # noqa: E402

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


def figure_rows(detail: dict) -> list[dict[str, Any]]:
    """The headline figures as tools/figures.py rows (README and docs/performance.md tables are made from them)."""
    rows = []
    for row in detail["recall"]:
        ours, isbot = row[OURS], row["isbot"]
        rows.append(
            figures.figure(
                f"{row['category']}-{row['corpus']}",
                f"crawlers routed, {row['corpus']} {row['category']} ({ours['strings']} UAs, {ours['operators']} "
                f"operators): edge function vs isbot, per string (per operator: {ours['per_operator']:.1%} vs "
                f"{isbot['per_operator']:.1%})",
                f"{ours['per_string']:.1%} vs {isbot['per_string']:.1%}",
                ">= isbot's",
                all(ours[k] >= isbot[k] for k in ("per_string", "per_operator")),
                **{name: row[name] for name in (OURS, *OTHERS)},
            )
        )
    by_detector = {name: sum(r[name] for r in detail["false_positives"]) for name in (OURS, *OTHERS)}
    corpora = ", ".join(f"{r['corpus']} {r['strings']:,}" for r in detail["false_positives"])
    rows.append(
        figures.figure(
            "browsers",
            f"real browsers taken for crawlers, {detail['browser_strings']:,} UAs ({corpora}): "
            "edge function / isbot / ua-parser-js",
            " / ".join(f"{by_detector[n]:,}" for n in (OURS, *OTHERS)),
            "0",
            by_detector[OURS] == 0,
            strings=detail["browser_strings"],
            **by_detector,
        )
    )
    sizes = detail["size_bytes"]
    rows.append(
        figures.figure(
            "size",
            "CloudFront Function size, viewer-request / viewer-response",
            " / ".join(f"{b:,}" for b in sizes.values()) + " bytes",
            f"< {gen.CODE_LIMIT_BYTES:,}",
            all(b < gen.CODE_LIMIT_BYTES for b in sizes.values()),
            **sizes,
        )
    )
    return rows


def main() -> int:
    started = time.monotonic()
    detail = measure()
    for line in table(detail):
        print(line)
    for row in detail["false_positives"]:
        for ua in row["edge function examples"]:
            print(f"false positive ({row['corpus']}): {ua}", file=sys.stderr)
    node_lock = json.loads((ROOT / "bench" / "node" / "package-lock.json").read_text())["packages"]
    figures.record(
        "edge_crawlers",
        ".venv/bin/python bench/edge_crawlers.py",
        figure_rows(detail),
        node=cf.node_version(),
        dataset=f"{gen.DATASET_PACKAGE} {gen.dataset_version()}",
        corpora=edge_corpora.versions(),
        detectors={n: node_lock[f"node_modules/{n}"]["version"] for n in OTHERS},
        seconds=round(time.monotonic() - started),
        detail=detail,
    )
    return 0 if met(detail) else 1


if __name__ == "__main__":
    sys.exit(main())
