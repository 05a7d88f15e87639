"""Property-based: whatever CloudFront hands the edge router, it returns a
request CloudFront accepts. A raised exception or a malformed return value is
a 502/503 for the viewer (the field report's "502 Bad Gateway mystery")."""

from __future__ import annotations

import copy
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

INTERESTING_NAMES = [
    "host",
    "user-agent",
    "x-prerender",
    "x-prerender-host",
    "x-prerender-token",
    "accept",
    "cookie",
    "x-forwarded-for",
    "cloudfront-viewer-country",
]
BOT_UAS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Twitterbot/1.0",
    "facebookexternalhit/1.1",
    "Mozilla/5.0 (compatible; ClaudeBot/1.0)",
]

header_names = st.one_of(
    st.sampled_from(INTERESTING_NAMES),
    st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20),
)
header_values = st.one_of(st.text(max_size=200), st.sampled_from(BOT_UAS))
header_entries = st.lists(
    st.fixed_dictionaries({"key": st.text(max_size=20), "value": header_values}), min_size=1, max_size=3
)
headers_strategy = st.dictionaries(header_names, header_entries, max_size=10)
uris = st.one_of(
    st.text(max_size=120).map(lambda s: "/" + s),
    st.sampled_from(["/", "/robots.txt", "/a.js", "/%F0%9F%98%80", "/../../etc/passwd", "/a//b", "/ünï/cödé"]),
)
querystrings = st.one_of(st.text(max_size=120), st.sampled_from(["", "a=1&a=2", "q=%ZZ", "_escaped_fragment_="]))
methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE", "PATCH"])
event_types = st.sampled_from(["viewer-request", "origin-request"])


def assert_valid_cloudfront_request(request, original):
    assert isinstance(request, dict)
    for key in ("uri", "method", "querystring", "headers", "clientIp"):
        assert key in request, key
    # The router may add/remove headers and set an origin; it never rewrites
    # what identifies the resource.
    assert request["uri"] == original["uri"]
    assert request["method"] == original["method"]
    assert request["querystring"] == original["querystring"]
    headers = request["headers"]
    assert isinstance(headers, dict)
    for name, entries in headers.items():
        assert isinstance(name, str) and name == name.lower()
        assert isinstance(entries, list) and entries
        for entry in entries:
            assert set(entry) == {"key", "value"}
            assert isinstance(entry["value"], str)
            assert entry["key"].lower() == name or name in original["headers"]
    if "origin" in request:
        origin = request["origin"]
        assert len(origin) == 1 and set(origin) <= {"s3", "custom"}
        if "custom" in origin:
            custom = origin["custom"]
            for key in (
                "domainName",
                "port",
                "protocol",
                "path",
                "sslProtocols",
                "readTimeout",
                "keepaliveTimeout",
                "customHeaders",
            ):
                assert key in custom, key
            assert headers["host"][0]["value"] == custom["domainName"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event_type=event_types, headers=headers_strategy, uri=uris, querystring=querystrings, method=methods)
def test_any_request_yields_a_valid_cloudfront_request(edge, cf, event_type, headers, uri, querystring, method):
    origin = copy.deepcopy(cf.s3_origin) if event_type == "origin-request" else None
    event = cf.event(event_type, uri=uri, headers=headers, querystring=querystring, method=method, origin=origin)
    original = copy.deepcopy(event["Records"][0]["cf"]["request"])
    result = edge.handler(event, None)
    assert_valid_cloudfront_request(result, original)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=headers_strategy, uri=uris, querystring=querystrings)
def test_non_crawlers_never_leave_viewer_request_with_prerender_headers(edge, cf, headers, uri, querystring):
    headers = dict(headers)
    headers["user-agent"] = [{"key": "User-Agent", "value": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}]
    event = cf.event("viewer-request", uri=uri, headers=headers, querystring=querystring)
    result = edge.handler(event, None)
    assert not {"x-prerender", "x-prerender-host", "x-prerender-token"} & set(result["headers"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ua=st.sampled_from(BOT_UAS), host=st.text(min_size=1, max_size=60), uri=uris, querystring=querystrings)
def test_crawler_chain_ends_at_the_renderer_unless_static(edge, cf, ua, host, uri, querystring):
    headers = cf.headers(host=host, user_agent=ua)
    viewer_out = edge.handler(cf.event("viewer-request", uri=uri, headers=headers, querystring=querystring), None)
    origin_event = cf.event(
        "origin-request",
        uri=uri,
        headers=viewer_out["headers"],
        querystring=querystring,
        origin=copy.deepcopy(cf.s3_origin),
    )
    origin_out = edge.handler(origin_event, None)
    if edge.is_static_asset(uri):
        assert origin_out["origin"] == cf.s3_origin
    else:
        assert origin_out["origin"]["custom"]["domainName"] == edge.settings()["renderer_domain"]
        assert origin_out["headers"]["x-prerender-host"][0]["value"] == host
