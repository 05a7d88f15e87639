"""Guardrails: service control policies and a tag policy, generated in Python and attached per OU.

Prevents, in member accounts:
- resources created without the required tags *in the request* (``scp-request-time-tags.md``: an SCP judges
  the API call, so tags added after creation arrive too late; the keys are ``conventions.REQUIRED_TAGS``,
  never a second list);
- an account leaving the organization (and its guardrails and consolidated bill with it);
- regional APIs outside the allowed regions (global services excepted);
- ``stage`` tag values outside ``conventions.STAGES`` (tag policy).

Every document is minified and measured against the Organizations size limit before anything is
registered: AWS would refuse an oversized SCP halfway through ``pulumi up``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.baseline_guardrail import protect_baseline_document
from foundation.ci_identity import ORG_STACK_IDENTITY
from foundation.identity import StackIdentity
from policies import conventions
from stack_config.organization import GuardrailsConfig

SERVICE_CONTROL_POLICY = "SERVICE_CONTROL_POLICY"
TAG_POLICY = "TAG_POLICY"
# Organizations quotas: an SCP holds 5,120 characters, a tag policy 10,000 (whitespace counts, so we send none).
MAX_CHARACTERS: Mapping[str, int] = {SERVICE_CONTROL_POLICY: 5120, TAG_POLICY: 10000}

# Create actions that accept tags in the request (aws:RequestTag) AND whose create call the AWS provider makes
# with the tags in it (default_tags). Deliberately left out, because the tags arrive in a second call:
# s3:CreateBucket (tags go in PutBucketTagging), logs:CreateLogGroup (Lambda and ECS create their own groups,
# untagged), cloudformation:CreateStack (StackSet execution roles create the bootstrap stacks).
TAG_ON_CREATE_ACTIONS: tuple[str, ...] = (
    "ecr:CreateRepository",
    "ecs:CreateCluster",
    "ecs:CreateService",
    "ecs:RegisterTaskDefinition",
    "elasticache:CreateReplicationGroup",
    "elasticache:CreateServerlessCache",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:CreateTargetGroup",
    "iam:CreateRole",
    "kms:CreateKey",
    "lambda:CreateFunction",
    "rds:CreateDBCluster",
    "rds:CreateDBInstance",
    "secretsmanager:CreateSecret",
    "sns:CreateTopic",
    "sqs:CreateQueue",
)
# RunInstances names many resources (image, subnet, security group...) and only the ones it creates carry
# request tags; AWS's own example scopes the deny to instances and volumes, or every launch would be denied.
EC2_TAG_ON_CREATE_ACTIONS: tuple[str, ...] = ("ec2:CreateVolume", "ec2:RunInstances")
EC2_CREATED_RESOURCES: tuple[str, ...] = ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:volume/*")

# Services whose APIs are global (served from us-east-1) or must stay callable from any region; the AWS
# example region SCP exempts exactly these, or IAM, Organizations, Route 53 and CloudFront break.
GLOBAL_ACTIONS: tuple[str, ...] = (
    "a4b:*",
    "acm:*",
    "aws-marketplace-management:*",
    "aws-marketplace:*",
    "aws-portal:*",
    "budgets:*",
    "ce:*",
    "chime:*",
    "cloudfront:*",
    "config:*",
    "cur:*",
    "directconnect:*",
    "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpnGateways",
    "fms:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "importexport:*",
    "kms:*",
    "mobileanalytics:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53:*",
    "route53domains:*",
    "route53-recovery-cluster:*",
    "route53-recovery-control-config:*",
    "route53-recovery-readiness:*",
    "s3:GetAccountPublic*",
    "s3:ListAllMyBuckets",
    "s3:ListMultiRegionAccessPoints",
    "s3:PutAccountPublic*",
    "shield:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf-regional:*",
    "waf:*",
    "wafv2:*",
    "wellarchitected:*",
)

# Tag policy: where a non-compliant 'stage' value is refused outright, not only reported.
TAG_POLICY_ENFORCED_FOR: tuple[str, ...] = ("ec2:instance", "ec2:volume", "secretsmanager:*")


class GuardrailTooLarge(ValueError):
    """A generated policy document exceeds the Organizations size limit for its type."""


# --- documents ---------------------------------------------------------------


def _sid(*parts: str) -> str:
    return "".join(part.replace("-", " ").title().replace(" ", "") for part in parts)


def require_tags_document(tags: Sequence[str] = conventions.REQUIRED_TAGS) -> dict[str, Any]:
    """Deny each create whose request lacks any one required tag: one statement per tag, because the keys
    of one ``Null`` block are ANDed (one block would deny only when *all* tags are missing).

    Only requests the caller makes itself: a service acting for us with our credentials (RDS creating the
    DocumentDB master password's secret, issue 22) sends its own tags, not ours, and ``aws:ViaAWSService`` is
    true on exactly those requests (and present on every request: `Bool`, not `BoolIfExists`, which the 5,120
    characters of an SCP have no room for); denying them would stop the cluster's create halfway."""
    statements = []
    for tag in tags:
        missing = {"Null": {f"aws:RequestTag/{tag}": "true"}, "Bool": {"aws:ViaAWSService": "false"}}
        statements.append(
            {
                "Sid": _sid("DenyCreateWithout", tag),
                "Effect": "Deny",
                "Action": list(TAG_ON_CREATE_ACTIONS),
                "Resource": "*",
                "Condition": missing,
            }
        )
        statements.append(
            {
                "Sid": _sid("DenyEc2CreateWithout", tag),
                "Effect": "Deny",
                "Action": list(EC2_TAG_ON_CREATE_ACTIONS),
                "Resource": list(EC2_CREATED_RESOURCES),
                "Condition": missing,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def deny_leave_document() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyLeaveOrganization",
                "Effect": "Deny",
                "Action": "organizations:LeaveOrganization",
                "Resource": "*",
            }
        ],
    }


