"""What pulumi-aws says a resource's inputs look like: the Terraform shape of each field, read from the SDK.

pulumi-aws is bridged from the Terraform AWS provider, so every input is a
Terraform argument under another spelling. The SDK's input types, not a guess
from the name, say which spelling: a field typed ``Sequence[XxxArgs]`` is a
repeated nested block (Terraform name singular: the bridge pluralised it), a
field typed ``XxxArgs`` is a block of at most one (Terraform: a list of one
object), ``Mapping[str, ...]`` is a map (``tags``, ``variables``: an object in the
plan, never a list), anything else a scalar or a list of scalars. The singular
block name is the one the bridge gave the nested type: ``ListenerDefaultActionArgs``
under ``Listener`` is the block ``default_action``.
"""

from __future__ import annotations

import collections.abc
import functools
import importlib
import keyword
import re
import typing
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["scalar", "map", "block", "blocks"]


class UnknownType(LookupError):
    """A type token the pinned pulumi-aws does not declare."""


@dataclass(frozen=True)
class Field:
    pulumi_name: str  # camelCase, as in the snapshot
    terraform_name: str  # snake_case, singular for repeated blocks
    kind: Kind
    block: type | None = None  # the nested input type for "block" and "blocks"


def snake(name: str) -> str:
    """camelCase → snake_case the way the bridge spells Terraform names (``ipv6CidrBlock`` → ``ipv6_cidr_block``)."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _python_module(token: str) -> Any:
    """``aws:s3/bucket:Bucket`` → the ``pulumi_aws.s3`` module."""
    package, rest, _ = token.split(":")
    module = rest.split("/")[0]
    base = importlib.import_module("pulumi_" + package.replace("-", "_"))
    if keyword.iskeyword(module):
        module += "_"  # pulumi_aws.lambda_
    return base if module == "index" else importlib.import_module(f"{base.__name__}.{module}")


def resource_class(token: str) -> type:
    try:
        return getattr(_python_module(token), token.rsplit(":", 1)[1])
    except (ImportError, AttributeError, ValueError) as err:
        raise UnknownType(f"{token}: not a resource of the installed pulumi-aws") from err


def args_class(token: str) -> type:
    """The resource's input type (``BucketArgs`` for ``aws:s3/bucket:Bucket``)."""
    cls = resource_class(token)
    module = importlib.import_module(cls.__module__)
    # ``XxxInitArgs`` where a nested type already took ``XxxArgs`` (s3's BucketVersioning, for one).
    found = next(
        (
            candidate
            for candidate in (getattr(module, f"{cls.__name__}{suffix}", None) for suffix in ("InitArgs", "Args"))
            if isinstance(candidate, type) and candidate.__module__ == module.__name__
        ),
        None,
    )
    if found is None:
        raise UnknownType(f"{token}: pulumi-aws declares no {cls.__name__}Args")
    return found


def has_tags_all(token: str) -> bool:
    """Whether the provider's default_tags reach this type (it has the computed ``tags_all``)."""
    try:
        return hasattr(resource_class(token), "tags_all")
    except UnknownType:
        return False


def _resolve(ref: Any, owner: type) -> Any:
    if isinstance(ref, typing.ForwardRef):
        name = ref.__forward_arg__
        if name.endswith("Args"):
            package = importlib.import_module(owner.__module__.rsplit(".", 1)[0])
            inputs = importlib.import_module(package.__name__ + "._inputs")
            return getattr(inputs, name, None) or getattr(package, name, None)
        return None
    return ref


def _shape(annotation: Any, owner: type) -> tuple[Kind, type | None]:
    """Walk ``Optional[Input[...]]`` down to what it holds."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    for arg in args:
        origin = typing.get_origin(arg)
        if origin in (collections.abc.Sequence, list):
            for inner in typing.get_args(typing.get_args(arg)[0]) or typing.get_args(arg):
                cls = _resolve(inner, owner)
                if isinstance(cls, type) and cls.__name__.endswith("Args"):
                    return "blocks", cls
            return "scalar", None
        if origin in (collections.abc.Mapping, dict):
            return "map", None
        cls = _resolve(arg, owner)
        if isinstance(cls, type) and cls.__name__.endswith("Args"):
            return "block", cls
    return "scalar", None


def _block_name(block: type, parent: type, pulumi_name: str) -> str:
    """The Terraform block name: the nested type's name less its parent's (``Listener`` + ``DefaultAction``)."""
    prefix = parent.__name__.removesuffix("Args")
    own = block.__name__.removesuffix("Args")
    if own.startswith(prefix) and len(own) > len(prefix):
        return snake(own[len(prefix) :])
    return snake(pulumi_name)


@functools.cache
def fields(cls: type) -> dict[str, Field]:
    """Every input field of an input type, keyed by its Pulumi (camelCase) name."""
    found: dict[str, Field] = {}
    for klass in reversed(cls.__mro__):
        for attr in vars(klass).values():
            getter = attr.fget if isinstance(attr, property) else None
            name = getattr(getter, "_pulumi_name", None)
            if getter is None or not isinstance(name, str):
                continue
            kind, block = _shape(getter.__annotations__.get("return"), cls)
            tf_name = _block_name(block, cls, name) if kind == "blocks" and block else snake(name)
            found[name] = Field(name, tf_name, kind, block)
    return found
