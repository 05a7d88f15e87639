"""A connection contract the application services read: one Secrets Manager secret, readable by their roles.

Services are configured with the secret's *name* once; what it says may change
(a new endpoint, a cut-over from DocumentDB to Atlas) without touching them.
Secrets never sit in plain config, code or logs: the value is a Pulumi secret,
and only the client task roles may read it (a resource policy, so the grant
lives next to the data, not in every service's role).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.identity import StackIdentity

SECRET_TYPE = "aws:secretsmanager/secret:Secret"


def contract_json(contract: Mapping[str, Any]) -> pulumi.Output[str]:
    """The contract as stable JSON (sorted keys): the same inputs never produce a new secret version."""
    return pulumi.Output.secret(
        pulumi.Output.from_input(dict(contract)).apply(lambda value: json.dumps(value, sort_keys=True))
    )


def reader_policy(role_arns: Sequence[str]) -> str:
    return iam.document(
        {
            "Sid": "ClientServicesRead",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(role_arns)},
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            # A resource policy's Resource is the secret it is attached to; "*" is how AWS spells "this secret".
            "Resource": "*",
        }
    )


@dataclass(frozen=True)
class ConnectionSecret:
    """The secret, and what must exist before a service reads it: its value and its read grant.

    A task whose secret has no value yet (or no grant) fails to start with ResourceInitializationError,
    and on a fresh environment the circuit breaker then fails the very first deployment: services
    depend on ``ready`` (issue 12, secrets before services).
    """

    secret: aws.secretsmanager.Secret
    version: aws.secretsmanager.SecretVersion  # Pulumi's value: a new one means a new password or contract
    ready: list[pulumi.Resource]

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.secret.arn

    @property
    def name(self) -> pulumi.Output[str]:
        return self.secret.name


def connection_secret(
    name: str,
    identity: StackIdentity,
    component: str,
    description: str,
    value: pulumi.Input[str],
    reader_role_arns: Sequence[pulumi.Input[str]],
    parent: pulumi.Resource,
    tags: Mapping[str, str] | None = None,
) -> ConnectionSecret:
    """A secret named ``{context}-{stage}-{component}`` holding ``value``, readable by ``reader_role_arns``."""
    child = pulumi.ResourceOptions(parent=parent)
    secret = aws.secretsmanager.Secret(
        name,
        name=identity.name(SECRET_TYPE, component),
        description=description,
        # Prod keeps a deleted secret restorable for the longest window AWS allows.
        recovery_window_in_days=30 if identity.keeps_data else 7,
        tags=dict(tags) if tags else None,
        opts=child,
    )
    version = aws.secretsmanager.SecretVersion(
        name, secret_id=secret.id, secret_string=pulumi.Output.secret(value), opts=child
    )
    ready: list[pulumi.Resource] = [version]
    if reader_role_arns:
        ready.append(
            aws.secretsmanager.SecretPolicy(
                name,
                secret_arn=secret.arn,
                policy=pulumi.Output.all(*reader_role_arns).apply(reader_policy),
                opts=child,
            )
        )
    return ConnectionSecret(secret, version, ready)
