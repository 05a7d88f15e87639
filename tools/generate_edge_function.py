"""Write the CloudFront Functions of the edge from their templates and a maintained crawler dataset.

The crawler pattern is not a hand list (the old router's recall was 31-51 % on corpora it had never seen): it is
the patterns of the pinned ``crawler-user-agents`` package (monperrus/crawler-user-agents) that a handful of
generic terms do not already cover, joined into case-insensitive regular expressions (CloudFront Functions allow
10 KB).

Precision comes from the structure of a user agent, not from a list of exceptions (issue 24: in-app browsers,
Thunderbird's calendar, Safari Technology Preview, Firefox's own fetcher were taken for crawlers): crawler words
count anywhere; a name (a dataset pattern, an operator, the supplement) counts only where a crawler names itself,
never in an app's token after a browser's product, a native app's name, the phone model of an Android device
segment, or inside another word. The comment above ``CRAWLER_WORDS`` says how; bench/edge_crawlers.py measures it
on 201,823 real browser user agents beside isbot and ua-parser-js.

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
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "lambda_src" / "edge_function"
DATASET_PACKAGE = "crawler-user-agents"
DATASET_FILE = "crawleruseragents/crawler-user-agents.json"
CODE_LIMIT_BYTES = 10 * 1024  # CloudFront Functions' maximum function size

# How a user agent is read (docs/edge.md, "How a crawler is told from a person"). A browser's user agent is
# ``Mozilla/5.0 (<platform>) <engine>/<v> (<comment>) <product>/<v> ...``; an in-app browser appends its app's
# tokens (``Blackboard/3.6.1``, ``Viber``, ``[FBAN/...;FBPN/com.facebook.katana]``), a native Apple app is
# ``<App>/<v> CFNetwork/<v> Darwin/<v>``. A crawler dressed as a browser names itself in a comment: the platform
# (``(X11; Linux x86_64; Storebot-Google/1.0)``), the engine's comment after "KHTML, like Gecko", or a comment after
# the product (``(compatible; Googlebot/2.1; +http...)``). So there are two kinds of evidence:
#   CRAWLER_WORDS, OPERATOR_TERMS and known fetchers count anywhere but in an in-app browser's own [segment]:
#     words crawlers use and browsers do not (a name ending in bot, user-triggered AI fetchers "ChatGPT-User/",
#     opt-out tokens "Google-Extended") and the operators below. A known fetcher is a dataset pattern whose own
#     published examples put it in an app's position (``... Safari/537.36 BingPreview/1.0b``).
#   names (GENERIC_NAMES, the SUPPLEMENT, the other dataset patterns) count only where a crawler names itself: the
#     whole user agent when it is not a browser's, everything but the app's name in a native app's, and in a
#     browser's the platform, the engine comment's extras and the comments after the product that say
#     "compatible" or carry a product token. A name in an app's token is the app's.
CRAWLER_WORDS = (
    r"bot(?:s?\b|[_\d])",
    "crawl",
    "spider",
    "slurp",
    "fetcher",
    "scraper",
    "archiver",
    "indexer",
    r"-user\/",
    "-extended",
    r"-ai\b",
)
# A contact URL or address: a crawler's convention, but browsers carry them too (K-Meleon's
# "(+http://www.kangaroo-personal.de)" after its product), so it is read as a name.
CONTACT_CONVENTIONS = (r"\+https?:", "mailto:")
# Generic words that are also product names: a crawler's when it names itself with them, an app's in its token
# ("Safari Technology Preview/... CFNetwork/...").
GENERIC_NAMES = ("preview", *CONTACT_CONVENTIONS)
# Operators whose crawlers carry none of the words above. Chosen from what the first version missed on the
# Matomo corpus, so that corpus is no longer blind to these: the benchmark reports the figures without them too.
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
# The supplement: fetchers the dataset does not name in the form they are seen in (issue 24's corpus misses):
# link previews without a contact URL or crawler word, and old search engines' bare names. Each entry is a name
# as it starts a token; the dataset has only "Mattermost-Bot/", "Xing Bot", "pinterest.com/bot".
SUPPLEMENT = (r"\bmattermost-\d", r"\bxing-", r"^pinterest\/", r"^sogou$", r"ask jeeves", "mnogosearch")
# The device segment of Android user agents names the phone ("(Linux; Android 13; Spider 8)", "POWER BOT
# Build/...", "IDbot553"): in it only product tokens (``Name/1.0``, not ``Build/...``) are read, so a crawler
# that names itself there (``Storebot-Google/1.0``) is still seen. CUBOT phones also appear outside the segment.
DEVICE_SEGMENT = r"\(linux;[^)]*android[^)]*\)"
# Meta's in-app browsers name their app after the product without brackets ("... Mobile/15E148 MetaIAB Facebook")
# and its apps' own HTTP clients start with the app segment ("FBAN/FB4A;...;FBPN/com.facebook.katana;"): both are
# a person's phone, and the operator name "facebook" in them is the app's, not a crawler's.
HUMAN_TOKENS = ("cubot", r"\bmetaiab\b.*", r"^\[?fb(?:an|_iab)\/.*")
# Dataset patterns that match real browsers as published, and the narrower form used instead.
# Panasonic / PROSONIC TVs; "DESAY TS1008/1.0"; the dataset's only Magellan example is the bare name, and a
# "Magellan Agent" device is among CrawlerDetect's real devices.
PATTERN_FIXES = {"Sonic": "^Sonic", r"008\/": r"\b008\/", "Magellan": "^Magellan$"}
# A browser's user agent: group 1 the platform comment, group 2 what follows "KHTML, like Gecko" in the engine's
# comment (where Google's fetchers name themselves), group 3 the product and everything after it.
BROWSER = (
    r"^Mozilla\/5\.0 (\([^)]*\)) (?:AppleWebKit\/[^ ]+ \((?:KHTML,? like Gecko([^)]*)|[^)]*)\)|Gecko\/[^ ]+)"
    r"( [^ ()]+\/\w.*)"
)
# A native Apple app's user agent: its first token is the app's name.
NATIVE = r"^[^ ]+ CFNetwork\/"
# An in-app browser's own segment after the product ("[FB_IAB/FB4A;FBAV/...;FBPN/com.facebook.katana;]").
APP_SEGMENT = r"\[[^\]]*\]"
# A comment after the product where a crawler dressed as a browser names itself: "(compatible; ...)" or one that
# carries a product token ("(Applebot/0.1)").
NAMING_COMMENT = r"\((?:compatible|[^)]*\w\/\d)[^)]*\)"
# Dataset tags that are not crawlers reading our pages: HTTP libraries (curl, requests), uptime monitors and
# security scanners get the app like any client (a render for them is cost for nothing), and browser automation
# includes HeadlessChrome, which is our own renderer fetching the site.
EXCLUDED_TAGS = frozenset({"http-library", "browser-automation", "monitoring", "scanner"})
# Dataset entries that are people, not crawlers (issue 31): "MetaIAB Facebook" is filed as Facebook's link-preview
# fetcher from one sighting, but MetaIAB is Meta's in-app browser, appended to the user agent of the WebView a person
# opens a link in (HUMAN_TOKENS above). Facebook's preview fetcher is facebookexternalhit / facebookcatalog.
NOT_CRAWLERS = frozenset({"MetaIAB Facebook"})


def counted(entry: dict) -> bool:
    """Is this dataset entry a crawler the edge routes to the renderer?"""
    return not EXCLUDED_TAGS & set(entry.get("tags") or []) and entry["pattern"] not in NOT_CRAWLERS


# Lookbehind and lookahead are not needed; named groups and flags other than i/g are not documented.
UNSUPPORTED_SYNTAX = re.compile(r"\(\?<[=!]|\(\?<[a-zA-Z]|\(\?[=!]|\(\?[a-hj-z]")


def dataset_path() -> pathlib.Path:
    return pathlib.Path(str(importlib.metadata.distribution(DATASET_PACKAGE).locate_file(DATASET_FILE)))


def dataset_version() -> str:
    return importlib.metadata.version(DATASET_PACKAGE)


def load_dataset() -> list[dict]:
    return json.loads(dataset_path().read_text(encoding="utf-8"))


def _regex(parts: tuple[str, ...] | list[str], flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile("|".join(parts), flags)


def words_regex() -> re.Pattern[str]:
    return _regex(CRAWLER_WORDS)


def terms_regex() -> re.Pattern[str]:
    """Every hand-kept term: crawler words and names. A dataset pattern whose own text contains one adds nothing."""
    return _regex((*CRAWLER_WORDS, *GENERIC_NAMES, *OPERATOR_TERMS, *SUPPLEMENT))


_DEVICE = re.compile(DEVICE_SEGMENT, re.IGNORECASE)
_PRODUCT = re.compile(r"\w\/\d")
_BUILD = re.compile(r"build\/", re.IGNORECASE)
_ITEM = re.compile(r"[^;()]+")


def _products(segment: re.Match[str]) -> str:
    """The device segment's product tokens only (the function's ``products``): the phone's name is not read."""
    return _ITEM.sub(
        lambda item: item.group(0) if _PRODUCT.search(item.group(0)) and not _BUILD.search(item.group(0)) else " ",
        segment.group(0),
    )


