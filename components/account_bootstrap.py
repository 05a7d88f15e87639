"""Account bootstrap: one template that readies every account for Pulumi and for CI, deployed by a StackSet.

An empty account needs the same chores before the first ``pulumi up`` (aws-organizations-as-code.md,
"Account Bootstrap"): the CI's GitHub OIDC provider, roles CI may assume, and the bucket the environment
stacks keep their state in. The report copied YAML templates it never read again; here the template is
Python data, so review, tests and the policy pack see every statement.

Day one (issue 12): a job in a GitHub environment presents ``repo:<repo>:environment:<name>``, so each
account's deploy role trusts exactly the environment config names for it (a condition on
``AWS::AccountId``); a read-only role serves pull-request previews and the drift check; the management
account gets the same template as a plain stack (service-managed StackSets never deploy there).
Recovery (you-are-not-saved-by-iac.md): every state bucket replicates to a bucket in a backup account and
another region, so the state, and the generated secrets in it, survive losing the account.

Modelling: one StackSet with auto-deployment (an account created in or moved into a target OU is
bootstrapped by CloudFormation with no ``pulumi up``), and one ``StackSetInstance`` per OU and region,
registered after the accounts that OU holds, so the first deployment covers them explicitly. Stacks and
buckets are retained when an account leaves an OU or the instance is deleted: the state of every
environment lives there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from foundation.identity import StackIdentity
from foundation.stack_sets import service_managed_stack_set
from stack_config import backend
from stack_config.organization import BootstrapConfig

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# GitHub's intermediate CA thumbprints; IAM now trusts GitHub through its own CA library, but the
# template stays valid for partitions and tools that still require the list.
GITHUB_THUMBPRINTS = ("6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd")
STATE_BUCKET_SUFFIX = "-123456789012-ap-southeast-4"  # the longest '-<account>-<region>' a bucket name gets
NONCURRENT_STATE_DAYS = 90
# What would rewrite a bootstrap role or its boundary: denied by the boundary, and by the baseline's SCP.
ROLE_CHANGES: tuple[str, ...] = (
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
)  # old state versions are a recovery point for a quarter, then cost nothing


@dataclass(frozen=True)
class BootstrapNames:
    """Names the template creates in every member account (the same in each, so they are predictable)."""

    deploy_role: str
    boundary_policy: str
    state_bucket_prefix: str
    read_only_role: str = ""
    replication_role: str = ""
    backup_bucket_prefix: str = ""

    def deploy_role_arn(self, account_id: str) -> str:
        return f"arn:aws:iam::{account_id}:role/{self.deploy_role}"

    def read_only_role_arn(self, account_id: str) -> str:
        return f"arn:aws:iam::{account_id}:role/{self.read_only_role}"

    def backup_bucket(self, account_id: str, region: str) -> str:
        """The one bucket every state bucket of the organization replicates to (stack names are unique per org)."""
        return f"{self.backup_bucket_prefix}-{account_id}-{region}"

    def state_bucket(self, account_id: str, region: str) -> str:
        return f"{self.state_bucket_prefix}-{account_id}-{region}"


def bootstrap_names(identity: StackIdentity) -> BootstrapNames:
    prefix = identity.name("aws:s3/bucket:Bucket", "pulumi-state")
    backup = identity.name("aws:s3/bucket:Bucket", "pulumi-backup")
    for name in (prefix, backup):
        if len(name + STATE_BUCKET_SUFFIX) > 63:
            raise ValueError(
                f"state bucket prefix '{name}' leaves no room for '-<account>-<region>' within "
                f"S3's 63 characters; shorten aws-platform:context"
            )
    return BootstrapNames(
        deploy_role=identity.name("aws:iam/role:Role", "pulumi-deploy"),
        boundary_policy=identity.name("aws:iam/policy:Policy", "pulumi-deploy-boundary"),
        state_bucket_prefix=prefix,
        read_only_role=identity.name("aws:iam/role:Role", "pulumi-read-only"),
        replication_role=identity.name("aws:iam/role:Role", "pulumi-state-replication"),
        backup_bucket_prefix=backup,
    )


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def boundary_document(names: BootstrapNames) -> dict[str, Any]:
    """The deploy role's ceiling: anything a platform stack builds, nothing that undoes the organization,
    mints long-lived credentials, or removes the bootstrap (the role, its boundary, the state)."""
    roles = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
    own_roles = [_sub(roles + r) for r in (names.deploy_role, names.read_only_role, names.replication_role) if r]
    own_boundary = "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/" + names.boundary_policy
    state_buckets = "arn:${AWS::Partition}:s3:::" + names.state_bucket_prefix + "-${AWS::AccountId}-*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            # "*": a boundary is a ceiling, not a grant; the statements below carve out what Pulumi must never do.
            {"Sid": "PlatformStacks", "Effect": "Allow", "Action": "*", "Resource": "*"},
            # The org stack's own deploy role (management account) is what changes the organization.
            {
                "Fn::If": [
                    "IsManagementAccount",
                    {"Ref": "AWS::NoValue"},
                    {
                        "Sid": "NoOrganizationChanges",
                        "Effect": "Deny",
                        "Action": ["account:*", "organizations:*"],
                        "Resource": "*",
                    },
                ]
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
                "Action": list(ROLE_CHANGES),
                "Resource": [*own_roles, _sub(own_boundary)],
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
                    "s3:PutReplicationConfiguration",
                ],
                "Resource": _sub(state_buckets),
            },
        ],
    }


@dataclass(frozen=True)
class StateBackup:
    """The replica every state bucket writes to: a bucket in another account and region."""

    account_id: str
    region: str
    bucket: str
    organization_id: str = ""
    noncurrent_days: int = 365


def _any_condition(names: Sequence[str]) -> dict[str, Any]:
    """Fn::Or over condition names (2 to 10 operands each, so nested for more)."""
    refs: list[dict[str, Any]] = [{"Condition": n} for n in names]
    while len(refs) > 1:
        refs = [{"Fn::Or": chunk if len(chunk) > 1 else chunk * 2} for chunk in _chunks(refs, 10)]
    return refs[0] if refs and "Fn::Or" in refs[0] else {"Fn::Or": refs * 2}


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def subject_condition(repository: str, suffixes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Tokens minted for STS whose subject is one of ``repo:<repository>:<suffix>``; a '*' needs StringLike."""
    subjects = [f"repo:{repository}:{suffix}" for suffix in suffixes]
    condition: dict[str, dict[str, Any]] = {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"}}
    operator = "StringLike" if any("*" in s for s in subjects) else "StringEquals"
    condition.setdefault(operator, {})[f"{GITHUB_OIDC_HOST}:sub"] = subjects[0] if len(subjects) == 1 else subjects
    return condition


def _web_identity_trust(condition: Any) -> dict[str, Any]:
    return {
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


def _read_only_trust(condition: Any, management_account_id: str, role: str) -> dict[str, Any]:
    """CI's previews by OIDC; and the management account's read-only role (the org stack's pull-request preview
    of the baseline). By the account and a condition on the role, not the role as principal: IAM refuses a trust
    naming a role that does not exist yet, and member stacks may be created before the management account's."""
    trust = _web_identity_trust(condition)
    if management_account_id:
        trust["Statement"].append(
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": f"arn:aws:iam::{management_account_id}:root"},
                "Condition": {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{management_account_id}:role/{role}"}},
            }
        )
    return trust


def bootstrap_template(
    names: BootstrapNames,
    config: BootstrapConfig,
    tags: Mapping[str, str],
    *,
    deploy_environments: Mapping[str, str] | None = None,
    management_account_id: str = "",
    backup: StateBackup | None = None,
    organization_id: str = "",
    replica_region: str | None = None,
) -> dict[str, Any]:
    """The CloudFormation template as data: OIDC provider, CI roles, the shared state bucket and its replication.

    IAM is global: the OIDC provider and the roles are created in the bootstrap region (``IamRegion``).
    The state of every stack lives in one bucket, in the management account (``IsStateHome``): a stack
    reference reads only from its own backend, so with a bucket per account no stack could read the org
    stack's outputs, nor prod staging's digests (issue 21). Every deploy and read-only role of the
    organization reads it; each account's deploy role writes only its own stacks' objects. One template serves every account, so what
    differs per account is a condition on ``AWS::AccountId``: ``deploy_environments`` maps an account id to
    the one GitHub environment whose jobs may assume its deploy role (GitHub puts
    ``repo:<repo>:environment:<name>`` in the token of a job that runs in an environment). An account not
    in the map gets no deploy role at all: CI cannot deploy there until config says which environment may.
    """
    iam_region = config.regions[0]
    environments = dict(sorted((deploy_environments or {}).items()))
    conditions: dict[str, Any] = {
        "IamRegion": {"Fn::Equals": [{"Ref": "AWS::Region"}, iam_region]},
        "IsManagementAccount": {"Fn::Equals": [{"Ref": "AWS::AccountId"}, management_account_id]},
        "IsStateHome": {"Fn::And": [{"Condition": "IsManagementAccount"}, {"Condition": "IamRegion"}]},
    }
    state_home = names.state_bucket(management_account_id, iam_region)
    deploys = {account: f"DeploysAccount{account}" for account in environments}
    for account, condition in deploys.items():
        conditions[condition] = {"Fn::Equals": [{"Ref": "AWS::AccountId"}, account]}
    # Only the environment named for this account; the fallback is never used (the role needs a match to exist).
    subject: Any = "no-deploy-environment"
    for account in reversed(list(environments)):
        subject = {
            "Fn::If": [
                deploys[account],
                f"repo:{config.github_repository}:environment:{environments[account]}",
                subject,
            ]
        }
    resources: dict[str, Any] = {}
    if environments:
        conditions["HasDeployEnvironment"] = _any_condition(list(deploys.values()))
        conditions["CreateDeployRole"] = {
            "Fn::And": [{"Condition": "IamRegion"}, {"Condition": "HasDeployEnvironment"}]
        }
        deploy_condition = {
            "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com", f"{GITHUB_OIDC_HOST}:sub": subject}
        }
        resources["DeployBoundary"] = {
            "Type": "AWS::IAM::ManagedPolicy",
            "Condition": "CreateDeployRole",
            "Properties": {
                "ManagedPolicyName": names.boundary_policy,
                "Description": "Ceiling for the Pulumi deploy role",
                "PolicyDocument": boundary_document(names),
            },
        }
        resources["DeployRole"] = {
            "Type": "AWS::IAM::Role",
            "Condition": "CreateDeployRole",
            "Properties": {
                "RoleName": names.deploy_role,
                "Description": f"Assumed by {config.github_repository} deploy jobs of this account's environment",
                "AssumeRolePolicyDocument": _web_identity_trust(deploy_condition),
                # AdministratorAccess: Pulumi builds every kind of platform resource (IAM roles included);
                # the permissions boundary is what limits it.
                "ManagedPolicyArns": [_sub("arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess")],
                "PermissionsBoundary": {"Ref": "DeployBoundary"},
                "MaxSessionDuration": 3600,
                "Tags": _tags(tags),
            },
        }
    state_objects = _sub("arn:${AWS::Partition}:s3:::" + names.state_bucket_prefix + "-${AWS::AccountId}-*/*")
    resources["ReadOnlyRole"] = {
        "Type": "AWS::IAM::Role",
        "Condition": "IamRegion",
        "Properties": {
            "RoleName": names.read_only_role,
            "Description": f"Assumed by {config.github_repository} previews and drift checks: read, never change",
            "AssumeRolePolicyDocument": _read_only_trust(
                subject_condition(config.github_repository, config.read_only_subjects),
                management_account_id,
                names.read_only_role,
            ),
            "ManagedPolicyArns": [_sub("arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess")],
            "Policies": [
                {
                    # A preview or refresh takes the stack's lock in the S3 backend; that object is all it writes.
                    "PolicyName": "state-locks",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["s3:PutObject", "s3:DeleteObject"],
                                # The shared bucket's policy narrows it to this account's own stacks.
                                "Resource": _sub("arn:${AWS::Partition}:s3:::" + state_home + "/.pulumi/locks/*"),
                            }
                        ],
                    },
                },
                # The org stack's pull-request preview reads member accounts (the security baseline) as their
                # read-only role (foundation/account_providers.py): only from the management account's.
                {
                    "Fn::If": [
                        "IsManagementAccount",
                        {
                            "PolicyName": "read-member-accounts",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": "sts:AssumeRole",
                                        "Resource": _sub("arn:${AWS::Partition}:iam::*:role/" + names.read_only_role),
                                        "Condition": {"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}},
                                    }
                                ],
                            },
                        },
                        {"Ref": "AWS::NoValue"},
                    ]
                },
            ],
            "MaxSessionDuration": 3600,
            "Tags": _tags(tags),
        },
    }
    state_condition: dict[str, str] = {"Condition": "IsStateHome"}
    # The recovery region's copy of the shared bucket (docs/recovery.md): a recovery stack's own state lives there,
    # and the states it references are there as replicas when the shared bucket's region is gone.
    replica = names.state_bucket(management_account_id, replica_region) if replica_region else None
    if replica_region is not None:
        conditions["IsStateReplicaHome"] = {
            "Fn::And": [
                {"Condition": "IsManagementAccount"},
                {"Fn::Equals": [{"Ref": "AWS::Region"}, replica_region]},
            ]
        }
        resources.update(_state_replica_bucket(names, environments, organization_id, tags))
    destinations = [f"arn:aws:s3:::{b}" for b in (backup.bucket if backup else None, replica) if b]
    if destinations:
        resources["ReplicationRole"] = _replication_role(names, destinations, state_objects, tags)
    if backup is not None:
        # The backup account's instance in the backup region holds the copy instead of a state bucket: the
        # org stack needs no provider in that account, so its read-only previews and drift checks work too.
        conditions["IsBackupHome"] = {
            "Fn::And": [
                {"Fn::Equals": [{"Ref": "AWS::AccountId"}, backup.account_id]},
                {"Fn::Equals": [{"Ref": "AWS::Region"}, backup.region]},
            ]
        }
        resources.update(_backup_bucket(names, backup, tags))
    bucket = _sub(names.state_bucket_prefix + "-${AWS::AccountId}-${AWS::Region}")
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Pulumi bootstrap: GitHub OIDC deploy and read-only roles, the replicated state bucket",
        "Conditions": conditions,
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
            **resources,
            "StateBucket": {
                "Type": "AWS::S3::Bucket",
                **state_condition,
                # Every environment's state: kept when the stack, the instance or the account's OU goes away.
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    **_state_bucket_properties(bucket, NONCURRENT_STATE_DAYS),
                    **({"ReplicationConfiguration": _replication(names, backup, replica)} if destinations else {}),
                    "Tags": _tags(tags),
                },
            },
            "StateBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                **state_condition,
                "Properties": {
                    "Bucket": {"Ref": "StateBucket"},
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            _tls_only("StateBucket"),
                            *_shared_state_statements(names, environments, organization_id),
                        ],
                    },
                },
            },
        },
        "Outputs": {
            "StateBucketName": {**state_condition, "Value": {"Ref": "StateBucket"}},
            "ReadOnlyRoleArn": {"Condition": "IamRegion", "Value": {"Fn::GetAtt": ["ReadOnlyRole", "Arn"]}},
            **(
                {"DeployRoleArn": {"Condition": "CreateDeployRole", "Value": {"Fn::GetAtt": ["DeployRole", "Arn"]}}}
                if environments
                else {}
            ),
        },
    }


