"""The AWS managed policies the platform attaches, as the simulation evaluates them.

AWS publishes these documents (IAM console, "AWS managed policy reference"); no maintained package carries
them, so the few the platform attaches are copied here with their version, and ``ReadOnlyAccess`` (thousands of
actions, changed weekly) is modelled by access level from the simulator's own dataset: every Read and List
action. An attached policy not listed here is an error the preview names, not a silent "allowed".
"""

from __future__ import annotations

from typing import Any

from access import iam_data

_ALL: dict[str, Any] = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _allow(*actions: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


DOCUMENTS: dict[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/AdministratorAccess": _ALL,  # v1
    # The SSO developer permission set (environments/Pulumi.org.yaml): everything but IAM, Organizations, Account.
    "arn:aws:iam::aws:policy/PowerUserAccess": {  # v5
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": [
                    "account:GetAccountInformation",
                    "account:GetPrimaryEmail",
                    "account:ListRegions",
                    "iam:CreateServiceLinkedRole",
                    "iam:DeleteServiceLinkedRole",
                    "iam:ListRoles",
                    "organizations:DescribeOrganization",
                ],
                "Resource": "*",
            },
        ],
    },
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy": _allow(  # v1
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ),
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole": _allow(  # v3
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ),
}
READ_ONLY_ACCESS = "arn:aws:iam::aws:policy/ReadOnlyAccess"
READ_LEVELS = frozenset({"Read", "List"})


class UnknownManagedPolicy(KeyError):
    pass


def document(arn: str, action: str) -> dict[str, Any] | None:
    """The managed policy ``arn`` as it applies to ``action`` (``None``: it grants nothing for it)."""
    normalized = arn.replace("arn:aws-us-gov:", "arn:aws:").replace("arn:aws-cn:", "arn:aws:")
    if normalized == READ_ONLY_ACCESS:
        return _allow(action) if iam_data.access_level(action) in READ_LEVELS else None
    if normalized not in DOCUMENTS:
        raise UnknownManagedPolicy(f"managed policy {arn} is attached but its document is not in {__name__}")
    return DOCUMENTS[normalized]
