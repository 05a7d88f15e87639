"""User-agent corpora the crawler pattern is measured on, none of them written by us or used to build it.

Crawlers (scored by category: search, social, ai):
* ``matomo-bots``: the bot fixtures of Matomo's Device Detector as shipped by the pinned ``device-detector`` PyPI
  package (``tests/fixtures/upstream/bots.yml``: real user agents, each with Matomo's own name and category).
* ``crawlerdetect-crawlers``: the crawler fixtures of CrawlerDetect (JayBizzle's list, shipped in the pinned
  ``crawlerdetect`` sdist, ``tests/fixtures/user_agent/crawlers.txt``). They carry no category: Matomo's own bot
  rules (``device_detector/regexes/upstream/bots.yml``) name and file each one; those Matomo does not know, or files
  elsewhere (monitors, scanners, SEO tools, feed readers), are not scored.
The pattern is generated from ``crawler-user-agents``, a different project from both.

Real browsers (false positives):
* ``crawlerdetect-devices``: CrawlerDetect's device fixtures (165,639 real device user agents, same sdist).
* ``matomo-device-fixtures``: Matomo's device fixtures (``client.type: browser``).
* ``user-agents``: Intoli's ``user-agents`` npm package (a sample of real traffic, republished daily).
* ``fake-useragent``: fake-useragent's real-world browser list.

How a crawler is put in a category (the target is per category): Matomo's category decides ("Search bot";
"Social Media Agent"; "AI Data Scraper", "AI Search Crawler", "AI Assistant", "AI Agent"). Matomo files several
link-preview fetchers under "Crawler" or "Service Agent"; ``LINK_PREVIEW_NAMES`` moves those, by Matomo's bot
name, to social previews. The operator of a crawler (for the per-operator average) is Matomo's bot name.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import pathlib
import re
import tarfile
from collections.abc import Callable
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: the fixtures are 40 MB of YAML

ROOT = pathlib.Path(__file__).resolve().parents[1]
MATOMO_PACKAGE = "device-detector"
BROWSERS_PACKAGE = "fake-useragent"
CRAWLERDETECT = ("crawlerdetect", "0.4.2")  # pinned in requirements-edge-corpora.txt; `make venv` downloads the sdist
CRAWLERDETECT_SDIST = ROOT / ".venv" / "edge-corpora" / f"{CRAWLERDETECT[0]}-{CRAWLERDETECT[1]}.tar.gz"
NODE_MODULES = ROOT / "bench" / "node" / "node_modules"  # bench/node/package-lock.json; `make venv` runs npm ci
SEARCH = ("Search bot",)
SOCIAL = ("Social Media Agent",)
AI = ("AI Data Scraper", "AI Search Crawler", "AI Assistant", "AI Agent")
CATEGORIES = ("search", "social", "ai")
LINK_PREVIEW_NAMES = frozenset(
    {
        "BitlyBot",
        "Chatwork LinkPreview",
        "Discord Bot",
        "Embedly",
        "Flipboard",
        "Iframely",
        "LinkPreview",
        "Microsoft Preview",
        "Pinterest",
        "Quora Link Preview",
        "Skype URI Preview",
        "Slackbot",
        "Snap URL Preview Service",
        "Snapchat Proxy",
        "TelegramBot",
        "VK Share Button",
        "Viber Url Downloader",
        "Yahoo! Link Preview",
    }
)


def _package_file(package: str, relative: str) -> pathlib.Path:
    path = pathlib.Path(str(importlib.metadata.distribution(package).locate_file(relative)))
    if not path.exists():
        raise FileNotFoundError(f"{path}: install the pinned corpora with `make venv`")
    return path


def _existing(path: pathlib.Path) -> pathlib.Path:
    if not path.exists():
        raise FileNotFoundError(f"{path}: install the pinned corpora with `make venv`")
    return path


def versions() -> dict[str, str]:
    found = {p: importlib.metadata.version(p) for p in (MATOMO_PACKAGE, BROWSERS_PACKAGE)}
    found[CRAWLERDETECT[0]] = CRAWLERDETECT[1]
    package = json.loads(_existing(NODE_MODULES / "user-agents" / "package.json").read_text())
    found["user-agents"] = package["version"]
    return found


def category(matomo_category: str, name: str) -> str | None:
    if matomo_category in SOCIAL or name in LINK_PREVIEW_NAMES:
        return "social"
    if matomo_category in SEARCH:
        return "search"
    if matomo_category in AI:
        return "ai"
    return None


@functools.cache
def _crawlerdetect_file(name: str) -> list[str]:
    with tarfile.open(_existing(CRAWLERDETECT_SDIST)) as sdist:
        member = sdist.extractfile(f"{CRAWLERDETECT[0]}-{CRAWLERDETECT[1]}/tests/fixtures/user_agent/{name}")
        assert member is not None
        lines = member.read().decode("utf-8").splitlines()
    return sorted({line.strip() for line in lines if line.strip()})


class _MatomoBots:
    """Matomo's bot rules, applied as its parser does: first matching rule wins, case-insensitive, at a token start."""

    def __init__(self) -> None:
        rules = yaml.load(
            _package_file(MATOMO_PACKAGE, "device_detector/regexes/upstream/bots.yml").read_text(), Loader=_LOADER
        )
        self.rules: list[tuple[re.Pattern[str], str, str]] = []
        for rule in rules:
            try:
                compiled = re.compile(r"(?:^|[^A-Z0-9_-]|[^A-Z0-9-]_)(?:" + rule["regex"] + ")", re.IGNORECASE)
            except re.error:
                continue  # a PCRE-only construct: the few such rules go unused
            self.rules.append((compiled, rule.get("name") or "", rule.get("category") or ""))

    def identify(self, ua: str) -> tuple[str, str] | None:
        for compiled, name, matomo_category in self.rules:
            if compiled.search(ua):
                return name, matomo_category
        return None


