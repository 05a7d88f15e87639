"""Secrets Manager's rotation protocol, written once: the bookkeeping every rotated secret shares.

Secrets Manager starts a rotation by adding a version labelled ``AWSPENDING`` under a fresh token,
then invokes the function once per step: ``createSecret`` (make the new value), ``setSecret`` (tell
the service), ``testSecret`` (the service accepts it), ``finishSecret`` (move ``AWSCURRENT``). A step
that fails is retried with the same token, so every step here can run twice without a second password.

A :class:`Target` says what the new value is and how its service learns it; this module checks that
the event is for the one secret the function may rotate and for the version being made, generates
the password with Secrets Manager's own generator, and moves the label last. Nothing secret is
logged: a log line names the step, the secret and the version, never a value.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"


class RotationError(ValueError):
    """The event or the secret is not one this function may rotate; Secrets Manager marks the rotation failed."""


class Target(Protocol):
    """What differs per service: the next value, telling the service, checking the service took it."""

    def next_value(self, current: dict[str, Any], password: str) -> dict[str, Any]: ...

    def apply(self, current: dict[str, Any], pending: dict[str, Any]) -> None: ...

    def verify(self, pending: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class PasswordRules:
    """Secrets Manager's ``GetRandomPassword``: long, and without the characters the service refuses."""

    length: int = 40
    exclude_characters: str = "\"'/@\\`"  # ElastiCache refuses " / @; quotes and backslashes break URLs and shells


def rotate(
    event: dict[str, Any],
    target: Target,
    secrets: Any,
    allowed_secret_arn: str,
    rules: PasswordRules = PasswordRules(),
    log: Callable[[str], None] = print,
) -> str:
    """Run the step ``event`` asks for; returns what was done (also logged), raises :class:`RotationError`."""
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step not in STEPS:
        raise RotationError(f"Step {step!r} is not a rotation step (allowed: {', '.join(STEPS)})")
    if arn != allowed_secret_arn:
        # One function, one secret: a function allowed to rotate any secret could be pointed at the wrong one.
        raise RotationError(f"secret {arn} is not the one this function rotates ({allowed_secret_arn})")
    metadata = secrets.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"secret {arn} does not have rotation enabled")
    stages = metadata.get("VersionIdsToStages", {}).get(token)
    if stages is None:
        raise RotationError(f"version {token} of {arn} does not exist (Secrets Manager creates it before a rotation)")
    if CURRENT in stages:
        return _logged(log, step, arn, token, "already current")  # a retried finishSecret, or a finished rotation
    if PENDING not in stages:
        raise RotationError(f"version {token} of {arn} is not {PENDING} (stages: {', '.join(stages) or 'none'})")

    if step == "createSecret":
        outcome = _create(secrets, arn, token, target, rules)
    elif step == "setSecret":
        target.apply(_value(secrets, arn, stage=CURRENT), _value(secrets, arn, stage=PENDING, token=token))
        outcome = "service updated"
    elif step == "testSecret":
        outcome = _test(secrets, arn, token, target)
    else:
        outcome = _finish(secrets, arn, token, metadata["VersionIdsToStages"])
    return _logged(log, step, arn, token, outcome)


def _create(secrets: Any, arn: str, token: str, target: Target, rules: PasswordRules) -> str:
    current = _value(secrets, arn, stage=CURRENT)
    try:
        _value(secrets, arn, stage=PENDING, token=token)
        return "pending value already made"  # a retried createSecret keeps the password it made the first time
    except secrets.exceptions.ResourceNotFoundException:
        pass
    password = secrets.get_random_password(
        PasswordLength=rules.length, ExcludeCharacters=rules.exclude_characters, RequireEachIncludedType=True
    )["RandomPassword"]
    pending = target.next_value(current, password)
    secrets.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps(pending, sort_keys=True),
        VersionStages=[PENDING],
    )
    return "pending value made"


def _test(secrets: Any, arn: str, token: str, target: Target) -> str:
    try:
        target.verify(_value(secrets, arn, stage=PENDING, token=token))
        return "service accepts the pending value"
    except secrets.exceptions.ResourceNotFoundException:
        # Setting rotation up without rotating (RotateImmediately false) runs testSecret alone, on a pending
        # version that may have no value: the configuration test is then that the service takes the current one.
        target.verify(_value(secrets, arn, stage=CURRENT))
        return "configuration test: service accepts the current value"


def _finish(secrets: Any, arn: str, token: str, versions: dict[str, list[str]]) -> str:
    current = next((version for version, stages in versions.items() if CURRENT in stages), None)
    secrets.update_secret_version_stage(
        SecretId=arn, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
    )
    return f"{CURRENT} moved from {current}"


def _value(secrets: Any, arn: str, stage: str, token: str | None = None) -> dict[str, Any]:
    ask: dict[str, str] = {"SecretId": arn, "VersionStage": stage}
    if token is not None:
        ask["VersionId"] = token
    text = secrets.get_secret_value(**ask)["SecretString"]
    try:
        value = json.loads(text)
    except ValueError:
        # The parser's message would quote the value: say where, never what.
        raise RotationError(f"{stage} value of {arn} is not JSON") from None
    if not isinstance(value, dict):
        raise RotationError(f"{stage} value of {arn} is not a JSON object")
    return value


def _logged(log: Callable[[str], None], step: str, arn: str, token: str, outcome: str) -> str:
    log(json.dumps({"step": step, "secret": arn, "version": token, "outcome": outcome}, sort_keys=True))
    return outcome


def wait_until(
    ready: Callable[[], bool],
    what: str,
    timeout_seconds: float,
    interval_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Poll ``ready`` until it is true, or raise naming ``what`` was awaited and for how long."""
    deadline = clock() + timeout_seconds
    while not ready():
        if clock() >= deadline:
            raise RotationError(f"{what}: not reached after {timeout_seconds:g} s")
        sleep(interval_seconds)
