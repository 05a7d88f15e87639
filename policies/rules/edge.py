"""Edge prerendering: the lessons of spa-seo-prerender-lambda-edge.md and own-serverless-prerender-renderer.md."""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
FUNCTION = "aws:lambda/function:Function"
EDGE_REGION = "us-east-1"
WEAK_TLS = {"SSLv3", "TLSv1", "TLSv1.1"}


def _associations(props: Any) -> list[str]:
    behaviours = [props.get("defaultCacheBehavior") or {}, *(props.get("orderedCacheBehaviors") or [])]
    return [
        a.get("lambdaArn")
        for b in behaviours
        for a in (b.get("lambdaFunctionAssociations") or [])
        if a.get("lambdaArn")
    ]


def _provider_region(resource: Any) -> str | None:
    provider = getattr(resource, "provider", None)
    return (provider.props or {}).get("region") if provider is not None else None


def _validate_edge_functions(args: StackValidationArgs, report: ReportViolation) -> None:
    functions = {r.props.get("name"): r for r in args.resources if r.resource_type == FUNCTION}
    for dist in (r for r in args.resources if r.resource_type == DISTRIBUTION):
        for arn in _associations(dist.props):
            parts = arn.split(":")
            if len(parts) < 7 or parts[2] != "lambda":
                report(f"association '{arn}' is not a Lambda function version ARN", dist.urn)
                continue
            region, name = parts[3], parts[6]
            if region != EDGE_REGION:
                report(
                    f"Lambda@Edge function '{name}' is in {region}; CloudFront only runs functions from {EDGE_REGION}",
                    dist.urn,
                )
            if len(parts) < 8 or parts[7] in ("", "$LATEST"):
                report(f"association '{arn}' must name a published version, not $LATEST or the bare function", dist.urn)
            function = functions.get(name)
            if function is None:
                continue
            if function.props.get("environment"):
                report(
                    f"Lambda@Edge function '{name}' has environment variables; the edge rejects them "
                    f"(bake settings into the package)",
                    function.urn,
                )
            if _provider_region(function) not in (None, EDGE_REGION):
                report(
                    f"Lambda@Edge function '{name}' is deployed by a provider in {_provider_region(function)}",
                    function.urn,
                )


lambda_edge_placement = StackValidationPolicy(
    name="lambda-edge-us-east-1",
    description=(
        "Functions attached to CloudFront are published versions in us-east-1 with no environment "
        "variables: anything else fails at deploy time, after the distribution change was started."
    ),
    validate=_validate_edge_functions,
)


def _validate_origin_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DISTRIBUTION:
        return
    for origin in args.props.get("origins") or []:
        custom = origin.get("customOriginConfig")
        if custom:
            weak = sorted(set(custom.get("originSslProtocols") or []) & WEAK_TLS)
            if weak:
                report(f"origin '{origin.get('originId')}' allows {', '.join(weak)}; only TLSv1.2 is allowed", None)
            if custom.get("originProtocolPolicy") not in ("https-only", None):
                report(
                    f"origin '{origin.get('originId')}' uses {custom.get('originProtocolPolicy')}; use https-only", None
                )
    certificate = args.props.get("viewerCertificate") or {}
    if certificate.get("acmCertificateArn") and not str(certificate.get("minimumProtocolVersion", "")).startswith(
        "TLSv1.2"
    ):
        report(f"viewer minimum protocol {certificate.get('minimumProtocolVersion')!r} is below TLSv1.2", None)


cloudfront_tls = ResourceValidationPolicy(
    name="cloudfront-tls-1-2",
    description=(
        "CloudFront talks TLS 1.2 or newer to origins and viewers: the report's origin still offered "
        "TLSv1 and TLSv1.1, which origins are dropping."
    ),
    validate=_validate_origin_tls,
)


def _validate_renderer_token(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FUNCTION:
        return
    variables = ((args.props.get("environment") or {}).get("variables")) or {}
    if "SITE_ORIGINS" not in variables:
        return  # not a renderer
    if "RENDER_TOKEN" in variables:
        report(
            "the renderer's token is a plain environment variable; store it in Secrets Manager and pass "
            "RENDER_TOKEN_SECRET_ARN",
            None,
        )
    if not variables.get("RENDER_TOKEN_SECRET_ARN"):
        report("the renderer has no token (RENDER_TOKEN_SECRET_ARN): anyone who finds its URL can make it render", None)


renderer_token = ResourceValidationPolicy(
    name="renderer-token-required",
    description=(
        "The renderer only answers requests carrying the token shared with CloudFront, kept in Secrets "
        "Manager: without it the renderer is an open, billable headless browser."
    ),
    validate=_validate_renderer_token,
)


def _public_statement(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    everyone = principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"]))
    return statement.get("Effect") == "Allow" and everyone and not statement.get("Condition")


def _validate_buckets_private(args: StackValidationArgs, report: ReportViolation) -> None:
    buckets = {r.urn: r for r in args.resources if r.resource_type == "aws:s3/bucket:Bucket"}
    blocked: set[str] = set()
    for r in args.resources:
        if r.resource_type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
            flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
            targets = {d.urn for d in (r.dependencies or [])} | {
                urn for urn, b in buckets.items() if b.props.get("bucket") == r.props.get("bucket")
            }
            if all(r.props.get(f) for f in flags):
                blocked |= targets
            else:
                report("public access block leaves public access open: set all four flags", r.urn)
        if r.resource_type == "aws:s3/bucketPolicy:BucketPolicy":
            policy = r.props.get("policy")
            document = json.loads(policy) if isinstance(policy, str) else (policy or {})
            statements = document.get("Statement") or []
            for statement in statements if isinstance(statements, list) else [statements]:
                if _public_statement(statement):
                    report("bucket policy allows everyone ('Principal: *') with no condition", r.urn)
        if r.resource_type == "aws:s3/bucketAcl:BucketAcl" and str(r.props.get("acl", "")).startswith("public"):
            report(f"bucket ACL '{r.props.get('acl')}' makes the bucket public", r.urn)
    for urn, bucket in buckets.items():
        if urn not in blocked:
            report(f"bucket '{bucket.props.get('bucket')}' has no public access block with all four flags", urn)


s3_private = StackValidationPolicy(
    name="s3-buckets-private",
    description=(
        "Every bucket (the prerender cache, the app's origin) blocks public access; CloudFront reads "
        "through origin access control, never a public bucket."
    ),
    validate=_validate_buckets_private,
)
