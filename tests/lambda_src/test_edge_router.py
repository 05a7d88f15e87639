"""Edge router behaviour, one CloudFront event at a time."""

from __future__ import annotations

import copy
import json

import pytest

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
LINKEDIN = "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
RENDERER_DOMAIN = "abc123.execute-api.eu-west-1.amazonaws.com"


def viewer(cf, edge, ua, uri="/articles/launch", querystring="", method="GET", **extra):
    headers = cf.headers(host="www.example.com", user_agent=ua, **extra)
    event = cf.event("viewer-request", uri=uri, headers=headers, querystring=querystring, method=method)
    return edge.handler(event, None)


def origin(cf, edge, request):
    event = cf.event(
        "origin-request",
        uri=request["uri"],
        headers=request["headers"],
        querystring=request["querystring"],
        method=request["method"],
        origin=copy.deepcopy(cf.s3_origin),
    )
    return edge.handler(event, None)


class TestViewerRequest:
    @pytest.mark.parametrize(
        "ua",
        [
            GOOGLEBOT,
            LINKEDIN,
            "facebookexternalhit/1.1",
            "Twitterbot/1.0",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        ],
    )
    def test_crawler_page_request_is_marked_for_prerender_with_original_host(self, cf, edge, ua):
        request = viewer(cf, edge, ua)
        assert request["headers"]["x-prerender"] == [{"key": "X-Prerender", "value": "1"}]
        assert request["headers"]["x-prerender-host"][0]["value"] == "www.example.com"

    def test_only_the_two_marker_headers_are_added_no_cache_buster(self, cf, edge):
        before = cf.headers(host="www.example.com", user_agent=GOOGLEBOT)
        request = viewer(cf, edge, GOOGLEBOT, querystring="page=2&sort=asc")
        added = set(request["headers"]) - set(before)
        assert added == {"x-prerender", "x-prerender-host"}
        assert not any("cachebuster" in name or "query" in name for name in request["headers"])

    def test_query_string_and_uri_are_left_where_cloudfront_keys_them(self, cf, edge):
        request = viewer(cf, edge, GOOGLEBOT, uri="/search", querystring="q=shoes&page=2")
        assert request["querystring"] == "q=shoes&page=2"
        assert request["uri"] == "/search"

    @pytest.mark.parametrize(
        "ua",
        [
            CHROME,
            "",
            "curl/8.5.0",
            "Mozilla/5.0 (Linux; Android 14; Pixel 6; wv) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Version/4.0 Chrome/130.0 Mobile Safari/537.36 "
            "[Pinterest/Android]",
        ],
    )
    def test_humans_are_never_marked(self, cf, edge, ua):
        request = viewer(cf, edge, ua)
        assert "x-prerender" not in request["headers"]
        assert "x-prerender-host" not in request["headers"]

    def test_request_without_user_agent_is_treated_as_human(self, cf, edge):
        event = cf.event("viewer-request", uri="/", headers=cf.headers(host="www.example.com"))
        request = edge.handler(event, None)
        assert "x-prerender" not in request["headers"]

    def test_human_cannot_spoof_the_crawler_cache_entry_or_smuggle_a_token(self, cf, edge):
        request = viewer(cf, edge, CHROME, x_prerender="1", x_prerender_host="evil.example", x_prerender_token="guess")
        for name in ("x-prerender", "x-prerender-host", "x-prerender-token"):
            assert name not in request["headers"], name

    def test_crawler_supplied_token_and_host_are_replaced_not_trusted(self, cf, edge):
        request = viewer(cf, edge, GOOGLEBOT, x_prerender_host="evil.example", x_prerender_token="guess")
        assert "x-prerender-token" not in request["headers"]
        assert request["headers"]["x-prerender-host"][0]["value"] == "www.example.com"

    def test_custom_token_header_name_is_stripped_too(self, cf, edge):
        edge.configure({"renderer_domain": RENDERER_DOMAIN, "renderer_token": "t", "token_header": "X-Internal-Auth"})
        request = viewer(cf, edge, CHROME, x_internal_auth="guess")
        assert "x-internal-auth" not in request["headers"]

    @pytest.mark.parametrize(
        "uri",
        [
            "/main.4f1c2a.js",
            "/styles.css",
            "/assets/logo.PNG",
            "/img/photo.jpeg",
            "/fonts/inter.woff2",
            "/favicon.ico",
            "/video/intro.mp4",
            "/app.js.map",
            "/data/feed.json",
            "/robots.txt",
            "/sitemap.xml",
            "/sitemap-index.xml",
            "/files/report.pdf",
            "/dl/archive.zip",
            "/manifest.webmanifest",
        ],
    )
    def test_static_assets_are_never_routed_even_for_crawlers(self, cf, edge, uri):
        request = viewer(cf, edge, GOOGLEBOT, uri=uri)
        assert "x-prerender" not in request["headers"]
        assert edge.is_static_asset(uri)

    @pytest.mark.parametrize(
        "uri",
        ["/", "/articles/launch", "/v1.2/docs", "/user/jane.doe/profile", "/page.html", "/blog/2024/10/hello-world"],
    )
    def test_pages_are_routed_for_crawlers(self, cf, edge, uri):
        request = viewer(cf, edge, GOOGLEBOT, uri=uri)
        assert request["headers"]["x-prerender"][0]["value"] == "1"

    @pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
    def test_unsafe_methods_from_crawlers_go_to_the_real_origin(self, cf, edge, method):
        request = viewer(cf, edge, GOOGLEBOT, method=method)
        assert "x-prerender" not in request["headers"]

    def test_head_from_crawler_is_routed(self, cf, edge):
        request = viewer(cf, edge, GOOGLEBOT, method="HEAD")
        assert request["headers"]["x-prerender"][0]["value"] == "1"


