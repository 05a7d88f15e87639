"""Write the CloudFront Functions of the edge from their templates and a maintained crawler dataset.

The crawler pattern is not a hand list (the old router's recall was 31-51 % on corpora it had never seen): it is
every pattern of the pinned ``crawler-user-agents`` package (monperrus/crawler-user-agents) that is not already
caught by a handful of generic terms, joined into one case-insensitive regular expression. A pattern whose every
published example the generic terms already match adds nothing but bytes, and CloudFront Functions allow 10 KB.

Precision: a few real browsers carry crawler-looking words. ``HUMAN`` is removed from the user agent before the
test: phone models (Cubot), in-app browsers whose name the generic terms would match; the benchmark's 0 false
positives on several thousand real browser user agents (bench/edge_crawlers.py) is what keeps this list honest.

    python tools/generate_edge_function.py          # rewrite lambda_src/edge_function/*.js
    python tools/generate_edge_function.py --check  # exit 1 if the checked-in code drifted (tests run this)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "lambda_src" / "edge_function"
DATASET_PACKAGE = "crawler-user-agents"
DATASET_FILE = "crawleruseragents/crawler-user-agents.json"
CODE_LIMIT_BYTES = 10 * 1024  # CloudFront Functions' maximum function size

# Words and conventions crawlers use and browsers do not: a name ending in bot, a contact URL ("+http://..."),
# user-triggered AI fetchers ("ChatGPT-User/"), opt-out tokens ("Google-Extended"). Anything they match needs no
# pattern of its own.
GENERIC_TERMS = (
    "bot",
    "crawl",
    "spider",
    "slurp",
    "preview",
    "fetcher",
    "scraper",
    "archiver",
    "indexer",
    r"\+https?:",
    "mailto:",
    r"-user\/",
    "-extended",
    r"-ai\b",
)
# Operators whose crawlers carry none of the words above. Chosen from what the first version missed on the
# benchmark's independent corpus, so that corpus is no longer blind to these: the benchmark reports the figures
# without them too (docs/edge.md).
OPERATOR_TERMS = (
    "google-",
    "google(?:prober|sites|adsense)",
    "facebook",
    "meta-external",
    "anthropic",
    "claude",
    "cohere",
    "copilot",
    "siteimprove",
    "netcraft",
    "daum",
    "transcoder",
    "fedilist",
    "linkexpander",
    "devin",
)
# Removed from the user agent before the test: the device segment of Android user agents ("(Linux; Android 13;
# Spider 8)", "POWER BOT", "IDbot553": phone models) and brand names with a crawler word inside (CUBOT phones,
# BOTECH TVs, a bank called Caboto in an old IE token). Crawler names never sit in that segment.
HUMAN_TOKENS = ("cubot", "botech", "caboto", r"\(linux;[^)]*android[^)]*\)")
# Dataset patterns that match real browsers as published, and the narrower form used instead.
PATTERN_FIXES = {"Sonic": "^Sonic", r"008\/": r"\b008\/"}  # Panasonic / PROSONIC TVs; "DESAY TS1008/1.0"
# Dataset tags that are not crawlers reading our pages: HTTP libraries (curl, requests), uptime monitors and
# security scanners get the app like any client (a render for them is cost for nothing), and browser automation
# includes HeadlessChrome, which is our own renderer fetching the site.
EXCLUDED_TAGS = frozenset({"http-library", "browser-automation", "monitoring", "scanner"})
# Lookbehind is not documented for cloudfront-js-2.0; named groups and flags other than i are not needed.
UNSUPPORTED_SYNTAX = re.compile(r"\(\?<[=!]|\(\?<[a-zA-Z]|\(\?[a-hj-z]")


def dataset_path() -> pathlib.Path:
    return pathlib.Path(str(importlib.metadata.distribution(DATASET_PACKAGE).locate_file(DATASET_FILE)))


def dataset_version() -> str:
    return importlib.metadata.version(DATASET_PACKAGE)


def load_dataset() -> list[dict]:
    return json.loads(dataset_path().read_text(encoding="utf-8"))


def generic_regex() -> re.Pattern[str]:
    return re.compile("|".join((*GENERIC_TERMS, *OPERATOR_TERMS)), re.IGNORECASE)


def human_regex() -> re.Pattern[str]:
    return re.compile("|".join(HUMAN_TOKENS), re.IGNORECASE)


def _needed(entry: dict, generic: re.Pattern[str], human: re.Pattern[str]) -> bool:
    """A dataset pattern stays unless the generic terms already match every example it publishes."""
    if EXCLUDED_TAGS & set(entry.get("tags") or []):
        return False
    examples = entry.get("instances") or []
    if not examples:
        literal = re.sub(r"\\(.)", r"\1", entry["pattern"])
        return not generic.search(literal)
    return not all(generic.search(human.sub(" ", ua)) for ua in examples)


def crawler_patterns(entries: list[dict]) -> list[str]:
    """The dataset's patterns the generic terms do not cover, shortest first, without ones another contains."""
    generic, human = generic_regex(), human_regex()
    kept = sorted({e["pattern"] for e in entries if _needed(e, generic, human)}, key=lambda p: (len(p), p))
    plain = re.compile(r"[A-Za-z0-9 _-]+")
    result: list[str] = []
    for pattern in kept:
        # "Foo" already matches wherever "Foo-Extra" would: drop plain literals that contain a kept plain literal.
        if plain.fullmatch(pattern) and any(plain.fullmatch(k) and k.lower() in pattern.lower() for k in result):
            continue
        result.append(PATTERN_FIXES.get(pattern) or pattern)
    return result


