"""Convert each resource's properties once per analyzer request, not once per policy.

Profiling the pack under load (README, performance) showed nearly all of its
time in pulumi-policy's servicer calling protobuf's pure-Python
``json_format.MessageToDict`` for the same properties again for every policy
(and for the provider's properties on every call): one conversion of the same
message per policy of the pack. The rules themselves were not measurable.

This module gives the servicer a ``json_format`` whose ``MessageToDict``
remembers its answer for the message objects of the request being served and
forgets them when the request ends. Only the conversion is shared: each policy
still gets its own freshly deserialized, read-only view, exactly as before.
Pinned to pulumi-policy 1.21.0; ``tests/policies/test_once_per_request.py``
checks both the speed-up's premise and that verdicts are unchanged.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import pulumi_policy.policy as _policy
from google.protobuf import json_format

_state = threading.local()  # the servicer runs requests on a thread pool: one cache per thread


class _RequestScopedJsonFormat:
    """``json_format`` with a per-request memo on ``MessageToDict(message)``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)

    @staticmethod
    def MessageToDict(message: Any, *args: Any, **kwargs: Any) -> Any:
        memo = getattr(_state, "memo", None)
        if memo is None or args or kwargs:
            return json_format.MessageToDict(message, *args, **kwargs)
        hit = memo.get(id(message))
        # The memo holds the message itself, so its id cannot be reused while the entry lives.
        if hit is not None and hit[0] is message:
            return hit[1]
        result = json_format.MessageToDict(message)
        memo[id(message)] = (message, result)
        return result


def _scoped(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: Any) -> Any:
        _state.memo = {}
        try:
            return method(self, request, context)
        finally:
            _state.memo = None

    return wrapper


def install() -> None:
    """Route the servicer's conversions through the memo; idempotent."""
    servicer = _policy._PolicyAnalyzerServicer  # pyright: ignore[reportPrivateUsage]  (the class this patches)
    if getattr(servicer, "_once_per_request", False):
        return
    # Deliberate monkeypatching of pulumi_policy's internals (module docstring), which its types do not describe.
    _policy.json_format = _RequestScopedJsonFormat()  # pyright: ignore[reportPrivateImportUsage]
    for name in ("Analyze", "AnalyzeStack", "Remediate"):
        setattr(servicer, name, _scoped(getattr(servicer, name)))
    servicer._once_per_request = True  # pyright: ignore[reportAttributeAccessIssue]  (our marker on their class)
