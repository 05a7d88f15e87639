"""The edge functions are generated from a maintained dataset, fit CloudFront's limits, and classify real traffic.

Recall and false positives are measured on corpora the pattern is not generated from (bench/edge_corpora.py), read
from one session-wide run of the function (tests/tools/conftest.py); bench/edge_crawlers.py compares with isbot
and ua-parser-js. The classes of issue 24 are tested as classes: every name of the dataset is put in each shape
(an in-app browser's token, a native app's name, a token inside the device segment), so a new app of the same
shape needs no list entry.
"""

from __future__ import annotations

import re

import pytest

from tools import cloudfront_harness as cf
from tools import generate_edge_function as gen

VIEWER_REQUEST = gen.SOURCE / "viewer_request.js"
ANDROID_WEBVIEW = (
    "Mozilla/5.0 (Linux; Android 13; SM-S911B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36"
)
IOS_WEBVIEW = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
)
DESKTOP_QT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) QtWebEngine/5.15.2 "
    "Chrome/83.0.4103.122 Safari/537.36"
)
THUNDERBIRD = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0"
DESKTOP_CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"


def routed(user_agents: list[str]) -> list[bool]:
    results = cf.run(VIEWER_REQUEST, {}, [cf.viewer_request("/products/42", ua) for ua in user_agents])
    return [any("group" in c for c in r["calls"]) for r in results]


def crawlers_among(user_agents: list[str]) -> list[str]:
    return [ua for ua, hit in zip(user_agents, routed(user_agents), strict=True) if hit]


def humans_among(user_agents: list[str]) -> list[str]:
    return [ua for ua, hit in zip(user_agents, routed(user_agents), strict=True) if not hit]


@pytest.fixture(scope="module")
def dataset_names() -> list[str]:
    """The dataset's crawler names that are plain words, as the function keeps them (a token's start)."""
    patterns = gen.crawler_patterns(gen.load_dataset())
    crawler_words = gen.words_regex()  # a name that reads as a crawler word in a token ("Amzn-User/") counts anywhere
    names = [
        p
        for p in patterns.word_start
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9 _-]*[A-Za-z0-9]", p) and not crawler_words.search(f"{p}/1.0")
    ]
    assert len(names) > 100, "the dataset's names are what the shapes are tested with"
    return names


def test_checked_in_functions_are_what_the_dataset_generates():
    assert gen.main(["--check"]) == 0, "run: python tools/generate_edge_function.py"


def test_a_dataset_change_is_drift(monkeypatch):
    real = gen.load_dataset()
    monkeypatch.setattr(
        gen, "load_dataset", lambda: [*real, {"pattern": "Zqxwv-Reader", "instances": ["Zqxwv-Reader/1"]}]
    )
    assert gen.main(["--check"]) == 1


@pytest.mark.parametrize("name", ["viewer_request.js", "viewer_response.js"])
def test_functions_fit_cloudfronts_10_kb(name):
    assert len((gen.SOURCE / name).read_bytes()) < gen.CODE_LIMIT_BYTES


def test_patterns_use_no_regex_feature_cloudfront_does_not_document():
    code = VIEWER_REQUEST.read_text()
    regexes = re.findall(r"^const [A-Z]+ = /(.*)/[gi]+;$", code, re.MULTILINE)
    assert len(regexes) >= 6
    for source in regexes:
        gen.check_syntax(source)
        assert "(?<" not in source and "(?=" not in source and "(?!" not in source
    with pytest.raises(ValueError):
        gen.check_syntax("foo(?<!bar)")
    with pytest.raises(ValueError):
        gen.check_syntax("foo(?=bar)")


def test_every_example_the_dataset_publishes_is_routed_as_the_generator_reads_it():
    entries = [e for e in gen.load_dataset() if gen.counted(e)]
    examples = sorted({ua for e in entries for ua in e.get("instances") or []})
    assert len(examples) > 1000
    in_node = routed(examples)
    is_crawler = gen.verdict(gen.crawler_patterns(gen.load_dataset()))
    in_python = [is_crawler(ua) for ua in examples]
    assert in_python == in_node, "the generator's reading (readings) and isCrawler have drifted apart"
    assert [ua for ua, hit in zip(examples, in_node, strict=True) if not hit] == []


def test_a_dataset_name_as_an_in_app_browsers_token_is_a_human(dataset_names):
    apps = [
        f"{browser} {name}{version}"
        for name in dataset_names
        for browser, version in ((ANDROID_WEBVIEW, "/3.6.1"), (IOS_WEBVIEW, "/3.6.1"), (DESKTOP_QT, ""))
    ]
    apps += [f"{THUNDERBIRD} {name}/4.7.6" for name in dataset_names]
    assert humans_among(apps) == apps


def test_the_same_names_are_crawlers_where_a_crawler_names_itself(dataset_names):
    crawlers = [f"{name}/1.0" for name in dataset_names]
    crawlers += [f"Mozilla/5.0 (compatible; {name}/2.1)" for name in dataset_names]
    crawlers += [f"{DESKTOP_CHROME} (compatible; {name}/2.1)" for name in dataset_names]
    crawlers += [DESKTOP_CHROME.replace("like Gecko)", f"like Gecko; {name})") for name in dataset_names]
    assert crawlers_among(crawlers) == crawlers


