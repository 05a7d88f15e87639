"""WAF in front of CloudFront (us-east-1) and the ALB: managed rule groups and a per-IP rate limit."""

from __future__ import annotations

import pytest

from components.web_acl import COUNT_ONLY, MANAGED_RULE_GROUPS, WebAcl, WebAclArgs


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
        groups = [r["statement"]["managedRuleGroupStatement"]["name"] for r in rules[:-1]]
        assert groups == list(MANAGED_RULE_GROUPS)
        assert "AWSManagedRulesBotControlRuleSet" not in groups  # crawlers are welcome (module docstring)
        anonymous = rules[groups.index("AWSManagedRulesAnonymousIpList")]["statement"]["managedRuleGroupStatement"]
        assert [o["name"] for o in anonymous["ruleActionOverrides"]] == list(
            COUNT_ONLY["AWSManagedRulesAnonymousIpList"]
        )
        rate = rules[-1]
        assert rate["action"] == {"block": {}} and rate["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
        assert acl["inputs"]["defaultAction"] == {"allow": {}}


def test_a_rate_limit_below_wafs_minimum_is_refused():
    from foundation.identity import StackIdentity

    ident = StackIdentity("prod", "shop", "platform-team", "PRODUCTION", "prod", "eu-west-1")
    with pytest.raises(ValueError, match="rate_limit 5 is below WAF's minimum of 10"):
        WebAcl("x", WebAclArgs(ident, "alb", "REGIONAL", rate_limit=5))
