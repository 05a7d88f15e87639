"""Check the documentation's references: relative links (with #anchors) and the `make` targets it tells you to run.

A runbook read at 3 a.m. must not send anyone to a page that moved or a
command that no longer exists. ``tests/docs/test_links.py`` runs these checks
over README.md and every page under ``docs/``.

Anchors follow GitHub's rule for headings: lowercase, punctuation dropped,
spaces become hyphens, and the second heading with the same text gets ``-1``.
Links inside code (fenced blocks, backtick spans) are text, not links, and are
skipped; `make` commands are looked for only there, where commands are written.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import urllib.parse
from collections.abc import Iterable, Iterator

ROOT = pathlib.Path(__file__).resolve().parent.parent

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HTML_REF = re.compile(r"""<(?:img|a)\s[^>]*?(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)
_HTML_ANCHOR = re.compile(r"""<a\s[^>]*?(?:id|name)\s*=\s*["']([^"']+)["']""", re.I)
_MAKE = re.compile(r"(?:^|[\s;&|(`$])make((?:\s+[^\s`;&|)]+)+)")
_TARGET_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.%/-]*(?:\s+[A-Za-z0-9][A-Za-z0-9_.%/-]*)*)\s*::?(?!=)")


@dataclasses.dataclass(frozen=True)
class Problem:
    path: pathlib.Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def documentation(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """README.md and every Markdown page under docs/."""
    pages = sorted((root / "docs").rglob("*.md")) if (root / "docs").is_dir() else []
    return [root / "README.md", *pages]


def _lines_outside_fences(text: str) -> Iterator[tuple[int, str, bool]]:
    """(line number, line, inside a fenced code block)."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            yield number, line, True
            continue
        yield number, line, fenced


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading anchors on its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a page offers: its headings' slugs (numbered like GitHub's) and explicit <a id/name>."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line, fenced in _lines_outside_fences(text):
        if fenced:
            continue
        found.update(_HTML_ANCHOR.findall(line))
        heading = _HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> Iterator[tuple[int, str]]:
    """(line, target) of every link and image outside code."""
    for number, line, fenced in _lines_outside_fences(text):
        if fenced:
            continue
        prose = _CODE_SPAN.sub("", line)
        for pattern in (_INLINE_LINK, _HTML_REF):
            for target in pattern.findall(prose):
                yield number, target
        definition = _REFERENCE_DEF.match(prose)
        if definition:
            yield number, definition.group(1)


def _is_external(target: str) -> bool:
    return bool(urllib.parse.urlsplit(target).scheme) or target.startswith("//")


def broken_links(pages: Iterable[pathlib.Path], root: pathlib.Path = ROOT) -> list[Problem]:
    """Relative links whose file does not exist, or whose #anchor is not on the page it points to."""
    problems = []
    anchor_cache: dict[pathlib.Path, set[str]] = {}

    def anchors_of(path: pathlib.Path) -> set[str]:
        if path not in anchor_cache:
            anchor_cache[path] = anchors(path.read_text(encoding="utf-8"))
        return anchor_cache[path]

    for page in pages:
        shown = page.relative_to(root) if page.is_relative_to(root) else page
        for number, target in links(page.read_text(encoding="utf-8")):
            if _is_external(target):
                continue
            path_part, _, fragment = urllib.parse.unquote(target).partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            if path_part and not resolved.exists():
                problems.append(Problem(shown, number, f"link to {target!r}: {path_part} does not exist"))
                continue
            if fragment and resolved.suffix == ".md" and fragment not in anchors_of(resolved):
                where = path_part or shown.name
                problems.append(
                    Problem(shown, number, f"link to {target!r}: no heading or anchor #{fragment} in {where}")
                )
    return problems


def makefile_targets(makefile: pathlib.Path) -> set[str]:
    """Targets the Makefile defines (explicit rules only; pattern rules and variables are not targets to run)."""
    targets: set[str] = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        if line.startswith(("\t", "#", " ")) or "=" in line.split(":", 1)[0]:
            continue
        match = _TARGET_LINE.match(line)
        if match:
            targets.update(t for t in match.group(1).split() if "%" not in t and not t.startswith("."))
    return targets


def make_commands(text: str) -> Iterator[tuple[int, str]]:
    """(line, target) of every `make <target>` written as a command: in a code block or a backtick span."""
    for number, line, fenced in _lines_outside_fences(text):
        if _FENCE.match(line):
            continue
        code = [line] if fenced else [span for _, span in _CODE_SPAN.findall(line)]
        for chunk in code:
            for words in _MAKE.findall(chunk):
                for word in words.split():
                    if word.startswith("-") or "=" in word:
                        continue  # flags and variable settings: `make STACK=prod preview`
                    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", word):
                        break  # not a target: `make <target>` placeholders, prose after the command
                    yield number, word
                    break


def unknown_make_targets(
    pages: Iterable[pathlib.Path], makefile: pathlib.Path = ROOT / "Makefile", root: pathlib.Path = ROOT
) -> list[Problem]:
    """`make X` in the docs where the Makefile has no target X."""
    known = makefile_targets(makefile)
    problems = []
    for page in pages:
        shown = page.relative_to(root) if page.is_relative_to(root) else page
        for number, target in make_commands(page.read_text(encoding="utf-8")):
            if target not in known:
                problems.append(
                    Problem(
                        shown, number, f"`make {target}`: no such target in the Makefile ({', '.join(sorted(known))})"
                    )
                )
    return problems
