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


def test_the_readme_links_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {target.split("#")[0] for _, target in doc_links.links(readme)}
    missing = [p.relative_to(ROOT).as_posix() for p in PAGES if p.relative_to(ROOT).as_posix() not in linked]
    assert missing == [], f"pages the README's 'Where to read on' does not list: {missing}"


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
    assert sections and re.search(r"\bnot\b|limit", sections[-1], re.I), (
        f"{page.name}: the last section says what the part does not do (e.g. '## What it does not do'), "
        f"not {sections[-1:]}"
    )
