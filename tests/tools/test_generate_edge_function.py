"""The edge functions are generated from a maintained dataset, fit CloudFront's limits, and classify real traffic.

Recall and false positives are measured on corpora the pattern is not generated from (bench/edge_corpora.py);
the full browser corpus runs in bench/edge_crawlers.py, a deterministic tenth of it here.
"""

from __future__ import annotations

import re
import sys

import pytest

from tools import cloudfront_harness as cf
from tools import generate_edge_function as gen

sys.path.insert(0, str(gen.ROOT / "bench"))
import edge_corpora

VIEWER_REQUEST = gen.SOURCE / "viewer_request.js"


def routed(user_agents: list[str]) -> list[bool]:
    results = cf.run(VIEWER_REQUEST, {}, [cf.viewer_request("/products/42", ua) for ua in user_agents])
    return [any("group" in c for c in r["calls"]) for r in results]


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


def test_pattern_uses_no_regex_feature_cloudfront_does_not_document():
    code = VIEWER_REQUEST.read_text()
    pattern = re.search(r"const CRAWLER = /(.*)/i;", code).group(1)
    assert "(?<" not in pattern, "no lookbehind, no named groups"
    with pytest.raises(ValueError):
        gen.check_syntax("foo(?<!bar)")


def test_cubot_phones_slcc_tokens_and_silk_from_real_corpora_are_humans(browser_corpora):
    browsers = [ua for uas in browser_corpora.values() for ua in uas]
    tricky = [ua for ua in browsers if re.search(r"cubot|slcc|silk/", ua, re.IGNORECASE)]
    assert len(tricky) > 50, "the corpus has these cases"
    assert not any(routed(tricky))


@pytest.mark.parametrize("category", ["search", "social", "ai"])
def test_at_least_95_percent_of_each_crawler_category_is_routed(category):
    crawlers = edge_corpora.crawlers()[category]
    hits = routed(crawlers)
    assert sum(hits) / len(crawlers) >= 0.95, [ua for ua, hit in zip(crawlers, hits, strict=True) if not hit]


def test_no_real_browser_is_taken_for_a_crawler(browser_corpora):
    corpora = browser_corpora
    sample = corpora["fake-useragent"] + corpora["matomo-device-fixtures"][::10]
    assert len(sample) > 3000
    assert [ua for ua, hit in zip(sample, routed(sample), strict=True) if hit] == []
