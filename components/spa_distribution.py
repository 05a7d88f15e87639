"""CloudFront in front of the single-page app: crawlers to our renderer, humans routed by country and A/B.

The viewer-request function (components/edge_functions.py) marks crawler requests
(``x-prerender*``) and humans' route and variant (``x-route``, ``x-variant``); the
pages cache policy keys on exactly those headers, so crawler and human entries never
mix and two variants or routes never share an entry, while rendered pages *are*
cached at CloudFront (the report's per-request cache-buster prevented that:
``spa-seo-prerender-lambda-edge.md``). Tracking parameters are stripped by the
function before the key is computed. The renderer is reached through origin access
control only; when it fails, the request fails over to the app shell, never a 5xx.
Humans get the security response headers on every response.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.access_logs import CLOUDFRONT_PREFIX, AccessLogs
from components.dashboard import AlarmStatus, Section
from foundation.buckets import abort_incomplete_uploads, private_bucket
from foundation.identity import StackIdentity
from stack_config.edge import EdgeConfig

SPA_ORIGIN_ID = "spa"
RENDERER_ORIGIN_ID = "renderer"
# Set only by the viewer-request function (it deletes what viewers send): crawler vs human, the crawler's page,
# the human's country route and A/B variant.
CACHE_KEY_HEADERS = ["x-prerender", "x-prerender-host", "x-prerender-uri", "x-route", "x-variant"]
# Read by the function (CloudFront adds it only when a policy names it); forwarded, never part of the key.
VIEWER_COUNTRY_HEADER = "cloudfront-viewer-country"
# AWS managed cache policy "CachingOptimized": assets are immutable and fingerprinted.
MANAGED_CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
TLS_POLICY = "TLSv1.2_2021"
HSTS_SECONDS = 63072000  # two years, what hstspreload.org asks for
FIVE_XX_RATE_PERCENT = 5
NONCURRENT_DAYS = 30  # a bad app upload is noticed within days; a month of old versions is the way back
NEWER_VERSIONS_KEPT = 3  # and the last three releases' objects stay whatever their age


@dataclass(frozen=True)
class SpaDistributionArgs:
    identity: StackIdentity
    config: EdgeConfig
    viewer_request_arn: pulumi.Input[str]  # published CloudFront Functions (components/edge_functions.py)
    viewer_response_arn: pulumi.Input[str]
    renderer_domain: pulumi.Input[str]  # the renderer's function URL host
    renderer_origin_access_control_id: pulumi.Input[str]
    certificate_provider: aws.Provider  # ACM certificates for CloudFront exist only in us-east-1
    web_acl_arn: pulumi.Input[str] | None = None  # a CLOUDFRONT-scope WAF web ACL (us-east-1)
    access_logs: AccessLogs | None = None  # standard logs under cloudfront/ in the stack's log bucket
    # CloudFront's metrics live in us-east-1 and an alarm notifies only a topic in its own region: the 5xx alarm
    # and its topic (subscribed by these addresses) are made with this provider.
    alarm_provider: aws.Provider | None = None
    alert_emails: list[str] = field(default_factory=list)


def https_origin(
    origin_id: str, domain: pulumi.Input[str], access_control_id: pulumi.Input[str] | None = None
) -> aws.cloudfront.DistributionOriginArgs:
    """A custom origin over TLS 1.2 only, with CloudFront's 30 s read timeout."""
    return aws.cloudfront.DistributionOriginArgs(
        origin_id=origin_id,
        domain_name=domain,
        origin_access_control_id=access_control_id,
        custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
            http_port=80,
            https_port=443,
            origin_protocol_policy="https-only",
            origin_ssl_protocols=["TLSv1.2"],
            origin_read_timeout=30,
        ),
    )


