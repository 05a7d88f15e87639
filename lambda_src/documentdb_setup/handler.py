"""Create the services' DocumentDB user and enable change streams: once per change, during `pulumi up`.

Both live inside the database, where no AWS API reaches: they were runbook steps
(``db.createUser``, ``modifyChangeStreams``) that a rebuild would forget
(``you-are-not-saved-by-iac.md``). Pulumi invokes this function (``aws.lambda_.Invocation``)
after the cluster exists and before the services start; running it again is harmless
(an existing user gets its password and roles set again).

Credentials come from Secrets Manager by ARN (the cluster's managed master secret and the
app user's secret), never from the event, so nothing secret is in the invocation or its logs.
"""

from __future__ import annotations

import json
import os
from typing import Any

APP_ROLE = "readWrite"
CA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "global-bundle.pem")


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


def connection_options(event: dict[str, Any], master: dict[str, str]) -> dict[str, Any]:
    """How DocumentDB is reached: TLS with the RDS CA bundle, the replica set's primary, no retryable writes."""
    return {
        "host": event["endpoint"],
        "port": int(event.get("port", 27017)),
        "username": master["username"],
        "password": master["password"],
        "authSource": "admin",
        "tls": True,
        "tlsCAFile": CA_FILE,
        "replicaSet": "rs0",
        "readPreference": "primary",
        "retryWrites": False,
        "serverSelectionTimeoutMS": 15000,
    }


def handler(
    event: dict[str, Any], context: Any = None, secrets: Any = None, client_class: Any = None
) -> dict[str, str]:
    import boto3  # the Lambda runtime's; imported here so the functions above need nothing but a client
    from pymongo import MongoClient

    secrets = secrets or boto3.client("secretsmanager")
    master = json.loads(secrets.get_secret_value(SecretId=event["masterSecretArn"])["SecretString"])
    app = json.loads(secrets.get_secret_value(SecretId=event["appSecretArn"])["SecretString"])
    client = (client_class or MongoClient)(**connection_options(event, master))
    try:
        result = configure(
            client, event["database"], app["username"], app["password"], bool(event.get("changeStreams"))
        )
    finally:
        client.close()
    print(json.dumps({"database": event["database"], **result}))  # names and outcomes only: no secret is logged
    return result
