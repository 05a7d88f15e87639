"""The cache user's rotation function, step by step as Secrets Manager calls it, against moto on loopback.

Secrets Manager is moto's (its version bookkeeping, ``GetRandomPassword``, the staging labels); a
rotation is started the way the service starts one (``start_rotation``). ElastiCache's users are
moto's too, but moto 5.2.5 has no ``ModifyUser``: ``modify_user`` below adds it to moto's own user
model the way the API documents it (the password list is replaced, at most two; the user is
``modifying`` until the change has reached its caches, here one ``DescribeUsers`` later). What this
does not check: that a cache accepts the password (the function never talks to the cache).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lambda_src.cache_user_rotation import handler as rotation
from lambda_src.secret_rotation.protocol import STEPS, RotationError, rotate
from tests.lambda_src.conftest import MOTO_ACCOUNT, MOTO_REGION, boto_client

INITIAL = "initial-password-from-pulumi-0123456789"


@pytest.fixture
def modify_user(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """ModifyUser for moto's ElastiCache users; yields the calls it received (their passwords included)."""
    from moto.core.responses import ActionResult
    from moto.elasticache.models import elasticache_backends
    from moto.elasticache.responses import ElastiCacheResponse

    calls: list[dict[str, Any]] = []
    backend = elasticache_backends[MOTO_ACCOUNT][MOTO_REGION]

    def modify(self: ElastiCacheResponse) -> ActionResult:
        params = self._get_params()
        user = backend.users[params["UserId"]]
        assert user.status == "active", "ElastiCache refuses ModifyUser while the user is modifying"
        passwords = list(params.get("Passwords", []))
        assert 1 <= len(passwords) <= 2 and all(16 <= len(p) <= 128 for p in passwords), passwords
        calls.append({"UserId": params["UserId"], "Passwords": passwords})
        user.passwords, user.status = passwords, "modifying"
        return ActionResult(user)

    describe = ElastiCacheResponse.describe_users

    def describe_then_settle(self: ElastiCacheResponse) -> ActionResult:
        result = describe(self)
        for user in backend.users.values():  # the change reaches the caches: active from the next call on
            user.status = "active"
        return result

    monkeypatch.setattr(ElastiCacheResponse, "modify_user", modify, raising=False)
    monkeypatch.setattr(ElastiCacheResponse, "describe_users", describe_then_settle)
    yield calls


@pytest.fixture
def cache_user(aws_env: str, modify_user: list[dict[str, Any]]) -> dict[str, Any]:
    """A Valkey user with Pulumi's initial password, and its secret in the documented shape."""
    elasticache, secrets = boto_client("elasticache", aws_env), boto_client("secretsmanager", aws_env)
    # One moto server serves the whole session: every test gets a user of its own.
    user_id = f"shop-dev-cache-app-{uuid.uuid4().hex[:12]}"
    user = elasticache.create_user(
        UserId=user_id, UserName="app", Engine="valkey", AccessString="on ~* +@all", Passwords=[INITIAL]
    )
    value = {"username": "app", "password": INITIAL, "user_arn": user["ARN"]}
    secret = secrets.create_secret(Name=f"{user_id}-credentials", SecretString=json.dumps(value))
    return {"arn": secret["ARN"], "user_arn": user["ARN"], "user_id": user_id, "secrets": secrets}


@pytest.fixture
def run_step(aws_env: str, cache_user: dict[str, Any]) -> Callable[..., str]:
    """Invoke the function's code for one step, as Secrets Manager does, with the function's environment."""

    def run(step: str, token: str, secret_id: str | None = None, log: list[str] | None = None) -> str:
        target = rotation.CacheUser(boto_client("elasticache", aws_env), cache_user["user_arn"], poll_seconds=0)
        event = {"Step": step, "SecretId": secret_id or cache_user["arn"], "ClientRequestToken": token}
        return rotate(
            event,
            target,
            cache_user["secrets"],
            cache_user["arn"],
            rotation.PASSWORD_RULES,
            log=(log.append if log is not None else lambda line: None),
        )

    return run


def current(cache_user: dict[str, Any], stage: str = "AWSCURRENT") -> dict[str, Any]:
    value = cache_user["secrets"].get_secret_value(SecretId=cache_user["arn"], VersionStage=stage)
    return json.loads(value["SecretString"])


def rotate_fully(run_step: Callable[..., str], start_rotation: Callable[..., str], arn: str) -> str:
    token = start_rotation(arn)
    for step in STEPS:
        run_step(step, token)
    return token


