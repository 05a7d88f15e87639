"""The services' DocumentDB user and (for the migration's sync) change streams, set up during `pulumi up`.

Both live inside the database, where no AWS API reaches, so they were runbook steps a rebuild would
forget (``you-are-not-saved-by-iac.md``; ``documentdb-to-mongodb-atlas.md``: the sync follows change
streams). A one-shot Lambda with MongoDB's own driver (``lambda_src/documentdb_setup``) runs them, invoked
by Pulumi (``aws.lambda_.Invocation``) after the cluster and its instances exist, again whenever what it
sets changes, and before the services start (they depend on ``ready``).

The same function rotates the app user's secret for Secrets Manager (alternating users ``app`` and
``app_clone``, ``lambda_src/secret_rotation``'s protocol): it already reaches DocumentDB, the master secret
and pymongo. Rotation runs every :data:`ROTATION_DAYS`; set up with ``rotate_immediately=False``, so the
first ``pulumi up`` only has Secrets Manager run testSecret (proving the function's access on day one).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.image_repository import ImageRepository, ImageRepositoryArgs
from foundation import iam
from foundation.function_base import function_base
from foundation.identity import StackIdentity
from foundation.rotation import rotate_secret, rotation_alarm, rotation_statements
from stack_config.services import BuildSource, ImageRepositoriesConfig

# lambda_src/ as the context: the image holds the package path the rotation protocol is imported by.
SETUP_BUILD = BuildSource(context="lambda_src", dockerfile="documentdb_setup/Dockerfile")
VPC_ACCESS_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
PORT = 27017
LOG_RETENTION_DAYS = 30
# The app password's lifetime: each user's password lives two periods (alternating users), bounding a leaked one.
ROTATION_DAYS = 30


@dataclass(frozen=True)
class DocumentDbSetupArgs:
    identity: StackIdentity
    repositories: ImageRepositoriesConfig
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group: aws.ec2.SecurityGroup  # created by the caller first: DocumentDB must admit it
    documentdb: pulumi.Resource  # the cluster's component: the function runs once its instances exist
    documentdb_security_group_id: pulumi.Input[str]
    endpoint: pulumi.Input[str]
    master_secret_arn: pulumi.Input[str]
    app_secret_arn: pulumi.Input[str]
    app_secret_version: pulumi.Input[str]  # a new password is a new version: the user is updated
    database: str
    change_streams: bool
    account_id: pulumi.Input[str] | None = None
    ci_role_arn: pulumi.Input[str | None] | None = None  # CI's deploy role: the only principal its push role trusts
    alarm_topic_arn: pulumi.Input[str] | None = None


class DocumentDbSetup(pulumi.ComponentResource):
    """Creates (or corrects) the app user with readWrite on one database; enables change streams when asked;
    rotates the app user's secret.

    Prevents: a fresh environment whose services cannot log in because a runbook step was skipped, a
    sync task that starts before change streams are on, and a services' password that never changes.
    """

    ready: list[pulumi.Resource]
    alarm: aws.cloudwatch.MetricAlarm

    def __init__(self, name: str, args: DocumentDbSetupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:DocumentDbSetup", name, None, opts)
        ident = args.identity
        child = pulumi.ResourceOptions(parent=self)
        image = ImageRepository(
            "documentdb-setup-images",
            ImageRepositoryArgs(
                ident,
                "documentdb-setup",
                args.repositories,
                build=SETUP_BUILD,
                lambda_compatible=True,
                account_id=args.account_id,
                ci_role_arn=args.ci_role_arn,
            ),
            opts=child,
        )
        image.restrict_access([])  # the Lambda service pulls for the function; no role does

        sg = args.security_group
        aws.vpc.SecurityGroupEgressRule(
            "documentdb-setup-to-documentdb",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            referenced_security_group_id=args.documentdb_security_group_id,
            description="setup function to DocumentDB (TLS)",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            "documentdb-setup-https",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="Secrets Manager over HTTPS (through the NAT)",
            opts=child,
        )

        base = function_base(
            "documentdb-setup",
            ident,
            "documentdb-setup",
            "sets up the services' DocumentDB user and change streams; rotates the user's secret",
            LOG_RETENTION_DAYS,
            self,
        )
        function_name, logs, role = base.name, base.logs, base.role
        # ENIs in the VPC and its own logs (AWS's managed policy for VPC functions); reads the master secret; reads
        # and rotates the app secret, and no other.
        aws.iam.RolePolicyAttachment("documentdb-setup", role=role.name, policy_arn=VPC_ACCESS_POLICY, opts=child)
        role_policy = aws.iam.RolePolicy(
            "documentdb-setup",
            role=role.id,
            policy=pulumi.Output.all(args.master_secret_arn, args.app_secret_arn).apply(
                lambda arns: iam.document(
                    iam.statement(["secretsmanager:GetSecretValue"], [arns[0]]),
                    *rotation_statements(arns[1]),
                    # "*": X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.
                    iam.statement(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
                )
            ),
            opts=child,
        )
        function = aws.lambda_.Function(
            "documentdb-setup",
            name=function_name,
            package_type="Image",
            image_uri=image.image_ref,
            role=role.arn,
            timeout=120,
            memory_size=256,
            # One run at a time: two concurrent createUser/modifyChangeStreams calls (a `pulumi up` and a rotation
            # step included) would race each other.
            reserved_concurrent_executions=1,
            # A failed setup blocks the services' first start; its trace shows where the time or the error went.
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=args.subnet_ids, security_group_ids=[sg.id]),
            # Rotation events name only the secret, its version and the step: where and what comes from here.
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "APP_SECRET_ARN": args.app_secret_arn,
                    "MASTER_SECRET_ARN": args.master_secret_arn,
                    "DOCUMENTDB_ENDPOINT": args.endpoint,
                    "DOCUMENTDB_PORT": str(PORT),
                    "DATABASE": args.database,
                }
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )
        event = pulumi.Output.all(args.endpoint, args.master_secret_arn, args.app_secret_arn).apply(
            lambda v: json.dumps(
                {
                    "endpoint": v[0],
                    "port": PORT,
                    "masterSecretArn": v[1],
                    "appSecretArn": v[2],
                    "database": args.database,
                    "changeStreams": args.change_streams,
                },
                sort_keys=True,
            )
        )
        invocation = aws.lambda_.Invocation(
            "documentdb-setup",
            function_name=function.name,
            input=event,
            # Secret ARNs only in the event; a new password from Pulumi is a new secret version, and a new run.
            triggers={"appSecretVersion": args.app_secret_version},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.documentdb]),
        )

        # Set-up's testSecret logs in as the current user: the invocation must have made it.
        rotate_secret(
            "documentdb-app-user", args.app_secret_arn, function, ROTATION_DAYS, self, [role_policy, invocation]
        )
        self.alarm = rotation_alarm(
            "documentdb-setup",
            ident,
            function_name,
            "The DocumentDB setup or the app user's rotation",
            args.alarm_topic_arn,
            self,
        )
        self.ready = [invocation]
        self.register_outputs({"function_name": function.name})
