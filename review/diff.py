"""Compare two offline snapshots of one stack: what a pull request adds, changes and deletes, and what to fear.

The diff is per component (the top-level ComponentResource a resource lives
under), input by input (nested keys as dotted paths, JSON documents such as IAM
policies opened up). Warnings cover what a green ``pulumi preview`` does not
shout about: deleting protected or retained resources, dropping protection,
changes that force a replacement (a stateful resource renamed is a new, empty
one: the "you are not saved by IaC" report), URN changes that recreate a
resource, and policy violations the change introduces.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from policies import conventions

SECRET_MASK = "[secret]"
ABSENT = object()
STACK_COMPONENT = "stack"
MAX_VALUE_CHARS = 60

# An input whose key looks like this is masked even when the program forgot to make it a secret.
SECRET_KEY = re.compile(r"password|passwd|secret|token|private_?key|credential|api_?key", re.IGNORECASE)

# Resources that hold data or identity no re-deployment brings back.
STATEFUL_TYPES: frozenset[str] = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:ecr/repository:Repository",
        "aws:docdb/cluster:Cluster",
        "aws:docdb/clusterInstance:ClusterInstance",
        "aws:docdb/elasticCluster:ElasticCluster",
        "aws:elasticache/serverlessCache:ServerlessCache",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/cluster:Cluster",
        "aws:rds/cluster:Cluster",
        "aws:rds/instance:Instance",
        "aws:dynamodb/table:Table",
        "aws:efs/fileSystem:FileSystem",
        "aws:sqs/queue:Queue",
        "aws:kms/key:Key",
        "mongodbatlas:index/advancedCluster:AdvancedCluster",
        "mongodbatlas:index/cluster:Cluster",
        "mongodbatlas:index/project:Project",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:secretsmanager/secret:Secret",
        "aws:ssm/parameter:Parameter",
        "aws:organizations/account:Account",
        "aws:organizations/organization:Organization",
        "aws:organizations/organizationalUnit:OrganizationalUnit",
        "aws:acm/certificate:Certificate",
        "aws:route53/zone:Zone",
    }
)

# The property that holds each type's physical name: the conventions' rules, plus path-named types and
# types the conventions do not name (yet).
NAME_PROPERTIES: Mapping[str, str] = {
    **{t: rule.property for t, rule in conventions.NAME_RULES.items()},
    **conventions.PATH_NAMED,
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:rds/cluster:Cluster": "clusterIdentifier",
    "aws:rds/instance:Instance": "identifier",
    "aws:dynamodb/table:Table": "name",
    "aws:docdb/elasticCluster:ElasticCluster": "name",
    "aws:elasticache/cluster:Cluster": "clusterId",
    "mongodbatlas:index/advancedCluster:AdvancedCluster": "name",
    "mongodbatlas:index/cluster:Cluster": "name",
    "aws:organizations/account:Account": "name",
    "aws:organizations/organizationalUnit:OrganizationalUnit": "name",
}

# Named types AWS lets us rename in place; every other name change is a replacement.
RENAMEABLE: frozenset[str] = frozenset(
    {
        "aws:cloudfront/cachePolicy:CachePolicy",
        "aws:cloudfront/originRequestPolicy:OriginRequestPolicy",
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "aws:organizations/policy:Policy",
        "aws:organizations/organizationalUnit:OrganizationalUnit",
        "aws:cloudformation/stackSet:StackSet",
        "aws:apigatewayv2/api:Api",
        "mongodbatlas:index/project:Project",
        # Every task definition change registers a new revision; a family rename is no more dangerous than that.
        "aws:ecs/taskDefinition:TaskDefinition",
    }
)

# Replace-on-change properties beyond the name, from the providers' schemas (ForceNew): a known table,
# not the whole schema; the real `pulumi preview --diff` in CI has the final word.
REPLACE_ON_CHANGE: Mapping[str, frozenset[str]] = {
    "aws:ec2/vpc:Vpc": frozenset({"cidrBlock", "instanceTenancy"}),
    "aws:ec2/subnet:Subnet": frozenset({"cidrBlock", "availabilityZone", "availabilityZoneId", "vpcId"}),
    "aws:ec2/securityGroup:SecurityGroup": frozenset({"description", "vpcId", "namePrefix"}),
    "aws:ec2/natGateway:NatGateway": frozenset({"subnetId", "allocationId", "connectivityType"}),
    "aws:ec2/vpcEndpoint:VpcEndpoint": frozenset({"serviceName", "vpcId", "vpcEndpointType"}),
    "aws:s3/bucket:Bucket": frozenset({"bucketPrefix", "objectLockEnabled"}),
    "aws:ecr/repository:Repository": frozenset({"encryptionConfigurations"}),
    "aws:docdb/cluster:Cluster": frozenset(
        {
            "storageEncrypted",
            "kmsKeyId",
            "engine",
            "masterUsername",
            "dbSubnetGroupName",
            "availabilityZones",
            "snapshotIdentifier",
            "clusterIdentifierPrefix",
        }
    ),
    "aws:docdb/clusterInstance:ClusterInstance": frozenset({"clusterIdentifier", "engine", "availabilityZone"}),
    "aws:elasticache/serverlessCache:ServerlessCache": frozenset({"kmsKeyId", "subnetIds"}),
    "aws:elasticache/replicationGroup:ReplicationGroup": frozenset(
        {"atRestEncryptionEnabled", "kmsKeyId", "subnetGroupName"}
    ),
    "aws:rds/cluster:Cluster": frozenset(
        {"storageEncrypted", "kmsKeyId", "engine", "masterUsername", "dbSubnetGroupName"}
    ),
    "aws:lb/loadBalancer:LoadBalancer": frozenset({"internal", "loadBalancerType", "namePrefix"}),
    "aws:lb/targetGroup:TargetGroup": frozenset({"port", "protocol", "vpcId", "targetType", "namePrefix"}),
    "aws:ecs/service:Service": frozenset({"cluster", "launchType", "schedulingStrategy"}),
    "aws:cloudwatch/logGroup:LogGroup": frozenset({"namePrefix"}),
    "aws:secretsmanager/secret:Secret": frozenset({"namePrefix"}),
    "aws:ssm/parameter:Parameter": frozenset({"type"}),
    "aws:kms/key:Key": frozenset({"customerMasterKeySpec", "keySpec", "multiRegion"}),
    "aws:organizations/account:Account": frozenset({"email", "iamUserAccessToBilling", "roleName"}),
    "mongodbatlas:index/advancedCluster:AdvancedCluster": frozenset({"projectId", "clusterType"}),
    "aws:lambda/function:Function": frozenset({"packageType"}),
}


# --- data ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Change:
    """One input (or resource option) that differs, values already masked and shortened for display."""

    path: str
    old: str
    new: str
    option: bool = False


@dataclasses.dataclass(frozen=True)
class ResourceDiff:
    op: str  # "add" | "change" | "delete"
    urn: str
    type: str
    name: str
    physical_name: str
    protect: bool
    retain: bool
    changes: tuple[Change, ...] = ()


@dataclasses.dataclass(frozen=True)
class ReviewWarning:
    kind: str
    urn: str
    message: str  # Markdown, one line


@dataclasses.dataclass(frozen=True)
class ViolationDiff:
    policy: str
    level: str
    urn: str
    message: str


@dataclasses.dataclass
class ComponentDiff:
    urn: str
    name: str
    type: str
    resources: list[ResourceDiff]

    def count(self, op: str) -> int:
        return sum(r.op == op for r in self.resources)


@dataclasses.dataclass
class StackDiff:
    stack: str
    base_label: str
    components: list[ComponentDiff]
    warnings: list[ReviewWarning]
    new_violations: list[ViolationDiff]
    resolved_violations: list[ViolationDiff]
    unchanged: int
    base_empty: bool = False
    policies_checked: bool = True

    def count(self, op: str) -> int:
        return sum(c.count(op) for c in self.components)


# --- values -------------------------------------------------------------------


def is_secret_key(path: str) -> bool:
    return any(SECRET_KEY.search(part) for part in re.split(r"[.\[\]]", path) if part)


def _maybe_json(value: Any) -> Any:
    """JSON documents in strings (IAM policies, container definitions) diff key by key."""
    if isinstance(value, str) and value[:1] in "{[" and len(value) > 1:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves by dotted path; lists of scalars stay whole (``[a, b]`` reads better than ``x[0]``, ``x[1]``)."""
    value = _maybe_json(value)
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and any(isinstance(_maybe_json(v), (dict, list)) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def display(value: Any, path: str = "") -> str:
    if value is ABSENT:
        return "(none)"
    if path and is_secret_key(path) and not isinstance(value, bool) and value is not None:
        return SECRET_MASK
    if value == SECRET_MASK:
        return SECRET_MASK
    return shorten(json.dumps(value, sort_keys=True, ensure_ascii=False))


def input_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs, raw values, sorted by path."""
    a, b = flatten(dict(old)), flatten(dict(new))
    return [
        (path, a.get(path, ABSENT), b.get(path, ABSENT))
        for path in sorted(set(a) | set(b))
        if a.get(path, ABSENT) != b.get(path, ABSENT)
    ]


OPTIONS = (
    ("protect", False),
    ("retainOnDelete", False),
    ("deleteBeforeReplace", False),
    ("ignoreChanges", []),
    ("provider", ""),
)


def option_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = []
    for key, default in OPTIONS:
        before, after = old.get(key, default), new.get(key, default)
        if before != after:
            if key == "provider":
                before, after = before.rsplit("::", 1)[-1], after.rsplit("::", 1)[-1]
            changes.append(Change(key, display(before), display(after), option=True))
    return changes


# --- structure ----------------------------------------------------------------


def component_of(resource: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The top-level ComponentResource above ``resource`` (itself if it is one); None for stack-level resources."""
    top, seen = resource, set()
    while top.get("parent") in by_urn and top["urn"] not in seen:
        seen.add(top["urn"])
        top = by_urn[top["parent"]]
    return top if not top.get("custom", True) else None


def physical_name(resource: Mapping[str, Any]) -> str:
    prop = NAME_PROPERTIES.get(resource["type"])
    value = resource.get("inputs", {}).get(prop) if prop else None
    return value if isinstance(value, str) else ""


def _label(resource: Mapping[str, Any]) -> str:
    return f"`{resource['type']}` **{resource['name']}**"


# --- warnings -----------------------------------------------------------------


def replacement_reasons(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The properties whose change makes the provider delete and recreate the resource."""
    type_ = new["type"]
    forcing = set(REPLACE_ON_CHANGE.get(type_, ()))
    if type_ in NAME_PROPERTIES and type_ not in RENAMEABLE:
        forcing.add(NAME_PROPERTIES[type_])
    old_inputs, new_inputs = old.get("inputs", {}), new.get("inputs", {})
    return sorted(p for p in forcing if old_inputs.get(p, ABSENT) != new_inputs.get(p, ABSENT))


def _replace_warning(old: Mapping[str, Any], new: Mapping[str, Any], props: list[str]) -> ReviewWarning:
    what = ", ".join(
        f"`{p}` {code(display(old['inputs'].get(p, ABSENT), p))} → {code(display(new['inputs'].get(p, ABSENT), p))}"
        for p in props
    )
    tail = ""
    if new["type"] in STATEFUL_TYPES:
        tail += " It holds data: the new one starts empty."
    if old.get("protect"):
        tail += " It is protected: `pulumi up` will refuse to replace it."
    return ReviewWarning("replace", new["urn"], f"**Replaces** {_label(new)}: {what} forces a new resource.{tail}")


def _delete_warnings(old: Mapping[str, Any]) -> list[ReviewWarning]:
    out = []
    if old.get("protect"):
        out.append(
            ReviewWarning(
                "delete-protected",
                old["urn"],
                f"**Deletes a protected resource**: {_label(old)} is protected in base; `pulumi up` "
                "refuses to delete it until a separate, reviewed change removes `protect`.",
            )
        )
    if old.get("retainOnDelete"):
        out.append(
            ReviewWarning(
                "delete-retained",
                old["urn"],
                f"**Removes a retained resource**: {_label(old)} has `retainOnDelete`: it leaves the "
                "stack but stays in AWS (and keeps costing) until someone deletes or re-imports it.",
            )
        )
    if not out and old["type"] in STATEFUL_TYPES:
        out.append(
            ReviewWarning(
                "delete-stateful",
                old["urn"],
                f"**Deletes a resource that holds data**: {_label(old)} is deleted with its contents.",
            )
        )
    return out


def _option_warnings(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ReviewWarning]:
    out = []
    if old.get("protect") and not new.get("protect"):
        out.append(
            ReviewWarning(
                "unprotect",
                new["urn"],
                f"**Removes protection** from {_label(new)}: after this merges, a later change can delete it.",
            )
        )
    if old.get("retainOnDelete") and not new.get("retainOnDelete"):
        out.append(
            ReviewWarning(
                "unretain",
                new["urn"],
                f"**Drops `retainOnDelete`** from {_label(new)}: deleting it from the stack will now delete it in AWS.",
            )
        )
    return out


def _where(component: Mapping[str, Any] | None) -> str:
    return f"component `{component['name']}`" if component else "the stack level"


def _move_warnings(
    removed: list[Mapping[str, Any]],
    added: list[Mapping[str, Any]],
    base_by_urn: Mapping[str, Mapping[str, Any]],
    head_by_urn: Mapping[str, Mapping[str, Any]],
) -> dict[str, ReviewWarning]:
    """A resource whose URN changed (renamed, or moved into a component) is deleted and created again.

    Keyed by the old URN.
    """
    out: dict[str, ReviewWarning] = {}
    taken = set()
    for old in removed:
        for new in added:
            if new["urn"] in taken or new["type"] != old["type"]:
                continue
            same_physical = physical_name(old) and physical_name(old) == physical_name(new)
            if same_physical or old["name"] == new["name"]:
                taken.add(new["urn"])
                how = []
                if old["name"] != new["name"]:
                    how.append(f"renamed to **{new['name']}**")
                before, after = component_of(old, base_by_urn), component_of(new, head_by_urn)
                if old["parent"] != new["parent"]:
                    how.append(f"moved from {_where(before)} to {_where(after)}")
                data = " It holds data: the new one starts empty." if new["type"] in STATEFUL_TYPES else ""
                out[old["urn"]] = ReviewWarning(
                    "recreate",
                    new["urn"],
                    f"**Recreates** {_label(old)} ({', '.join(how) or 'new URN'}): Pulumi "
                    "deletes it and creates it again. Add `aliases=[...]` with the old URN "
                    f"to keep it.{data}",
                )
                break
    return out


WARNING_ORDER = (
    "delete-protected",
    "delete-stateful",
    "delete-retained",
    "recreate",
    "replace",
    "unprotect",
    "unretain",
)


# --- diff ---------------------------------------------------------------------


def code(text: str) -> str:
    """A Markdown code span that survives backticks in the value."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _resource_diff(op: str, r: Mapping[str, Any], changes: Iterable[Change] = ()) -> ResourceDiff:
    return ResourceDiff(
        op=op,
        urn=r["urn"],
        type=r["type"],
        name=r["name"],
        physical_name=physical_name(r),
        protect=bool(r.get("protect")),
        retain=bool(r.get("retainOnDelete")),
        changes=tuple(changes),
    )


def violation_key(v: Any) -> tuple[str, str, str]:
    return (v.policy, v.urn, v.message)


def diff_snapshots(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    *,
    base_label: str = "base",
    base_violations: Iterable[Any] | None = None,
    head_violations: Iterable[Any] | None = None,
) -> StackDiff:
    """Everything a reviewer needs from two snapshots (and, optionally, the pack's verdict on each)."""
    base_by = {r["urn"]: r for r in base.get("resources", [])}
    head_by = {r["urn"]: r for r in head.get("resources", [])}
    per_component: dict[str, ComponentDiff] = {}
    warnings: list[ReviewWarning] = []
    unchanged = 0

    def bucket(r: Mapping[str, Any], by: Mapping[str, Mapping[str, Any]]) -> ComponentDiff:
        comp = component_of(r, by)
        key = comp["urn"] if comp else STACK_COMPONENT
        if key not in per_component:
            per_component[key] = ComponentDiff(
                urn=key, name=comp["name"] if comp else STACK_COMPONENT, type=comp["type"] if comp else "", resources=[]
            )
        return per_component[key]

    # Component resources only group their children: their own registration is not a change to review.
    removed = [base_by[u] for u in sorted(set(base_by) - set(head_by)) if base_by[u].get("custom", True)]
    added = [head_by[u] for u in sorted(set(head_by) - set(base_by)) if head_by[u].get("custom", True)]
    moves = _move_warnings(removed, added, base_by, head_by)

    for r in added:
        bucket(r, head_by).resources.append(_resource_diff("add", r))
    for r in removed:
        bucket(r, base_by).resources.append(_resource_diff("delete", r))
        warnings += [w for w in _delete_warnings(r) if not (w.kind == "delete-stateful" and r["urn"] in moves)]
    for urn in sorted(set(base_by) & set(head_by)):
        old, new = base_by[urn], head_by[urn]
        if not new.get("custom", True):
            continue
        changes = [
            Change(p, display(a, p), display(b, p))
            for p, a, b in input_changes(old.get("inputs", {}), new.get("inputs", {}))
        ]
        changes += option_changes(old, new)
        if not changes:
            unchanged += 1
            continue
        bucket(new, head_by).resources.append(_resource_diff("change", new, changes))
        props = replacement_reasons(old, new) if new.get("custom", True) else []
        if props:
            warnings.append(_replace_warning(old, new, props))
        warnings += _option_warnings(old, new)
    warnings += moves.values()

    op_order = {"add": 0, "change": 1, "delete": 2}
    for comp in per_component.values():
        comp.resources.sort(key=lambda r: (op_order[r.op], r.type, r.name, r.urn))
    components = sorted(per_component.values(), key=lambda c: (c.urn == STACK_COMPONENT, c.name, c.type))
    warnings.sort(key=lambda w: (WARNING_ORDER.index(w.kind), w.urn, w.message))

    checked = base_violations is not None and head_violations is not None
    new_v, resolved_v = [], []
    # `checked`, spelled out so the type checker narrows both lists.
    if base_violations is not None and head_violations is not None:
        base_keys = {violation_key(v) for v in base_violations}
        head_list = list(head_violations)
        head_keys = {violation_key(v) for v in head_list}
        new_v = sorted(
            {
                ViolationDiff(v.policy, v.level, v.urn, v.message)
                for v in head_list
                if violation_key(v) not in base_keys
            },
            key=lambda v: (v.level != "mandatory", v.policy, v.urn, v.message),
        )
        resolved_v = sorted(
            {
                ViolationDiff(v.policy, v.level, v.urn, v.message)
                for v in base_violations
                if violation_key(v) not in head_keys
            },
            key=lambda v: (v.policy, v.urn, v.message),
        )
    return StackDiff(
        stack=head.get("stack") or base.get("stack", ""),
        base_label=base_label,
        components=components,
        warnings=warnings,
        new_violations=new_v,
        resolved_violations=resolved_v,
        unchanged=unchanged,
        base_empty=not base_by,
        policies_checked=checked,
    )


def check_policies(pack: Any, snapshot: Mapping[str, Any], file_config: Mapping[str, Any]) -> list[Any]:
    """The pack's violations for a snapshot (none for an empty one: there is nothing to judge)."""
    if not snapshot.get("resources"):
        return []
    return pack.check(dict(snapshot), dict(file_config))


def empty_snapshot(stack: str) -> dict[str, Any]:
    return {"project": "aws-platform", "stack": stack, "resources": [], "outputs": {}}
