"""CloudFront in front of the single-page app, with crawler routing at the edge.

The cache key holds ``x-prerender`` (set only by our viewer-request function,
stripped from everyone else) and ``x-prerender-host``: crawlers and humans never
share a cache entry — a human never gets prerendered HTML, a crawler never the
empty shell — and rendered pages *are* cached at CloudFront, which the report's
per-request cache-buster header prevented (``spa-seo-prerender-lambda-edge.md``).
Static assets take their own behaviours with no function at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.access_logs import CLOUDFRONT_PREFIX, AccessLogs
from foundation.buckets import abort_incomplete_uploads, private_bucket
from foundation.identity import StackIdentity
from stack_config.edge import EdgeConfig

SPA_ORIGIN_ID = "spa"
CACHE_KEY_HEADERS = ["x-prerender", "x-prerender-host"]
# AWS managed cache policy "CachingOptimized": assets are immutable and fingerprinted.
MANAGED_CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
TLS_POLICY = "TLSv1.2_2021"
NONCURRENT_RELEASE_DAYS = 90


@dataclass(frozen=True)
class SpaDistributionArgs:
    identity: StackIdentity
    config: EdgeConfig
    edge_router_arn: pulumi.Input[str]  # a published version's qualified ARN
    certificate_provider: aws.Provider  # ACM certificates for CloudFront exist only in us-east-1
    web_acl_arn: pulumi.Input[str] | None = None  # a CLOUDFRONT-scope WAF web ACL (us-east-1)
    access_logs: AccessLogs | None = None  # standard logs under cloudfront/ in the stack's log bucket


def cache_key_headers() -> list[str]:
    return list(CACHE_KEY_HEADERS)


def spa_fallback(config: EdgeConfig) -> str:
    """The entry document humans' deep links need from an S3 origin; an existing host does its own rewrites."""
    return "" if config.spa_origin.host else "/index.html"


class SpaDistribution(pulumi.ComponentResource):
    """The distribution, its SPA origin (private S3 bucket or an existing host), certificate and DNS."""

    domain_name: pulumi.Output[str]
    distribution_id: pulumi.Output[str]

    def __init__(self, name: str, args: SpaDistributionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:edge:SpaDistribution", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)

        cache_policy = aws.cloudfront.CachePolicy(
            "pages",
            name=ident.name("aws:cloudfront/cachePolicy:CachePolicy", "pages"),
            comment="Crawlers and humans cached apart: x-prerender is in the key",
            # Default 0: the renderer's Cache-Control decides for crawler pages, and a new app release is
            # seen at once (assets, fingerprinted, have their own behaviours).
            min_ttl=0,
            default_ttl=0,
            max_ttl=cfg.renderer.cache_ttl_seconds,
            parameters_in_cache_key_and_forwarded_to_origin=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
                enable_accept_encoding_gzip=True,
                enable_accept_encoding_brotli=True,
                headers_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                    header_behavior="whitelist",
                    headers=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigHeadersArgs(
                        items=cache_key_headers()
                    ),
                ),
                cookies_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                    cookie_behavior="none"
                ),
                # The renderer keys its cache by the sorted query string; CloudFront must too.
                query_strings_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                    query_string_behavior="all"
                ),
            ),
            opts=child,
        )

        origin, bucket = self._origin(ident, cfg, child)
        certificate_arn = self._certificate(ident, cfg, args.certificate_provider)
        functions = [
            aws.cloudfront.DistributionDefaultCacheBehaviorLambdaFunctionAssociationArgs(
                event_type=event, lambda_arn=args.edge_router_arn, include_body=False
            )
            for event in ("viewer-request", "origin-request")
        ]
        distribution = aws.cloudfront.Distribution(
            "spa",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=cfg.price_class,
            comment=f"{ident.label('spa')}: app for humans, prerendered pages for crawlers",
            aliases=cfg.domain_names,
            default_root_object="index.html",
            origins=[origin],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=SPA_ORIGIN_ID,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD", "OPTIONS"],
                cached_methods=["GET", "HEAD"],
                compress=True,
                cache_policy_id=cache_policy.id,
                lambda_function_associations=functions,
            ),
            ordered_cache_behaviors=[
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=pattern,
                    target_origin_id=SPA_ORIGIN_ID,
                    viewer_protocol_policy="redirect-to-https",
                    allowed_methods=["GET", "HEAD"],
                    cached_methods=["GET", "HEAD"],
                    compress=True,
                    cache_policy_id=MANAGED_CACHING_OPTIMIZED,
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

        self.domain_name = distribution.domain_name
        self.distribution_id = distribution.id
        self.register_outputs({"domain_name": self.domain_name})

    def _origin(self, ident: StackIdentity, cfg: EdgeConfig, child: pulumi.ResourceOptions):
        if cfg.spa_origin.host:
            return aws.cloudfront.DistributionOriginArgs(
                origin_id=SPA_ORIGIN_ID,
                domain_name=cfg.spa_origin.host,
                custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                    http_port=80,
                    https_port=443,
                    origin_protocol_policy="https-only",
                    origin_ssl_protocols=["TLSv1.2"],
                    origin_read_timeout=30,
                ),
            ), None
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
                    # A release replaced 90 days ago is no longer a rollback target.
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=NONCURRENT_RELEASE_DAYS
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
        cert = aws.acm.Certificate(
            "spa",
            domain_name=cfg.domain_names[0],
            subject_alternative_names=cfg.domain_names[1:] or None,
            validation_method="DNS",
            opts=opts,
        )
        records = []
        for index, domain in enumerate(cfg.domain_names):
            option = cert.domain_validation_options.apply(
                lambda opts_, d=domain: next(o for o in opts_ if o.domain_name == d)
            )
            records.append(
                aws.route53.Record(
                    f"spa-validation-{index}",
                    zone_id=cfg.hosted_zone_id,
                    name=option.resource_record_name,
                    type=option.resource_record_type,
                    records=[option.resource_record_value],
                    ttl=300,
                    allow_overwrite=True,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        validation = aws.acm.CertificateValidation(
            "spa", certificate_arn=cert.arn, validation_record_fqdns=[r.fqdn for r in records], opts=opts
        )
        return validation.certificate_arn

    def _dns(self, cfg: EdgeConfig, distribution: aws.cloudfront.Distribution, child: pulumi.ResourceOptions) -> None:
        if not cfg.hosted_zone_id:
            return
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