class TestOriginRequest:
    def routed(self, cf, edge, ua=GOOGLEBOT):
        return origin(cf, edge, viewer(cf, edge, ua))

    def test_crawler_request_is_sent_to_the_renderer_custom_origin(self, cf, edge):
        custom = self.routed(cf, edge)["origin"]["custom"]
        assert custom["domainName"] == RENDERER_DOMAIN
        assert custom["port"] == 443
        assert custom["protocol"] == "https"
        assert custom["path"] == ""

    def test_s3_origin_is_removed_when_switching(self, cf, edge):
        assert set(self.routed(cf, edge)["origin"]) == {"custom"}

    def test_host_header_is_rewritten_to_the_renderer_domain(self, cf, edge):
        # CloudFront keeps the viewer's Host after an origin switch; API
        # Gateway answers 403 ForbiddenException to an unknown Host.
        assert self.routed(cf, edge)["headers"]["host"] == [{"key": "Host", "value": RENDERER_DOMAIN}]

    def test_only_tls_1_2_and_cloudfront_timeouts(self, cf, edge):
        custom = self.routed(cf, edge)["origin"]["custom"]
        assert custom["sslProtocols"] == ["TLSv1.2"]
        assert custom["readTimeout"] == 30
        assert custom["keepaliveTimeout"] == 5

    def test_token_travels_as_origin_custom_header_only(self, cf, edge):
        request = self.routed(cf, edge)
        custom_headers = request["origin"]["custom"]["customHeaders"]
        assert custom_headers["x-prerender-token"][0]["value"] == "edge-test-token"
        assert custom_headers["x-prerender-token"][0]["key"].lower() == "x-prerender-token"
        assert "x-prerender-token" not in request["headers"]

    def test_original_host_survives_for_the_renderer(self, cf, edge):
        assert self.routed(cf, edge)["headers"]["x-prerender-host"][0]["value"] == "www.example.com"

    def test_human_request_is_returned_unchanged(self, cf, edge):
        human = viewer(cf, edge, CHROME)
        event = cf.event(
            "origin-request",
            uri=human["uri"],
            headers=human["headers"],
            querystring=human["querystring"],
            origin=copy.deepcopy(cf.s3_origin),
        )
        expected = copy.deepcopy(event["Records"][0]["cf"]["request"])
        assert edge.handler(event, None) == expected

    def test_without_a_renderer_domain_crawlers_fall_back_to_the_site(self, cf, edge):
        edge.configure({"renderer_domain": "", "renderer_token": "x"})
        request = self.routed(cf, edge)
        assert request["origin"] == cf.s3_origin
        assert request["headers"]["host"][0]["value"] == "www.example.com"

    def test_configured_timeouts_and_token_header_are_used(self, cf, edge):
        edge.configure(
            {
                "renderer_domain": "r.example.net",
                "renderer_token": "s3cret",
                "token_header": "X-Render-Auth",
                "read_timeout": 25,
                "keepalive_timeout": 2,
            }
        )
        custom = self.routed(cf, edge)["origin"]["custom"]
        assert custom["readTimeout"] == 25 and custom["keepaliveTimeout"] == 2
        assert custom["customHeaders"]["x-render-auth"][0]["value"] == "s3cret"


