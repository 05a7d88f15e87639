"""WAF in front of CloudFront (us-east-1) and the ALB: managed rule groups and a per-IP rate limit."""

from __future__ import annotations

import re

import pytest

from components.web_acl import (
    BOT_CONTROL,
    COUNT_ONLY,
    CRAWLER_HEADER_SENT,
    MANAGED_RULE_GROUPS,
    PAGE_PATH,
    VERIFIED_BOT_LABEL,
    WebAcl,
    WebAclArgs,
)


@pytest.fixture
def acls(shipped_preview):
    prod = shipped_preview("prod")
    return prod, {a["name"]: a for a in prod.resources("aws:wafv2/webAcl:WebAcl")}


def test_cloudfront_acl_is_global_in_us_east_1_and_alb_acl_regional(acls):
    prod, by_name = acls
    assert by_name["spa"]["inputs"]["scope"] == "CLOUDFRONT" and by_name["spa"]["provider"].endswith("aws-us-east-1")
    assert by_name["alb"]["inputs"]["scope"] == "REGIONAL"
    distribution = prod.one("aws:cloudfront/distribution:Distribution", "spa")
    assert by_name["spa"]["urn"] in distribution["dependencies"]  # webAclId is the ACL's ARN
    association = prod.one("aws:wafv2/webAclAssociation:WebAclAssociation", "alb")
    alb = prod.one("aws:lb/loadBalancer:LoadBalancer", "alb")
    assert alb["urn"] in association["dependencies"]


def test_managed_groups_then_a_rate_limit_and_crawlers_from_cloud_hosts_are_only_counted(acls):
    _, by_name = acls
    for acl in by_name.values():
        rules = sorted(acl["inputs"]["rules"], key=lambda r: r["priority"])
        rate_at = [r["name"] for r in rules].index("rate-per-ip")
        groups = [r["statement"]["managedRuleGroupStatement"]["name"] for r in rules[:rate_at]]
        assert groups == list(MANAGED_RULE_GROUPS)
        anonymous = rules[groups.index("AWSManagedRulesAnonymousIpList")]["statement"]["managedRuleGroupStatement"]
        assert [o["name"] for o in anonymous["ruleActionOverrides"]] == list(
            COUNT_ONLY["AWSManagedRulesAnonymousIpList"]
        )
        # Nothing after the rate limit blocks: crawlers are welcome (module docstring).
        assert all("block" not in (r.get("action") or {}) for r in rules[rate_at + 1 :])
        rate = rules[rate_at]
        assert rate["action"] == {"block": {}} and rate["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
        assert acl["inputs"]["defaultAction"] == {"allow": {}}


def test_a_rate_limit_below_wafs_minimum_is_refused():
    from foundation.identity import StackIdentity

    ident = StackIdentity("prod", "shop", "platform-team", "PRODUCTION", "prod", "eu-west-1")
    with pytest.raises(ValueError, match="rate_limit 5 is below WAF's minimum of 10"):
        WebAcl("x", WebAclArgs(ident, "alb", "REGIONAL", rate_limit=5))


def _header_rules(acl):
    """(inserted header, value, statement) of every rule that inserts a request header, in priority order."""
    found = []
    for rule in sorted(acl["inputs"]["rules"], key=lambda r: r["priority"]):
        count = (rule.get("action") or {}).get("count") or {}
        for header in (count.get("customRequestHandling") or {}).get("insertHeaders", []):
            found.append((f"x-amzn-waf-{header['name']}", header["value"], rule["statement"]))
    return found


def test_bot_control_only_counts_and_labels_pages_of_the_distribution(acls):
    _, by_name = acls
    rules = sorted(by_name["spa"]["inputs"]["rules"], key=lambda r: r["priority"])
    names = [r["name"] for r in rules]
    bot = rules[names.index(BOT_CONTROL)]
    assert bot["overrideAction"] == {"count": {}}, "Bot Control labels; it must never block a crawler"
    group = bot["statement"]["managedRuleGroupStatement"]
    assert group["managedRuleGroupConfigs"][0]["awsManagedRulesBotControlRuleSet"]["inspectionLevel"] == "COMMON"
    scope = group["scopeDownStatement"]["regexMatchStatement"]
    pages = [p for p in ("/", "/articles/launch-day", "/search") if re.search(scope["regexString"], p)]
    assets = [p for p in ("/assets/app.3f2a.js", "/favicon.ico", "/static/logo.png") if re.search(PAGE_PATH, p)]
    assert pages == ["/", "/articles/launch-day", "/search"] and assets == []
    assert BOT_CONTROL not in [r["name"] for r in by_name["alb"]["inputs"]["rules"]], "the ALB has no renderer"


def test_every_request_gets_the_crawler_header_so_a_viewer_cannot_send_its_own(acls):
    _, by_name = acls
    rules = sorted(by_name["spa"]["inputs"]["rules"], key=lambda r: r["priority"])
    headers = _header_rules(by_name["spa"])
    assert {h for h, _, _ in headers} == {CRAWLER_HEADER_SENT}
    verified = [s for _, v, s in headers if v == "verified"]
    unverified = [s for _, v, s in headers if v == "unverified"]
    assert verified == [{"labelMatchStatement": {"scope": "LABEL", "key": VERIFIED_BOT_LABEL}}]
    # The complement of the verified rule: exactly one of the two matches any request, and WAF overwrites a header
    # of the same name, so whatever the viewer sent is replaced.
    assert unverified == [{"notStatement": {"statement": verified[0]}}]
    names = [r["name"] for r in rules]
    assert names.index(BOT_CONTROL) < min(names.index("crawler-verified"), names.index("crawler-unverified"))


def test_crawler_verification_on_a_regional_acl_is_refused():
    from foundation.identity import StackIdentity

    ident = StackIdentity("prod", "shop", "platform-team", "PRODUCTION", "prod", "eu-west-1")
    with pytest.raises(ValueError, match="verify_crawlers True needs scope CLOUDFRONT, got 'REGIONAL'"):
        WebAcl("alb", WebAclArgs(ident, "alb", "REGIONAL", verify_crawlers=True))
