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
the same for each of its 26 policies. So those are remembered per request too,
and ``AnalyzeStack`` (restated from pulumi-policy 1.21.0, used only with that
version) builds the stack's resources once for all its stack policies:
every policy of a request reads the same read-only view of a resource (the
proxies only read: a write through one, which would reach the next policy, is
refused while the view is shared), and each still gets its own arguments and
resource list.
Pinned to pulumi-policy 1.21.0; ``tests/policies/test_once_per_request.py``
checks both the speed-up's premise and that verdicts are unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

import pulumi_policy.policy
import pulumi_policy.proxy
import pulumi_policy.version
from google.protobuf import json_format
from pulumi.runtime import proto as _proto

# Patched deliberately (module docstring): pulumi-policy's internals, which its types do not describe.
_policy: Any = pulumi_policy.policy
_proxy: Any = pulumi_policy.proxy
REWRITTEN_FROM = "1.21.0"  # the pulumi-policy whose AnalyzeStack _analyze_stack restates (policies/requirements.txt)
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


def _remembered_provider(method: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A request's provider, one view per distinct provider: an ``AnalyzeStack`` request carries its own copy of
    the provider in every resource (at 200 services, 7,034 copies of 212 providers), and remembered by identity
    each copy was converted into dicts of its own, a third of the pack's peak memory on that request. Copies with
    the same bytes are the same provider, so they share one read-only view."""

    @functools.wraps(method)
    def remembered(self: Any, message: Any) -> Any:
        memo = getattr(_state, "memo", None)
        if memo is None or not message.HasField("provider"):
            return method(self, message)
        key = (method.__name__, message.provider.SerializeToString(deterministic=True))
        if key not in memo:
            memo[key] = method(self, message)
        return memo[key]

    return remembered


def _scoped(method: Callable[..., Any], name: str = "") -> Callable[..., Any]:
    # Validation requests share each resource's view among their policies; Remediate keeps the library's own
    # behaviour (a remediation edits the properties it is given and hands them to the next).
    shared = (name or method.__name__) in ("Analyze", "AnalyzeStack")

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


def _unremembered(function: Callable[..., Any]) -> Callable[..., Any]:
    """The library's own function under ``_remembered``."""
    return getattr(function, "__wrapped__", function)


def _stack_resources(servicer: Any, request: Any) -> list[Any]:
    """The stack's resources as pulumi-policy 1.21.0's ``AnalyzeStack`` builds them for each stack policy
    (``PolicyResource`` with its parent, dependencies and property dependencies linked), built once."""
    by_urn: dict[str, Any] = {}
    links = []
    for r in request.resources:
        # Built once here, so not remembered: the memo would keep each intermediate dict alive to the request's end.
        properties = _unremembered(_policy.deserialize_properties)(json_format.MessageToDict(r.properties))
        resource = _policy.PolicyResource(
            r.type,
            _unremembered(_policy.unknown_checking_proxy)(properties),
            r.urn,
            r.name,
            servicer._get_resource_options(r),
            servicer._get_provider_resource(r),
            None,
            [],
            {},
        )
        by_urn[resource.urn] = resource
        links.append(
            (resource, r.parent, list(r.dependencies), {k: list(v.urns) for k, v in r.propertyDependencies.items()})
        )
    for resource, parent, dependencies, property_dependencies in links:
        if parent is not None and parent in by_urn:
            resource.parent = by_urn[parent]
        resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)
        for key, urns in property_dependencies.items():
            resource.property_dependencies[key] = [by_urn[d] for d in urns if d in by_urn]
    return [resource for resource, *_ in links]


def _analyze_stack(self: Any, request: Any, _context: Any) -> Any:
    """pulumi-policy 1.21.0's ``AnalyzeStack`` with the stack's resources built once for all its stack policies
    instead of once per policy: each policy still gets its own list and arguments, and the same verdicts, levels,
    not-applicable reasons and unknown-value diagnostics as the servicer's own loop (tests/policies)."""
    mangled = "_PolicyAnalyzerServicer__"
    pack_name, pack_version = (
        getattr(self, mangled + "policy_pack_name"),
        getattr(self, mangled + "policy_pack_version"),
    )
    self._configure_runtime_settings()
    response = _proto.AnalyzeResponse()
    resources: list[Any] | None = None
    for policy in getattr(self, mangled + "policies"):
        level = self._get_enforcement_level(policy)
        if level == _policy.EnforcementLevel.DISABLED or not isinstance(policy, _policy.StackValidationPolicy):
            continue
        if level == _policy.EnforcementLevel.REMEDIATE:  # stack policies cannot remediate: mandatory, as the servicer
            level = _policy.EnforcementLevel.MANDATORY
        report_violation = self._create_report_violation(
            response, policy.name, policy.description, level, policy.severity
        )
        if resources is None:
            resources = _stack_resources(self, request)
        args = _policy.StackValidationArgs(
            list(resources), self._get_policy_config(policy.name), getattr(self, mangled + "stack_tags")
        )
        try:
            result = policy.validate(args, report_violation)
            if inspect.isawaitable(result):
                loop = asyncio.new_event_loop()
                loop.run_until_complete(result)
                loop.close()
        except _policy.UnknownValueError as e:
            response.diagnostics.append(
                _proto.AnalyzeDiagnostic(
                    policyName=policy.name,
                    policyPackName=pack_name,
                    policyPackVersion=pack_version,
                    message=(
                        f"can't run policy '{policy.name}' from policy pack "
                        f"'{pack_name}@v{pack_version}' during preview: {e.message}"
                    ),
                    urn="",
                    description=policy.description,
                    enforcementLevel=self._map_enforcement_level(_policy.EnforcementLevel.ADVISORY),
                )
            )
        except _policy._NotApplicableError as e:
            response.not_applicable.append(_proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or ""))
    return response


def install() -> None:
    """Route the servicer's conversions through the memo; idempotent."""
    servicer = _policy._PolicyAnalyzerServicer
    if getattr(servicer, "_once_per_request", False):
        return
    _policy.json_format = _RequestScopedJsonFormat()
    _policy.deserialize_properties = _remembered(_policy.deserialize_properties)
    _policy.unknown_checking_proxy = _remembered(_policy.unknown_checking_proxy)
    servicer._get_resource_options = _remembered_method(servicer._get_resource_options)
    servicer._get_provider_resource = _remembered_provider(servicer._get_provider_resource)
    _proxy._DictProxy.__setitem__ = _read_only(_proxy._DictProxy.__setitem__)
    servicer.library_analyze_stack = servicer.AnalyzeStack  # what tests/policies compares _analyze_stack with
    if pulumi_policy.version.VERSION == REWRITTEN_FROM:  # another version keeps its own loop (and its own costs)
        servicer.AnalyzeStack = _analyze_stack
    for name in ("Analyze", "AnalyzeStack", "Remediate"):
        setattr(servicer, name, _scoped(getattr(servicer, name), name))
    servicer._once_per_request = True
