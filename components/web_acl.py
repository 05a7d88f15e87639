"""A WAF web ACL in front of a public entry point: AWS managed rule groups and a per-IP rate limit.

Issue 13's security review: neither CloudFront nor the ALB had a WAF, so
injection probes, known-bad inputs (Log4Shell's ``${jndi:``) and a single
client's flood reached the app and the renderer (a billable headless browser).
Crawlers are welcome here (they are why the renderer exists), so AWS's Bot
Control group is deliberately not used: its common level labels and, by
default, blocks unverified bots and challenges "non-browser" clients, which
is exactly the traffic prerendering serves. The per-IP rate limit is the
ceiling instead; verified search engines crawl from many addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from foundation.identity import StackIdentity

# In priority order: reputation first (cheapest verdict), then the broad set, then known-bad inputs (Log4j).
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAnonymousIpList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
# Rules of those groups that only count: many crawlers (AI and SEO ones above all) run from cloud hosting,
# which HostingProviderIPList would block. Anonymising proxies (Tor, VPN exits) stay blocked.
COUNT_ONLY = {"AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",)}
RATE_LIMIT_PER_5_MINUTES = 2000  # per client IP: ~7 requests/s sustained, far above a person or a polite crawler


@dataclass(frozen=True)
class WebAclArgs:
    identity: StackIdentity
    component: str  # "spa" or "alb": names the ACL and its metrics
    scope: Literal["CLOUDFRONT", "REGIONAL"]  # CLOUDFRONT ACLs exist only in us-east-1 (the provider decides)
    rate_limit: int = RATE_LIMIT_PER_5_MINUTES


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    return aws.wafv2.WebAclVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _rule_visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return aws.wafv2.WebAclRuleVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


class WebAcl(pulumi.ComponentResource):
    """The web ACL; attach it with ``arn`` (CloudFront's web_acl_id) or ``associate`` (an ALB)."""

    arn: pulumi.Output[str]

    def __init__(self, name: str, args: WebAclArgs, opts: pulumi.ResourceOptions | None = None):
        if args.rate_limit < 10:  # refused before anything is registered
            raise ValueError(f"web ACL '{name}': rate_limit {args.rate_limit} is below WAF's minimum of 10")
        super().__init__("platform:security:WebAcl", name, None, opts)
        ident = args.identity
        label = ident.label(f"{args.component}-waf")
        rules = [
            aws.wafv2.WebAclRuleArgs(
                name=group,
                priority=priority,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                    none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()
                ),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        name=group,
                        vendor_name="AWS",
                        rule_action_overrides=[
                            aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
                                name=rule,
                                action_to_use=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                                    count=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()
                                ),
                            )
                            for rule in COUNT_ONLY.get(group, ())
                        ]
                        or None,
                    )
                ),
                visibility_config=_rule_visibility(f"{label}-{group}"),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            aws.wafv2.WebAclRuleArgs(
                name="rate-per-ip",
                priority=len(MANAGED_RULE_GROUPS),
                action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        limit=args.rate_limit, aggregate_key_type="IP", evaluation_window_sec=300
                    )
                ),
                visibility_config=_rule_visibility(f"{label}-rate-per-ip"),
            )
        )
        acl = aws.wafv2.WebAcl(
            args.component,
            name=ident.name("aws:wafv2/webAcl:WebAcl", f"{args.component}-waf"),
            description=f"{label}: AWS managed rules and a per-IP rate limit",
            scope=args.scope,
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=rules,
            visibility_config=_visibility(label),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._component = args.component
        self.arn = acl.arn
        self.register_outputs({"arn": self.arn})

    def associate(self, resource_arn: pulumi.Input[str]) -> aws.wafv2.WebAclAssociation:
        """Put the ACL in front of a regional resource (an ALB); CloudFront takes the ARN on the distribution."""
        return aws.wafv2.WebAclAssociation(
            self._component,
            resource_arn=resource_arn,
            web_acl_arn=self.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
