"""The inputs of the resource being analyzed as the engine sent them, secret markings included.

pulumi-policy 1.21.0 hands a policy ``args.props`` with every secret unwrapped to its plaintext (its
``deserialize_properties`` drops the envelope), so a policy cannot tell a value Pulumi keeps encrypted from one
typed into the program. The engine does send the envelope (``{sig: 1b47..., value: ...}``: the CLI marshals
analyzer inputs with KeepSecrets). This module keeps the request being served in a thread-local, so
``no-plaintext-secrets`` reads the inputs in that wire form and passes what Pulumi marked secret.
Pinned to pulumi-policy 1.21.0's servicer, like once_per_request.py; tests/policies/test_secrets.py sends a
marked secret through the real gRPC interface and checks it passes.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import pulumi_policy.policy as _policy

_state = threading.local()  # the servicer serves requests on a thread pool


def _serving(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: Any) -> Any:
        _state.request = request
        try:
            return method(self, request, context)
        finally:
            _state.request = None

    return wrapper


def install() -> None:
    """Remember each ``Analyze`` request while it is served; idempotent."""
    servicer: Any = _policy._PolicyAnalyzerServicer  # pyright: ignore[reportPrivateUsage]  (the class this patches)
    if getattr(servicer, "_wire_inputs", False):
        return
    servicer.Analyze = _serving(servicer.Analyze)
    servicer._wire_inputs = True


def inputs(urn: str) -> dict[str, Any] | None:
    """The wire-form inputs of the resource ``urn`` if it is the one being analyzed, else None."""
    request = getattr(_state, "request", None)
    if request is None or request.urn != urn:
        return None
    # The servicer's json_format (memoized per request by once_per_request.py): converted once for all policies.
    return _policy.json_format.MessageToDict(request.properties)  # pyright: ignore[reportPrivateImportUsage]
