"""A Pulumi preview as a Terraform plan (``terraform show -json``'s format), so checkov's AWS checks can judge it.

pulumi-aws is bridged from the Terraform AWS provider: the same resource types
and arguments under Pulumi's spelling. This module spells them back: type tokens
to Terraform resource types, camelCase to snake_case, repeated blocks singular
again and every nested block a list of objects, maps left as maps — each decided
by the pulumi-aws SDK's input types (``scan.sdk_fields``), not by the name. The
provider's ``default_tags`` become ``tags_all``, as Terraform computes it.

Input is either the offline preview's snapshot (``python -m preview --json``) or
the output of a real ``pulumi preview --json`` (its ``steps``). Cross-resource
references (``bucket = aws_s3_bucket.site.id``), which checkov's graph checks
follow, are recovered where an input equals another resource's id, ARN or name
among its dependencies.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scan import sdk_fields

FORMAT_VERSION = "1.2"
PULUMI_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker for a value known only at apply
MASKS = ("[unknown]",)

# Pulumi modules whose Terraform types do not carry the module name (Terraform's `aws_vpc`, not `aws_ec2_vpc`).
# The bridge maps these prefix-less Terraform types into ec2/lb; every other module keeps its prefix.
UNPREFIXED = {
    "ec2": {
        "DefaultSecurityGroup",
        "Eip",
        "FlowLog",
        "Instance",
        "InternetGateway",
        "LaunchTemplate",
        "NatGateway",
        "Route",
        "RouteTable",
        "RouteTableAssociation",
        "SecurityGroup",
        "SecurityGroupRule",
        "Subnet",
        "Vpc",
        "VpcEndpoint",
        "VpcEndpointService",
    },
}
# `aws_lb` alone: the bridge calls it lb/loadBalancer.
RENAMED = {"aws:lb/loadBalancer:LoadBalancer": "aws_lb"}


class ConversionError(ValueError):
    """A resource that cannot be spelled as Terraform (its type is not in the pinned pulumi-aws)."""


def terraform_type(token: str) -> str:
    """``aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration`` → ``aws_s3_bucket_lifecycle_configuration``."""
    if token in RENAMED:
        return RENAMED[token]
    package, path, kind = token.split(":")
    module = path.split("/")[0]
    if kind in UNPREFIXED.get(module, ()):
        return f"{package}_{sdk_fields.snake(kind)}"
    return f"{package}_{module}_{sdk_fields.snake(kind)}"


def _clean(value: Any) -> Any:
    if isinstance(value, str) and (value == PULUMI_UNKNOWN or value in MASKS):
        return None
    return value


def convert_value(args_cls: type | None, inputs: dict[str, Any], unknown: list[str] | None = None) -> dict[str, Any]:
    """Inputs of one resource or block as Terraform values; undeclared keys go to ``unknown`` (snake-cased)."""
    declared = sdk_fields.fields(args_cls) if args_cls else {}
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        spec = declared.get(key)
        if spec is None:
            if unknown is not None:
                unknown.append(key)
            out[sdk_fields.snake(key)] = _clean(value)
            continue
        if spec.kind == "blocks" and isinstance(value, list):
            out[spec.terraform_name] = [convert_value(spec.block, v, unknown) for v in value if isinstance(v, dict)]
        elif spec.kind == "block" and isinstance(value, dict):
            out[spec.terraform_name] = [convert_value(spec.block, value, unknown)]
        elif spec.kind == "map" and isinstance(value, dict):
            out[spec.terraform_name] = {k: _clean(v) for k, v in value.items()}
        else:
            out[spec.terraform_name] = _clean(value)
    return out


def revert_value(args_cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Terraform values back to Pulumi inputs through the same SDK fields: the round trip the tests check."""
    by_tf = {f.terraform_name: f for f in sdk_fields.fields(args_cls).values()}
    out: dict[str, Any] = {}
    for key, value in values.items():
        spec = by_tf.get(key)
        if spec is None:
            raise ConversionError(f"{args_cls.__name__}: '{key}' is not a field pulumi-aws declares")
        is_blocks = isinstance(value, list) and all(isinstance(v, dict) for v in value) and spec.block
        if spec.kind == "blocks" and is_blocks and spec.block is not None:
            out[spec.pulumi_name] = [revert_value(spec.block, v) for v in value]
        elif spec.kind == "block" and is_blocks and spec.block is not None and len(value) == 1:
            out[spec.pulumi_name] = revert_value(spec.block, value[0])
        else:
            out[spec.pulumi_name] = value
    return out


