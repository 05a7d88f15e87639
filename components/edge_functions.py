"""The CloudFront Functions at the viewer, and the KeyValueStore they route by.

Replaces the Lambda@Edge router of ``spa-seo-prerender-lambda-edge.md``: a CloudFront
Function runs in under a millisecond for $0.10 per million (Lambda@Edge: $0.60 plus
duration, Python cold starts at each edge location, on every human page view). The
crawler check, the renderer origin (with failover to the app shell), country and A/B
origin selection (``cloudfront-dynamic-origin-country-ab.md``) all happen in
viewer-request; viewer-response makes the A/B draw sticky with a cookie. The routing
data (countries, variants and weights, tracking parameters) lives in a KeyValueStore,
so a weight change is a config change and no new function code.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation.identity import StackIdentity
from stack_config.edge import EdgeConfig, kvs_entries, routing_problems

SOURCE = pathlib.Path(__file__).resolve().parent.parent / "lambda_src" / "edge_function"
RUNTIME = "cloudfront-js-2.0"  # the only runtime with KeyValueStore access and origin selection
FUNCTIONS = ("viewer_request", "viewer_response")


def function_code(name: str) -> str:
    """The generated code (tools/generate_edge_function.py), exactly as CloudFront runs it."""
    return (SOURCE / f"{name}.js").read_text(encoding="utf-8")


@dataclass(frozen=True)
class EdgeFunctionsArgs:
    identity: StackIdentity
    config: EdgeConfig
    log_retention_days: int = 30  # CloudFront Functions' own logs (console.log, errors), in us-east-1


class EdgeFunctions(pulumi.ComponentResource):
    """Viewer-request and viewer-response functions with their KeyValueStore: pass ``opts=providers.edge_opts()``.

    Prevents: misrouted viewers from bad routing data (weights not adding up to 100,
    an unknown origin: refused here as well as in the loader), an unpublished
    function (CloudFront only runs the LIVE stage), and logs kept forever.
    """

    viewer_request_arn: pulumi.Output[str]
    viewer_response_arn: pulumi.Output[str]
    key_value_store_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeFunctionsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:edge:EdgeFunctions", name, None, opts)
        ident, cfg = args.identity, args.config
        problems = routing_problems(cfg)
        if problems:
            raise ValueError("; ".join(f"edge.{key}: {message}" for key, message in problems))
        child = pulumi.ResourceOptions(parent=self)

        store = aws.cloudfront.KeyValueStore(
            "routing",
            name=ident.name("aws:cloudfront/keyValueStore:KeyValueStore", "edge-routing"),
            comment="Country map, A/B variants and weights, tracking parameters: read by the viewer functions",
            opts=child,
        )
        # Exclusive: a key added by hand in the console is removed on the next deploy, so config is the truth.
        aws.cloudfront.KeyvaluestoreKeysExclusive(
            "routing",
            key_value_store_arn=store.arn,
            resource_key_value_pairs=[
                aws.cloudfront.KeyvaluestoreKeysExclusiveResourceKeyValuePairArgs(key=key, value=value)
                for key, value in sorted(kvs_entries(cfg).items())
            ],
            opts=child,
        )
        arns: dict[str, pulumi.Output[str]] = {}
        for function in FUNCTIONS:
            short = function.replace("_", "-")
            function_name = ident.name("aws:cloudfront/function:Function", short)
            # CloudFront Functions log to us-east-1 under this fixed name; created here so it has a retention.
            aws.cloudwatch.LogGroup(
                short,
                name=f"/aws/cloudfront/function/{function_name}",
                retention_in_days=args.log_retention_days,
                opts=child,
            )
            arns[function] = aws.cloudfront.Function(
                short,
                name=function_name,
                runtime=RUNTIME,
                comment=f"{ident.label('edge')}: {short} (generated from lambda_src/edge_function)",
                code=function_code(function),
                publish=True,
                key_value_store_associations=store.arn.apply(lambda arn: [arn]),
                opts=child,
            ).arn
        self.viewer_request_arn = arns["viewer_request"]
        self.viewer_response_arn = arns["viewer_response"]
        self.key_value_store_arn = store.arn
        self.register_outputs({"viewer_request_arn": self.viewer_request_arn})
