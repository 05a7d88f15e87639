"""Ingress for a data store: a port range, from the client services' security groups and nowhere else."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws


def admit_clients(
    prefix: str,
    security_group: aws.ec2.SecurityGroup,
    clients: Sequence[pulumi.Input[str]],
    from_port: int,
    to_port: int,
    description: str,
    opts: pulumi.ResourceOptions,
) -> list[aws.vpc.SecurityGroupIngressRule]:
    """One rule per client security group, named ``{prefix}-from-client-{index}``; never a CIDR.

    Clients' egress is restricted too (tasks send HTTPS only): each client gets the matching egress rule to
    this store's security group, ``{prefix}-to-store-{index}``.
    """
    for index, client in enumerate(clients):
        aws.vpc.SecurityGroupEgressRule(
            f"{prefix}-to-store-{index}",
            security_group_id=client,
            ip_protocol="tcp",
            from_port=from_port,
            to_port=to_port,
            referenced_security_group_id=security_group.id,
            description=description,
            opts=opts,
        )
    return [
        aws.vpc.SecurityGroupIngressRule(
            f"{prefix}-from-client-{index}",
            security_group_id=security_group.id,
            ip_protocol="tcp",
            from_port=from_port,
            to_port=to_port,
            referenced_security_group_id=client,
            description=description,
            opts=opts,
        )
        for index, client in enumerate(clients)
    ]
