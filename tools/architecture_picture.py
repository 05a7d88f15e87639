"""The README's architecture picture: the prod stack drawn by ``review.diagram`` (what `make diagram` draws).

Two files are checked in: ``docs/architecture/prod.dot``, the Graphviz source,
and ``docs/architecture/prod.svg``, the picture rendered from it. The DOT source
is computed only from the prod snapshot, so ``tests/docs/test_architecture.py``
compares it with a fresh offline preview's (no Graphviz layout, whose bytes
change between Graphviz versions, is involved). The SVG carries the SHA-256 of
the DOT it was rendered from in a comment, which ties the picture to the source.
Run: ``make docs``.
"""

from __future__ import annotations

import hashlib
import pathlib
import re
import tempfile
from collections.abc import Mapping
from typing import Any

import graphviz

from review import diagram

ROOT = pathlib.Path(__file__).resolve().parent.parent
STACK = "prod"
DOT = ROOT / "docs" / "architecture" / f"{STACK}.dot"
SVG = ROOT / "docs" / "architecture" / f"{STACK}.svg"
_SOURCE_MARK = re.compile(r"<!-- rendered from docs/architecture/\S+\.dot sha256:([0-9a-f]{64}) -->")


def dot_source(snapshot: Mapping[str, Any]) -> str:
    """The DOT `make diagram` would lay out for this snapshot."""
    return diagram.build_graph(snapshot).source


def source_digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def rendered_from(svg_text: str) -> str | None:
    """The SHA-256 of the DOT source an SVG says it was rendered from."""
    match = _SOURCE_MARK.search(svg_text)
    return match.group(1) if match else None


def render_svg(source: str, dot_name: str = DOT.name) -> str:
    """Lay the source out with Graphviz and stamp the picture with the source's digest."""
    svg = graphviz.Source(source).pipe(format="svg").decode("utf-8")
    mark = f"<!-- rendered from docs/architecture/{dot_name} sha256:{source_digest(source)} -->"
    head, sep, tail = svg.partition("?>\n")  # after the XML declaration, which must come first
    return f"{head}{sep}{mark}\n{tail}" if sep else f"{mark}\n{svg}"


def prod_snapshot() -> dict[str, Any]:
    """A fresh offline snapshot of the prod stack, as `make diagram` takes it."""
    from review.__main__ import offline_snapshot

    with tempfile.TemporaryDirectory(prefix="docs-") as tmp:
        snapshot = offline_snapshot(ROOT, STACK, pathlib.Path(tmp) / "snapshot.json")
    if snapshot is None:
        raise RuntimeError(f"no stack '{STACK}' (environments/Pulumi.{STACK}.yaml)")
    return snapshot


def write(snapshot: Mapping[str, Any] | None = None) -> bool:
    """Regenerate the DOT source and the SVG; True when either changed."""
    source = dot_source(snapshot if snapshot is not None else prod_snapshot())
    changed = not DOT.exists() or DOT.read_text(encoding="utf-8") != source
    stale_svg = not SVG.exists() or rendered_from(SVG.read_text(encoding="utf-8")) != source_digest(source)
    DOT.parent.mkdir(parents=True, exist_ok=True)
    if changed:
        DOT.write_text(source, encoding="utf-8")
    if stale_svg:
        SVG.write_text(render_svg(source), encoding="utf-8")
    return changed or stale_svg