@dataclass
class Resource:
    """One custom resource, from either input format."""

    urn: str
    type: str
    name: str
    parent: str
    provider: str
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    known: dict[str, str] = field(default_factory=dict)  # output name → value (id, arn, name) for references


def _provider_urn(ref: str) -> str:
    # A real preview names a provider "<urn>::<id>"; the offline snapshot by its URN alone.
    return ref.rsplit("::", 1)[0] if ref.count("::") > 3 else ref


def read_resources(document: dict[str, Any]) -> list[Resource]:
    """The custom resources of an offline snapshot (``resources``) or a real ``pulumi preview --json`` (``steps``)."""
    found: list[Resource] = []
    if "steps" in document:
        for step in document["steps"]:
            if step.get("op") in ("delete", "discard", "read-discard"):
                continue
            state = step.get("newState") or {}
            urn = state.get("urn") or step.get("urn", "")
            found.append(
                Resource(
                    urn=urn,
                    type=state.get("type", urn.split("::")[-2].split("$")[-1] if urn else ""),
                    name=urn.split("::")[-1],
                    parent=state.get("parent", ""),
                    provider=_provider_urn(state.get("provider", "")),
                    inputs=state.get("inputs") or {},
                    dependencies=list(state.get("dependencies") or []),
                    known={
                        k: v
                        for k, v in (state.get("outputs") or {}).items()
                        if k in ("id", "arn", "name", "bucket") and isinstance(v, str) and v != PULUMI_UNKNOWN
                    },
                )
            )
            if state.get("id"):
                found[-1].known.setdefault("id", state["id"])
    else:
        for r in document.get("resources", []):
            if not r.get("custom", True):
                continue
            found.append(
                Resource(
                    urn=r["urn"],
                    type=r["type"],
                    name=r["name"],
                    parent=r.get("parent", ""),
                    provider=_provider_urn(r.get("provider", "")),
                    inputs=r.get("inputs") or {},
                    dependencies=list(r.get("dependencies") or []),
                )
            )
        _mock_outputs(document.get("stack", "dev"), found)
    return found


def _mock_outputs(stack: str, resources: list[Resource]) -> None:
    """The ids, ARNs and endpoints the offline preview's mocks gave each resource: asked again, the same answer
    (the mocks derive them from the URN and inputs)."""
    import pulumi

    import stack_config
    from preview import world
    from preview.mocks import PlatformMocks

    mocks = PlatformMocks(stack, world.for_stack(stack_config.load_file(stack)))
    refs: dict[str, str] = {}
    for r in resources:
        if r.type.startswith("pulumi:providers:"):
            provider_id, _ = mocks.new_resource(pulumi.runtime.MockResourceArgs(r.type, r.name, dict(r.inputs)))
            refs[r.urn] = f"{r.urn}::{provider_id}"
    for r in resources:
        if not r.type.startswith("aws:"):
            continue
        args = pulumi.runtime.MockResourceArgs(r.type, r.name, dict(r.inputs), refs.get(r.provider), None, True)
        rid, state = mocks.new_resource(args)
        r.known["id"] = str(rid)
        r.known.update(
            {k: v for k, v in state.items() if isinstance(v, str) and (k not in r.inputs or k in ("name", "bucket"))}
        )


def default_tags(resources: Iterable[Resource]) -> dict[str, dict[str, str]]:
    """Provider URN → its default_tags (the snapshot keeps them as the provider's JSON-encoded input)."""
    tags: dict[str, dict[str, str]] = {}
    for r in resources:
        if r.type != "pulumi:providers:aws":
            continue
        raw = r.inputs.get("defaultTags")
        value = json.loads(raw) if isinstance(raw, str) else (raw or {})
        tags[r.urn] = dict(value.get("tags") or {})
    return tags