def _cached(name: str, build: Callable[[], Any]) -> Any:
    """``build()``'s result, kept as JSON beside the downloaded corpora: parsing 40 MB of YAML and running Matomo's
    843 bot rules takes ~25 s, and the key (this file and the pinned versions) changes whenever the result can."""
    key = hashlib.sha256((pathlib.Path(__file__).read_text() + json.dumps(versions(), sort_keys=True)).encode())
    path = CRAWLERDETECT_SDIST.parent / f"{name}-{key.hexdigest()[:16]}.json"
    if path.exists():
        return json.loads(path.read_text())
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(value))
    partial.replace(path)  # atomic: a parallel session reads the whole file or none
    return value


@functools.cache
def crawlers() -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Crawler user agents by corpus and category, each with its operator: {corpus: {category: [(ua, operator)]}}."""
    found = _cached("crawlers", _crawlers)
    return {corpus: {c: [(ua, op) for ua, op in items] for c, items in cats.items()} for corpus, cats in found.items()}


def _crawlers() -> dict[str, dict[str, list[tuple[str, str]]]]:
    fixtures = yaml.load(
        _package_file(MATOMO_PACKAGE, "device_detector/tests/fixtures/upstream/bots.yml").read_text(), Loader=_LOADER
    )
    matomo: dict[str, dict[str, str]] = {c: {} for c in CATEGORIES}
    for item in fixtures:
        bot = item.get("bot") or {}
        name = bot.get("name") or ""
        found = category(bot.get("category") or "", name)
        if found:
            matomo[found][str(item["user_agent"])] = name
    rules = _MatomoBots()
    detect: dict[str, dict[str, str]] = {c: {} for c in CATEGORIES}
    for ua in _crawlerdetect_file("crawlers.txt"):
        identified = rules.identify(ua)
        found = category(identified[1], identified[0]) if identified else None
        if identified and found:
            detect[found][ua] = identified[0]
    return {
        corpus: {c: sorted(by_ua[c].items()) for c in CATEGORIES}
        for corpus, by_ua in (("matomo-bots", matomo), ("crawlerdetect-crawlers", detect))
    }


@functools.cache
def browsers() -> dict[str, list[str]]:
    """Real browser user agents by corpus."""
    return _cached("browsers", _browsers)


def _browsers() -> dict[str, list[str]]:
    fixtures_dir = _package_file(MATOMO_PACKAGE, "device_detector/tests/fixtures/upstream")
    matomo: set[str] = set()
    for path in sorted(fixtures_dir.glob("*.yml")):
        if path.name == "bots.yml":
            continue
        for item in yaml.load(path.read_text(), Loader=_LOADER) or []:
            client = item.get("client") or {}
            if isinstance(client, dict) and client.get("type") == "browser" and item.get("user_agent"):
                matomo.add(str(item["user_agent"]))
    lines = _package_file(BROWSERS_PACKAGE, "fake_useragent/data/browsers.jsonl").read_text().splitlines()
    fake = {json.loads(line)["useragent"] for line in lines if line.strip()}
    intoli = json.loads(_existing(NODE_MODULES / "user-agents" / "dist" / "user-agents.json").read_text())
    return {
        "crawlerdetect-devices": _crawlerdetect_file("devices.txt"),
        "matomo-device-fixtures": sorted(matomo),
        "user-agents": sorted({entry["userAgent"] for entry in intoli}),
        "fake-useragent": sorted(fake),
    }
