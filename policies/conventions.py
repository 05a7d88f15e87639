"""The platform's naming and tagging conventions: the one copy.

Components import this module to build names, tags and parameter paths; the
CrossGuard pack imports the very same file to check them. It lives inside
``policies/`` because ``pulumi policy publish`` uploads only that folder, and it
depends on the standard library alone so the pack stays self-contained.

Field reports behind it: ``conventions-tagging-naming-validation.md`` (stages,
usages, ``/{stage}/{context}/...`` parameters, validation before synthesis) and
``scp-request-time-tags.md`` (tags must be in the create request itself).
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# --- stages and usages -------------------------------------------------------

STAGES: tuple[str, ...] = ("dev", "sandbox", "staging", "prod")
USAGES: tuple[str, ...] = ("PRODUCTION", "EPHEMERAL", "POC")

# Only dev and sandbox may run throw-away or experimental stacks; anything that
# real users depend on is PRODUCTION (the report's WorkloadEnvValidator).
ALLOWED_USAGES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "dev": USAGES,
        "sandbox": USAGES,
        "staging": ("PRODUCTION",),
        "prod": ("PRODUCTION",),
    }
)

# Stages whose data and images must survive a mistaken `pulumi destroy`.
PROTECTED_STAGES: frozenset[str] = frozenset({"prod"})

# Usages whose data stores hold data someone depends on: staging's PRODUCTION data is production data too
# (conventions-tagging-naming-validation.md: only non-PRODUCTION stacks may be destroyed freely).
DATA_PROTECTED_USAGES: frozenset[str] = frozenset({"PRODUCTION"})


def keeps_data(stage: str, usage: str) -> bool:
    """Whether a stack's data stores get deletion protection and retention (backups, final snapshots).

    Keyed on the usage first: a PRODUCTION staging holds the data its releases are tested against, and
    losing it to a mistaken destroy is an incident. A protected stage keeps its data whatever its usage.
    """
    return usage in DATA_PROTECTED_USAGES or stage in PROTECTED_STAGES


# Stacks whose name is not a stage. The management account's `org` stack runs
# guardrails every production account depends on, so it is held to prod rules.
STACK_STAGES: Mapping[str, str] = MappingProxyType({"org": "prod"})

MANAGED_BY = "pulumi"

# Stages whose every stack names its AWS account (and the shared `dev` stack): credentials for another account must
# fail before the first change, not deploy there (issue 12: a dev config deploying into whatever account it reaches).
PINNED_STAGES: frozenset[str] = frozenset({"staging", "prod"})


def stage_for_stack(stack: str) -> str | None:
    """The stage a stack belongs to: ``dev``, ``prod-eu`` -> ``prod``, ``org`` -> ``prod``.

    A stack named ``<stage>`` or ``<stage>-<suffix>`` (an engineer's ephemeral
    ``dev-alice``) belongs to that stage; ``None`` when the name fits no stage.
    """
    if stack in STACK_STAGES:
        return STACK_STAGES[stack]
    head = stack.split("-", 1)[0]
    return head if head in STAGES else None


def must_pin_account(stack: str) -> bool:
    """Whether ``stack`` must be pinned to its account: every staging/prod stack (``org`` too) and the shared dev."""
    return stage_for_stack(stack) in PINNED_STAGES or stack == "dev"


STACK_SUFFIX = re.compile(r"^[a-z0-9]{1,8}$")


def stack_suffix(stack: str) -> str:
    """``prod-dr`` -> ``dr``, ``dev-alice`` -> ``alice``; empty for a stack named after its stage (or ``org``).

    Two stacks of one stage (prod and its disaster-recovery copy, or an engineer's dev) share an account
    and the global namespaces (IAM roles, S3 buckets, Lambda@Edge in us-east-1): their names differ by
    this suffix, placed right after ``{context}-{stage}-`` so a name still says whose it is.
    """
    if stack in STACK_STAGES:
        return ""
    head, _, tail = stack.partition("-")
    return tail if head in STAGES else ""


def stack_from_urn(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` -> ``<stack>``."""
    if not urn.startswith("urn:pulumi:") or "::" not in urn:
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    return urn[len("urn:pulumi:") :].split("::", 1)[0]


# --- tags --------------------------------------------------------------------

# Lowercase keys: SCPs match `aws:RequestTag/<key>` case-sensitively, and one
# spelling everywhere is what makes the organization's tag SCP and tag policy
# (generated from this tuple) agree with what the provider sends.
REQUIRED_TAGS: tuple[str, ...] = ("stage", "context", "owner", "usage", "managed-by", "stack")

# The tags that say "this stack's code made it": a resource without them was made by hand (or by a service on our
# behalf) and is what tools/untagged_resources.py reports (you-are-not-saved-by-iac.md: explore untagged resources).
OWNERSHIP_TAGS: tuple[str, ...] = ("managed-by", "stack")

# An EPHEMERAL stack (an engineer's dev-alice) lives this long after its last update; then it is destroyed
# (conventions-tagging-naming-validation.md: one-time schedules remove ephemeral stacks after 24 hours).
EPHEMERAL_LIFETIME_HOURS = 24

_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{1,256}$")


def required_tags(*, stage: str, context: str, owner: str, usage: str, stack: str) -> dict[str, str]:
    """The tags every resource of a stack carries, in the create request itself."""
    return {
        "stage": stage,
        "context": context,
        "owner": owner,
        "usage": usage,
        "managed-by": MANAGED_BY,
        "stack": stack,
    }


# {type token: "default" | "map" | "blocks"}; generated from the pinned pulumi-aws (tools/generate_taggable_types.py).
TAGGABLE: Mapping[str, str] = MappingProxyType(
    json.loads((pathlib.Path(__file__).resolve().parent / "taggable_types.json").read_text())
)


def provider_default_tags(provider_props: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``default_tags`` an AWS provider merges into every create request it makes."""
    block = (provider_props or {}).get("defaultTags") or {}
    if isinstance(block, str):  # provider config reaches the engine JSON-encoded
        block = json.loads(block)
    return dict(block.get("tags") or {}) if isinstance(block, Mapping) else {}


def request_tags(
    resource_type: str, props: Mapping[str, Any], provider_props: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The tags a create request carries (what an SCP's ``aws:RequestTag`` sees); ``None``: the type takes none."""
    kind = TAGGABLE.get(resource_type)
    own = props.get("tags") or {}
    if kind == "blocks":
        blocks = [] if isinstance(own, (str, Mapping)) else list(own)  # the pack's props are not always lists
        return {str(b.get("key")): b.get("value") for b in blocks if hasattr(b, "get") and b.get("propagateAtLaunch")}
    if kind == "map":
        return dict(own) if isinstance(own, Mapping) else {}
    if kind == "default":
        return {**provider_default_tags(provider_props), **(dict(own) if isinstance(own, Mapping) else {})}
    return None


def tag_problems(tags: Mapping[str, object] | None, *, stack: str) -> list[str]:
    """Why a resource's effective tags break the convention for ``stack`` (empty: they don't)."""
    tags = tags or {}
    missing = [key for key in REQUIRED_TAGS if not tags.get(key)]
    problems = [f"missing required tag(s) {', '.join(missing)}"] if missing else []
    stage = stage_for_stack(stack)
    if tags.get("stage") and stage and tags["stage"] != stage:
        problems.append(f"tag 'stage' is '{tags['stage']}' but stack '{stack}' is stage '{stage}'")
    usage = tags.get("usage")
    if usage and stage and usage not in ALLOWED_USAGES[stage]:
        problems.append(f"tag 'usage' is '{usage}' but stage '{stage}' allows only {', '.join(ALLOWED_USAGES[stage])}")
    if tags.get("stack") and tags["stack"] != stack:
        problems.append(f"tag 'stack' is '{tags['stack']}' but the resource belongs to stack '{stack}'")
    if tags.get("managed-by") and tags["managed-by"] != MANAGED_BY:
        problems.append(f"tag 'managed-by' is '{tags['managed-by']}', expected '{MANAGED_BY}'")
    for key, value in sorted(tags.items()):
        if key in REQUIRED_TAGS and value and not _TAG_VALUE.match(str(value)):
            problems.append(f"tag '{key}' has a value AWS rejects: {value!r}")
    return problems


# --- image tags ----------------------------------------------------------------

# ECR tags by origin (ecr-dedicated-image-repos.md: cleanup must never delete what a deployment runs).
# Lifecycle rules may expire only untagged images (a pinned image must carry a tag: checked at preview/up)
# and the stack's own builds beyond the newest N; release and promoted images are kept until deleted by hand.
BUILD_TAG_PREFIX = "ctx-"  # built by the stack from its context's content hash
PROMOTED_TAG_PREFIX = "promoted-"  # copied from the stage before (build once, promote the digest)
EXPIRABLE_TAG_PREFIXES: tuple[str, ...] = (BUILD_TAG_PREFIX,)


def promoted_tag(image_digest: str) -> str:
    """The tag a promoted image carries in its new repository: the digest's first 16 hex digits."""
    return PROMOTED_TAG_PREFIX + image_digest.split(":", 1)[-1][:16]


# --- names -------------------------------------------------------------------

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_COMPONENT = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
HASH_LENGTH = 7


@dataclass(frozen=True)
class NameRule:
    """How one AWS resource type is named: the input property and the service's limit."""

    property: str
    max_length: int


# Length limits from each service's API reference. Types not listed here are
# unnamed (VPCs, subnets, routes...) or named by a path (SSM parameters, log
# groups), which have their own checks below.
NAME_RULES: Mapping[str, NameRule] = MappingProxyType(
    {
        "aws:s3/bucket:Bucket": NameRule("bucket", 63),
        "aws:iam/role:Role": NameRule("name", 64),
        "aws:iam/policy:Policy": NameRule("name", 128),
        "aws:iam/user:User": NameRule("name", 64),
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider": NameRule("url", 255),
        "aws:ecr/repository:Repository": NameRule("name", 256),
        "aws:ecs/cluster:Cluster": NameRule("name", 255),
        "aws:ecs/service:Service": NameRule("name", 255),
        "aws:ecs/taskDefinition:TaskDefinition": NameRule("family", 255),
        "aws:ecs/capacityProvider:CapacityProvider": NameRule("name", 255),
        "aws:lb/loadBalancer:LoadBalancer": NameRule("name", 32),
        "aws:wafv2/webAcl:WebAcl": NameRule("name", 128),
        "aws:lb/targetGroup:TargetGroup": NameRule("name", 32),
        "aws:ec2/securityGroup:SecurityGroup": NameRule("name", 255),
        "aws:ec2/launchTemplate:LaunchTemplate": NameRule("name", 128),
        "aws:autoscaling/group:Group": NameRule("name", 255),
        "aws:lambda/function:Function": NameRule("name", 64),
        "aws:cloudfront/function:Function": NameRule("name", 64),
        "aws:cloudfront/cachePolicy:CachePolicy": NameRule("name", 128),
        "aws:cloudfront/originRequestPolicy:OriginRequestPolicy": NameRule("name", 128),
        "aws:cloudfront/originAccessControl:OriginAccessControl": NameRule("name", 64),
        "aws:cloudfront/keyValueStore:KeyValueStore": NameRule("name", 64),
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": NameRule("name", 128),
        "aws:apigatewayv2/api:Api": NameRule("name", 128),
        "aws:sns/topic:Topic": NameRule("name", 256),
        "aws:sqs/queue:Queue": NameRule("name", 80),
        "aws:cloudwatch/metricAlarm:MetricAlarm": NameRule("name", 255),
        "aws:cloudwatch/eventRule:EventRule": NameRule("name", 64),
        "aws:cloudwatch/dashboard:Dashboard": NameRule("dashboardName", 255),
        "aws:secretsmanager/secret:Secret": NameRule("name", 512),
        "aws:kms/alias:Alias": NameRule("name", 256),
        "aws:elasticache/serverlessCache:ServerlessCache": NameRule("name", 40),
        "aws:elasticache/replicationGroup:ReplicationGroup": NameRule("replicationGroupId", 40),
        "aws:elasticache/subnetGroup:SubnetGroup": NameRule("name", 255),
        "aws:elasticache/user:User": NameRule("userId", 40),
        "aws:elasticache/userGroup:UserGroup": NameRule("userGroupId", 40),
        "mongodbatlas:index/project:Project": NameRule("name", 64),
        # Atlas allows 64, but PrivateLink hostnames keep only the first 23 characters: beyond that, two
        # clusters of one project could share a hostname prefix.
        "mongodbatlas:index/advancedCluster:AdvancedCluster": NameRule("name", 23),
        "aws:docdb/cluster:Cluster": NameRule("clusterIdentifier", 63),
        "aws:docdb/clusterInstance:ClusterInstance": NameRule("identifier", 63),
        "aws:docdb/subnetGroup:SubnetGroup": NameRule("name", 255),
        "aws:docdb/clusterParameterGroup:ClusterParameterGroup": NameRule("name", 255),
        "aws:appautoscaling/policy:Policy": NameRule("name", 255),
        "aws:appautoscaling/scheduledAction:ScheduledAction": NameRule("name", 256),
        "aws:iam/instanceProfile:InstanceProfile": NameRule("name", 128),
        "aws:cloudformation/stackSet:StackSet": NameRule("name", 128),
        "aws:organizations/policy:Policy": NameRule("name", 128),
        "aws:ssoadmin/permissionSet:PermissionSet": NameRule("name", 32),
        "aws:identitystore/group:Group": NameRule("displayName", 1024),
        "aws:ses/receiptRuleSet:ReceiptRuleSet": NameRule("ruleSetName", 64),
        "aws:cloudtrail/trail:Trail": NameRule("name", 128),
        "aws:accessanalyzer/analyzer:Analyzer": NameRule("analyzerName", 255),
        "aws:securityhub/configurationPolicy:ConfigurationPolicy": NameRule("name", 128),
        "aws:cfg/configurationAggregator:ConfigurationAggregator": NameRule("name", 256),
        "aws:ses/receiptRule:ReceiptRule": NameRule("name", 64),
        # AWS Backup: vault, plan and selection names of up to 50 characters
        # (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html).
        "aws:backup/vault:Vault": NameRule("name", 50),
        "aws:backup/plan:Plan": NameRule("name", 50),
        "aws:backup/selection:Selection": NameRule("name", 50),
    }
)

# Names that are paths rather than labels; the `{context}-{stage}` pair then sits in the path.
PATH_NAMED: Mapping[str, str] = MappingProxyType(
    {
        "aws:ssm/parameter:Parameter": "name",
        "aws:cloudwatch/logGroup:LogGroup": "name",
    }
)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def physical_name(context: str, stage: str, component: str, *, max_length: int = 63) -> str:
    """``{context}-{stage}-{component}``, lowercase, within ``max_length``.

    A name over the limit keeps its prefix and ends in a stable 7-character hash
    of the full name, so two long names that share a prefix never collide and
    the same input always gives the same name (no churn between deployments).
    """
    for field, value in (("context", context), ("stage", stage)):
        if not DNS_LABEL.match(value):
            raise ValueError(f"{field} {value!r} is not a lowercase DNS label ([a-z0-9-], at most 63)")
    if not _COMPONENT.match(component):
        raise ValueError(f"component {component!r} must be lowercase letters, digits and inner hyphens")
    full = f"{context}-{stage}-{component}"
    if len(full) <= max_length:
        return full
    keep = max_length - HASH_LENGTH - 1
    prefix = f"{context}-{stage}-"
    if keep <= len(prefix):
        raise ValueError(f"'{prefix}' leaves no room for a component within the {max_length}-character limit")
    return f"{full[:keep].rstrip('-')}-{_short_hash(full)}"


def name_for(resource_type: str, context: str, stage: str, component: str) -> str:
    """The physical name of a resource of ``resource_type``, cut to its service's limit."""
    return physical_name(context, stage, component, max_length=NAME_RULES[resource_type].max_length)


def name_problems(name: str, *, stage: str, max_length: int, context: str | None = None) -> list[str]:
    """Why ``name`` breaks the naming convention (empty: it follows it)."""
    problems = []
    if name != name.lower():
        problems.append(f"name '{name}' is not lowercase")
    if len(name) > max_length:
        problems.append(f"name '{name}' is {len(name)} characters; the service allows {max_length}")
    if context is not None:
        if not name.startswith(f"{context}-{stage}-"):
            problems.append(f"name '{name}' does not start with '{context}-{stage}-'")
    elif not re.match(rf"^[a-z0-9][a-z0-9-]*-{re.escape(stage)}-[a-z0-9]", name):
        problems.append(f"name '{name}' does not follow '{{context}}-{stage}-{{component}}'")
    return problems


def ssm_path(stage: str, context: str, *parts: str) -> str:
    """``/{stage}/{context}/part/...``: where a stack publishes values for others to read."""
    for part in parts:
        if not part or "/" in part:
            raise ValueError(f"SSM path part {part!r} must be non-empty and contain no '/'")
    return "/" + "/".join((stage, context, *parts))


def path_problems(path: str, *, stage: str, context: str | None = None) -> list[str]:
    """Why an SSM parameter or log group path breaks the convention (empty: it follows it)."""
    segments = path.strip("/").split("/")
    if path.startswith("/aws/"):
        # Log groups AWS services name for us (/aws/lambda/<function>): the function name carries the convention.
        leaf = segments[-1]
        return (
            []
            if re.search(rf"-{re.escape(stage)}-", leaf)
            else [f"path '{path}' must end in a '{{context}}-{stage}-...' name"]
        )
    if len(segments) < 3 or segments[0] != stage or (context is not None and segments[1] != context):
        return [f"path '{path}' does not start with '/{stage}/{context or '{context}'}/'"]
    return []