def region_allow_list_document(regions: Sequence[str]) -> dict[str, Any]:
    # Resource "*" with NotAction: everything regional, in any region not listed, is denied.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyOutsideAllowedRegions",
                "Effect": "Deny",
                "NotAction": list(GLOBAL_ACTIONS),
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": sorted(regions)}},
            }
        ],
    }


def stage_tag_policy_document(stages: Sequence[str] = conventions.STAGES) -> dict[str, Any]:
    """Tag policy: the key is spelled 'stage' exactly, and its value is one of the conventions' stages."""
    return {
        "tags": {
            "stage": {
                "tag_key": {"@@assign": "stage"},
                "tag_value": {"@@assign": list(stages)},
                "enforced_for": {"@@assign": list(TAG_POLICY_ENFORCED_FOR)},
            }
        }
    }


def render(name: str, document: Mapping[str, Any], policy_type: str) -> str:
    """The minified JSON AWS receives; raises ``GuardrailTooLarge`` naming the policy, its size and the limit."""
    text = json.dumps(document, separators=(",", ":"))
    limit = MAX_CHARACTERS[policy_type]
    if len(text) > limit:
        raise GuardrailTooLarge(
            f"guardrail '{name}' ({policy_type}) is {len(text)} characters minified; "
            f"AWS Organizations allows {limit}. Split it or shorten its action lists."
        )
    return text


@dataclass(frozen=True)
class Guardrail:
    key: str  # the config field that attaches it (guardrails.<key>)
    component: str  # the name component: {context}-{stage}-<component>
    policy_type: str
    description: str
    document: dict[str, Any] = field(hash=False)


def guardrails_for(config: GuardrailsConfig, identity: StackIdentity = ORG_STACK_IDENTITY) -> list[Guardrail]:
    return [
        Guardrail(
            "require_tags",
            "require-tags",
            SERVICE_CONTROL_POLICY,
            "Deny creates whose request lacks a required tag (scp-request-time-tags.md)",
            require_tags_document(),
        ),
        Guardrail(
            "deny_leave", "deny-leave", SERVICE_CONTROL_POLICY, "Deny leaving the organization", deny_leave_document()
        ),
        Guardrail(
            "region_allow_list",
            "region-allow-list",
            SERVICE_CONTROL_POLICY,
            f"Deny regional APIs outside {', '.join(sorted(config.allowed_regions))}",
            region_allow_list_document(config.allowed_regions),
        ),
        Guardrail(
            "stage_tag_policy",
            "stage-tag-policy",
            TAG_POLICY,
            f"Tag 'stage' takes only {', '.join(conventions.STAGES)}",
            stage_tag_policy_document(),
        ),
        Guardrail(
            "protect_baseline",
            "protect-baseline",
            SERVICE_CONTROL_POLICY,
            "Deny tampering with the trail, detection and bootstrap roles; deny root; deny leaving",
            protect_baseline_document(identity),
        ),
    ]


def policy_types_used(config: GuardrailsConfig) -> list[str]:
    """The policy types the organization must enable: only those something is attached with."""
    return sorted({g.policy_type for g in guardrails_for(config) if getattr(config, g.key)})


# --- component ---------------------------------------------------------------


@dataclass(frozen=True)
class GuardrailsArgs:
    identity: StackIdentity
    config: GuardrailsConfig
    ou_ids: Mapping[str, pulumi.Input[str]]  # OU name -> id, every OU the config may name


class Guardrails(pulumi.ComponentResource):
    """The organization's SCPs and tag policy, each created only when attached to at least one OU."""

    policy_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: GuardrailsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:Guardrails", name, None, opts)
        ident = args.identity
        attached = [(g, getattr(args.config, g.key)) for g in guardrails_for(args.config, ident)]
        # Every document is rendered (and measured) before the first resource is registered.
        contents = {g.key: render(g.component, g.document, g.policy_type) for g, ous in attached if ous}
        self.policy_ids = {}
        for rail, ous in attached:
            if not ous:
                continue
            policy = aws.organizations.Policy(
                rail.component,
                name=ident.name("aws:organizations/policy:Policy", rail.component),
                type=rail.policy_type,
                description=rail.description,
                content=contents[rail.key],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.policy_ids[rail.component] = policy.id
            for ou in ous:
                aws.organizations.PolicyAttachment(
                    f"{rail.component}-{ou}",
                    policy_id=policy.id,
                    target_id=args.ou_ids[ou],
                    opts=pulumi.ResourceOptions(parent=policy),
                )
        self.register_outputs({"policy_ids": self.policy_ids})
