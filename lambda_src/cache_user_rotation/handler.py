"""Rotate the Valkey cache user's password: Secrets Manager's rotation function for one ElastiCache RBAC user.

The secret is ``{"username", "password", "user_arn"}``, the shape AWS documents for ElastiCache user
rotation ("Automatically rotating passwords for users"). ElastiCache keeps up to two passwords per
user, so ``setSecret`` sets both the new one and the one it replaces: a task that read the secret
before this rotation still authenticates until the next one (``rotationDays`` later), and a client
that gets WRONGPASS re-reads the secret (the connection contract says so).

ElastiCache applies a password change to every cache in the user's groups and shows the user as
``modifying`` meanwhile; ``testSecret`` waits for ``active`` again. The function talks to AWS APIs
only (ElastiCache's control plane, Secrets Manager), never to the cache, so it runs outside the VPC.

Environment: ``SECRET_ARN`` (the one secret it may rotate) and ``USER_ARN`` (the one user it may change;
the role's policy says the same, the check here names the mismatch instead of an AccessDenied).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from lambda_src.secret_rotation.protocol import PasswordRules, RotationError, rotate, wait_until

MAX_PASSWORDS = 2  # ElastiCache's limit per user
ACTIVE_TIMEOUT_SECONDS = 600.0  # a change reaches every cache in a few minutes; the function's timeout is 900 s
POLL_SECONDS = 10.0
# ElastiCache passwords: 16-128 printable characters, none of " / @ (ModifyUser's documented constraint).
PASSWORD_RULES = PasswordRules(length=40, exclude_characters="\"'/@\\`")


@dataclass
class CacheUser:
    """The protocol's target: one ElastiCache user, named by ARN."""

    elasticache: Any
    user_arn: str
    timeout_seconds: float = ACTIVE_TIMEOUT_SECONDS
    poll_seconds: float = POLL_SECONDS

    @property
    def user_id(self) -> str:
        return self.user_arn.rsplit(":", 1)[-1]  # arn:aws:elasticache:<region>:<account>:user:<user-id>

    def next_value(self, current: dict[str, Any], password: str) -> dict[str, Any]:
        self._same_user(current)
        return {**current, "password": password}

    def apply(self, current: dict[str, Any], pending: dict[str, Any]) -> None:
        self._same_user(pending)
        passwords = [pending["password"]]
        if current.get("password") and current["password"] != pending["password"]:
            passwords.append(current["password"])  # the previous password keeps working for one more period
        self._wait_active("before setSecret")  # ModifyUser is refused while the user is 'modifying'
        self.elasticache.modify_user(UserId=self.user_id, Passwords=passwords[:MAX_PASSWORDS])

    def verify(self, pending: dict[str, Any]) -> None:
        self._same_user(pending)
        self._wait_active("after setSecret")
        authentication = self._user().get("Authentication", {})
        if authentication.get("Type") != "password" or not authentication.get("PasswordCount"):
            raise RotationError(f"user {self.user_id} does not authenticate by password ({authentication})")

    def _same_user(self, value: dict[str, Any]) -> None:
        if value.get("user_arn") != self.user_arn:
            raise RotationError(f"secret names user {value.get('user_arn')!r}; this function rotates {self.user_arn}")
        if not value.get("username"):
            raise RotationError(f"secret for {self.user_arn} has no username")

    def _user(self) -> dict[str, Any]:
        users = self.elasticache.describe_users(UserId=self.user_id)["Users"]
        if not users:
            raise RotationError(f"user {self.user_id} does not exist")
        return users[0]

    def _wait_active(self, when: str) -> None:
        wait_until(
            lambda: self._user()["Status"] == "active",
            f"user {self.user_id} active {when}",
            self.timeout_seconds,
            self.poll_seconds,
        )


def handler(event: dict[str, Any], context: Any = None) -> str:
    import boto3  # the Lambda runtime's

    return rotate(
        event,
        CacheUser(boto3.client("elasticache"), os.environ["USER_ARN"]),
        boto3.client("secretsmanager"),
        os.environ["SECRET_ARN"],
        PASSWORD_RULES,
    )