def _addresses(resources: list[Resource]) -> dict[str, str]:
    """URN → a unique Terraform address: ``<type>.<pulumi name>``, qualified by its parent's name on a clash."""
    by_urn = {r.urn: r for r in resources}

    def local(r: Resource, depth: int) -> str:
        parts = [r.name]
        parent = r.parent
        for _ in range(depth):
            owner = parent.split("::")[-1] if parent else ""
            if not owner or "pulumi:pulumi:Stack" in parent:
                break
            parts.insert(0, owner)
            parent = by_urn[parent].parent if parent in by_urn else ""
        name = re.sub(r"[^A-Za-z0-9_-]", "_", "_".join(parts))
        return name if re.match(r"[A-Za-z_]", name) else f"r_{name}"

    result: dict[str, str] = {}
    groups: dict[str, list[Resource]] = {}
    for r in resources:
        groups.setdefault(terraform_type(r.type), []).append(r)
    for tf_type, members in groups.items():
        for depth in range(4):
            names = [local(r, depth) for r in members]
            if len(set(names)) == len(names):
                break
        else:
            names = [f"{local(r, 0)}_{hashlib.sha256(r.urn.encode()).hexdigest()[:6]}" for r in members]
        for r, name in zip(members, names, strict=True):
            result[r.urn] = f"{tf_type}.{name}"
    return result


def _references(r: Resource, values: dict[str, Any], by_urn: dict[str, Resource], addr: dict[str, str]) -> dict:
    """Terraform `expressions`: references where an input (at any depth) is a dependency's id, ARN, name or endpoint."""
    known = [
        (value, f"{addr[dep.urn]}.{sdk_fields.snake(attribute)}", addr[dep.urn])
        for dep in (by_urn.get(u) for u in r.dependencies)
        if dep is not None and dep.urn in addr
        for attribute, value in dep.known.items()
        if isinstance(value, str) and len(value) >= 6
    ]

    def walk(block: dict[str, Any]) -> dict[str, Any]:
        expressions: dict[str, Any] = {}
        for key, value in block.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                nested = [walk(v) for v in value]
                if any(nested):
                    expressions[key] = nested
                continue
            candidates = value if isinstance(value, list) else [value]
            refs: list[str] = []
            for known_value, attribute_ref, resource_ref in known:
                if any(c == known_value for c in candidates) and attribute_ref not in refs:
                    refs += [attribute_ref, resource_ref]
            if refs:
                expressions[key] = {"references": refs}
        return expressions

    return walk(values) if known else {}


@dataclass
class Plan:
    document: dict[str, Any]
    addresses: dict[str, str]  # URN → Terraform address
    skipped: list[str]  # URNs of resources no Terraform check can judge (other providers)
    undeclared: dict[str, list[str]]  # URN → input keys pulumi-aws does not declare


def to_terraform_plan(document: dict[str, Any]) -> Plan:
    """The Terraform plan JSON checkov reads (``planned_values``, ``resource_changes``, ``configuration``)."""
    resources = read_resources(document)
    tags_by_provider = default_tags(resources)
    aws = [r for r in resources if r.type.startswith("aws:")]
    skipped = [r.urn for r in resources if not r.type.startswith(("aws:", "pulumi:providers:"))]
    addresses = _addresses(aws)
    by_urn = {r.urn: r for r in aws}
    planned, changes, configuration, undeclared = [], [], [], {}
    for r in sorted(aws, key=lambda x: addresses[x.urn]):
        try:
            args_cls = sdk_fields.args_class(r.type)
        except sdk_fields.UnknownType as err:
            raise ConversionError(str(err)) from None
        unknown: list[str] = []
        values = convert_value(args_cls, r.inputs, unknown)
        if unknown:
            undeclared[r.urn] = unknown
        if sdk_fields.has_tags_all(r.type):
            values["tags_all"] = {**tags_by_provider.get(r.provider, {}), **(values.get("tags") or {})}
        address = addresses[r.urn]
        tf_type, tf_name = address.split(".", 1)
        provider = "registry.terraform.io/hashicorp/aws"
        planned.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": tf_name,
                "provider_name": provider,
                "schema_version": 0,
                "values": values,
            }
        )
        changes.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": tf_name,
                "provider_name": provider,
                "change": {"actions": ["create"], "before": None, "after": values, "after_unknown": {}},
            }
        )
        configuration.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": tf_name,
                "provider_config_key": "aws",
                "expressions": _references(r, values, by_urn, addresses),
            }
        )
    plan = {
        "format_version": FORMAT_VERSION,
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws"}},
            "root_module": {"resources": configuration},
        },
    }
    return Plan(plan, addresses, skipped, undeclared)