def js_regex_source(patterns: list[str]) -> str:
    source = "|".join([*GENERIC_TERMS, *OPERATOR_TERMS, *patterns])
    return source.replace("/", r"\/").replace(r"\\/", r"\/")


def check_syntax(source: str) -> None:
    bad = UNSUPPORTED_SYNTAX.search(source)
    if bad:
        raise ValueError(f"crawler pattern uses {bad.group(0)!r}, which cloudfront-js-2.0 does not document")


def compact(text: str) -> str:
    """Whole-line comments out (the templates carry them) and 2-space indentation: bytes under the 10 KB limit."""
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        if stripped.startswith("//") and not stripped.startswith("// GENERATED"):
            continue
        lines.append(" " * ((len(line) - len(stripped)) // 2) + stripped)
    return "\n".join(lines)


def render() -> dict[pathlib.Path, str]:
    """The generated files and their text."""
    patterns = crawler_patterns(load_dataset())
    source = js_regex_source(patterns)
    check_syntax(source)
    header = (
        f"// GENERATED by tools/generate_edge_function.py from {DATASET_PACKAGE} {dataset_version()} "
        f"({len(patterns)} patterns + {len(GENERIC_TERMS) + len(OPERATOR_TERMS)} terms): do not edit.\n"
    )
    crawler = f"const CRAWLER = /{source}/i;\nconst HUMAN = /{'|'.join(HUMAN_TOKENS)}/gi;"
    common = (SOURCE / "common.template.js").read_text(encoding="utf-8").strip()
    out: dict[pathlib.Path, str] = {}
    for name in ("viewer_request", "viewer_response"):
        template = (SOURCE / f"{name}.template.js").read_text(encoding="utf-8")
        first, rest = template.split("\n", 1)
        text = first + "\n" + header + rest
        text = text.replace("// @@CRAWLER_PATTERN@@", crawler).replace("// @@COMMON@@", common)
        out[SOURCE / f"{name}.js"] = compact(text)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the checked-in files differ")
    args = parser.parse_args(argv)
    drifted = []
    for path, text in render().items():
        size = len(text.encode("utf-8"))
        if size > CODE_LIMIT_BYTES:
            print(f"{path.relative_to(ROOT)}: {size} bytes, over CloudFront's {CODE_LIMIT_BYTES}", file=sys.stderr)
            return 1
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                drifted.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)} ({size} bytes)")
    if drifted:
        print(f"out of date (run python tools/generate_edge_function.py): {', '.join(drifted)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