def stack_prefixes(environment: str) -> list[str]:
    """The state objects of the stacks an environment deploys (``prod``: ``prod`` and ``prod-dr``), as a DIY backend
    lays them out: ``.pulumi/{stacks,history,backups}/<project>/<stack>…`` and ``.pulumi/locks/organization/…``."""
    found = []
    for stack in (environment, f"{environment}-*"):
        found += [
            f".pulumi/stacks/{backend.PROJECT}/{stack}.json*",
            *(f".pulumi/{kind}/{backend.PROJECT}/{stack}/*" for kind in ("history", "backups")),
            f".pulumi/locks/{backend.DIY_ORGANIZATION}/{backend.PROJECT}/{stack}/*",
        ]
    return found


def _tls_only(bucket: str | None = None, arn: str | None = None) -> dict[str, Any]:
    """Deny every request without TLS, to the template's ``bucket`` resource or to the bucket ``arn``."""
    resources: list[Any] = (
        [arn, f"{arn}/*"]
        if arn
        else [
            _sub("arn:${AWS::Partition}:s3:::${" + str(bucket) + "}"),
            _sub("arn:${AWS::Partition}:s3:::${" + str(bucket) + "}/*"),
        ]
    )
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _shared_state_statements(
    names: BootstrapNames, environments: Mapping[str, str], organization_id: str, bucket_resource: str = "StateBucket"
) -> list[dict[str, Any]]:
    """Who may use the one state bucket: the organization's CI roles read every stack (stack references, the
    preview's lock aside); each account's deploy role writes its own stacks only, its read-only role their locks."""
    bucket = "arn:${AWS::Partition}:s3:::${" + bucket_resource + "}"
    ci_roles = [f"arn:aws:iam::*:role/{r}" for r in (names.deploy_role, names.read_only_role) if r]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OrganizationCiReadsState",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
            "Resource": [_sub(bucket), _sub(bucket + "/.pulumi/*")],
            "Condition": {
                "StringEquals": {"aws:PrincipalOrgID": organization_id},
                "ArnLike": {"aws:PrincipalArn": ci_roles},
            },
        }
    ]
    for account, environment in sorted(environments.items()):
        objects = [_sub(f"{bucket}/{prefix}") for prefix in stack_prefixes(environment)]
        locks = [o for o in objects if "/.pulumi/locks/" in o["Fn::Sub"]]
        writers = [
            ("WritesItsStacks", names.deploy_role, objects),
            ("PreviewsLockItsStacks", names.read_only_role, locks),
        ]
        statements += [
            {
                "Sid": f"Account{account}{what}",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:role/{role}"},
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": resources,
            }
            for what, role, resources in writers
            if role
        ]
    return statements


