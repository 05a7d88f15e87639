"""The docs' counts come from the tools: checkov's AWS checks from the pinned package (tools/doc_figures.py; the
pack's policy count is the generated policy table's, tests/docs/test_policies.py); a page that disagrees needs `make docs`."""

from __future__ import annotations

import pytest

from tools import doc_figures

DRIFT = "a figure in the docs disagrees with its tool: run `make docs`"


def test_the_pages_give_the_checkov_count_of_the_pinned_package(checkov) -> None:
    count = doc_figures.checkov_aws_checks()
    assert 300 < count < 1000  # checkov 3.3.30 lists ~450 distinct AWS ids, not "about a thousand"
    assert doc_figures.figures_in(doc_figures.PAGES[0].read_text())["checkov-aws-checks"] == f"{count:,}", DRIFT


def test_every_marked_figure_is_known_and_an_unknown_one_is_refused() -> None:
    for page in doc_figures.PAGES:
        assert set(doc_figures.figures_in(page.read_text())) <= set(doc_figures.FIGURES), page
    with pytest.raises(ValueError, match="unknown figure 'thousand'"):
        doc_figures.splice("<!-- figure:thousand -->1000<!-- /figure -->", {"checkov-aws-checks": 456})
