"""The services' DocumentDB user: created during `pulumi up`, then rotated by Secrets Manager. Change streams too.

Both live inside the database, where no AWS API reaches: they were runbook steps
(``db.createUser``, ``modifyChangeStreams``) that a rebuild would forget
(``you-are-not-saved-by-iac.md``). Pulumi invokes this function (``aws.lambda_.Invocation``)
after the cluster exists and before the services start; running it again is harmless
(the user the app secret names now gets its password and roles set again).

The same function is the app secret's rotation function (an event with ``Step``), with
Secrets Manager's "alternating users" strategy: each rotation switches the secret between the
users ``app`` and ``app_clone``, giving the other one a new password, so the user the
services logged in with keeps working until the rotation after next. Tasks that read the
secret before a rotation keep authenticating; a task that gets an authentication error
re-reads it. The Pulumi-invoked path reads the secret's ``AWSCURRENT`` and ensures *that*
user, so a later `pulumi up` never puts back a password a rotation replaced.

Credentials come from Secrets Manager by ARN (the cluster's managed master secret and the
app user's secret), never from the event, so nothing secret is in the invocation or its logs.
Rotation events carry only the secret, token and step: where DocumentDB is comes from the
environment (``APP_SECRET_ARN``, ``MASTER_SECRET_ARN``, ``DOCUMENTDB_ENDPOINT``, ``DOCUMENTDB_PORT``,
``DATABASE``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lambda_src.secret_rotation.protocol import PasswordRules, RotationError, rotate

APP_ROLE = "readWrite"
CA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "global-bundle.pem")
AUTH_SOURCE, AUTH_MECHANISM = "admin", "SCRAM-SHA-1"  # DocumentDB keeps every user in admin; SCRAM-SHA-1 everywhere
APP_USERS = ("app", "app_clone")  # alternating users: a rotation gives the other one a new password
# DocumentDB refuses / " @ in a password; : % ? # [ ] would need escaping were a service to put it in a URI.
PASSWORD_RULES = PasswordRules(length=40, exclude_characters="\"'/@\\`:%?#[]")
VERIFY_COLLECTION = "rotation-check"  # read (never written) by testSecret as the new user: readWrite is in place


def ensure_app_user(admin: Any, database: str, username: str, password: str) -> str:
    """``readWrite`` on ``database`` and nothing else; created, or brought back to that if it drifted."""
    roles = [{"role": APP_ROLE, "db": database}]
    if admin.command("usersInfo", username).get("users"):
        admin.command("updateUser", username, pwd=password, roles=roles)
        return "updated"
    admin.command("createUser", username, pwd=password, roles=roles)
    return "created"


def enable_change_streams(admin: Any, database: str) -> None:
    """Every collection of ``database``: the sync task follows them all (documentdb-to-mongodb-atlas.md)."""
    admin.command({"modifyChangeStreams": 1, "database": database, "collection": "", "enable": True})


def configure(client: Any, database: str, username: str, password: str, change_streams: bool) -> dict[str, str]:
    admin = client.admin
    result = {"user": ensure_app_user(admin, database, username, password)}
    if change_streams:
        enable_change_streams(admin, database)
        result["changeStreams"] = "enabled"
    return result


def connection_options(
    endpoint: str, port: int, username: str, password: str, tls_ca_file: str = CA_FILE
) -> dict[str, Any]:
    """How DocumentDB is reached: TLS with the RDS CA bundle, the replica set's primary, no retryable writes."""
    return {
        "host": endpoint,
        "port": int(port),
        "username": username,
        "password": password,
        "authSource": AUTH_SOURCE,
        "authMechanism": AUTH_MECHANISM,
        "tls": True,
        "tlsCAFile": tls_ca_file,
        "replicaSet": "rs0",
        "readPreference": "primary",
        "retryWrites": False,
        "serverSelectionTimeoutMS": 15000,
    }


def other_user(username: Any) -> str:
    """``app`` -> ``app_clone`` -> ``app``: the user the next rotation gives a new password."""
    if username not in APP_USERS:
        raise RotationError(f"secret names user {username!r}; this function alternates {' and '.join(APP_USERS)}")
    return APP_USERS[1 - APP_USERS.index(username)]


