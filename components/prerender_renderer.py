"""Our own prerender renderer: a container-image Lambda behind an HTTP API, with an S3 cache.

What ``own-serverless-prerender-renderer.md`` built, done properly: the API is an
API Gateway HTTP API, not a function URL (account-level block public access
refuses those); a token shared only with CloudFront guards it, kept in Secrets
Manager and read by the function at cold start, never in its environment;
reserved concurrency and API throttling are the cost ceiling; the cache bucket
is private, encrypted, and expires what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from foundation import iam
from foundation.buckets import abort_incomplete_uploads, private_bucket
from foundation.identity import StackIdentity
from stack_config.edge import RendererConfig
from stack_config.services import BuildSource

TOKEN_HEADER = "x-prerender-token"
# lambda_src/ is the build context: the renderer package and its package marker, nothing else.
RENDERER_BUILD = BuildSource(context="lambda_src", dockerfile="renderer/Dockerfile")
LAMBDA_TIMEOUT_SECONDS = 28  # under CloudFront's 30 s origin read timeout: our 504, not CloudFront's


@dataclass(frozen=True)
class PrerenderRendererArgs:
    identity: StackIdentity
    config: RendererConfig
    image_uri: pulumi.Input[str]  # by digest, from the renderer's own repository
    site_origins: list[str]
    log_retention_days: int = 30  # long enough to debug a crawler complaint, short enough to cost nothing


class PrerenderRenderer(pulumi.ComponentResource):
    """Renders pages for crawlers; every request must carry the token only CloudFront knows."""

    domain: pulumi.Output[str]
    token: pulumi.Output[str]
    token_secret_arn: pulumi.Output[str]
    cache_bucket: pulumi.Output[str]
    function_name: pulumi.Output[str]

    def __init__(self, name: str, args: PrerenderRendererArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:edge:PrerenderRenderer", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)

        bucket = self._cache_bucket(ident, cfg, child)
        password = random.RandomPassword("token", length=48, special=False, opts=child)
        secret = aws.secretsmanager.Secret(
            "token",
            name=ident.name("aws:secretsmanager/secret:Secret", "prerender-token"),
            description="Shared by CloudFront's edge router and the renderer; nobody else may call the renderer",
            # A deleted token is recoverable for a week: the edge package still carries it.
            recovery_window_in_days=7,
            opts=child,
        )
        aws.secretsmanager.SecretVersion("token", secret_id=secret.id, secret_string=password.result, opts=child)

        function_name = ident.name("aws:lambda/function:Function", "prerender")
        log_group = aws.cloudwatch.LogGroup(
            "renderer", name=f"/aws/lambda/{function_name}", retention_in_days=args.log_retention_days, opts=child
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
            policy=pulumi.Output.all(log_group.arn, bucket.arn, secret.arn).apply(
                lambda a: iam.document(
                    iam.statement(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{a[0]}:*"]),
                    iam.statement(["s3:GetObject", "s3:PutObject"], [f"{a[1]}/v1/*"]),  # the handler's key prefix
                    # ListBucket turns a cache miss into a 404 instead of a 403 the handler would log as an error.
                    iam.statement(["s3:ListBucket"], [a[1]]),
                    iam.statement(["secretsmanager:GetSecretValue"], [a[2]]),
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
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "SITE_ORIGINS": ",".join(args.site_origins),
                    "CACHE_BUCKET": bucket.bucket,
                    "CACHE_TTL_SECONDS": str(cfg.cache_ttl_seconds),
                    "RENDER_TIMEOUT_MS": str(cfg.render_timeout_ms),
                    "RENDER_TOKEN_SECRET_ARN": secret.arn,
                    "POWERTOOLS_SERVICE_NAME": "prerender",
                    "POWERTOOLS_METRICS_NAMESPACE": "Prerender",
                }
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group]),
        )

        api = aws.apigatewayv2.Api(
            "renderer",
            name=ident.name("aws:apigatewayv2/api:Api", "prerender"),
            protocol_type="HTTP",
            description="Crawler renders for CloudFront only (token-guarded)",
            opts=child,
        )
        integration = aws.apigatewayv2.Integration(
            "renderer",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_uri=function.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=29000,
            opts=child,
        )
        # One $default route on the $default stage: a named stage would end up inside the rendered path.
        aws.apigatewayv2.Route(
            "renderer",
            api_id=api.id,
            route_key="$default",
            target=integration.id.apply(lambda i: f"integrations/{i}"),
            opts=child,
        )
        access_logs = aws.cloudwatch.LogGroup(
            "renderer-api",
            name=ident.path("prerender", "api-access"),
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        aws.apigatewayv2.Stage(
            "renderer",
            api_id=api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=cfg.throttle_rate_per_second,
                throttling_burst_limit=cfg.throttle_rate_per_second * 2,
            ),
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn,
                format='{"requestId":"$context.requestId","status":"$context.status",'
                '"path":"$context.path","latency":"$context.integrationLatency"}',
            ),
            opts=child,
        )
        aws.lambda_.Permission(
            "renderer-api",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=child,
        )

        self.domain = api.api_endpoint.apply(lambda url: url.removeprefix("https://"))
        self.token = password.result
        self.token_secret_arn = secret.arn
        self.cache_bucket = bucket.bucket
        self.function_name = function.name
        self.register_outputs({"domain": self.domain, "cache_bucket": self.cache_bucket})

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