class TestSettings:
    def test_baked_settings_file_is_loaded(self, edge, tmp_path, monkeypatch):
        settings_file = tmp_path / "edge_settings.json"
        settings_file.write_text(
            json.dumps({"renderer_domain": "Baked.Example.NET", "renderer_token": "baked", "read_timeout": 20})
        )
        monkeypatch.setattr(edge, "SETTINGS_FILE", str(settings_file))
        edge._load_baked_settings()
        active = edge.settings()
        assert active["renderer_domain"] == "baked.example.net"
        assert active["renderer_token"] == "baked"
        assert active["read_timeout"] == 20
        assert active["token_header"] == "x-prerender-token"
        assert active["keepalive_timeout"] == 5

    def test_missing_or_corrupt_settings_fall_back_to_defaults(self, edge, tmp_path, monkeypatch):
        broken = tmp_path / "edge_settings.json"
        broken.write_text("{not json")
        monkeypatch.setattr(edge, "SETTINGS_FILE", str(broken))
        edge._load_baked_settings()
        assert edge.settings() == edge.DEFAULT_SETTINGS
        broken.write_text(json.dumps({"renderer_domain": "r.example.net", "read_timeout": "thirty"}))
        edge._load_baked_settings()
        assert edge.settings() == edge.DEFAULT_SETTINGS
        monkeypatch.setattr(edge, "SETTINGS_FILE", str(tmp_path / "absent.json"))
        edge._load_baked_settings()
        assert edge.settings() == edge.DEFAULT_SETTINGS


class TestNeverRaises:
    @pytest.mark.parametrize(
        "event", [None, {}, {"Records": []}, {"Records": [{}]}, "text", 42, {"Records": [{"cf": {"request": None}}]}]
    )
    def test_non_cloudfront_events_are_returned_as_received(self, edge, event):
        assert edge.handler(event, None) == event

    @pytest.mark.parametrize(
        "headers",
        [
            {"user-agent": "not-a-list"},
            {"user-agent": [], "host": []},
            {"user-agent": [{"key": "User-Agent"}], "host": [{"value": None}]},
            {"user-agent": [None]},
            {"x-prerender": "1"},
        ],
    )
    @pytest.mark.parametrize("event_type", ["viewer-request", "origin-request"])
    def test_malformed_headers_never_raise(self, cf, edge, headers, event_type):
        event = cf.event(event_type, headers=copy.deepcopy(headers))
        request = edge.handler(event, None)
        assert request["uri"] == "/" and request["method"] == "GET"
        assert "origin" not in request

    def test_internal_failure_returns_the_request_untouched(self, cf, edge, monkeypatch):
        def boom(_ua):
            raise RuntimeError("classifier bug")

        monkeypatch.setattr(edge, "is_prerender_bot", boom)
        headers = cf.headers(host="www.example.com", user_agent=GOOGLEBOT, x_prerender="1")
        event = cf.event("viewer-request", headers=headers)
        expected = copy.deepcopy(event["Records"][0]["cf"]["request"])
        assert edge.handler(event, None) == expected


class TestSpaFallback:
    """S3 has no rewrites: a human's deep link gets the app's entry document, a crawler keeps its URI."""

    @pytest.fixture
    def spa_edge(self, edge):
        edge.configure({**edge.settings(), "spa_fallback": "/index.html"})
        return edge

    def test_human_deep_link_is_served_the_entry_document(self, cf, spa_edge):
        assert viewer(cf, spa_edge, CHROME, uri="/articles/launch")["uri"] == "/index.html"

    def test_files_and_crawlers_keep_their_uri(self, cf, spa_edge):
        assert viewer(cf, spa_edge, CHROME, uri="/robots.txt")["uri"] == "/robots.txt"
        assert viewer(cf, spa_edge, CHROME, uri="/assets/app.js")["uri"] == "/assets/app.js"
        assert viewer(cf, spa_edge, GOOGLEBOT, uri="/articles/launch")["uri"] == "/articles/launch"

    def test_off_by_default(self, cf, edge):
        assert viewer(cf, edge, CHROME, uri="/articles/launch")["uri"] == "/articles/launch"