def test_a_rotation_makes_a_new_password_current_and_keeps_the_previous_one_working(
    cache_user, run_step, start_rotation, modify_user
):
    rotate_fully(run_step, start_rotation, cache_user["arn"])
    new = current(cache_user)
    assert new["password"] != INITIAL and len(new["password"]) == rotation.PASSWORD_RULES.length
    assert {k: v for k, v in new.items() if k != "password"} == {"username": "app", "user_arn": cache_user["user_arn"]}
    assert not set(new["password"]) & set(rotation.PASSWORD_RULES.exclude_characters)
    # Both passwords on the user: tasks that read the secret before the rotation still authenticate.
    assert modify_user == [{"UserId": cache_user["user_id"], "Passwords": [new["password"], INITIAL]}]
    assert current(cache_user, "AWSPREVIOUS")["password"] == INITIAL


def test_the_rotation_after_next_retires_the_initial_password(cache_user, run_step, start_rotation, modify_user):
    rotate_fully(run_step, start_rotation, cache_user["arn"])
    first = current(cache_user)["password"]
    rotate_fully(run_step, start_rotation, cache_user["arn"])
    second = current(cache_user)["password"]
    assert modify_user[-1]["Passwords"] == [second, first] and INITIAL not in modify_user[-1]["Passwords"]


def test_retried_steps_make_no_second_password(cache_user, run_step, start_rotation, modify_user):
    token = start_rotation(cache_user["arn"])
    run_step("createSecret", token)
    pending = current(cache_user, "AWSPENDING")["password"]
    assert run_step("createSecret", token) == "pending value already made"
    assert current(cache_user, "AWSPENDING")["password"] == pending
    for step in ("setSecret", "testSecret", "finishSecret"):
        run_step(step, token)
    assert run_step("finishSecret", token) == "already current"
    assert current(cache_user)["password"] == pending and len(modify_user) == 1


def test_setting_rotation_up_tests_the_current_password_without_changing_it(
    cache_user, run_step, start_rotation, modify_user
):
    # RotateImmediately=false: Secrets Manager runs testSecret alone, on a copy of the current value.
    assert run_step("testSecret", start_rotation(cache_user["arn"], copy_current=True)).startswith("service accepts")
    # ...or on a pending version without a value: the current one is what is tested then.
    assert run_step("testSecret", start_rotation(cache_user["arn"])).startswith("configuration test")
    assert modify_user == [] and current(cache_user)["password"] == INITIAL


def test_an_event_for_another_secret_is_refused_before_anything_is_read(cache_user, run_step, start_rotation):
    other = cache_user["secrets"].create_secret(Name=f"{cache_user['user_id']}-other", SecretString="{}")["ARN"]
    with pytest.raises(RotationError, match="not the one this function rotates"):
        run_step("createSecret", start_rotation(other), secret_id=other)
    assert current(cache_user)["password"] == INITIAL


def test_a_secret_naming_another_user_is_refused(cache_user, run_step, start_rotation, modify_user):
    secrets = cache_user["secrets"]
    tampered = {**current(cache_user), "user_arn": cache_user["user_arn"].replace("cache-app", "cache-admin")}
    secrets.put_secret_value(SecretId=cache_user["arn"], SecretString=json.dumps(tampered))
    with pytest.raises(RotationError, match="this function rotates"):
        run_step("createSecret", start_rotation(cache_user["arn"]))
    assert modify_user == []


def test_an_unknown_step_or_a_version_not_pending_is_refused(cache_user, run_step, start_rotation):
    token = start_rotation(cache_user["arn"])
    with pytest.raises(RotationError, match="not a rotation step"):
        run_step("deleteSecret", token)
    with pytest.raises(RotationError, match="does not exist"):
        run_step("createSecret", "00000000-0000-0000-0000-000000000000")


def test_logs_name_steps_and_versions_never_a_password(cache_user, run_step, start_rotation):
    log: list[str] = []
    token = start_rotation(cache_user["arn"])
    for step in STEPS:
        run_step(step, token, log=log)
    passwords = {INITIAL, current(cache_user)["password"]}
    assert [json.loads(line)["step"] for line in log] == list(STEPS)
    assert all(token in line for line in log) and not any(p in line for p in passwords for line in log)


def test_a_user_that_never_settles_fails_the_step_with_what_it_waited_for():
    class Stuck:
        def describe_users(self, UserId: str) -> dict[str, Any]:
            return {"Users": [{"UserId": UserId, "Status": "modifying"}]}

    user = rotation.CacheUser(Stuck(), "arn:aws:elasticache:eu-west-1:1:user:shop-dev-cache-app", 0.01, 0.001)
    pending = {"username": "app", "password": "x" * 40, "user_arn": user.user_arn}
    with pytest.raises(RotationError, match="user shop-dev-cache-app active after setSecret: not reached"):
        user.verify(pending)