def failover_dns_changes(names: list[str], distribution_domain: str, distribution_zone: str) -> dict[str, Any]:
    """The Route 53 change batch that points ``names`` at this distribution (``aws route53 change-resource-record-sets
    --change-batch``): A and AAAA aliases, as the owner's stack writes them."""
    return {
        "Comment": f"fail over {', '.join(names)} to {distribution_domain}",
        "Changes": [
            {
                "Action": "UPSERT",
                "ResourceRecordSet": {
                    "Name": name,
                    "Type": record_type,
                    "AliasTarget": {
                        "HostedZoneId": distribution_zone,
                        "DNSName": distribution_domain,
                        "EvaluateTargetHealth": False,
                    },
                },
            }
            for name in names
            for record_type in ("A", "AAAA")
        ],
    }


def cache_key_headers() -> list[str]:
    return list(CACHE_KEY_HEADERS)


class SpaDistribution(pulumi.ComponentResource):
    """The distribution, its origins (app, renderer, routed), policies, certificate, DNS and 5xx alarm.

    Prevents: crawlers and humans (or two variants) sharing a cache entry, a renderer
    failure reaching a crawler as a 5xx, pages without HSTS/nosniff/frame/referrer
    headers, and a 5xx storm nobody hears about.
    """

    domain_name: pulumi.Output[str]
    dashboard: Section  # the 5xx alarm's status on the environment's dashboard
    distribution_id: pulumi.Output[str]
    arn: pulumi.Output[str]
    # The Route 53 change batch that points failoverDomainNames here (empty without them): runbook, docs/recovery.md.
    failover_dns_changes: pulumi.Output[dict[str, Any]] | None = None

    def __init__(self, name: str, args: SpaDistributionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:edge:SpaDistribution", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)

        pages_policy = self._cache_policy(ident, "pages", cfg.renderer.cache_ttl_seconds, 0, child)
        origin_request = aws.cloudfront.OriginRequestPolicy(
            "pages",
            name=ident.name("aws:cloudfront/originRequestPolicy:OriginRequestPolicy", "pages"),
            comment="The viewer's country for the routing function; never Host (origin access control signs it)",
            headers_config=aws.cloudfront.OriginRequestPolicyHeadersConfigArgs(
                header_behavior="whitelist",
                headers=aws.cloudfront.OriginRequestPolicyHeadersConfigHeadersArgs(items=[VIEWER_COUNTRY_HEADER]),
            ),
            cookies_config=aws.cloudfront.OriginRequestPolicyCookiesConfigArgs(cookie_behavior="none"),
            query_strings_config=aws.cloudfront.OriginRequestPolicyQueryStringsConfigArgs(
                query_string_behavior="none"  # the cache policy already forwards the (stripped) query
            ),
            opts=child,
        )
        headers_policy = self._response_headers(ident, child)

        origin, bucket = self._origin(ident, cfg, child)
        origins = [origin, self._renderer_origin(args), *self._routed_origins(cfg)]
        certificate_arn = self._certificate(ident, cfg, args.certificate_provider)
        page_functions = [
            aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs(
                event_type="viewer-request", function_arn=args.viewer_request_arn
            ),
            aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs(
                event_type="viewer-response", function_arn=args.viewer_response_arn
            ),
        ]
        # With routed origins, an asset must come from the origin that served its page (a variant's build has its
        # own files): asset behaviours then run the viewer-request function too and key on route and variant.
        routed = bool(cfg.routing.origins)
        assets_policy_id: pulumi.Input[str] = (
            self._cache_policy(ident, "assets", 31536000, 86400, child).id if routed else MANAGED_CACHING_OPTIMIZED
        )
        asset_functions = (
            [
                aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs(
                    event_type="viewer-request", function_arn=args.viewer_request_arn
                )
            ]
            if routed
            else None
        )
        distribution = aws.cloudfront.Distribution(
            "spa",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=cfg.price_class,
            comment=f"{ident.label('spa')}: app for humans, prerendered pages for crawlers",
            aliases=cfg.aliases,
            default_root_object="index.html",
            origins=origins,
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=SPA_ORIGIN_ID,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD", "OPTIONS"],  # what origin failover allows
                cached_methods=["GET", "HEAD"],
                compress=True,
                cache_policy_id=pages_policy.id,
                origin_request_policy_id=origin_request.id,
                response_headers_policy_id=headers_policy.id,
                function_associations=page_functions,
            ),
            ordered_cache_behaviors=[
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=pattern,
                    target_origin_id=SPA_ORIGIN_ID,
                    viewer_protocol_policy="redirect-to-https",
                    allowed_methods=["GET", "HEAD"],
                    cached_methods=["GET", "HEAD"],
                    compress=True,
                    cache_policy_id=assets_policy_id,
                    response_headers_policy_id=headers_policy.id,
                    function_associations=asset_functions,
                )
                for pattern in cfg.static_path_patterns
            ],
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")
            ),
            viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=certificate_arn, ssl_support_method="sni-only", minimum_protocol_version=TLS_POLICY
            ),
            web_acl_id=args.web_acl_arn,
            logging_config=aws.cloudfront.DistributionLoggingConfigArgs(
                bucket=args.access_logs.bucket_domain_name, prefix=CLOUDFRONT_PREFIX, include_cookies=False
            )
            if args.access_logs
            else None,
            # CloudFront grants its log delivery an ACL on the bucket: ACLs must be enabled before it tries.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.access_logs] if args.access_logs else None),
        )
        if bucket is not None:
            self._allow_distribution(bucket, distribution, child)
        self._dns(cfg, distribution, child)
        alarms = (
            [self._five_xx_alarm(ident, distribution, args.alarm_provider, args.alert_emails)]
            if args.alarm_provider is not None
            else []
        )
        # The alarm lives in us-east-1 with CloudFront's metrics; an alarm widget shows it from any region.
        self.dashboard = Section(
            "CloudFront", [AlarmStatus("CloudFront 5xx rate (us-east-1)", [a.arn for a in alarms])] if alarms else []
        )

        self.domain_name = distribution.domain_name
        self.distribution_id = distribution.id
        self.arn = distribution.arn
        self.register_outputs({"domain_name": self.domain_name})

    def _cache_policy(
        self, ident: StackIdentity, name: str, max_ttl: int, default_ttl: int, child: pulumi.ResourceOptions
    ) -> aws.cloudfront.CachePolicy:
        """Pages: default TTL 0 (the renderer's Cache-Control decides for crawler pages; a release is seen at once).
        Assets (only with routed origins): long TTLs like CachingOptimized, keyed on route and variant."""
        return aws.cloudfront.CachePolicy(
            name,
            name=ident.name("aws:cloudfront/cachePolicy:CachePolicy", name),
            comment="Keyed on the function's markers: crawler/human, route and variant never share an entry",
            min_ttl=0,
            default_ttl=default_ttl,
            max_ttl=max_ttl,
            parameters_in_cache_key_and_forwarded_to_origin=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
                enable_accept_encoding_gzip=True,
                enable_accept_encoding_brotli=True,
                headers_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                    header_behavior="whitelist",
                    headers=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigHeadersArgs(
                        items=cache_key_headers() if name == "pages" else ["x-route", "x-variant"]
                    ),
                ),
                cookies_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                    cookie_behavior="none"  # the variant cookie is read by the function; x-variant is the key
                ),
                # The app's own parameters key the cache; the function removed the tracking ones already.
                query_strings_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                    query_string_behavior="all"
                ),
            ),
            opts=child,
        )

    def _response_headers(
        self, ident: StackIdentity, child: pulumi.ResourceOptions
    ) -> aws.cloudfront.ResponseHeadersPolicy:
        return aws.cloudfront.ResponseHeadersPolicy(
            "security",
            name=ident.name("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "security"),
            comment="HSTS, nosniff, no framing, referrer policy on every response",
            security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                    access_control_max_age_sec=HSTS_SECONDS, include_subdomains=True, override=True
                ),
                content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                    override=True
                ),
                frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                    frame_option="DENY", override=True
                ),
                referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                    referrer_policy="strict-origin-when-cross-origin", override=True
                ),
            ),
            opts=child,
        )

    @staticmethod
    def _renderer_origin(args: SpaDistributionArgs) -> aws.cloudfront.DistributionOriginArgs:
        # The renderer answers (or fails over) within its 28 s Lambda timeout, under the 30 s read timeout.
        return https_origin(RENDERER_ORIGIN_ID, args.renderer_domain, args.renderer_origin_access_control_id)

    @staticmethod
    def _routed_origins(cfg: EdgeConfig) -> list[aws.cloudfront.DistributionOriginArgs]:
        return [https_origin(name, origin.host) for name, origin in sorted(cfg.routing.origins.items())]

    def _five_xx_alarm(
        self, ident: StackIdentity, distribution: aws.cloudfront.Distribution, provider: aws.Provider, emails: list[str]
    ) -> aws.cloudwatch.MetricAlarm:
        """5xx rate alarm in us-east-1 (where CloudFront publishes metrics) to a topic there, same recipients."""
        opts = pulumi.ResourceOptions(parent=self, provider=provider)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self, provider=provider)).account_id
        key = aws.kms.Key(
            "edge-alerts",
            description=f"{ident.label('edge-alerts')}: CloudFront alarm topic encryption (us-east-1)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=account.apply(
                lambda acct: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "AccountAdministers",
                                "Effect": "Allow",
                                "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
                                "Action": "kms:*",
                                "Resource": "*",
                            },
                            {
                                "Sid": "CloudWatchEncrypts",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                "Resource": "*",
                                "Condition": {"StringEquals": {"aws:SourceAccount": acct}},
                            },
                        ],
                    },
                    sort_keys=True,
                )
            ),
            opts=opts,
        )
        topic = aws.sns.Topic(
            "edge-alerts", name=ident.name("aws:sns/topic:Topic", "edge-alerts"), kms_master_key_id=key.arn, opts=opts
        )
        aws.sns.TopicPolicy(
            "edge-alerts",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account).apply(
                lambda a: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "CloudWatchAlarmsPublish",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": a[0],
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": a[1]},
                                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{a[1]}:alarm:*"},
                                },
                            }
                        ],
                    },
                    sort_keys=True,
                )
            ),
            opts=opts,
        )
        for index, email in enumerate(emails):
            aws.sns.TopicSubscription(
                f"edge-alerts-email-{index}", topic=topic.arn, protocol="email", endpoint=email, opts=opts
            )
        return aws.cloudwatch.MetricAlarm(
            "spa-5xx",
            name=ident.name("aws:cloudwatch/metricAlarm:MetricAlarm", "spa-5xx-rate"),
            alarm_description=f"More than {FIVE_XX_RATE_PERCENT} % of the app's responses are 5xx for 10 minutes",
            namespace="AWS/CloudFront",
            metric_name="5xxErrorRate",
            dimensions={"DistributionId": distribution.id, "Region": "Global"},
            statistic="Average",
            period=300,
            evaluation_periods=2,
            threshold=FIVE_XX_RATE_PERCENT,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            opts=opts,
        )

    def _origin(self, ident: StackIdentity, cfg: EdgeConfig, child: pulumi.ResourceOptions):
        if cfg.spa_origin.host:
            return https_origin(SPA_ORIGIN_ID, cfg.spa_origin.host), None
        # Versioned: a bad upload of the app rolls back by restoring the previous objects.
        bucket = private_bucket(
            "spa",
            ident.name("aws:s3/bucket:Bucket", "spa"),
            self,
            protect=ident.protected,
            versioned=True,
            lifecycle_rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="old-releases-and-incomplete-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    # The way back from a bad upload is the previous version; older ones stop costing after the window.
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=NONCURRENT_DAYS, newer_noncurrent_versions=NEWER_VERSIONS_KEPT
                    ),
                    abort_incomplete_multipart_upload=abort_incomplete_uploads(),
                )
            ],
        )
        oac = aws.cloudfront.OriginAccessControl(
            "spa",
            name=ident.name("aws:cloudfront/originAccessControl:OriginAccessControl", "spa"),
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        return aws.cloudfront.DistributionOriginArgs(
            origin_id=SPA_ORIGIN_ID, domain_name=bucket.bucket_regional_domain_name, origin_access_control_id=oac.id
        ), bucket

    def _allow_distribution(
        self, bucket: aws.s3.Bucket, distribution: aws.cloudfront.Distribution, child: pulumi.ResourceOptions
    ) -> None:
        """Only this distribution may read the app's bucket (origin access control, no public access)."""
        policy = pulumi.Output.all(bucket.arn, distribution.arn).apply(
            lambda a: pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CloudFrontOnly",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "Action": "s3:GetObject",
                            "Resource": f"{a[0]}/*",
                            "Condition": {"StringEquals": {"AWS:SourceArn": a[1]}},
                        }
                    ],
                }
            )
        )
        aws.s3.BucketPolicy("spa", bucket=bucket.id, policy=policy, opts=child)

    def _certificate(self, ident: StackIdentity, cfg: EdgeConfig, provider: aws.Provider) -> pulumi.Input[str]:
        if cfg.certificate_arn:
            return cfg.certificate_arn
        opts = pulumi.ResourceOptions(parent=self, provider=provider)
        # The names it may take over are on the certificate from the start: CloudFront moves an alias only to a
        # distribution whose certificate covers it.
        names = [*cfg.domain_names, *cfg.failover_domain_names]
        cert = aws.acm.Certificate(
            "spa",
            domain_name=names[0],
            subject_alternative_names=names[1:] or None,
            validation_method="DNS",
            opts=opts,
        )

        def option(domain: str) -> pulumi.Output[aws.acm.outputs.CertificateDomainValidationOption]:
            return cert.domain_validation_options.apply(lambda opts_: next(o for o in opts_ if o.domain_name == domain))

        fqdns: list[pulumi.Input[str]] = []
        for index, domain in enumerate(cfg.domain_names):
            record = aws.route53.Record(
                f"spa-validation-{index}",
                zone_id=cfg.hosted_zone_id,
                name=option(domain).resource_record_name,
                type=option(domain).resource_record_type,
                records=[option(domain).resource_record_value],
                ttl=300,
                allow_overwrite=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
            fqdns.append(record.fqdn)
        # A taken-over name validates through its owner's record: ACM gives one account the same record for the same
        # name, so a copy owned here would be deleted with this stack and fail the owner's next renewal.
        fqdns += [
            option(domain).resource_record_name.apply(lambda n: n.rstrip(".")) for domain in cfg.failover_domain_names
        ]
        validation = aws.acm.CertificateValidation(
            "spa", certificate_arn=cert.arn, validation_record_fqdns=fqdns, opts=opts
        )
        return validation.certificate_arn

    def _dns(self, cfg: EdgeConfig, distribution: aws.cloudfront.Distribution, child: pulumi.ResourceOptions) -> None:
        if not cfg.hosted_zone_id:
            return
        # What CloudFront's associate-alias checks before it moves a name here: `_<name>` TXT naming this
        # distribution. The name's own A/AAAA records stay its owner's (one record, one stack); the runbook
        # repoints them with this stack's `failover_dns_changes` output.
        for index, domain in enumerate(cfg.failover_domain_names):
            aws.route53.Record(
                f"spa-failover-{index}-txt",
                zone_id=cfg.hosted_zone_id,
                name=f"_{domain}",
                type="TXT",
                records=[distribution.domain_name],
                ttl=300,
                opts=child,
            )
        if cfg.failover_domain_names:
            self.failover_dns_changes = pulumi.Output.all(distribution.domain_name, distribution.hosted_zone_id).apply(
                lambda target: failover_dns_changes(cfg.failover_domain_names, target[0], target[1])
            )
        for index, domain in enumerate(cfg.domain_names):
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"spa-{index}-{record_type.lower()}",
                    zone_id=cfg.hosted_zone_id,
                    name=domain,
                    type=record_type,
                    aliases=[
                        aws.route53.RecordAliasArgs(
                            name=distribution.domain_name,
                            zone_id=distribution.hosted_zone_id,
                            evaluate_target_health=False,
                        )
                    ],
                    opts=child,
                )
