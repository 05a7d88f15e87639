"""The README's picture, docs/architecture/prod.svg, is the prod stack as it is now.

The check compares the Graphviz source (computed from the prod snapshot alone),
not layout bytes, which differ between Graphviz versions; the SVG is tied to
that source by the digest it carries and by drawing every node and cluster of it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from review import diagram
from tools import architecture_picture as picture

DRIFT = "docs/architecture/ is out of date with the prod stack or review/diagram.py: run `make docs`"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def fresh_source(shipped_preview) -> str:
    preview = shipped_preview("prod")
    assert preview.exit_code == 0, preview.stdout + preview.stderr
    return picture.dot_source(preview.snapshot)


def drawn_ids(svg_text: str) -> set[str]:
    """The Graphviz ids of every node and cluster the SVG draws (their <title>s)."""
    root = ET.fromstring(svg_text)
    return {
        g.findtext(f"{SVG_NS}title")
        for g in root.iter(f"{SVG_NS}g")
        if g.get("class") in ("node", "cluster") and g.findtext(f"{SVG_NS}title")
    }


def declared_ids(source: str) -> set[str]:
    nodes = re.findall(r"^\s*(\w+) \[", source, re.M)
    clusters = re.findall(r"^\s*subgraph (cluster_\w+)", source, re.M)
    return (set(nodes) | set(clusters)) - {"graph", "node", "edge"}


def test_the_checked_in_source_is_the_prod_stack_now(fresh_source):
    assert picture.DOT.read_text(encoding="utf-8") == fresh_source, DRIFT


def test_the_picture_was_rendered_from_the_checked_in_source():
    source = picture.DOT.read_text(encoding="utf-8")
    assert picture.rendered_from(picture.SVG.read_text(encoding="utf-8")) == picture.source_digest(source), DRIFT


def test_the_picture_draws_every_component_and_resource_of_the_source():
    source = picture.DOT.read_text(encoding="utf-8")
    assert drawn_ids(picture.SVG.read_text(encoding="utf-8")) == declared_ids(source), DRIFT


def test_the_source_shows_the_prod_stacks_components(shipped_preview, fresh_source):
    components = [r for r in shipped_preview("prod").snapshot["resources"] if not r.get("custom", True)]
    assert components
    assert {diagram.cluster_name(c["urn"]) for c in components} <= declared_ids(fresh_source)


def test_a_change_to_the_stack_changes_the_source(shipped_preview, fresh_source):
    snapshot = shipped_preview("prod").snapshot
    snapshot["resources"] = [r for r in snapshot["resources"] if r["type"] != "aws:ecs/service:Service"]
    assert picture.dot_source(snapshot) != fresh_source


def test_a_rendered_picture_carries_its_sources_digest():
    source = 'digraph g {\n\ta [label="A"]\n\tsubgraph cluster_x {\n\t\tb\n\t}\n\ta -> b\n}\n'
    svg = picture.render_svg(source)
    assert svg.startswith("<?xml")
    assert picture.rendered_from(svg) == picture.source_digest(source)
    assert drawn_ids(svg) == declared_ids(source) | {"b"}
