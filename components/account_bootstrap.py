"""Account bootstrap: a service-managed StackSet that readies every member account for Pulumi.

An empty account needs the same chores before the first ``pulumi up`` (aws-organizations-as-code.md,
"Account Bootstrap"): the CI's GitHub OIDC provider, a deploy role it may assume, and the bucket the
environment stacks keep their state in. The report copied YAML templates it never read again; here the
template is Python data, so review, tests and the policy pack see every statement.

Modelling: one StackSet with auto-deployment (an account created in or moved into a target OU is
bootstrapped by CloudFormation with no ``pulumi up``), and one ``StackSetInstance`` per OU and region,
registered after the accounts that OU holds, so the first deployment covers them explicitly. Stacks and
buckets are retained when an account leaves an OU or the instance is deleted: the state of every
environment lives there ("you-are-not-saved-by-iac.md").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from foundation.identity import StackIdentity
from stack_config.organization import BootstrapConfig

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# GitHub's intermediate CA thumbprints; IAM now trusts GitHub through its own CA library, but the
# template stays valid for partitions and tools that still require the list.
GITHUB_THUMBPRINTS = ("6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd")
STATE_BUCKET_SUFFIX = "-123456789012-ap-southeast-4"  # the longest '-<account>-<region>' a bucket name gets
NONCURRENT_STATE_DAYS = 90  # old state versions are a recovery point for a quarter, then cost nothing


@dataclass(frozen=True)
class BootstrapNames:
    """Names the template creates in every member account (the same in each, so they are predictable)."""

    deploy_role: str
    boundary_policy: str
    state_bucket_prefix: str

    def deploy_role_arn(self, account_id: str) -> str:
        return f"arn:aws:iam::{account_id}:role/{self.deploy_role}"

    def state_bucket(self, account_id: str, region: str) -> str:
        return f"{self.state_bucket_prefix}-{account_id}-{region}"


def bootstrap_names(identity: StackIdentity) -> BootstrapNames:
    prefix = identity.name("aws:s3/bucket:Bucket", "pulumi-state")
    if len(prefix + STATE_BUCKET_SUFFIX) > 63:
        raise ValueError(
            f"state bucket prefix '{prefix}' leaves no room for '-<account>-<region>' within "
            f"S3's 63 characters; shorten aws-platform:context"
        )
    return BootstrapNames(
        deploy_role=identity.name("aws:iam/role:Role", "pulumi-deploy"),
        boundary_policy=identity.name("aws:iam/policy:Policy", "pulumi-deploy-boundary"),
        state_bucket_prefix=prefix,
    )


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def boundary_document(names: BootstrapNames) -> dict[str, Any]:
    """The deploy role's ceiling: anything a platform stack builds, nothing that undoes the organization,
    mints long-lived credentials, or removes the bootstrap (the role, its boundary, the state)."""
    own_role = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + names.deploy_role
    own_boundary = "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/" + names.boundary_policy
    state_buckets = "arn:${AWS::Partition}:s3:::" + names.state_bucket_prefix + "-${AWS::AccountId}-*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            # "*": a boundary is a ceiling, not a grant; the statements below carve out what Pulumi must never do.
            {"Sid": "PlatformStacks", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Sid": "NoOrganizationChanges",
                "Effect": "Deny",
                "Action": ["account:*", "organizations:*"],
                "Resource": "*",
            },
            {
                "Sid": "NoLongLivedCredentials",
                "Effect": "Deny",
                "Action": ["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateUser"],
                "Resource": "*",
            },
            {
                "Sid": "BootstrapIsImmutable",
                "Effect": "Deny",
                "Action": [
                    "iam:AttachRolePolicy",
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:DeleteRole",
                    "iam:DeleteRolePermissionsBoundary",
                    "iam:DeleteRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:PutRolePermissionsBoundary",
                    "iam:PutRolePolicy",
                    "iam:SetDefaultPolicyVersion",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:UpdateRole",
                ],
                "Resource": [_sub(own_role), _sub(own_boundary)],
            },
            {
                "Sid": "StateSurvives",
                "Effect": "Deny",
                "Action": [
                    "s3:DeleteBucket",
                    "s3:DeleteBucketPolicy",
                    "s3:PutBucketPolicy",
                    "s3:PutBucketVersioning",
                    "s3:PutLifecycleConfiguration",
                ],
                "Resource": _sub(state_buckets),
            },
        ],
    }


def bootstrap_template(names: BootstrapNames, config: BootstrapConfig, tags: Mapping[str, str]) -> dict[str, Any]:
    """The CloudFormation template as data: OIDC provider, deploy role with its boundary, state bucket.

    IAM is global: the OIDC provider, the role and its boundary are created in the first bootstrap region
    only (``IamRegion``), the state bucket in every region listed.
    """
    iam_region = config.regions[0]
    # Only the configured repository's ref may assume the role, and only with a token minted for STS.
    subject = f"repo:{config.github_repository}:{config.github_ref}"
    condition: dict[str, dict[str, str]] = {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"}}
    # A wildcard ref ('environment:*') needs StringLike; an exact one stays StringEquals.
    operator = "StringLike" if "*" in subject else "StringEquals"
    condition.setdefault(operator, {})[f"{GITHUB_OIDC_HOST}:sub"] = subject
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": {"Ref": "GitHubOidcProvider"}},
                "Condition": condition,
            }
        ],
    }
    bucket = _sub(names.state_bucket_prefix + "-${AWS::AccountId}-${AWS::Region}")
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Pulumi bootstrap: GitHub OIDC deploy role with a permissions boundary, and the state bucket",
        "Conditions": {"IamRegion": {"Fn::Equals": [{"Ref": "AWS::Region"}, iam_region]}},
        "Resources": {
            "GitHubOidcProvider": {
                "Type": "AWS::IAM::OIDCProvider",
                "Condition": "IamRegion",
                "Properties": {
                    "Url": GITHUB_OIDC_URL,
                    "ClientIdList": ["sts.amazonaws.com"],
                    "ThumbprintList": list(GITHUB_THUMBPRINTS),
                    "Tags": _tags(tags),
                },
            },
            "DeployBoundary": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Condition": "IamRegion",
                "Properties": {
                    "ManagedPolicyName": names.boundary_policy,
                    "Description": "Ceiling for the Pulumi deploy role",
                    "PolicyDocument": boundary_document(names),
                },
            },
            "DeployRole": {
                "Type": "AWS::IAM::Role",
                "Condition": "IamRegion",
                "Properties": {
                    "RoleName": names.deploy_role,
                    "Description": f"Assumed by {config.github_repository} CI to run pulumi up",
                    "AssumeRolePolicyDocument": trust,
                    # AdministratorAccess: Pulumi builds every kind of platform resource (IAM roles included);
                    # the permissions boundary is what limits it.
                    "ManagedPolicyArns": [_sub("arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess")],
                    "PermissionsBoundary": {"Ref": "DeployBoundary"},
                    "MaxSessionDuration": 3600,
                    "Tags": _tags(tags),
                },
            },
            "StateBucket": {
                "Type": "AWS::S3::Bucket",
                # Every environment's state: kept when the stack, the instance or the account's OU goes away.
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "BucketName": bucket,
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "LifecycleConfiguration": {
                        "Rules": [
                            {
                                "Id": "expire-old-state-versions",
                                "Status": "Enabled",
                                "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_STATE_DAYS},
                            }
                        ]
                    },
                    "Tags": _tags(tags),
                },
            },
            "StateBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "StateBucket"},
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "TlsOnly",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [
                                    _sub("arn:${AWS::Partition}:s3:::${StateBucket}"),
                                    _sub("arn:${AWS::Partition}:s3:::${StateBucket}/*"),
                                ],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    },
                },
            },
        },
        "Outputs": {
            "StateBucketName": {"Value": {"Ref": "StateBucket"}},
            "DeployRoleArn": {"Condition": "IamRegion", "Value": {"Fn::GetAtt": ["DeployRole", "Arn"]}},
        },
    }


@dataclass(frozen=True)
class AccountBootstrapArgs:
    identity: StackIdentity
    config: BootstrapConfig
    ou_ids: Mapping[str, pulumi.Input[str]]  # every OU to bootstrap, by name
    accounts_by_ou: Mapping[str, Sequence[pulumi.Resource]]  # registered before their OU's instance


class AccountBootstrap(pulumi.ComponentResource):
    """The bootstrap StackSet and its per-OU, per-region instances."""

    stack_set_name: pulumi.Output[str]
    names: BootstrapNames

    def __init__(self, name: str, args: AccountBootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:AccountBootstrap", name, None, opts)
        ident, cfg = args.identity, args.config
        self.names = bootstrap_names(ident)
        template = bootstrap_template(self.names, cfg, ident.tags)
        stack_set = aws.cloudformation.StackSet(
            "bootstrap",
            name=ident.name("aws:cloudformation/stackSet:StackSet", "account-bootstrap"),
            description="Pulumi bootstrap for member accounts: GitHub OIDC deploy role and state bucket",
            permission_model="SERVICE_MANAGED",
            # Auto-deployment: a new or moved account is bootstrapped by CloudFormation, without a pulumi up.
            auto_deployment=aws.cloudformation.StackSetAutoDeploymentArgs(
                enabled=True, retain_stacks_on_account_removal=True
            ),
            capabilities=["CAPABILITY_NAMED_IAM"],
            template_body=json.dumps(template, sort_keys=True),
            managed_execution=aws.cloudformation.StackSetManagedExecutionArgs(active=True),
            operation_preferences=aws.cloudformation.StackSetOperationPreferencesArgs(
                failure_tolerance_count=0, max_concurrent_percentage=25, region_concurrency_type="SEQUENTIAL"
            ),
            # Stack-level tags are in every CreateStack request (scp-request-time-tags.md).
            tags=ident.tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=ident.protected,
                # AWS fills in its service-managed role; it is not ours to change.
                ignore_changes=["administrationRoleArn"],
            ),
        )
        for ou, ou_id in sorted(args.ou_ids.items()):
            for region in cfg.regions:
                aws.cloudformation.StackSetInstance(
                    f"bootstrap-{ou}-{region}",
                    stack_set_name=stack_set.name,
                    deployment_targets=aws.cloudformation.StackSetInstanceDeploymentTargetsArgs(
                        organizational_unit_ids=[ou_id]
                    ),
                    stack_set_instance_region=region,
                    retain_stack=True,  # deleting the instance must never delete the state bucket's stack
                    opts=pulumi.ResourceOptions(parent=stack_set, depends_on=list(args.accounts_by_ou.get(ou, ()))),
                )
        self.stack_set_name = stack_set.name
        self.register_outputs({"stack_set_name": self.stack_set_name})
