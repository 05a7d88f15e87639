"""Figures in the docs that come from the tools themselves, never typed by hand.

- ``checkov-aws-checks``: the distinct AWS check ids (``CKV_AWS_*``, ``CKV2_AWS_*``) the pinned checkov
  (``.venv-checkov``) lists for Terraform, which is what its plan scan draws from.

(The pack's policy count is the generated policy table's first line, from ``GetAnalyzerInfo``: tools/policy_table.py.)

A page carries a figure between inline markers, ``<!-- figure:NAME -->456<!-- /figure -->``; ``make docs``
rewrites the value and ``tests/docs/test_doc_figures.py`` fails when a page disagrees with the tool.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
from collections.abc import Callable

from scan import findings

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = (ROOT / "docs" / "security.md", ROOT / "docs" / "policies.md")
MARKER = re.compile(r"<!-- figure:(?P<name>[a-z-]+) -->(?P<value>[^<]*)<!-- /figure -->")
AWS_CHECK = re.compile(r"\bCKV2?_AWS_\d+\b")


def checkov_aws_checks(checkov: pathlib.Path | None = None) -> int:
    """Distinct AWS check ids in ``checkov --list --framework terraform`` of the pinned checkov."""
    binary = checkov or findings.checkov_binary()
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"}
    proc = subprocess.run(
        [str(binary), "--list", "--framework", "terraform"], capture_output=True, text=True, env=env, timeout=300
    )
    ids = set(AWS_CHECK.findall(proc.stdout))
    if proc.returncode != 0 or not ids:
        raise RuntimeError(f"checkov --list failed (exit {proc.returncode}): {proc.stderr[-1000:]}")
    return len(ids)


FIGURES: dict[str, Callable[[], int]] = {"checkov-aws-checks": checkov_aws_checks}


def figures_in(text: str) -> dict[str, str]:
    return {m["name"]: m["value"] for m in MARKER.finditer(text)}


def splice(text: str, values: dict[str, int]) -> str:
    """``text`` with every marked figure set to its value; an unknown figure name is an error."""

    def value(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in values:
            raise ValueError(f"unknown figure '{name}' (known: {', '.join(sorted(values))})")
        return f"<!-- figure:{name} -->{values[name]:,}<!-- /figure -->"

    return MARKER.sub(value, text)


def current() -> dict[str, int]:
    return {name: compute() for name, compute in FIGURES.items()}


def write(pages: tuple[pathlib.Path, ...] = PAGES) -> bool:
    """Rewrite every page's figures; True when one changed."""
    values = current()
    changed = False
    for page in pages:
        text = page.read_text(encoding="utf-8")
        updated = splice(text, values)
        if updated != text:
            page.write_text(updated, encoding="utf-8")
            changed = True
    return changed
