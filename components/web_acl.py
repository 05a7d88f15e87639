"""A WAF web ACL in front of a public entry point: AWS managed rule groups and a per-IP rate limit.

Issue 13's security review: neither CloudFront nor the ALB had a WAF, so
injection probes, known-bad inputs (Log4Shell's ``${jndi:``) and a single
client's flood reached the app and the renderer (a billable headless browser).
Crawlers are welcome here (they are why the renderer exists), so nothing
blocks them: the per-IP rate limit is the ceiling; verified search engines
crawl from many addresses.

Issue 31: a crawler user agent costs nothing to send, so a flood of spoofed
"Googlebot" requests could take the renderer's reserved concurrency from the
real crawlers. With ``verify_crawlers`` (the distribution's ACL) AWS's Bot
Control group runs at its common level with every rule only counting (it
labels, never blocks), on pages only, and two rules turn its verdict into a
header the viewer-request function reads: ``x-amzn-waf-crawler: verified``
when Bot Control verified the bot (its operator's published addresses),
``unverified`` on every other request. One of the two matches every request
and WAF overwrites a header of the same name, so a viewer cannot send its
own ``verified``.
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
BOT_CONTROL = "AWSManagedRulesBotControlRuleSet"
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-bot-control-example-allow-verified-bots.html
VERIFIED_BOT_LABEL = "awswaf:managed:aws:bot-control:bot:verified"
# WAF prefixes what it inserts with x-amzn-waf- and overwrites a header of the same name
# (https://docs.aws.amazon.com/waf/latest/developerguide/customizing-the-incoming-request.html).
CRAWLER_HEADER = "crawler"
CRAWLER_HEADER_SENT = f"x-amzn-waf-{CRAWLER_HEADER}"
# Pages only (the last path segment has no dot, as the viewer-request function's page rule): Bot Control is billed
# per request it inspects, and assets never go to the renderer.
PAGE_PATH = r"/[^/.]*$"


@dataclass(frozen=True)
class WebAclArgs:
    identity: StackIdentity
    component: str  # "spa" or "alb": names the ACL and its metrics
    scope: Literal["CLOUDFRONT", "REGIONAL"]  # CLOUDFRONT ACLs exist only in us-east-1 (the provider decides)
    rate_limit: int = RATE_LIMIT_PER_5_MINUTES
    verify_crawlers: bool = False  # Bot Control labels + the x-amzn-waf-crawler header (CloudFront only)


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
        if args.verify_crawlers and args.scope != "CLOUDFRONT":
            raise ValueError(
                f"web ACL '{name}': verify_crawlers {args.verify_crawlers} needs scope CLOUDFRONT, got {args.scope!r}"
                " (the header is read by the distribution's viewer-request function)"
            )
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
        if args.verify_crawlers:
            rules += _crawler_verification(label, first_priority=len(rules))
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


def _crawler_header(value: str) -> aws.wafv2.WebAclRuleActionArgs:
    return aws.wafv2.WebAclRuleActionArgs(
        count=aws.wafv2.WebAclRuleActionCountArgs(
            custom_request_handling=aws.wafv2.WebAclRuleActionCountCustomRequestHandlingArgs(
                insert_headers=[
                    aws.wafv2.WebAclRuleActionCountCustomRequestHandlingInsertHeaderArgs(
                        name=CRAWLER_HEADER, value=value
                    )
                ]
            )
        )
    )


def _crawler_verification(label: str, first_priority: int) -> list[aws.wafv2.WebAclRuleArgs]:
    """Bot Control counting and labelling pages, then the header from its verdict (after it: labels exist by then)."""
    verified = aws.wafv2.WebAclRuleStatementArgs(
        label_match_statement=aws.wafv2.WebAclRuleStatementLabelMatchStatementArgs(
            scope="LABEL", key=VERIFIED_BOT_LABEL
        )
    )
    return [
        aws.wafv2.WebAclRuleArgs(
            name=BOT_CONTROL,
            priority=first_priority,
            # Count: every rule of the group only labels. Its common level would otherwise block unverified bots and
            # "non-browser" clients, which is the traffic prerendering serves (the unverified get the app instead).
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(count=aws.wafv2.WebAclRuleOverrideActionCountArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                    name=BOT_CONTROL,
                    vendor_name="AWS",
                    managed_rule_group_configs=[
                        aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementManagedRuleGroupConfigArgs(
                            aws_managed_rules_bot_control_rule_set=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementManagedRuleGroupConfigAwsManagedRulesBotControlRuleSetArgs(
                                inspection_level="COMMON"
                            )
                        )
                    ],
                    scope_down_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementArgs(
                        regex_match_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementRegexMatchStatementArgs(
                            regex_string=PAGE_PATH,
                            field_to_match=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementRegexMatchStatementFieldToMatchArgs(
                                uri_path=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementRegexMatchStatementFieldToMatchUriPathArgs()
                            ),
                            text_transformations=[
                                aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementScopeDownStatementRegexMatchStatementTextTransformationArgs(
                                    priority=0, type="NONE"
                                )
                            ],
                        )
                    ),
                )
            ),
            visibility_config=_rule_visibility(f"{label}-bot-control"),
        ),
        aws.wafv2.WebAclRuleArgs(
            name="crawler-verified",
            priority=first_priority + 1,
            action=_crawler_header("verified"),
            statement=verified,
            visibility_config=_rule_visibility(f"{label}-crawler-verified"),
        ),
        aws.wafv2.WebAclRuleArgs(
            name="crawler-unverified",
            priority=first_priority + 2,
            action=_crawler_header("unverified"),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                not_statement=aws.wafv2.WebAclRuleStatementNotStatementArgs(statement=verified)
            ),
            visibility_config=_rule_visibility(f"{label}-crawler-unverified"),
        ),
    ]