def _state_bucket_properties(bucket: str | dict[str, str], noncurrent_days: int) -> dict[str, Any]:
    """State and its backup alike: versioned (a bad write has a way back), SSE-S3, private, owner-enforced."""
    return {
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
                    "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                }
            ]
        },
    }


def _backup_bucket(names: BootstrapNames, backup: StateBackup, tags: Mapping[str, str]) -> dict[str, Any]:
    """The copy: versioned, retained, private, written only by the organization's replication roles."""
    return {
        "BackupBucket": {
            "Type": "AWS::S3::Bucket",
            "Condition": "IsBackupHome",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {**_state_bucket_properties(backup.bucket, backup.noncurrent_days), "Tags": _tags(tags)},
        },
        "BackupBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Condition": "IsBackupHome",
            "Properties": {
                "Bucket": {"Ref": "BackupBucket"},
                "PolicyDocument": backup_bucket_policy(
                    f"arn:aws:s3:::{backup.bucket}", backup.organization_id, names.replication_role
                ),
            },
        },
    }


def _state_replica_bucket(
    names: BootstrapNames, environments: Mapping[str, str], organization_id: str, tags: Mapping[str, str]
) -> dict[str, Any]:
    """The shared bucket's twin in the recovery region: the same properties and the same writers per stack."""
    return {
        "StateReplicaBucket": {
            "Type": "AWS::S3::Bucket",
            "Condition": "IsStateReplicaHome",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                **_state_bucket_properties(
                    _sub(names.state_bucket_prefix + "-${AWS::AccountId}-${AWS::Region}"), NONCURRENT_STATE_DAYS
                ),
                "Tags": _tags(tags),
            },
        },
        "StateReplicaBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Condition": "IsStateReplicaHome",
            "Properties": {
                "Bucket": {"Ref": "StateReplicaBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        _tls_only("StateReplicaBucket"),
                        *_shared_state_statements(names, environments, organization_id, "StateReplicaBucket"),
                    ],
                },
            },
        },
    }


