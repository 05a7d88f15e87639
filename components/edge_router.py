"""The Lambda@Edge function that sends crawlers to the renderer and everyone else to the app.

``spa-seo-prerender-lambda-edge.md`` and ``own-serverless-prerender-renderer.md``:
one function on two events (viewer-request decides, origin-request re-points
the origin and sets Host, whose absence made API Gateway answer 403). Lambda@Edge
must live in us-east-1 and cannot have environment variables, so its settings
are baked into the package as ``edge_settings.json`` at deploy time, and a new
version is published on every change so both events always run the same code.
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.identity import StackIdentity

SOURCE = pathlib.Path("lambda_src") / "edge_router"  # relative: Pulumi resolves it from the project root
SOURCE_FILES = ("__init__.py", "bots.py", "handler.py")
HANDLER = "edge_router.handler.handler"
# Viewer events allow 5 s and 128 MB at most; the same function serves both events.
TIMEOUT_SECONDS = 5
MEMORY_MB = 128


@dataclass(frozen=True)
class EdgeRouterArgs:
    identity: StackIdentity
    renderer_domain: pulumi.Input[str]
    renderer_token: pulumi.Input[str]
    token_header: str = "x-prerender-token"
    spa_fallback: str = ""  # "/index.html" for an S3 origin, whose deep links have no server-side rewrite


def edge_settings(renderer_domain: str, renderer_token: str, token_header: str, spa_fallback: str) -> str:
    """The settings file baked into the package (the handler's contract: lambda_src/edge_router/handler.py)."""
    return json.dumps(
        {
            "renderer_domain": renderer_domain,
            "renderer_token": renderer_token,
            "token_header": token_header,
            "read_timeout": 30,
            "keepalive_timeout": 5,
            "spa_fallback": spa_fallback,
        },
        sort_keys=True,
    )


class EdgeRouter(pulumi.ComponentResource):
    """Lambda@Edge in us-east-1: pass ``opts=providers.edge_opts()``."""

    qualified_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeRouterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:edge:EdgeRouter", name, None, opts)
        ident = args.identity
        child = pulumi.ResourceOptions(parent=self)
        function_name = ident.name("aws:lambda/function:Function", "edge-router")

        role = aws.iam.Role(
            "edge-router",
            name=ident.name("aws:iam/role:Role", "edge-router"),
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Principal": {"Service": ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]},
                        }
                    ],
                }
            ),
            opts=child,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        aws.iam.RolePolicy(
            "edge-router",
            role=role.id,
            opts=child,
            policy=account.apply(
                lambda acct: iam.document(
                    # Region "*" is deliberate: Lambda@Edge writes its logs in whichever region served the viewer,
                    # always under /aws/lambda/us-east-1.<function name>; the log group name is fixed, the region is not.
                    iam.statement(
                        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                        [f"arn:aws:logs:*:{acct}:log-group:/aws/lambda/us-east-1.{function_name}:*"],
                    )
                )
            ),
        )

        settings = pulumi.Output.all(args.renderer_domain, args.renderer_token).apply(
            lambda a: edge_settings(a[0], a[1], args.token_header, args.spa_fallback)
        )
        code = pulumi.Output.secret(settings).apply(
            lambda text: pulumi.AssetArchive(
                {
                    **{f"edge_router/{f}": pulumi.FileAsset(str(SOURCE / f)) for f in SOURCE_FILES},
                    "edge_router/edge_settings.json": pulumi.StringAsset(text),
                }
            )
        )
        function = aws.lambda_.Function(
            "edge-router",
            name=function_name,
            runtime="python3.12",
            handler=HANDLER,
            role=role.arn,
            code=code,
            timeout=TIMEOUT_SECONDS,
            memory_size=MEMORY_MB,
            publish=True,
            # CloudFront keeps replicas of old versions for hours after they are detached; deleting the
            # function on destroy fails until they drain, so the function outlives the stack by design.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )

        self.qualified_arn = function.qualified_arn
        self.register_outputs({"qualified_arn": self.qualified_arn})
