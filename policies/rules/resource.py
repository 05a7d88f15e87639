"""What every rule needs to know about the resource under review: its stack, stage and effective tags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import conventions

TAGGABLE: Mapping[str, str] = conventions.TAGGABLE

AWS_PROVIDER = "pulumi:providers:aws"


def stack_of(args: Any) -> str:
    return conventions.stack_from_urn(args.urn)


def stage_of(args: Any) -> str | None:
    return conventions.stage_for_stack(stack_of(args))


default_tags = conventions.provider_default_tags


def effective_tags(args: Any) -> dict[str, Any] | None:
    """Tags the create request carries; ``None`` for types that take no tags."""
    provider = args.provider.props if args.provider is not None else None
    return conventions.request_tags(args.resource_type, args.props, provider)


def context_of(args: Any) -> str | None:
    tags = effective_tags(args) or {}
    return tags.get("context") or dict(args.get_config() or {}).get("context")


def keeps_data_of(args: Any) -> bool:
    """Whether the resource's stack keeps its data (``conventions.keeps_data``): usage PRODUCTION or stage prod.

    The usage comes from the tags the create request carries (Atlas resources carry them in ``tags``).
    """
    tags = effective_tags(args) or dict(args.props.get("tags") or {})
    return conventions.keeps_data(stage_of(args) or "", str(tags.get("usage") or ""))
