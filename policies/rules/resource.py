"""What every rule needs to know about the resource under review: its stack, stage and effective tags."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from typing import Any

import conventions

# {type token: "default" | "map" | "blocks"}; generated from the pinned pulumi-aws (tools/generate_taggable_types.py).
TAGGABLE: Mapping[str, str] = json.loads(
    (pathlib.Path(__file__).resolve().parent.parent / "taggable_types.json").read_text()
)

AWS_PROVIDER = "pulumi:providers:aws"


def stack_of(args: Any) -> str:
    return conventions.stack_from_urn(args.urn)


def stage_of(args: Any) -> str | None:
    return conventions.stage_for_stack(stack_of(args))


def default_tags(provider_props: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``default_tags`` an AWS provider merges into every create request it makes."""
    block = (provider_props or {}).get("defaultTags") or {}
    if isinstance(block, str):  # provider config reaches the engine JSON-encoded
        block = json.loads(block)
    return dict(block.get("tags") or {})


def effective_tags(args: Any) -> dict[str, Any] | None:
    """Tags the create request carries; ``None`` for types that take no tags."""
    kind = TAGGABLE.get(args.resource_type)
    props = args.props
    if kind == "blocks":
        return {b.get("key"): b.get("value") for b in props.get("tags") or [] if b.get("propagateAtLaunch")}
    if kind == "map":
        return dict(props.get("tags") or {})
    if kind == "default":
        provider = args.provider.props if args.provider is not None else None
        return {**default_tags(provider), **dict(props.get("tags") or {})}
    return None


def context_of(args: Any) -> str | None:
    tags = effective_tags(args) or {}
    return tags.get("context") or dict(args.get_config() or {}).get("context")


def keeps_data_of(args: Any) -> bool:
    """Whether the resource's stack keeps its data (``conventions.keeps_data``): usage PRODUCTION or stage prod.

    The usage comes from the tags the create request carries (Atlas resources carry them in ``tags``).
    """
    tags = effective_tags(args) or dict(args.props.get("tags") or {})
    return conventions.keeps_data(stage_of(args) or "", str(tags.get("usage") or ""))