def readings(ua: str) -> tuple[str, str]:
    """What the function reads in a user agent: (for crawler words, for names). Mirrors isCrawler."""
    whole = _regex(HUMAN_TOKENS).sub(" ", _DEVICE.sub(_products, ua))
    browser = re.match(BROWSER, whole, re.IGNORECASE)
    if not browser:
        native = re.match(NATIVE, whole, re.IGNORECASE)
        return whole, whole[whole.index(" ") :] if native else whole
    rest = browser.group(3)
    naming = browser.group(1) + (browser.group(2) or "") + " ".join(re.findall(NAMING_COMMENT, rest, re.IGNORECASE))
    return naming + re.sub(APP_SEGMENT, " ", rest), naming


def _literal(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern)


class Patterns:
    """The dataset's patterns as the function uses them: known fetchers (read anywhere) and names."""

    def __init__(self, entries: list[dict]):
        terms = terms_regex()
        strong = _regex((*CRAWLER_WORDS, *OPERATOR_TERMS))
        named_words = words_regex()
        fetchers: set[str] = set()
        names: set[str] = set()
        for entry in entries:
            pattern = entry["pattern"]
            examples = [readings(ua) for ua in entry.get("instances") or []]
            if not counted(entry):
                continue
            compiled = re.compile(pattern, re.IGNORECASE)
            if any(compiled.search(w) and not compiled.search(n) and not strong.search(w) for w, n in examples):
                fetchers.add(pattern)
                continue
            if terms.search(_literal(pattern)):
                continue
            # Every example already carries a crawler word in its name; a contact URL alone does not count, since
            # the same crawler is also seen without it ("Iframely/1.2.2 (https://...)", "Qwantify/1.0").
            if examples and all(named_words.search(w) for w, _ in examples):
                continue
            names.add(pattern)
        self.fetchers = _without_contained(fetchers)
        # A name starts a token ("Fetch/" is not "MozacFetch/", "NING/" not "Lightning/") unless its own examples
        # show it inside one.
        self.word_start: list[str] = []
        self.anywhere: list[str] = []
        by_pattern = {e["pattern"]: e.get("instances") or [] for e in entries}
        for pattern in _without_contained(names - fetchers):
            bounded = re.compile(r"\b(?:" + pattern + ")", re.IGNORECASE)
            starts_word = re.match(r"[A-Za-z0-9]", pattern) is not None
            if starts_word and all(bounded.search(readings(ua)[1]) for ua in by_pattern.get(pattern, [])):
                self.word_start.append(pattern)
            else:
                self.anywhere.append(pattern)

    def __len__(self) -> int:
        return len(self.fetchers) + len(self.word_start) + len(self.anywhere)

    def crawler_source(self) -> str:
        return _js("|".join([*CRAWLER_WORDS, *OPERATOR_TERMS, *self.fetchers]))

    def named_source(self) -> str:
        parts = [*GENERIC_NAMES, *SUPPLEMENT, *self.anywhere]
        if self.word_start:
            parts.append(r"\b(?:" + "|".join(self.word_start) + ")")
        return _js("|".join(parts))


