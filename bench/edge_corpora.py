"""User-agent corpora the crawler pattern is measured on, none of them written by us or used to build it.

* Crawlers: the bot fixtures of Matomo's Device Detector as shipped by the pinned ``device-detector`` PyPI package
  (``tests/fixtures/upstream/bots.yml``: real user agents, each with Matomo's own name and category). The pattern is
  generated from ``crawler-user-agents``, a different project, so this corpus is independent of it.
* Browsers: Matomo's device fixtures (``client.type: browser``) and ``fake-useragent``'s real-world browser list.

How a crawler is put in a category (the target is per category): Matomo's own category decides ("Search bot";
"Social Media Agent"; "AI Data Scraper", "AI Search Crawler", "AI Assistant", "AI Agent"). Matomo files several
link-preview fetchers under "Crawler" or "Service Agent"; ``LINK_PREVIEW_NAMES`` moves those, by Matomo's bot
name, to social previews. Everything else (monitors, scanners, SEO tools, feed readers) is not scored.
"""

from __future__ import annotations

import importlib.metadata
import json
import pathlib

import yaml

MATOMO_PACKAGE = "device-detector"
BROWSERS_PACKAGE = "fake-useragent"
SEARCH = ("Search bot",)
SOCIAL = ("Social Media Agent",)
AI = ("AI Data Scraper", "AI Search Crawler", "AI Assistant", "AI Agent")
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
        raise FileNotFoundError(f"{path}: install the pinned corpora with `make edge-corpora`")
    return path


def versions() -> dict[str, str]:
    return {p: importlib.metadata.version(p) for p in (MATOMO_PACKAGE, BROWSERS_PACKAGE)}


def crawlers() -> dict[str, list[str]]:
    """Independent crawler user agents by category: search, social, ai."""
    fixtures = yaml.safe_load(
        _package_file(MATOMO_PACKAGE, "device_detector/tests/fixtures/upstream/bots.yml").read_text()
    )
    out: dict[str, list[str]] = {"search": [], "social": [], "ai": []}
    for item in fixtures:
        bot = item.get("bot") or {}
        category, name, ua = bot.get("category") or "", bot.get("name") or "", str(item["user_agent"])
        if category in SOCIAL or name in LINK_PREVIEW_NAMES:
            out["social"].append(ua)
        elif category in SEARCH:
            out["search"].append(ua)
        elif category in AI:
            out["ai"].append(ua)
    return {k: sorted(set(v)) for k, v in out.items()}


def browsers() -> dict[str, list[str]]:
    """Real browser user agents: Matomo's device fixtures and fake-useragent's list."""
    fixtures_dir = _package_file(MATOMO_PACKAGE, "device_detector/tests/fixtures/upstream")
    matomo: set[str] = set()
    for path in sorted(fixtures_dir.glob("*.yml")):
        if path.name == "bots.yml":
            continue
        for item in yaml.safe_load(path.read_text()) or []:
            client = item.get("client") or {}
            if isinstance(client, dict) and client.get("type") == "browser" and item.get("user_agent"):
                matomo.add(str(item["user_agent"]))
    lines = _package_file(BROWSERS_PACKAGE, "fake_useragent/data/browsers.jsonl").read_text().splitlines()
    fake = {json.loads(line)["useragent"] for line in lines if line.strip()}
    return {"matomo-device-fixtures": sorted(matomo), "fake-useragent": sorted(fake)}
