"""Renderer against a real headless Chromium, a loopback SPA and a moto S3.

The fixture SPA only sets its title and Open Graph tags ~300 ms after load,
from data it fetches: exactly the page a non-JS crawler sees as empty.
"""

from __future__ import annotations

import json
import re
import signal
import socket

import pytest

OG_TITLE = re.compile(r'<meta property="og:title" content="([^"]*)"')
OG_DESCRIPTION = re.compile(r'<meta property="og:description" content="([^"]*)"')
TITLE = re.compile(r"<title>([^<]*)</title>")


def title(html):
    match = TITLE.search(html)
    return match.group(1) if match else None


class TestRendering:
    def test_crawler_gets_title_and_open_graph_tags_set_by_javascript(self, renderer):
        response, _ = renderer.invoke("/articles/launch-day")
        assert response["statusCode"] == 200
        html = response["body"]
        assert title(html) == "Article launch-day"
        assert OG_TITLE.search(html).group(1) == "Article launch-day"
        assert OG_DESCRIPTION.search(html).group(1) == "All about launch-day"
        assert response["headers"]["x-prerender-cache"] == "MISS"
        assert response["headers"]["content-type"] == "text/html; charset=utf-8"
        assert response["headers"]["cache-control"] == "public, max-age=86400"

    def test_the_documents_scripts_stay_and_scripts_added_at_run_time_go(self, renderer):
        html = renderer.invoke("/lazy")[0]["body"]
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts == ['<script type="application/ld+json">', "<script>", '<script src="/static/app.js">']
        assert "chunk.js" not in html, "the app adds its lazy chunk again when it boots"
        assert '"@type": "WebSite"' in html

    def test_a_person_taken_for_a_crawler_gets_a_page_that_becomes_the_app(self, renderer, spa_server):
        # What a browser gets when the edge sends it to the renderer: the snapshot as CloudFront relays it.
        slug = "person-taken-for-a-crawler"
        response = renderer.invoke(f"/articles/{slug}")[0]
        assert response["statusCode"] == 200
        assert response["headers"]["content-type"] == "text/html; charset=utf-8"
        snapshot = response["body"]
        assert title(snapshot) == f"Article {slug}", "readable before any script runs"

        from lambda_src.renderer import browser

        scripts_before = spa_server.count("/static/app.js")
        data_before = spa_server.count(f"/api/articles/{slug}")
        context = browser.get_browser().new_context()
        try:
            url = f"{spa_server.origin}/articles/{slug}"
            context.route(
                url,
                lambda route: route.fulfill(
                    status=response["statusCode"], body=snapshot, content_type=response["headers"]["content-type"]
                ),
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url, wait_until="networkidle")
            page.wait_for_function(f"() => document.title === 'Article {slug}' && window.__inlineBoot === true")
            booted = page.evaluate(
                "() => ({headings: document.querySelectorAll('#app h1').length, hero: "
                "document.getElementById('app').className})"
            )
        finally:
            context.close()
        assert spa_server.count("/static/app.js") > scripts_before, "the app's script loads"
        assert spa_server.count(f"/api/articles/{slug}") > data_before, "the app runs: it fetched its data itself"
        assert booted == {"headings": 1, "hero": "hero"}, "the app took the page over, nothing doubled"
        assert errors == []

    def test_second_request_is_a_cache_hit_without_touching_the_browser(self, renderer, monkeypatch):
        first, miss_seconds = renderer.invoke("/articles/cached")
        assert first["headers"]["x-prerender-cache"] == "MISS"
        page_loads = renderer.spa.count("/articles/cached")

        from lambda_src.renderer import browser

        def no_render(*_a, **_k):
            raise AssertionError("a cache hit must not render")

        monkeypatch.setattr(browser, "render", no_render)
        second, hit_seconds = renderer.invoke("/articles/cached")
        assert second["statusCode"] == 200
        assert second["headers"]["x-prerender-cache"] == "HIT"
        assert second["body"] == first["body"]
        assert renderer.spa.count("/articles/cached") == page_loads
        assert hit_seconds < miss_seconds / 3
        max_age = int(second["headers"]["cache-control"].split("max-age=")[1])
        assert 86_000 < max_age <= 86_400  # remaining TTL, not a fresh full day

    def test_stale_cache_entry_is_re_rendered(self, renderer, monkeypatch):
        renderer.invoke("/articles/stale")
        monkeypatch.setenv("CACHE_TTL_SECONDS", "0")
        from lambda_src.renderer import config

        config.reload_config()
        response, _ = renderer.invoke("/articles/stale")
        assert response["headers"]["x-prerender-cache"] == "MISS"

    def test_two_query_strings_are_two_cache_entries(self, renderer):
        shoes = renderer.invoke("/search", "q=shoes")[0]
        hats = renderer.invoke("/search", "q=hats")[0]
        assert title(shoes["body"]) == "Search results for shoes"
        assert title(hats["body"]) == "Search results for hats"
        assert len(renderer.keys()) == 2
        assert all(key.startswith(f"v1/{renderer.spa.netloc}/") and key.endswith(".html") for key in renderer.keys())  # noqa: SIM118 (the cache helper, not a dict)

    def test_query_parameter_order_does_not_split_the_cache(self, renderer):
        renderer.invoke("/search", "q=socks&page=2")
        again = renderer.invoke("/search", "page=2&q=socks")[0]
        assert again["headers"]["x-prerender-cache"] == "HIT"
        assert len(renderer.keys()) == 1

    def test_cached_object_records_status_and_render_time(self, renderer):
        renderer.invoke("/articles/meta")
        head = renderer.s3.head_object(Bucket=renderer.bucket, Key=renderer.keys()[0])
        assert head["Metadata"]["status-code"] == "200"
        assert float(head["Metadata"]["rendered-at"]) > 0
        assert head["ContentType"] == "text/html; charset=utf-8"

    def test_prerender_status_code_meta_becomes_the_response_status(self, renderer):
        response = renderer.invoke("/no-such-page")[0]
        assert response["statusCode"] == 404
        assert title(response["body"]) == "Not found"
        assert response["headers"]["cache-control"] == "public, max-age=60"
        cached = renderer.invoke("/no-such-page")[0]
        assert (cached["statusCode"], cached["headers"]["x-prerender-cache"]) == (404, "HIT")

    def test_prerender_ready_flag_is_waited_for_past_network_idle(self, renderer):
        # The page finishes 900 ms after its last request; network idle alone
        # (500 ms) would snapshot it without the title.
        response = renderer.invoke("/ready/late")[0]
        assert title(response["body"]) == "Article late (ready)"
        assert OG_TITLE.search(response["body"]).group(1) == "Article late (ready)"

    def test_page_that_never_becomes_ready_is_a_504_not_a_partial_snapshot(self, renderer, monkeypatch):
        monkeypatch.setenv("RENDER_TIMEOUT_MS", "1500")
        from lambda_src.renderer import config

        config.reload_config()
        response = renderer.invoke("/never-ready")[0]
        assert response["statusCode"] == 504
        assert response["headers"]["cache-control"] == "no-store"
        assert renderer.keys() == []

    def test_images_and_fonts_are_blocked(self, renderer, spa_server):
        blocked = ("/static/logo.png", "/static/hero.png", "/static/font.woff2")
        before = {path: spa_server.count(path) for path in blocked}
        response = renderer.invoke("/articles/heavy")[0]
        assert response["statusCode"] == 200
        assert spa_server.count("/static/app.css") > 0  # the page really loaded its assets
        assert {path: spa_server.count(path) for path in blocked} == before

    def test_same_page_in_an_unfiltered_browser_does_fetch_images_and_fonts(self, renderer, spa_server):
        # Control for the test above: proves the fixture page does request
        # these files, so "zero hits" means blocked rather than never asked.
        from lambda_src.renderer import browser

        renderer.invoke("/articles/warm-up")
        before = spa_server.count("/static/logo.png") + spa_server.count("/static/font.woff2")
        context = browser.get_browser().new_context()
        try:
            page = context.new_page()
            page.goto(f"{spa_server.origin}/articles/control", wait_until="networkidle")
        finally:
            context.close()
        assert spa_server.count("/static/logo.png") + spa_server.count("/static/font.woff2") > before

    def test_renderer_user_agent_would_not_be_routed_back_to_the_renderer(self, renderer, spa_server):
        renderer.invoke("/articles/loop-check")
        renderer_uas = {ua for ua in spa_server.user_agents if ua}
        assert renderer_uas
        from tools import cloudfront_harness as cf

        code = cf.HARNESS.parent.parent / "lambda_src" / "edge_function" / "viewer_request.js"
        results = cf.run(code, {}, [cf.viewer_request("/articles/loop-check", ua) for ua in sorted(renderer_uas)])
        assert not any(call for r in results for call in r["calls"]), "the renderer's own fetch must reach the app"

    def test_head_request_gets_headers_without_body(self, renderer):
        response = renderer.invoke("/articles/head", method="HEAD")[0]
        assert response["statusCode"] == 200 and response["body"] == ""

    def test_metrics_are_emitted_as_emf_on_stdout_without_aws(self, renderer, capsys):
        renderer.invoke("/articles/metrics")
        blobs = [
            json.loads(line)
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("{") and '"_aws"' in line
        ]
        assert blobs, "no EMF metrics blob printed"
        directive = blobs[-1]["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "Prerender"
        names = {metric["Name"] for metric in directive["Metrics"]}
        assert {"CacheMiss", "RenderDuration"} <= names


class TestRejections:
    @pytest.mark.parametrize(
        "host", [None, "", "evil.example", "127.0.0.1:1", "www.example.com.evil.net", "127.0.0.1", "user@127.0.0.1"]
    )
    def test_foreign_or_missing_host_is_400_never_an_open_proxy(self, renderer, host):
        response = renderer.invoke("/articles/x", host=host)[0]
        assert response["statusCode"] == 400
        assert renderer.launches == []

    @pytest.mark.parametrize("path", ["\\\\evil.example/x", "//evil.example/x", "/\\evil.example", "/%2F%2Fevil"])
    def test_path_tricks_stay_on_the_allowed_host(self, renderer, monkeypatch, path):
        from lambda_src.renderer import browser

        targets = []
        monkeypatch.setattr(
            browser,
            "render",
            lambda url, timeout, allowed=None: (
                targets.append(url) or (_ for _ in ()).throw(browser.RenderError("stop"))
            ),
        )
        response = renderer.invoke(path)[0]
        if targets:
            assert targets[0].startswith(f"http://{renderer.spa.netloc}/")
            assert response["statusCode"] == 502
        else:
            assert response["statusCode"] == 400

    def test_page_that_navigates_to_another_site_is_not_snapshotted(self, renderer):
        response = renderer.invoke("/offsite")[0]
        assert "elsewhere" not in response["body"], "documents load only from the site's hosts"

    def test_non_get_methods_are_rejected(self, renderer):
        assert renderer.invoke("/articles/x", method="POST")[0]["statusCode"] == 405

    def test_page_script_fetching_another_loopback_service_gets_nothing_into_the_snapshot(
        self, renderer, secret_server
    ):
        response = renderer.invoke("/probe", query=f"port={secret_server.port}")[0]
        assert response["statusCode"] == 200
        assert "loopback-secret" not in response["body"]
        assert "probe: blocked" in response["body"]
        assert secret_server.hits == 0


class TestBoundedRenders:
    def test_page_with_a_never_closing_request_still_renders(self, renderer, monkeypatch):
        monkeypatch.setenv("RENDER_TIMEOUT_MS", "8000")
        from lambda_src.renderer import config

        config.reload_config()
        response = renderer.invoke("/chat-widget")[0]
        assert response["statusCode"] == 200, "a hanging widget request must not turn into a 504"
        assert "Article chat-widget" in response["body"]

    def test_tracking_parameters_make_no_new_render_or_object(self, renderer, monkeypatch):
        monkeypatch.setenv("TRACKING_PARAMETERS", "utm_*,gclid,fbclid")
        from lambda_src.renderer import config

        config.reload_config()
        assert renderer.invoke("/articles/t", query="page=2")[0]["statusCode"] == 200
        again = renderer.invoke("/articles/t", query="utm_source=x&page=2&gclid=1&fbclid=2")[0]
        assert again["headers"]["x-prerender-cache"] == "HIT"
        assert len(renderer.keys()) == 1
        other = renderer.invoke("/articles/t", query="page=3&utm_medium=y")[0]
        assert other["headers"]["x-prerender-cache"] == "MISS" and len(renderer.keys()) == 2

    def test_page_comes_from_x_prerender_uri_when_the_uri_is_the_app_shell(self, renderer):
        response = renderer.invoke("/index.html", uri="/articles/from-header")[0]
        assert "Article from-header" in response["body"]


class TestResilience:
    def test_killed_browser_is_replaced_and_the_next_request_succeeds(self, renderer, chromium_processes, wait_until):
        assert renderer.invoke("/articles/before-kill")[0]["statusCode"] == 200
        victims = chromium_processes()
        assert len(victims) == 1, victims
        victims[0].send_signal(signal.SIGKILL)
        assert wait_until(lambda: not victims[0].is_running() or victims[0].status() == "zombie")
        launches_before = len(renderer.launches)

        response = renderer.invoke("/articles/after-kill")[0]
        assert response["statusCode"] == 200
        assert title(response["body"]) == "Article after-kill"
        assert len(renderer.launches) == launches_before + 1

    def test_warm_invocations_reuse_one_browser(self, renderer):
        renderer.invoke("/articles/warm-1")
        launches = len(renderer.launches)
        renderer.invoke("/articles/warm-2")
        renderer.invoke("/articles/warm-3")
        assert len(renderer.launches) == launches <= 1

    def test_missing_bucket_still_renders_every_time(self, renderer, monkeypatch):
        monkeypatch.setenv("CACHE_BUCKET", "bucket-that-does-not-exist")
        from lambda_src.renderer import config

        config.reload_config()
        for _ in range(2):
            response = renderer.invoke("/articles/no-bucket")[0]
            assert response["statusCode"] == 200
            assert response["headers"]["x-prerender-cache"] == "MISS"
            assert title(response["body"]) == "Article no-bucket"

    def test_unreachable_s3_endpoint_still_renders(self, renderer, monkeypatch):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead_port = sock.getsockname()[1]
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{dead_port}")
        from lambda_src.renderer import config

        config.reload_config()
        response = renderer.invoke("/articles/s3-down")[0]
        assert response["statusCode"] == 200
        assert response["headers"]["x-prerender-cache"] == "MISS"
        assert title(response["body"]) == "Article s3-down"

    def test_unreachable_site_is_a_clean_502(self, renderer, monkeypatch):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead = f"127.0.0.1:{sock.getsockname()[1]}"
        monkeypatch.setenv("SITE_ORIGINS", f"http://{dead}")
        from lambda_src.renderer import config

        config.reload_config()
        response = renderer.invoke("/articles/x", host=dead)[0]
        assert response["statusCode"] == 502
        assert response["headers"]["cache-control"] == "no-store"
        assert "Traceback" not in response["body"] and "Error" not in response["body"]
        assert renderer.keys() == []

    def test_render_timeout_is_kept_below_cloudfronts_30_seconds(self, renderer, monkeypatch):
        monkeypatch.setenv("RENDER_TIMEOUT_MS", "60000")
        from lambda_src.renderer import config

        assert config.reload_config().render_timeout_ms < 30_000
