"""Crawler detection against real-world user-agent corpora.

A missed crawler gets an empty link preview; a browser taken for a crawler
gets a script-less snapshot, i.e. a broken site. Hence the asymmetric bar.
"""

from __future__ import annotations

from lambda_src.edge_router.bots import is_prerender_bot


def test_corpora_are_big_enough_to_mean_something(corpus):
    assert len(corpus("crawler_user_agents.txt")) >= 80
    assert len(corpus("browser_user_agents.txt")) == 100


def test_at_least_95_percent_of_crawlers_are_detected(corpus):
    crawlers = corpus("crawler_user_agents.txt")
    missed = [ua for ua in crawlers if not is_prerender_bot(ua)]
    rate = 1 - len(missed) / len(crawlers)
    assert rate >= 0.95, f"detection {rate:.1%}, missed: {missed}"


def test_no_real_browser_is_taken_for_a_crawler(corpus):
    false_positives = [ua for ua in corpus("browser_user_agents.txt") if is_prerender_bot(ua)]
    assert false_positives == []


def test_every_required_crawler_family_is_covered(corpus):
    required = [
        "Googlebot",
        "bingbot",
        "YandexBot",
        "Baiduspider",
        "DuckDuckBot",
        "Applebot",
        "Yahoo! Slurp",
        "Yeti",
        "SeznamBot",
        "PetalBot",
        "facebookexternalhit",
        "Facebot",
        "Twitterbot",
        "LinkedInBot",
        "Slackbot",
        "Discordbot",
        "WhatsApp",
        "TelegramBot",
        "Pinterest",
        "redditbot",
        "Embedly",
        "SkypeUriPreview",
        "vkShare",
        "Iframely",
        "Mastodon",
        "GPTBot",
        "ChatGPT-User",
        "OAI-SearchBot",
        "ClaudeBot",
        "Claude-User",
        "Claude-SearchBot",
        "anthropic-ai",
        "PerplexityBot",
        "Perplexity-User",
        "Google-Extended",
        "Applebot-Extended",
        "Amazonbot",
        "CCBot",
        "Bytespider",
        "meta-externalagent",
        "cohere-ai",
        "YouBot",
        "Diffbot",
    ]
    crawlers = corpus("crawler_user_agents.txt")
    for family in required:
        samples = [ua for ua in crawlers if family.lower() in ua.lower()]
        assert samples, f"corpus has no {family} sample"
        assert all(is_prerender_bot(ua) for ua in samples), family


def test_headless_chrome_used_by_the_renderer_is_not_a_crawler():
    # The renderer loads the site through CloudFront again; if its own user
    # agent were routed to the renderer, every render would loop until timeout.
    ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
    assert not is_prerender_bot(ua)


def test_detection_is_case_insensitive():
    assert is_prerender_bot("GOOGLEBOT/2.1")
    assert is_prerender_bot("twitterbot/1.0")