# S3 Replication Time Control: 99.99 % of new objects replicated within 15 minutes, by AWS's SLA
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html).
REPLICATION_TIME_MINUTES = 15


def _replication(names: BootstrapNames, backup: StateBackup | None, replica: str | None) -> dict[str, Any]:
    """Every state version to the backup account's bucket, owned there, and to the recovery region's replica (with
    Replication Time Control: the recovery point of every stack's state); deletions are never replicated."""

    def rule(rule_id: str, priority: int, destination: dict[str, Any]) -> dict[str, Any]:
        # A deleted stack or a wiped bucket must not wipe the copy too.
        return {
            "Id": rule_id,
            "Status": "Enabled",
            "Priority": priority,
            "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": destination,
        }

    rules: list[dict[str, Any]] = []
    if backup is not None:
        owned_there = {"AccessControlTranslation": {"Owner": "Destination"}, "StorageClass": "STANDARD_IA"}
        destination = {"Bucket": f"arn:aws:s3:::{backup.bucket}", "Account": backup.account_id, **owned_there}
        rules.append(rule("state-to-backup-account", 1, destination))
    if replica is not None:
        window = {"Minutes": REPLICATION_TIME_MINUTES}
        destination = {
            "Bucket": f"arn:aws:s3:::{replica}",
            "ReplicationTime": {"Status": "Enabled", "Time": window},
            "Metrics": {"Status": "Enabled", "EventThreshold": window},
        }
        rules.append(rule("state-to-recovery-region", 2, destination))
    return {
        "Role": _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + names.replication_role),
        "Rules": rules,
    }


