"""The renderer's egress proxy: hostile pages of the allowed site against a loopback canary, in real Chromium.

Each page of the hostile site tries one way out of the browser (HOSTILE_PATHS in conftest.py); the canary listens on
127.0.0.2, 127.0.0.1 (where Lambda's runtime API would be) and ::1, and counts every connection and datagram. The
test world delivers any address the proxy lets through, other than the sites, to the canary too, so a hole in the
check is counted even for addresses that do not exist here (169.254.169.254, 10.0.0.1).
"""

from __future__ import annotations

import asyncio
import re

import pytest


def _run(coroutine):
    # Playwright's sync API keeps an event loop on the main thread: the check runs on a thread of its own.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def hostile_renderer(renderer, hostile_site, monkeypatch):
    from lambda_src.renderer import config

    monkeypatch.setenv("SITE_ORIGINS", f"{hostile_site.origin},{renderer.spa.origin}")
    monkeypatch.setenv("RENDER_TIMEOUT_MS", "10000")
    config.reload_config()
    return renderer


class TestHostilePages:
    def test_no_attack_path_reaches_the_canary_and_the_page_still_renders(
        self, hostile_renderer, hostile_site, canary, hostile_path, hostile_uri
    ):
        path = hostile_path  # one per HOSTILE_PATHS entry (conftest.pytest_generate_tests)
        before = canary.total()
        response = hostile_renderer.invoke(hostile_uri(path), host=hostile_site.netloc)[0]
        assert canary.total() == before, f"{path}: reached the canary: {canary.requests[-3:]}"
        assert response["statusCode"] == 200, response["body"][:300]
        assert f"rendered: {path}" in response["body"], "the defence must not be 'render nothing'"
        assert "canary-secret" not in response["body"]

    def test_a_top_level_redirect_is_answered_as_that_redirect_and_not_followed(
        self, hostile_renderer, hostile_site, canary
    ):
        before = canary.total()
        response = hostile_renderer.invoke("/away", host=hostile_site.netloc)[0]
        assert response["statusCode"] == 302
        assert response["headers"]["location"] == f"http://{canary.host}:{canary.port}/away"
        assert response["body"] == ""
        assert canary.total() == before
        assert hostile_renderer.keys() == [], "a redirect is not a snapshot"

    def test_dns_rebinding_connects_to_the_address_that_was_checked(
        self, hostile_renderer, hostile_site, test_world, hostile_uri
    ):
        test_world.rebind_calls = 0
        test_world.connected.clear()
        hostile_renderer.invoke(
            hostile_uri("DNS rebinding (a name that answers public, then loopback)"), host=hostile_site.netloc
        )
        assert test_world.rebind_calls >= 2, "the page asked twice, so the name answered loopback the second time"
        assert (test_world.public_address, test_world.canary.port) in test_world.connected, (
            "the first (public) answer was used"
        )
        assert all(address != test_world.canary.host for address, _ in test_world.connected)

    def test_the_canary_counts_what_reaches_it(self, canary):
        import socket

        before = canary.total()
        for host in ("127.0.0.2", "127.0.0.1"):
            with socket.create_connection((host, canary.port), timeout=2) as sock:
                sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
                assert b"canary-secret" in sock.recv(4096)
        assert canary.total() == before + 2

    def test_the_same_pages_in_a_browser_without_the_proxy_do_reach_the_canary(
        self, hostile_renderer, hostile_site, canary, chromium_path, hostile_uri
    ):
        # Control: the hostile pages do try, so the zeros above mean "stopped", not "never asked".
        from lambda_src.renderer import browser

        pw = browser.playwright_instance()
        plain = pw.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        reached = {}
        try:
            for path in ("fetch, XHR and sendBeacon to the runtime API's address (127.0.0.1)", "WebSocket"):
                before = canary.total()
                page = plain.new_page()
                page.goto(hostile_site.origin + hostile_uri(path))
                page.wait_for_function("() => window.prerenderReady === true", timeout=8000)
                page.close()
                reached[path] = canary.total() - before
        finally:
            plain.close()
        assert all(count > 0 for count in reached.values()), reached


class TestAddressCheck:
    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1",
            "127.255.255.254",
            "::1",
            "0.0.0.0",
            "::",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "100.64.0.1",  # CGNAT
            "169.254.169.254",  # instance metadata
            "fd00:ec2::254",  # IMDS over IPv6 (unique local)
            "fe80::1%eth0",
            "::ffff:127.0.0.1",  # IPv4-mapped
            "::ffff:169.254.169.254",
            "::127.0.0.1",  # IPv4-compatible (deprecated)
            "64:ff9b::7f00:1",  # NAT64 well-known prefix around 127.0.0.1
            "64:ff9b::808:808",  # NAT64 around a public address: still a transition form
            "64:ff9b:1::a00:1",  # local-use NAT64
            "2002:7f00:1::1",  # 6to4 around 127.0.0.1
            "2002:808:808::1",  # 6to4 around a public address
            "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
            "224.0.0.1",
            "ff02::1",
            "192.0.2.1",  # documentation
            "198.18.0.1",  # benchmarking
            "240.0.0.1",  # reserved
        ],
    )
    def test_non_global_addresses_are_refused_in_every_spelling(self, address):
        from lambda_src.renderer import egress

        assert egress.refusal(address) is not None

    @pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::200e"])
    def test_global_addresses_are_allowed(self, address):
        from lambda_src.renderer import egress

        assert egress.refusal(address) is None

    @pytest.mark.parametrize(
        ("host", "address"),
        [
            ("2130706433", "127.0.0.1"),
            ("0177.0.0.1", "127.0.0.1"),
            ("0x7f.1", "127.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("0x7f000001", "127.0.0.1"),
            ("[::ffff:7f00:1]", "::ffff:7f00:1"),
            ("cafe.be", None),
            ("www.example.com", None),
        ],
    )
    def test_short_decimal_octal_and_hex_ipv4_are_read_as_the_address_they_name(self, host, address):
        from lambda_src.renderer import egress

        assert egress.literal_address(host) == address


class TestTheTestSeamCannotWeakenProduction:
    def test_the_production_proxy_refuses_the_loopback_site_the_tests_use(self, spa_server):
        from lambda_src.renderer import egress

        production = egress.EgressProxy()
        with pytest.raises(egress.Refused, match="loopback"):
            _run(production.checked(spa_server.host, spa_server.port))

    def test_an_exemption_is_refused_on_lambda(self, monkeypatch, spa_server):
        from lambda_src.renderer import egress

        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "prerender")
        with pytest.raises(ValueError, match="test seam"):
            egress.EgressProxy(exempt={(spa_server.host, spa_server.port)})

    def test_an_exemption_is_one_address_and_port_not_loopback(self, egress_proxy, spa_server, canary):
        from lambda_src.renderer import egress

        with pytest.raises(egress.Refused):
            _run(egress_proxy.checked(spa_server.host, canary.port))

    def test_chromium_sends_loopback_through_the_proxy_and_resolves_nothing_itself(self):
        from lambda_src.renderer import browser

        args = [*browser.LAUNCH_ARGS, *browser.proxy_args("http://127.0.0.1:1")]
        assert "--proxy-bypass-list=<-loopback>" in args
        rules = next(a for a in args if a.startswith("--host-resolver-rules="))
        assert re.fullmatch(r"--host-resolver-rules=MAP \* ~NOTFOUND, EXCLUDE 127\.0\.0\.1", rules)
        assert {"--disable-quic", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp"} <= set(args)
