"""The shape every page promises: a short README, and docs pages that open with their purpose and end with their limits."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tools import doc_links

README_MAX_LINES = 150
PAGES = [p for p in doc_links.documentation(ROOT) if p.parent != ROOT]


def is_stub(text: str) -> bool:
    """A page another issue will write: a title and one sentence."""
    return len([line for line in text.splitlines() if line.strip()]) <= 2


def test_the_readme_is_read_in_five_minutes():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_every_docs_page_is_reachable_from_the_readme():
    """A page nobody links to is a page nobody finds: follow links from README.md to every page."""
    reached, queue = set(), [ROOT / "README.md"]
    while queue:
        page = queue.pop()
        if page in reached or page.suffix != ".md" or not page.exists():
            continue
        reached.add(page)
        for _, target in doc_links.links(page.read_text(encoding="utf-8")):
            path = target.split("#")[0]
            if path and "://" not in path:
                queue.append((page.parent / path).resolve())
    missing = [p.relative_to(ROOT).as_posix() for p in PAGES if p.resolve() not in reached]
    assert missing == [], f"pages no link from README.md leads to (add them to 'Where to read on'): {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_page_opens_with_what_it_is_for_and_ends_with_what_it_does_not_do(page):
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines and re.match(r"# \S", lines[0]), f"{page.name}: the first line is the page's title (# ...)"
    if is_stub(text):
        return
    first_paragraph = next((line for line in lines[1:] if line.strip()), "")
    assert not first_paragraph.startswith(("#", "|", "-", "```")), (
        f"{page.name}: open with a paragraph saying what the part is for, before any heading, list or table"
    )
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections and re.search(r"\bnot\b|limit|out of scope|caveat", sections[-1], re.I), (
        f"{page.name}: the last section says what the part does not do (e.g. '## What it does not do'), "
        f"not {sections[-1:]}"
    )


def test_the_readmes_figures_are_the_performance_pages():
    """A headline number in the README is one docs/performance.md measured, not a rounder or older one."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    measured = readme.split("## Measured", 1)[1].split("\n## ", 1)[0]
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    rows = [line for line in measured.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    measured_cells = [row.split(" | ")[1] for row in rows]  # | figure | measured | target | on what |
    figures = [number for cell in measured_cells for number in re.findall(r"\$?\d(?:[\d,.]*\d)?", cell)]
    assert len(figures) >= 8
    missing = [f for f in figures if f not in performance]
    assert missing == [], f"README figures that docs/performance.md does not have: {missing}"
    assert "smoke test" in measured, "say which figures are smoke tests on our own lists"