def _replication_role(
    names: BootstrapNames, destinations: Sequence[str], state_objects: dict[str, str], tags: Mapping[str, str]
) -> dict[str, Any]:
    """S3 replicates as this role: read this account's state buckets, write the copies, nothing else."""
    state_buckets = _sub("arn:${AWS::Partition}:s3:::" + names.state_bucket_prefix + "-${AWS::AccountId}-*")
    return {
        "Type": "AWS::IAM::Role",
        "Condition": "IsStateHome",
        "Properties": {
            "RoleName": names.replication_role,
            "Description": "S3 copies the Pulumi state to the backup account and the recovery region",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "replicate-state",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                                "Resource": state_buckets,
                            },
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "s3:GetObjectVersionAcl",
                                    "s3:GetObjectVersionForReplication",
                                    "s3:GetObjectVersionTagging",
                                ],
                                "Resource": state_objects,
                            },
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "s3:ObjectOwnerOverrideToBucketOwner",
                                    "s3:ReplicateObject",
                                    "s3:ReplicateTags",
                                ],
                                "Resource": [f"{d}/*" for d in destinations],
                            },
                        ],
                    },
                }
            ],
            "Tags": _tags(tags),
        },
    }


@dataclass(frozen=True)
class AccountBootstrapArgs:
    identity: StackIdentity
    config: BootstrapConfig
    ou_ids: Mapping[str, pulumi.Input[str]]  # every OU to bootstrap, by name
    accounts_by_ou: Mapping[str, Sequence[pulumi.Resource]]  # registered before their OU's instance
    account_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # by account name
    deploy_environments: Mapping[str, str] = field(default_factory=dict)  # account name -> GitHub environment
    account_ous: Mapping[str, str] = field(default_factory=dict)  # account name -> OU name
    management_account_id: pulumi.Input[str] = ""
    organization_id: pulumi.Input[str] = ""


