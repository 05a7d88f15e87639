"""Our own prerender renderer: a container-image Lambda behind a function URL only CloudFront can call.

What ``own-serverless-prerender-renderer.md`` built, done properly: the function URL
uses ``AWS_IAM`` auth and sits behind an origin access control of type ``lambda``,
so CloudFront signs every request and the resource policy admits this distribution
only; a request from anywhere else is refused by Lambda before our code runs (the
report's public API and shared token are gone: nothing is left for anyone to learn).
Reserved concurrency is the cost ceiling; the cache bucket is private, encrypted,
and expires what it holds; errors and throttles page the alerts topic.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.dashboard import AlarmStatus, Graph, Metric, Section
from foundation import iam
from foundation.buckets import abort_incomplete_uploads, private_bucket
from foundation.identity import StackIdentity
from stack_config.edge import RendererConfig
from stack_config.services import BuildSource

# lambda_src/ is the build context: the renderer package and its package marker, nothing else.
RENDERER_BUILD = BuildSource(context="lambda_src", dockerfile="renderer/Dockerfile")
LAMBDA_TIMEOUT_SECONDS = 28  # under CloudFront's 30 s origin read timeout: our 504 (and failover), not CloudFront's


@dataclass(frozen=True)
class PrerenderRendererArgs:
    identity: StackIdentity
    config: RendererConfig
    image_uri: pulumi.Input[str]  # by digest, from the renderer's own repository
    site_origins: list[str]
    alarm_topic_arn: pulumi.Input[str] | None = None  # the stack's alerts topic (same region as the function)
    tracking_parameters: tuple[str, ...] = ()  # never part of a render or an S3 key (the edge strips them too)


class PrerenderRenderer(pulumi.ComponentResource):
    """Renders pages for crawlers; only the distribution given to ``allow_distribution`` can invoke it.

    Prevents: an open, billable headless browser on the internet (IAM-authenticated
    function URL behind origin access control), silent render failures (alarms on
    errors and throttles), and untraceable slow renders (X-Ray active tracing).
    """

    domain: pulumi.Output[str]
    cache_bucket: pulumi.Output[str]
    function_name: pulumi.Output[str]
    origin_access_control_id: pulumi.Output[str]
    dashboard: Section  # the renderer's part of the environment's dashboard (components/dashboard.py)

    def __init__(self, name: str, args: PrerenderRendererArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:edge:PrerenderRenderer", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)

        bucket = self._cache_bucket(ident, cfg, child)
        function_name = ident.name("aws:lambda/function:Function", "prerender")
        log_group = aws.cloudwatch.LogGroup(
            "renderer", name=f"/aws/lambda/{function_name}", retention_in_days=cfg.log_retention_days, opts=child
        )
        role = aws.iam.Role(
            "renderer",
            name=ident.name("aws:iam/role:Role", "prerender"),
            assume_role_policy=iam.assume_role_policy("lambda.amazonaws.com"),
            opts=child,
        )
        aws.iam.RolePolicy(
            "renderer",
            role=role.id,
            opts=child,
            policy=pulumi.Output.all(log_group.arn, bucket.arn).apply(
                lambda a: iam.document(
                    iam.statement(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{a[0]}:*"]),
                    iam.statement(["s3:GetObject", "s3:PutObject"], [f"{a[1]}/v1/*"]),  # the handler's key prefix
                    # ListBucket turns a cache miss into a 404 instead of a 403 the handler would log as an error.
                    iam.statement(["s3:ListBucket"], [a[1]]),
                    # "*": X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
                    iam.statement(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
                )
            ),
        )

        function = aws.lambda_.Function(
            "renderer",
            name=function_name,
            package_type="Image",
            image_uri=args.image_uri,
            role=role.arn,
            architectures=["x86_64"],
            memory_size=cfg.memory_mb,
            timeout=LAMBDA_TIMEOUT_SECONDS,
            reserved_concurrent_executions=cfg.reserved_concurrency,
            # Active: every render is traced (cache, browser launch, navigation) without a sampling decision upstream.
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "SITE_ORIGINS": ",".join(args.site_origins),
                    "CACHE_BUCKET": bucket.bucket,
                    "CACHE_TTL_SECONDS": str(cfg.cache_ttl_seconds),
                    "RENDER_TIMEOUT_MS": str(cfg.render_timeout_ms),
                    "TRACKING_PARAMETERS": ",".join(args.tracking_parameters),
                    "POWERTOOLS_SERVICE_NAME": "prerender",
                    "POWERTOOLS_METRICS_NAMESPACE": "Prerender",
                }
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group]),
        )
        url = aws.lambda_.FunctionUrl(
            "renderer",
            function_name=function.name,
            # AWS_IAM: only a SigV4-signed request gets in, and only CloudFront (origin access control) signs ours.
            authorization_type="AWS_IAM",
            invoke_mode="BUFFERED",
            opts=child,
        )
        oac = aws.cloudfront.OriginAccessControl(
            "renderer",
            name=ident.name("aws:cloudfront/originAccessControl:OriginAccessControl", "prerender"),
            description="CloudFront signs every request to the renderer's function URL",
            origin_access_control_origin_type="lambda",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        alarms = self._alarms(ident, function.name, args.alarm_topic_arn, child) if args.alarm_topic_arn else []
        self.dashboard = self._section(function.name, alarms)

        self._function = function
        self.domain = url.function_url.apply(lambda u: u.removeprefix("https://").rstrip("/"))
        self.cache_bucket = bucket.bucket
        self.function_name = function.name
        self.origin_access_control_id = oac.id
        self.register_outputs({"domain": self.domain, "cache_bucket": self.cache_bucket})

    def allow_distribution(self, distribution_arn: pulumi.Input[str]) -> None:
        """Let exactly this distribution invoke the function URL (the other half of origin access control)."""
        child = pulumi.ResourceOptions(parent=self)
        # Function URLs need both actions for a principal since October 2025; each is scoped to the distribution.
        aws.lambda_.Permission(
            "cloudfront-url",
            action="lambda:InvokeFunctionUrl",
            function=self._function.name,
            principal="cloudfront.amazonaws.com",
            source_arn=distribution_arn,
            function_url_auth_type="AWS_IAM",
            opts=child,
        )
        aws.lambda_.Permission(
            "cloudfront-invoke",
            action="lambda:InvokeFunction",
            function=self._function.name,
            principal="cloudfront.amazonaws.com",
            source_arn=distribution_arn,
            opts=child,
        )

    def _alarms(
        self,
        ident: StackIdentity,
        function_name: pulumi.Output[str],
        topic: pulumi.Input[str],
        child: pulumi.ResourceOptions,
    ) -> list[aws.cloudwatch.MetricAlarm]:
        """Renders failing (the crawler got the app shell instead) or throttled (the cost ceiling is being hit)."""
        return [
            aws.cloudwatch.MetricAlarm(
                f"renderer-{metric.lower()}",
                name=ident.name("aws:cloudwatch/metricAlarm:MetricAlarm", f"prerender-{metric.lower()}"),
                alarm_description=f"Prerender renderer: {why}",
                namespace="AWS/Lambda",
                metric_name=metric,
                dimensions={"FunctionName": function_name},
                statistic="Sum",
                period=300,
                evaluation_periods=1,
                threshold=threshold,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[topic],
                ok_actions=[topic],
                opts=child,
            )
            for metric, threshold, why in (
                ("Errors", 5, "renders failed: crawlers are getting the app shell"),
                ("Throttles", 1, "reserved concurrency reached: crawlers are turned away"),
            )
        ]

    @staticmethod
    def _section(function_name: pulumi.Output[str], alarms: list[aws.cloudwatch.MetricAlarm]) -> Section:
        """Per minute, beside the alarm lines: failed and throttled renders, and how long a render takes."""
        dims = {"FunctionName": function_name}
        return Section(
            "Prerender renderer",
            [
                *([AlarmStatus("Renderer alarms", [a.arn for a in alarms])] if alarms else []),
                Graph(
                    "Failed and throttled renders",
                    [
                        Metric("AWS/Lambda", "Errors", dims, "Sum"),
                        Metric("AWS/Lambda", "Throttles", dims, "Sum"),
                        Metric("AWS/Lambda", "Invocations", dims, "Sum"),
                    ],
                ),
                Graph("Render duration (ms)", [Metric("AWS/Lambda", "Duration", dims, "p95", label="p95")]),
            ],
        )

    @staticmethod
    def _cache_bucket(ident: StackIdentity, cfg: RendererConfig, child: pulumi.ResourceOptions) -> aws.s3.Bucket:
        # Only rendered HTML lives here: it can always be rendered again, so a destroy may empty it.
        bucket = private_bucket(
            "cache", ident.name("aws:s3/bucket:Bucket", "prerender-cache"), child.parent, force_destroy=True
        )
        expire_days = max(1, -(-cfg.cache_ttl_seconds // 86400) + 1)
        aws.s3.BucketLifecycleConfiguration(
            "cache",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-rendered-pages",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    # A day past the TTL: the handler treats older objects as misses anyway.
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expire_days),
                    abort_incomplete_multipart_upload=abort_incomplete_uploads(),
                )
            ],
            opts=child,
        )
        return bucket
