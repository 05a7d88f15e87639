"""Convert each resource's properties once per analyzer request, not once per policy.

Profiling the pack under load (README, performance) showed nearly all of its
time in pulumi-policy's servicer calling protobuf's pure-Python
``json_format.MessageToDict`` for the same properties again for every policy
(and for the provider's properties on every call): one conversion of the same
message per policy of the pack. The rules themselves were not measurable.

This module gives the servicer a ``json_format`` whose ``MessageToDict``
remembers its answer for the message objects of the request being served and
forgets them when the request ends. Issue 33 profiled the rest of the servicer's
per-policy work the same way: on prod's ``AnalyzeStack`` the 16 stack policies
themselves took 4 ms of 500, the servicer's rebuilding of every resource's view
for each of them (``deserialize_properties``, the ``unknown_checking_proxy``
around it, the options and the provider) the rest; per-resource ``Analyze`` did
the same for each of its 26 policies. So those are remembered per request too:
every policy of a request reads the same read-only view of a resource (the
proxies only read: a write through one, which would reach the next policy, is
refused while the view is shared), and each still gets its own
``PolicyResource``, resource list and arguments from the servicer, unchanged.
Pinned to pulumi-policy 1.21.0; ``tests/policies/test_once_per_request.py``
checks both the speed-up's premise and that verdicts are unchanged.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import pulumi_policy.policy as _policy
import pulumi_policy.proxy as _proxy
from google.protobuf import json_format

_state = threading.local()  # the servicer runs requests on a thread pool: one cache per thread


class _RequestScopedJsonFormat:
    """``json_format`` with a per-request memo on ``MessageToDict(message)``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)

    @staticmethod
    def MessageToDict(message: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return json_format.MessageToDict(message, *args, **kwargs)
        return _recall("MessageToDict", message, lambda: json_format.MessageToDict(message))


def _recall(name: str, value: Any, compute: Callable[[], Any]) -> Any:
    """``compute()`` for ``value`` once per request (by identity: the memo holds ``value`` so its id is not reused);
    outside a request, every time."""
    memo = getattr(_state, "memo", None)
    if memo is None:
        return compute()
    key = (name, id(value))
    hit = memo.get(key)
    if hit is not None and hit[0] is value:
        return hit[1]
    result = compute()
    memo[key] = (value, result)
    return result


def _remembered(function: Callable[..., Any]) -> Callable[..., Any]:
    """A function of one value (a converted message, a deserialized one), remembered per request; called with more
    arguments (``Remediate`` deserializes with ``keep_unknowns``), it is computed every time."""

    @functools.wraps(function)
    def remembered(value: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return function(value, *args, **kwargs)
        return _recall(function.__name__, value, lambda: function(value))

    return remembered


def _remembered_method(method: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A servicer method of one request message (its options, its provider), remembered per request."""

    @functools.wraps(method)
    def remembered(self: Any, message: Any) -> Any:
        return _recall(method.__name__, message, lambda: method(self, message))

    return remembered


def _scoped(method: Callable[..., Any]) -> Callable[..., Any]:
    # Validation requests share each resource's view among their policies; Remediate keeps the library's own
    # behaviour (a remediation edits the properties it is given and hands them to the next).
    shared = method.__name__ in ("Analyze", "AnalyzeStack")

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: Any) -> Any:
        _state.memo, _state.shared = {}, shared
        try:
            return method(self, request, context)
        finally:
            _state.memo, _state.shared = None, False

    return wrapper


def _read_only(setitem: Callable[[Any, Any, Any], None]) -> Callable[[Any, Any, Any], None]:
    """The proxy's write, refused while its view is shared: a policy that wrote would change what the next reads."""

    @functools.wraps(setitem)
    def guarded(self: Any, key: Any, value: Any) -> None:
        if getattr(_state, "shared", False):
            raise TypeError(
                f"a policy wrote {key!r} into a resource's properties: every policy of the request reads the same "
                "view of them (policies/once_per_request.py); copy what you need to change"
            )
        setitem(self, key, value)

    return guarded


def install() -> None:
    """Route the servicer's conversions through the memo; idempotent."""
    servicer = _policy._PolicyAnalyzerServicer  # pyright: ignore[reportPrivateUsage]  (the class this patches)
    if getattr(servicer, "_once_per_request", False):
        return
    # Deliberate monkeypatching of pulumi_policy's internals (module docstring), which its types do not describe.
    _policy.json_format = _RequestScopedJsonFormat()  # pyright: ignore[reportPrivateImportUsage]
    _policy.deserialize_properties = _remembered(_policy.deserialize_properties)
    _policy.unknown_checking_proxy = _remembered(_policy.unknown_checking_proxy)
    for name in ("_get_resource_options", "_get_provider_resource"):
        setattr(servicer, name, _remembered_method(getattr(servicer, name)))
    _proxy._DictProxy.__setitem__ = _read_only(_proxy._DictProxy.__setitem__)  # pyright: ignore[reportPrivateUsage]
    for name in ("Analyze", "AnalyzeStack", "Remediate"):
        setattr(servicer, name, _scoped(getattr(servicer, name)))
    servicer._once_per_request = True  # pyright: ignore[reportAttributeAccessIssue]  (our marker on their class)