class AccountBootstrap(pulumi.ComponentResource):
    """The bootstrap StackSet for member accounts, the same template as a stack in the management account, and
    the backup bucket every state bucket replicates to.

    Prevents: CI that cannot assume its role on day one (each deploy role trusts exactly the subject its
    environment's jobs present), one environment deploying into another's account, and state that is lost
    with its account (you-are-not-saved-by-iac.md).
    """

    stack_set_name: pulumi.Output[str]
    names: BootstrapNames
    backup_bucket: pulumi.Output[str] | None

    def __init__(self, name: str, args: AccountBootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:AccountBootstrap", name, None, opts)
        ident, cfg = args.identity, args.config
        self.names = bootstrap_names(ident)
        backup_id: pulumi.Input[str] = ""
        self.backup_bucket = None
        if cfg.state_backup is not None:
            backup_id = args.account_ids[cfg.state_backup.account]
            backup_region = cfg.state_backup.region
            self.backup_bucket = pulumi.Output.from_input(backup_id).apply(
                lambda acct: self.names.backup_bucket(acct, backup_region)
            )
        deployers = sorted(args.deploy_environments.items())

        def render(values: dict[str, Any]) -> str:
            environments = {values["ids"][i]: env for i, (_, env) in enumerate(deployers)}
            environments[values["management"]] = cfg.management_environment
            backup = (
                StateBackup(
                    values["backup"],
                    cfg.state_backup.region,
                    self.names.backup_bucket(values["backup"], cfg.state_backup.region),
                    organization_id=values["organization"],
                    noncurrent_days=cfg.state_backup.noncurrent_days,
                )
                if cfg.state_backup is not None
                else None
            )
            body = bootstrap_template(
                self.names,
                cfg,
                ident.tags,
                deploy_environments=environments,
                management_account_id=values["management"],
                backup=backup,
                organization_id=values["organization"],
                replica_region=cfg.state_replica_region,
            )
            return json.dumps(body, sort_keys=True)

        template_body = pulumi.Output.all(
            ids=pulumi.Output.all(*[args.account_ids[account] for account, _ in deployers]),
            management=args.management_account_id,
            backup=backup_id,
            organization=args.organization_id,
        ).apply(render)
        stack_set = service_managed_stack_set(
            "bootstrap",
            ident,
            component="account-bootstrap",
            description="Pulumi bootstrap for member accounts: GitHub OIDC roles and the replicated state bucket",
            template_body=template_body,
            retain_stacks_on_account_removal=True,
            opts=pulumi.ResourceOptions(parent=self, protect=ident.protected),
        )
        waits: list[pulumi.Resource] = []
        if cfg.state_backup is not None:
            # The copy first: S3 refuses a replication rule whose destination bucket does not exist yet.
            backup_ou = args.account_ous[cfg.state_backup.account]
            waits.append(
                aws.cloudformation.StackSetInstance(
                    f"bootstrap-backup-{cfg.state_backup.region}",
                    stack_set_name=stack_set.name,
                    deployment_targets=aws.cloudformation.StackSetInstanceDeploymentTargetsArgs(
                        organizational_unit_ids=[args.ou_ids[backup_ou]],
                        accounts=[backup_id],
                        account_filter_type="INTERSECTION",
                    ),
                    stack_set_instance_region=cfg.state_backup.region,
                    retain_stack=True,  # the backup bucket outlives every change to this stack
                    opts=pulumi.ResourceOptions(
                        parent=stack_set, depends_on=list(args.accounts_by_ou.get(backup_ou, ()))
                    ),
                )
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
                    opts=pulumi.ResourceOptions(
                        parent=stack_set, depends_on=[*args.accounts_by_ou.get(ou, ()), *waits]
                    ),
                )
        # A service-managed StackSet never deploys to the management account: the same template as a plain stack
        # gives the org stack its CI roles and its own replicated state bucket.
        # The recovery region's replica first: it is the shared bucket's replication destination.
        replica_first = [cfg.state_replica_region] if cfg.state_replica_region else []
        for region in [*replica_first, *cfg.regions]:
            provider = aws.Provider(
                f"bootstrap-management-{region}",
                region=region,
                default_tags=aws.ProviderDefaultTagsArgs(tags=ident.tags),
                allowed_account_ids=[args.management_account_id],
                opts=pulumi.ResourceOptions(parent=self),
            )
            management = aws.cloudformation.Stack(
                f"bootstrap-management-{region}",
                name=ident.label("management-bootstrap", max_length=128),
                template_body=template_body,
                capabilities=["CAPABILITY_NAMED_IAM"],
                tags=ident.tags,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=provider, protect=ident.protected, retain_on_delete=True, depends_on=waits
                ),
            )
            if region in replica_first:
                waits = [*waits, management]
        self.stack_set_name = stack_set.name
        self.register_outputs({"stack_set_name": self.stack_set_name})


def backup_bucket_policy(bucket_arn: str, organization_id: str, replication_role: str) -> dict[str, Any]:
    """Only the organization's state replication roles write (never delete); nothing without TLS."""
    replicators = {
        "StringEquals": {"aws:PrincipalOrgID": organization_id},
        "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/{replication_role}"},
    }
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OrganizationStateReplicationWrites",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["s3:ObjectOwnerOverrideToBucketOwner", "s3:ReplicateObject", "s3:ReplicateTags"],
                "Resource": f"{bucket_arn}/*",
                "Condition": replicators,
            },
            {
                "Sid": "OrganizationStateReplicationChecksVersioning",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["s3:GetBucketVersioning", "s3:ListBucket"],
                "Resource": bucket_arn,
                "Condition": replicators,
            },
            _tls_only(arn=bucket_arn),
        ],
    }
