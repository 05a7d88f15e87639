"""Turn raw stack configuration into typed dataclasses, collecting every problem.

The rules a field must follow sit next to the field, as dataclass metadata
(``choices``, ``min``/``max``, ``pattern``, ``check``), so a later issue adds a
config section by writing a dataclass and nothing else. All problems are
collected, not just the first, and each names the key as written in the YAML,
the value, and what is allowed; an unknown key also gets the closest valid one.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(ValueError):
    """Invalid stack configuration: raised before a single resource is registered."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}: {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


def camel(name: str) -> str:
    """``az_count`` -> ``azCount``: Pulumi config keys are camelCase, Python fields snake_case."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def setting(
    default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING, doc: str = "", **rules: Any
) -> Any:
    """A config field: its default, a one-line reason (``doc``) and the rules its value must follow.

    Rules: ``choices`` (allowed values), ``min``/``max`` (numbers and list lengths),
    ``pattern`` (regex) with ``what`` (how to say it), ``cidr`` (an IPv4 network),
    ``check`` (a function returning an error message or None).
    """
    kwargs: dict[str, Any] = {"metadata": {"doc": doc, **rules}}
    if default is not dataclasses.MISSING:
        kwargs["default"] = default
    if default_factory is not dataclasses.MISSING:
        kwargs["default_factory"] = default_factory
    return field(**kwargs)


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Parser:
    """Parses one mapping into a dataclass, recording problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, key: str, message: str) -> None:
        self.problems.append(Problem(key, message))

    def parse(self, cls: type, raw: Any, key: str, sep: str = ".") -> Any:
        """``sep`` joins ``key`` and a field: ':' after a config namespace, '.' inside a value."""
        if not isinstance(raw, Mapping):
            self.fail(key, f"{show(raw)} is not a mapping; expected keys {', '.join(self._keys(cls))}")
            return None
        hints = typing.get_type_hints(cls)
        fields = {camel(f.name): f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")}
        values: dict[str, Any] = {}
        for raw_key, raw_value in raw.items():
            if raw_key not in fields:
                close = difflib.get_close_matches(str(raw_key), list(fields), n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.fail(f"{key}{sep}{raw_key}", f"unknown key (allowed: {', '.join(fields)}){hint}")
                continue
            f = fields[raw_key]
            values[f.name] = self.value(hints[f.name], raw_value, f"{key}{sep}{raw_key}", f.metadata)
        for name, f in fields.items():
            missing = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if missing and f.name not in values:
                self.fail(f"{key}{sep}{name}", "is required")
        if any(p.key == key or p.key.startswith(key + sep) for p in self.problems):
            return None
        return cls(**values)

    @staticmethod
    def _keys(config_type: type) -> list[str]:
        return [camel(f.name) for f in dataclasses.fields(config_type) if f.init and not f.metadata.get("internal")]

    def value(self, hint: Any, raw: Any, key: str, rules: Mapping[str, Any]) -> Any:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            if raw is None and type(None) in args:
                return None
            (inner,) = [a for a in args if a is not type(None)]
            return self.value(inner, raw, key, rules)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self.parse(hint, raw, key)
        if origin in (list, tuple):
            if not isinstance(raw, list):
                self.fail(key, f"{show(raw)} is not a list")
                return None
            self._range(key, len(raw), rules, "entries")
            items = tuple(self.value(args[0], item, f"{key}[{i}]", rules.get("each", {})) for i, item in enumerate(raw))
            return list(items) if origin is list else items
        if origin is dict:
            if not isinstance(raw, Mapping):
                self.fail(key, f"{show(raw)} is not a mapping")
                return None
            return {str(k): self.value(args[1], v, f"{key}.{k}", rules.get("each", {})) for k, v in raw.items()}
        return self.scalar(hint, raw, key, rules)

    def scalar(self, hint: Any, raw: Any, key: str, rules: Mapping[str, Any]) -> Any:
        if hint is bool:
            if not isinstance(raw, bool):
                self.fail(key, f"{show(raw)} is not true or false")
                return None
        elif hint is int:
            if isinstance(raw, bool) or not isinstance(raw, int):
                self.fail(key, f"{show(raw)} is not a whole number")
                return None
            self._range(key, raw, rules)
        elif hint is float:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                self.fail(key, f"{show(raw)} is not a number")
                return None
            raw = float(raw)
            self._range(key, raw, rules)
        elif hint is str:
            if not isinstance(raw, str):
                self.fail(key, f"{show(raw)} is not a string")
                return None
            pattern = rules.get("pattern")
            if pattern is not None and not re.fullmatch(pattern, raw):
                self.fail(key, f"{show(raw)} is not {rules.get('what', f'matching {pattern}')}")
            if rules.get("cidr"):
                self._cidr(key, raw)
        elif hint is Any:
            pass
        else:  # pragma: no cover - a schema bug, not a config one
            raise TypeError(f"unsupported config type {hint!r} at {key}")
        choices = rules.get("choices")
        if choices is not None and raw not in choices:
            self.fail(key, f"{show(raw)} is not allowed (allowed: {', '.join(map(str, choices))})")
        check: Callable[[Any], str | None] | None = rules.get("check")
        if check is not None:
            message = check(raw)
            if message:
                self.fail(key, f"{show(raw)} {message}")
        return raw

    def _range(self, key: str, number: float, rules: Mapping[str, Any], unit: str = "") -> None:
        low, high = rules.get("min"), rules.get("max")
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
            what = f"{number} {unit}".strip()
            self.fail(key, f"{what} is out of range (allowed {bounds})")

    def _cidr(self, key: str, raw: str) -> None:
        try:
            ipaddress.IPv4Network(raw, strict=True)
        except ValueError as err:
            self.fail(key, f"{show(raw)} is not a valid IPv4 CIDR block like '10.0.0.0/16' ({err})")