def test_a_crawler_token_inside_the_android_device_segment_wins(dataset_names):
    def segment(token: str) -> str:
        return (
            f"Mozilla/5.0 (Linux; Android 8.0; Pixel 2 Build/OPD3.170816.012; {token}) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/81.0.4044.138 Mobile Safari/537.36"
        )

    crawlers = [segment("Storebot-Google/1.0"), *(segment(f"{name}/1.0") for name in dataset_names)]
    assert crawlers_among(crawlers) == crawlers
    # the phone's own name is not read, even when it is a crawler word or name
    phones = [
        "Mozilla/5.0 (Linux; Android 13; Spider 8 Build/TP1A.220624.014) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; U; Android 4.4.2; en-us; POWER BOT Build/KOT49H) AppleWebKit/534.30 (KHTML, like Gecko) "
        "Version/4.0 Mobile Safari/534.30",
        *(ANDROID_WEBVIEW.replace("SM-S911B", name) for name in dataset_names),
    ]
    assert humans_among(phones) == phones


def test_an_in_app_browsers_bracket_segment_is_the_apps_even_with_an_operators_name():
    operators = [t for t in gen.OPERATOR_TERMS if re.fullmatch(r"[a-z]+", t)]
    assert "facebook" in operators
    apps = [f"{ANDROID_WEBVIEW} [FB_IAB/FB4A;FBAV/348.0.0.39.118;FBPN/com.{op}.katana;]" for op in operators]
    assert humans_among(apps) == apps
    # outside the app's segment the operator's name still counts
    assert crawlers_among([f"{DESKTOP_CHROME} {op}" for op in operators]) == [
        f"{DESKTOP_CHROME} {op}" for op in operators
    ]


def test_a_native_apps_name_is_the_apps(dataset_names):
    apps = ["Safari%20Technology%20Preview/11601.6.17 CFNetwork/760.4.2 Darwin/15.4.0 (x86_64)"]
    apps += [f"Acme%20{word}/2.0 CFNetwork/1410.0.3 Darwin/22.6.0" for word in gen.GENERIC_NAMES if word.isalpha()]
    # CFNetwork writes an app's name URL-encoded
    apps += [f"{name.replace(' ', '%20')}/5.0 CFNetwork/1410.0.3 Darwin/22.6.0" for name in dataset_names]
    assert humans_among(apps) == apps


def test_a_name_inside_another_word_is_not_the_name(dataset_names):
    # MozacFetch/ (Firefox for Android) is not Fetch/, Lightning/ (Thunderbird's calendar) is not NING/
    words = ["MozacFetch/96.1.1", f"{THUNDERBIRD} Lightning/4.7.6"]
    words += [f"Mozac{name.replace(' ', '')}/96.1.1" for name in dataset_names if name[0].isalpha()]
    # a crawler word inside an app's name: fuboTV is not a bot
    words += ["fuboTV/4.40.0 (Linux;Android 9; SHIELD Android TV Build/PPR1.180610.011) FuboPlayer/2.0.0"]
    words += ["robotoTV/2.1.0 (Linux;Android 12; BRAVIA 4K Build/STT1.211025.001) RobotoPlayer/1.0.0"]
    assert humans_among(words) == words


def test_link_preview_fetchers_and_old_search_names_without_a_crawler_word_are_crawlers():
    fetchers = [
        "Iframely/1.2.2 (https://iframely.com/docs/about)",
        "XING-contenttabreceiver/2.0",
        "mattermost-5.19.0",
        "pinterest/0.2",
        "Mozilla/2.0 (compatible; Ask Jeeves/Teoma)",
        "Qwantify/1.0",
        "sogou",
    ]
    assert crawlers_among(fetchers) == fetchers
    # the apps of the same names are people
    apps = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Mattermost/5.2.0 "
        "Chrome/114.0.5735.289 Electron/25.8.4 Safari/537.36",
        "Pinterest/11.41 CFNetwork/1410.0.3 Darwin/22.6.0",
        f"{ANDROID_WEBVIEW} [Pinterest/Android]",
    ]
    assert humans_among(apps) == apps


def test_cubot_phones_slcc_tokens_and_silk_from_real_corpora_are_humans(edge_corpora_routed):
    corpora, routes = edge_corpora_routed
    browsers = [ua for uas in corpora.browsers().values() for ua in uas]
    tricky = [ua for ua in browsers if re.search(r"cubot|slcc|silk/", ua, re.IGNORECASE)]
    assert len(tricky) > 50, "the corpus has these cases"
    assert [ua for ua in tricky if routes[ua]] == []


def test_at_least_95_percent_of_each_crawler_category_is_routed_on_each_corpus(edge_corpora_routed):
    corpora, routes = edge_corpora_routed
    below = {}
    for corpus, by_category in corpora.crawlers().items():
        for category, items in by_category.items():
            assert items, f"{corpus} has {category} crawlers"
            share = sum(routes[ua] for ua, _ in items) / len(items)
            if share < 0.95 and len(items) >= 20:  # a 13-string category is reported by the benchmark, not gated
                below[f"{corpus}/{category}"] = (share, [ua for ua, _ in items if not routes[ua]])
    assert below == {}


def test_no_real_browser_of_over_100000_is_taken_for_a_crawler(edge_corpora_routed):
    corpora, routes = edge_corpora_routed
    browsers = corpora.browsers()
    assert sum(len(uas) for uas in browsers.values()) > 100_000
    assert {name: [ua for ua in uas if routes[ua]] for name, uas in browsers.items()} == {n: [] for n in browsers}