def _without_contained(patterns: set[str]) -> list[str]:
    """Shortest first, without plain literals that contain a kept plain literal ("Foo" matches where "Foo-X" does)."""
    plain = re.compile(r"[A-Za-z0-9 _-]+")
    result: list[str] = []
    for pattern in sorted(patterns, key=lambda p: (len(p), p)):
        if plain.fullmatch(pattern) and any(plain.fullmatch(k) and k.lower() in pattern.lower() for k in result):
            continue
        result.append(PATTERN_FIXES.get(pattern) or pattern)
    return result


def crawler_patterns(entries: list[dict]) -> Patterns:
    return Patterns(entries)


def verdict(patterns: Patterns) -> Callable[[str], bool]:
    """The function's isCrawler in Python, from the same readings: the generator decides with it which dataset
    patterns are known fetchers, so a test holds it to the JavaScript on every published example."""
    crawler = re.compile(patterns.crawler_source(), re.IGNORECASE)
    named = re.compile(patterns.named_source(), re.IGNORECASE)

    def is_crawler(ua: str) -> bool:
        if not ua:
            return False
        whole, naming = readings(ua)
        return bool(crawler.search(whole) or named.search(naming))

    return is_crawler


def _js(source: str) -> str:
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
    crawler, named = patterns.crawler_source(), patterns.named_source()
    check_syntax(crawler)
    check_syntax(named)
    terms = len(CRAWLER_WORDS) + len(GENERIC_NAMES) + len(OPERATOR_TERMS) + len(SUPPLEMENT)
    header = (
        f"// GENERATED by tools/generate_edge_function.py from {DATASET_PACKAGE} {dataset_version()} "
        f"({len(patterns)} patterns + {terms} terms): do not edit.\n"
    )
    consts = "\n".join(
        [
            f"const CRAWLER = /{crawler}/i;",
            f"const NAMED = /{named}/i;",
            f"const DEVICE = /{_js(DEVICE_SEGMENT)}/gi;",
            f"const HUMAN = /{'|'.join(HUMAN_TOKENS)}/gi;",
            f"const BROWSER = /{_js(BROWSER)}/i;",
            f"const NATIVE = /{_js(NATIVE)}/i;",
            f"const APP = /{_js(APP_SEGMENT)}/g;",
            f"const NAMING = /{_js(NAMING_COMMENT)}/gi;",
        ]
    )
    common = (SOURCE / "common.template.js").read_text(encoding="utf-8").strip()
    out: dict[pathlib.Path, str] = {}
    for name in ("viewer_request", "viewer_response"):
        template = (SOURCE / f"{name}.template.js").read_text(encoding="utf-8")
        first, rest = template.split("\n", 1)
        text = first + "\n" + header + rest
        text = text.replace("// @@CRAWLER_PATTERN@@", consts).replace("// @@COMMON@@", common)
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
