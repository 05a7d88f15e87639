"""Every relative link in README.md and docs/ resolves, and every `make` target the docs tell you to run exists."""

from __future__ import annotations

import pathlib

import pytest

from tests.conftest import ROOT
from tools import doc_links

PAGES = doc_links.documentation(ROOT)


def test_the_docs_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "docs/policies.md", "docs/operations.md"} <= names


def test_every_relative_link_resolves():
    problems = doc_links.broken_links(PAGES, ROOT)
    assert problems == [], "broken links:\n" + "\n".join(map(str, problems))


def test_every_make_target_the_docs_mention_exists():
    problems = doc_links.unknown_make_targets(PAGES, ROOT / "Makefile", ROOT)
    assert problems == [], "unknown make targets:\n" + "\n".join(map(str, problems))


def test_the_docs_mention_the_commands_a_newcomer_needs():
    mentioned = {target for page in PAGES for _, target in doc_links.make_commands(page.read_text())}
    assert {"preview", "test", "docs", "bench", "diff", "diagram"} <= mentioned


# --- the checker itself ---------------------------------------------------------


@pytest.fixture
def site(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(
        "# Page\n\n## Roll back a service\n\n## Roll back a service\n\n## `make docs`: what it does\n"
    )
    (tmp_path / "Makefile").write_text(
        ".PHONY: test docs\nSTACK ?= dev\ntest docs: venv\n\t@echo ok\nvenv:\n\ttrue\n%.json: x\n\ttrue\n"
    )
    return tmp_path


def write_readme(root: pathlib.Path, text: str) -> list[pathlib.Path]:
    (root / "README.md").write_text(text)
    return doc_links.documentation(root)


def test_a_link_to_a_missing_file_is_reported_with_its_line(site):
    pages = write_readme(site, "# Title\n\nsee [ops](docs/operations.md) and [page](docs/page.md)\n")
    (problem,) = doc_links.broken_links(pages, site)
    assert (problem.path.as_posix(), problem.line) == ("README.md", 3)
    assert "docs/operations.md does not exist" in problem.message


def test_a_link_to_a_missing_anchor_is_reported(site):
    pages = write_readme(
        site, "[a](docs/page.md#roll-back) [b](docs/page.md#roll-back-a-service) [c](#title)\n# Title\n"
    )
    (problem,) = doc_links.broken_links(pages, site)
    assert "#roll-back in docs/page.md" in problem.message


def test_anchors_follow_githubs_rule():
    text = "# Page\n## Roll back a service\n## Roll back a service\n## `make docs`: what it does\n```\n# not a heading\n```\n"
    assert doc_links.anchors(text) == {
        "page",
        "roll-back-a-service",
        "roll-back-a-service-1",
        "make-docs-what-it-does",
    }


def test_links_in_code_and_external_links_are_not_checked(site):
    pages = write_readme(
        site, "`[x](missing.md)`\n```\n[y](missing.md)\n```\n[z](https://example.com/missing.md) [m](mailto:a@b.c)\n"
    )
    assert doc_links.broken_links(pages, site) == []


def test_images_and_html_references_are_checked(site):
    pages = write_readme(site, '![picture](docs/missing.svg)\n<img src="docs/gone.png">\n')
    assert [p.message.split(":")[0] for p in doc_links.broken_links(pages, site)] == [
        "link to 'docs/missing.svg'",
        "link to 'docs/gone.png'",
    ]


def test_makefile_targets_are_explicit_rules_only(site):
    assert doc_links.makefile_targets(site / "Makefile") == {"test", "docs", "venv"}


def test_an_unknown_make_target_is_reported(site):
    pages = write_readme(
        site,
        "Run `make test` and `make STACK=prod docs`, then `make <target>`.\n"
        "```bash\nmake scan STACK=prod   # scan it\n```\nWe make sure to make lint happy.\n",
    )
    (problem,) = doc_links.unknown_make_targets(pages, site / "Makefile", site)
    assert (problem.line, problem.message.split(":")[0]) == (3, "`make scan`")