@dataclass
class AlternatingUsers:
    """The rotation protocol's target: two users with the same role, one of them named by ``AWSCURRENT``.

    setSecret logs in as the master user and creates or updates the *pending* user (the one the
    current value does not name); testSecret logs in as that user with its new password and reads
    the database. The current user is never touched, so nothing logged in with it is cut off.
    """

    connect: Callable[[str, str], Any]  # (username, password) -> a MongoClient authenticating as that user
    master: Callable[[], Mapping[str, str]]  # the cluster's master credentials, read when setSecret needs them
    database: str

    def next_value(self, current: dict[str, Any], password: str) -> dict[str, Any]:
        return {**current, "username": other_user(current.get("username")), "password": password}

    def apply(self, current: dict[str, Any], pending: dict[str, Any]) -> None:
        if pending.get("username") != other_user(current.get("username")):
            # Changing the current user's password would log out every task that read the secret before.
            raise RotationError(f"pending user {pending.get('username')!r} is not the one current does not name")
        master = self.master()
        client = self.connect(master["username"], master["password"])
        try:
            ensure_app_user(client.admin, self.database, pending["username"], pending["password"])
        finally:
            client.close()

    def verify(self, pending: dict[str, Any]) -> None:
        username = pending.get("username")
        other_user(username)  # a value this function did not make is refused, not tested
        client = self.connect(str(username), str(pending.get("password")))
        try:
            client[self.database].command("find", VERIFY_COLLECTION, limit=1, singleBatch=True)
        except Exception as error:  # pymongo's errors: an authentication or authorization failure, or no route
            # The driver's message names the user and the server's answer, never the password.
            raise RotationError(f"user {username} cannot read {self.database}: {error}") from None
        finally:
            client.close()


def rotate_app_user(
    event: dict[str, Any], secrets: Any, client_class: Any, env: Mapping[str, str], log: Callable[[str], None] = print
) -> str:
    """One step of Secrets Manager's rotation of the app secret (``APP_SECRET_ARN``, the only one it may rotate)."""
    endpoint, port = env["DOCUMENTDB_ENDPOINT"], int(env.get("DOCUMENTDB_PORT", "27017"))

    def connect(username: str, password: str) -> Any:
        return client_class(**connection_options(endpoint, port, username, password))

    def master() -> dict[str, str]:
        return json.loads(secrets.get_secret_value(SecretId=env["MASTER_SECRET_ARN"])["SecretString"])

    target = AlternatingUsers(connect, master, env["DATABASE"])
    return rotate(event, target, secrets, env["APP_SECRET_ARN"], PASSWORD_RULES, log)


def handler(
    event: dict[str, Any], context: Any = None, secrets: Any = None, client_class: Any = None
) -> dict[str, str]:
    import boto3  # the Lambda runtime's; imported here so the functions above need nothing but a client
    from pymongo import MongoClient

    secrets = secrets or boto3.client("secretsmanager")
    client_class = client_class or MongoClient
    if "Step" in event:  # Secrets Manager rotating the app secret: the event holds only its ARN, token and step
        return {"rotation": rotate_app_user(event, secrets, client_class, os.environ)}
    master = json.loads(secrets.get_secret_value(SecretId=event["masterSecretArn"])["SecretString"])
    # AWSCURRENT, named: after a rotation that is app_clone (or app again) with the rotated password, ensured as it is.
    app = json.loads(
        secrets.get_secret_value(SecretId=event["appSecretArn"], VersionStage="AWSCURRENT")["SecretString"]
    )
    client = client_class(
        **connection_options(event["endpoint"], event.get("port", 27017), master["username"], master["password"])
    )
    try:
        result = configure(
            client, event["database"], app["username"], app["password"], bool(event.get("changeStreams"))
        )
    finally:
        client.close()
    # Names and outcomes only: no secret is logged.
    print(json.dumps({"database": event["database"], "appUser": app["username"], **result}))
    return result
