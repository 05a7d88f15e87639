"""Edge prerendering: the lessons of spa-seo-prerender-lambda-edge.md and own-serverless-prerender-renderer.md."""

from __future__ import annotations

import json
from typing import Any

import conventions
from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from rules.docs import url
from rules.resource import stage_of

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
    severity=Severity.HIGH,
    remediation_steps=(
        "Create the function with the us-east-1 provider, attach its published version (publish=True, the qualified "
        "ARN), and move configuration out of environment variables (Lambda@Edge has none)."
    ),
    url=url("lambda-edge-us-east-1"),
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
    severity=Severity.HIGH,
    remediation_steps=(
        "Set the viewer certificate's minimum_protocol_version to TLSv1.2_2021 and custom origins' "
        "origin_ssl_protocols to TLSv1.2 only."
    ),
    url=url("cloudfront-tls-1-2"),
)


CLOUDFRONT_FUNCTION = "aws:cloudfront/function:Function"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
CLOUDFRONT_RUNTIME = "cloudfront-js-2.0"


def _validate_cloudfront_functions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CLOUDFRONT_FUNCTION:
        return
    runtime = args.props.get("runtime")
    if runtime != CLOUDFRONT_RUNTIME:
        report(
            f"CloudFront Function runtime is {runtime!r}: only {CLOUDFRONT_RUNTIME} has KeyValueStore access and "
            f"origin selection, which the edge routing needs",
            None,
        )
    if args.props.get("publish") is not True:
        report(
            "CloudFront Function is not published: CloudFront runs only the LIVE stage, so the change never ships", None
        )


cloudfront_functions = ResourceValidationPolicy(
    name="cloudfront-functions-js2-published",
    description=(
        "CloudFront Functions run cloudfront-js-2.0 and are published: 1.0 cannot read the KeyValueStore or "
        "select an origin, and an unpublished function leaves the old code live (spa-seo-prerender-lambda-edge.md)."
    ),
    validate=_validate_cloudfront_functions,
    severity=Severity.MEDIUM,
    remediation_steps="Set the function's runtime to cloudfront-js-2.0 and publish=True.",
    url=url("cloudfront-functions-js2-published"),
)


def _is_renderer_origin(origin: dict[str, Any]) -> bool:
    return origin.get("originId") == "renderer" or ".lambda-url." in str(origin.get("domainName", ""))


def _validate_renderer_origin(args: StackValidationArgs, report: ReportViolation) -> None:
    for r in args.resources:
        if r.resource_type == FUNCTION_URL and r.props.get("authorizationType") != "AWS_IAM":
            report(
                f"function URL has authorization {r.props.get('authorizationType')!r}: anyone who finds it can "
                f"make the function run; use AWS_IAM behind CloudFront origin access control",
                r.urn,
            )
        if r.resource_type != DISTRIBUTION:
            continue
        for origin in r.props.get("origins") or []:
            if _is_renderer_origin(origin) and not origin.get("originAccessControlId"):
                report(
                    f"renderer origin '{origin.get('originId')}' has no origin access control: CloudFront must sign "
                    f"its requests so the renderer answers nobody else",
                    r.urn,
                )


renderer_origin_access = StackValidationPolicy(
    name="renderer-origin-access-control",
    description=(
        "The renderer is reached only through CloudFront: its origin uses origin access control and function "
        "URLs use AWS_IAM auth; otherwise it is an open, billable headless browser (own-serverless-prerender-renderer.md)."
    ),
    validate=_validate_renderer_origin,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Give the renderer's origin an origin access control, and set the function URL's authorization_type to "
        "AWS_IAM with a CloudFront-only invoke permission (components/prerender_renderer.py)."
    ),
    url=url("renderer-origin-access-control"),
)


def _validate_response_headers(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DISTRIBUTION or stage_of(args) not in conventions.PROTECTED_STAGES:
        return
    behaviours = [args.props.get("defaultCacheBehavior") or {}, *(args.props.get("orderedCacheBehaviors") or [])]
    for behaviour in behaviours:
        if not behaviour.get("responseHeadersPolicyId"):
            where = behaviour.get("pathPattern") or "the default behaviour"
            report(
                f"{where} serves responses without a response headers policy: prod pages need HSTS, nosniff, "
                f"frame and referrer policy",
                None,
            )


prod_response_headers = ResourceValidationPolicy(
    name="cloudfront-response-headers",
    description=(
        "No prod distribution serves pages without a response headers policy (HSTS, nosniff, frame options, "
        "referrer policy): the app is otherwise framable and downgradable."
    ),
    validate=_validate_response_headers,
    severity=Severity.HIGH,
    remediation_steps=(
        "Attach the stack's response headers policy (HSTS, nosniff, frame options, referrer policy) to every cache "
        "behaviour of the distribution (components/spa_distribution.py)."
    ),
    url=url("cloudfront-response-headers"),
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
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Give the bucket a BucketPublicAccessBlock with all four settings true (foundation/buckets.py does) and let "
        "CloudFront read through origin access control."
    ),
    url=url("s3-buckets-private"),
)
