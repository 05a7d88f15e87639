"""The DocumentDB setup and rotation function, driven through the real driver (pymongo) against a loopback server.

No real MongoDB or DocumentDB can run here (none is packaged for Debian, and downloading server binaries is
not possible offline), and mongomock does not implement admin commands. So ``MongoWire`` below is a small
*fake* server speaking MongoDB's wire protocol (OP_QUERY handshake, OP_MSG commands) on 127.0.0.1: the
driver's real command encoding is what is checked, the server's answers are ours.

With ``auth=True`` the fake also does the server side of SCRAM-SHA-1 (RFC 5802, with MongoDB's
``md5(user:mongo:password)`` password digest) from the passwords ``createUser``/``updateUser`` set, and refuses
a command to a connection whose user lacks the role: pymongo's real client side then proves the password,
so the rotation's testSecret (log in as the new user, read the database) fails when the password is wrong.
The rotation runs against moto's Secrets Manager on loopback, started as Secrets Manager starts one
(``start_rotation`` in conftest.py). What this does not check: TLS against DocumentDB, and DocumentDB's own
acceptance of the commands and of the SCRAM conversation.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import socket
import struct
import threading
import uuid
from typing import Any, ClassVar

import bson
import pytest
from pymongo import MongoClient

from lambda_src.documentdb_setup import handler
from lambda_src.secret_rotation.protocol import STEPS, RotationError

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013


MASTER = {"username": "docdbadmin", "password": "master-pw-0123456789"}
SCRAM_ITERATIONS = 4096  # the least pymongo accepts
OPEN_COMMANDS = {"ismaster", "hello", "ping", "endsessions", "saslstart", "saslcontinue"}


def scram_keys(username: str, password: str, salt: bytes) -> tuple[bytes, bytes]:
    """SCRAM-SHA-1 as MongoDB does it: the salted password is derived from md5("user:mongo:password")."""
    digested = hashlib.md5(f"{username}:mongo:{password}".encode()).hexdigest().encode()
    salted = hashlib.pbkdf2_hmac("sha1", digested, salt, SCRAM_ITERATIONS)
    stored_key = hashlib.sha1(hmac.new(salted, b"Client Key", "sha1").digest()).digest()
    return stored_key, hmac.new(salted, b"Server Key", "sha1").digest()


class MongoWire:
    """Answers hello/isMaster as a standalone primary and records every other command it receives.

    ``auth=True``: SCRAM-SHA-1 logins against the users it holds (the master user to begin with), and only
    the master user (role root) may manage users; ``find`` needs readWrite on its database.
    """

    def __init__(self, auth: bool = False) -> None:
        self.auth = auth
        self.commands: list[dict[str, Any]] = []
        self.issued_by: list[str | None] = []  # who sent each recorded command (None: no login)
        self.refused: list[tuple[str, str | None]] = []  # (command, user) the fake refused
        self.users: dict[str, dict[str, Any]] = {}
        self.scram: dict[str, tuple[bytes, bytes, bytes]] = {}  # user -> salt, StoredKey, ServerKey
        self.lock = threading.Lock()
        if auth:
            self.set_user(MASTER["username"], MASTER["password"], [{"role": "root", "db": "admin"}])
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def set_user(self, username: str, password: str, roles: list[dict[str, str]]) -> None:
        salt = os.urandom(16)
        with self.lock:
            self.users[username] = {"user": username, "db": "admin", "roles": roles}
            self.scram[username] = (salt, *scram_keys(username, password, salt))

    def _serve(self, conn: socket.socket) -> None:
        session: dict[str, Any] = {}  # one connection's login: pymongo authenticates each connection once
        with conn:
            while header := self._read(conn, 16):
                length, request_id, _, opcode = struct.unpack("<iiii", header)
                body = self._read(conn, length - 16)
                if opcode == OP_QUERY:
                    collection_end = body.index(b"\0", 4)
                    query = bson.decode(
                        body[collection_end + 9 :][
                            : struct.unpack("<i", body[collection_end + 9 : collection_end + 13])[0]
                        ]
                    )
                    reply = struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(self.answer(query, session))
                    conn.sendall(struct.pack("<iiii", 16 + len(reply), 0, request_id, OP_REPLY) + reply)
                elif opcode == OP_MSG:
                    assert body[4] == 0, "only a kind-0 body section is expected for admin commands"
                    size = struct.unpack("<i", body[5:9])[0]
                    command = bson.decode(body[5 : 5 + size])
                    reply = struct.pack("<I", 0) + b"\0" + bson.encode(self.answer(command, session))
                    conn.sendall(struct.pack("<iiii", 16 + len(reply), 0, request_id, OP_MSG) + reply)

    @staticmethod
    def _read(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return b""
            data += chunk
        return data

    def answer(self, command: dict[str, Any], session: dict[str, Any] | None = None) -> dict[str, Any]:
        session = {} if session is None else session
        name = next(iter(command))
        if name == "saslStart":
            return self._sasl_start(command, session)
        if name == "saslContinue":
            return self._sasl_continue(command, session)
        user = session.get("user")
        if self.auth and name.lower() not in OPEN_COMMANDS and not self._allowed(user, name, command):
            self.refused.append((name, user))
            return {"ok": 0.0, "code": 13, "codeName": "Unauthorized", "errmsg": f"not authorized for {name}"}
        if name.lower() in ("ismaster", "hello"):
            return {
                "ismaster": True,
                "isWritablePrimary": True,
                "helloOk": True,
                "maxWireVersion": 17,
                "minWireVersion": 0,
                "maxBsonObjectSize": 16 * 1024 * 1024,
                "maxMessageSizeBytes": 48_000_000,
                "maxWriteBatchSize": 100_000,
                "localTime": datetime.datetime.now(datetime.UTC),
                "connectionId": 1,
                "ok": 1.0,
            }
        if name in ("endSessions", "ping"):
            return {"ok": 1.0}
        self.commands.append({k: v for k, v in command.items() if not k.startswith("$") and k != "lsid"})
        self.issued_by.append(user)
        if name == "usersInfo":
            found = self.users.get(command["usersInfo"])
            return {"users": [found] if found else [], "ok": 1.0}
        if name in ("createUser", "updateUser"):
            self.set_user(command[name], command["pwd"], command["roles"])
        if name == "find":
            return {"cursor": {"firstBatch": [], "id": 0, "ns": f"{command['$db']}.{command['find']}"}, "ok": 1.0}
        return {"ok": 1.0}

    def _allowed(self, user: str | None, name: str, command: dict[str, Any]) -> bool:
        roles = self.users[user]["roles"] if user in self.users else []
        if {"role": "root", "db": "admin"} in roles:
            return True
        return name == "find" and {"role": "readWrite", "db": command["$db"]} in roles

    @staticmethod
    def _failed() -> dict[str, Any]:
        return {"ok": 0.0, "code": 18, "codeName": "AuthenticationFailed", "errmsg": "Authentication failed."}

    def _sasl_start(self, command: dict[str, Any], session: dict[str, Any]) -> dict[str, Any]:
        first = bytes(command["payload"]).decode()
        if command.get("mechanism") != "SCRAM-SHA-1" or command.get("$db") != "admin" or not first.startswith("n,,"):
            return self._failed()
        bare = first[3:]
        fields = dict(part.split("=", 1) for part in bare.split(","))
        username = fields["n"].replace("=2C", ",").replace("=3D", "=")
        if username not in self.scram:
            return self._failed()
        salt = self.scram[username][0]
        server_first = f"r={fields['r']}{base64.b64encode(os.urandom(18)).decode()},s={base64.b64encode(salt).decode()},i={SCRAM_ITERATIONS}"
        session["sasl"] = (username, bare, server_first)
        return {"conversationId": 1, "done": False, "payload": bson.Binary(server_first.encode()), "ok": 1.0}

    def _sasl_continue(self, command: dict[str, Any], session: dict[str, Any]) -> dict[str, Any]:
        if "sasl" not in session:
            return self._failed()
        username, bare, server_first = session.pop("sasl")
        final = bytes(command["payload"]).decode()
        without_proof, _, proof = final.rpartition(",p=")
        nonce = dict(part.split("=", 1) for part in without_proof.split(","))["r"]
        if nonce != dict(part.split("=", 1) for part in server_first.split(","))["r"]:
            return self._failed()
        _, stored_key, server_key = self.scram[username]
        auth_message = f"{bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, "sha1").digest()
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
        if not hmac.compare_digest(hashlib.sha1(client_key).digest(), stored_key):
            return self._failed()
        session["user"] = username
        verifier = base64.b64encode(hmac.new(server_key, auth_message, "sha1").digest())
        return {"conversationId": 1, "done": True, "payload": bson.Binary(b"v=" + verifier), "ok": 1.0}

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server():
    wire = MongoWire()
    yield wire
    wire.close()


@pytest.fixture
def client(server):
    with MongoClient("127.0.0.1", server.port, directConnection=True, serverSelectionTimeoutMS=3000) as mongo:
        yield mongo


def test_creates_the_app_user_with_read_write_on_one_database_and_enables_change_streams(server, client):
    result = handler.configure(client, "shop", "app", "s3cret-from-secrets-manager", change_streams=True)
    assert result == {"user": "created", "changeStreams": "enabled"}
    names = [next(iter(c)) for c in server.commands]
    assert names == ["usersInfo", "createUser", "modifyChangeStreams"]
    create = server.commands[1]
    assert create["createUser"] == "app" and create["pwd"] == "s3cret-from-secrets-manager"
    assert create["roles"] == [{"role": "readWrite", "db": "shop"}]
    assert server.commands[2] == {"modifyChangeStreams": 1, "database": "shop", "collection": "", "enable": True}


def test_running_again_updates_instead_of_failing_and_leaves_change_streams_alone_outside_dual(server, client):
    handler.configure(client, "shop", "app", "first", change_streams=False)
    result = handler.configure(client, "shop", "app", "rotated", change_streams=False)
    assert result == {"user": "updated"}
    update = server.commands[-1]
    assert next(iter(update)) == "updateUser" and update["pwd"] == "rotated"
    assert "modifyChangeStreams" not in [next(iter(c)) for c in server.commands]


def test_handler_reads_credentials_from_secrets_manager_and_logs_no_secret(server, capsys):
    class Secrets:
        values: ClassVar[dict[str, dict[str, str]]] = {
            "arn:master": {"username": "docdbadmin", "password": "master-pw"},
            "arn:app": {"username": "app", "password": "app-pw"},
        }

        def get_secret_value(self, SecretId: str, VersionStage: str = "AWSCURRENT") -> dict[str, str]:
            assert VersionStage == "AWSCURRENT"
            return {"SecretString": json.dumps(self.values[SecretId])}

    seen: dict[str, Any] = {}

    def loopback(**options: Any) -> MongoClient:
        seen.update(options)  # what would reach DocumentDB; the loopback fake speaks neither TLS nor SCRAM
        return MongoClient("127.0.0.1", server.port, directConnection=True, serverSelectionTimeoutMS=3000)

    event = {
        "endpoint": "shop-staging-documentdb.cluster-x.eu-west-1.docdb.amazonaws.com",
        "database": "shop",
        "masterSecretArn": "arn:master",
        "appSecretArn": "arn:app",
        "changeStreams": True,
    }
    assert handler.handler(event, secrets=Secrets(), client_class=loopback) == {
        "user": "created",
        "changeStreams": "enabled",
    }
    assert seen["tls"] is True and seen["tlsCAFile"].endswith("global-bundle.pem") and seen["retryWrites"] is False
    assert seen["username"] == "docdbadmin" and seen["replicaSet"] == "rs0"
    out = capsys.readouterr().out
    assert "pw" not in out and '"user": "created"' in out


# --- rotation: Secrets Manager's alternating users (moto on loopback, SCRAM against the fake) -------------------------

INITIAL = "initial0pulumi0password0abcdefghijklmnop"  # what Pulumi's RandomPassword put in the app secret


def login(wire: MongoWire, username: str, password: str) -> MongoClient:
    return MongoClient(
        "127.0.0.1",
        wire.port,
        directConnection=True,
        username=username,
        password=password,
        authSource="admin",
        authMechanism="SCRAM-SHA-1",
        serverSelectionTimeoutMS=3000,
    )


def can_read(wire: MongoWire, username: str, password: str, database: str = "shop") -> bool:
    with login(wire, username, password) as client:
        try:
            client[database].command("find", "orders", limit=1)
        except Exception:
            return False
    return True


class Rotation:
    """The function as Lambda runs it for Secrets Manager: env from the stack, moto's Secrets Manager, the fake."""

    def __init__(self, wire: MongoWire, secrets: Any, start_rotation: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.wire, self.secrets, self.start_rotation = wire, secrets, start_rotation
        self.options: list[dict[str, Any]] = []
        suffix = uuid.uuid4().hex[:8]
        self.master_arn = secrets.create_secret(Name=f"docdb-master-{suffix}", SecretString=json.dumps(MASTER))["ARN"]
        self.app_arn = secrets.create_secret(
            Name=f"documentdb-app-user-{suffix}", SecretString=json.dumps({"username": "app", "password": INITIAL})
        )["ARN"]
        for name, value in {
            "APP_SECRET_ARN": self.app_arn,
            "MASTER_SECRET_ARN": self.master_arn,
            "DOCUMENTDB_ENDPOINT": "shop-dev-documentdb.cluster-x.eu-west-1.docdb.amazonaws.com",
            "DOCUMENTDB_PORT": "27017",
            "DATABASE": "shop",
        }.items():
            monkeypatch.setenv(name, value)

    def loopback(self, **options: Any) -> MongoClient:
        """What would reach DocumentDB (TLS, the replica set) is recorded; the login itself is real SCRAM."""
        self.options.append(options)
        assert (options["authSource"], options["authMechanism"], options["tls"]) == ("admin", "SCRAM-SHA-1", True)
        return login(self.wire, options["username"], options["password"])

    def setup(self) -> dict[str, str]:
        """The Pulumi invocation's event (aws.lambda_.Invocation), as components/documentdb_setup.py writes it."""
        event = {
            "endpoint": os.environ["DOCUMENTDB_ENDPOINT"],
            "port": 27017,
            "masterSecretArn": self.master_arn,
            "appSecretArn": self.app_arn,
            "database": "shop",
            "changeStreams": False,
        }
        return handler.handler(event, secrets=self.secrets, client_class=self.loopback)

    def step(self, token: str, step: str, secret_id: str | None = None) -> str:
        event = {"SecretId": secret_id or self.app_arn, "ClientRequestToken": token, "Step": step}
        return handler.handler(event, secrets=self.secrets, client_class=self.loopback)["rotation"]

    def rotate(self) -> str:
        token = self.start_rotation(self.app_arn)
        for step in STEPS:
            self.step(token, step)
        return token

    def value(self, stage: str = "AWSCURRENT") -> dict[str, str]:
        return json.loads(self.secrets.get_secret_value(SecretId=self.app_arn, VersionStage=stage)["SecretString"])

    def user_changes(self, since: int = 0) -> list[tuple[str, str, str | None]]:
        """(command, user it changed, who sent it) for every createUser/updateUser since the given command index."""
        return [
            (name, command[name], issuer)
            for command, issuer in zip(self.wire.commands[since:], self.wire.issued_by[since:], strict=True)
            for name in [next(iter(command))]
            if name in ("createUser", "updateUser")
        ]


@pytest.fixture
def secretsmanager(aws_env):
    import boto3

    return boto3.client("secretsmanager")  # aws_env points it at moto on loopback


@pytest.fixture
def rotation(secretsmanager, start_rotation, monkeypatch):
    wire = MongoWire(auth=True)
    harness = Rotation(wire, secretsmanager, start_rotation, monkeypatch)
    assert harness.setup() == {"user": "created"}  # the first `pulumi up`: the app user, made as the master user
    yield harness
    wire.close()


def test_a_rotation_switches_to_app_clone_with_a_new_password_and_leaves_app_untouched(rotation):
    since = len(rotation.wire.commands)
    token = rotation.rotate()
    current = rotation.value()
    assert current["username"] == "app_clone" and current["password"] != INITIAL
    assert len(current["password"]) == 40 and not set(current["password"]) & set(
        handler.PASSWORD_RULES.exclude_characters
    )
    assert rotation.value("AWSPREVIOUS") == {"username": "app", "password": INITIAL}
    stages = rotation.secrets.describe_secret(SecretId=rotation.app_arn)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[token]
    # setSecret: the master user created app_clone, readWrite on shop only; nothing touched app.
    assert rotation.user_changes(since) == [("createUser", "app_clone", "docdbadmin")]
    (create,) = [c for c in rotation.wire.commands[since:] if "createUser" in c]
    assert create["roles"] == [{"role": "readWrite", "db": "shop"}] and create["pwd"] == current["password"]
    # testSecret: app_clone itself logged in (SCRAM) and read the database.
    finds = [u for c, u in zip(rotation.wire.commands, rotation.wire.issued_by, strict=True) if "find" in c]
    assert finds == ["app_clone"]
    # Tasks that read the secret before the rotation keep working; the new value works too.
    assert can_read(rotation.wire, "app", INITIAL)
    assert can_read(rotation.wire, "app_clone", current["password"])
    assert not can_read(rotation.wire, "app_clone", INITIAL), "the fake must refuse a wrong password"


def test_the_second_rotation_switches_back_and_the_first_rotations_user_keeps_working(rotation):
    rotation.rotate()
    first = rotation.value()
    since = len(rotation.wire.commands)
    rotation.rotate()
    second = rotation.value()
    assert second["username"] == "app" and second["password"] not in (INITIAL, first["password"])
    assert rotation.value("AWSPREVIOUS") == first
    assert rotation.user_changes(since) == [("updateUser", "app", "docdbadmin")]
    assert can_read(rotation.wire, "app_clone", first["password"])  # untouched until the rotation after next
    assert can_read(rotation.wire, "app", second["password"])
    assert not can_read(rotation.wire, "app", INITIAL)


def test_a_retried_create_secret_keeps_the_first_password(rotation):
    token = rotation.start_rotation(rotation.app_arn)
    assert rotation.step(token, "createSecret") == "pending value made"
    pending = rotation.value("AWSPENDING")
    assert rotation.step(token, "createSecret") == "pending value already made"
    assert rotation.value("AWSPENDING") == pending and pending["username"] == "app_clone"
    for step in STEPS[1:]:
        rotation.step(token, step)
    assert rotation.value() == pending


def test_a_retried_finish_secret_changes_nothing(rotation):
    token = rotation.rotate()
    before = rotation.secrets.describe_secret(SecretId=rotation.app_arn)["VersionIdsToStages"]
    commands = len(rotation.wire.commands)
    assert rotation.step(token, "finishSecret") == "already current"
    assert rotation.secrets.describe_secret(SecretId=rotation.app_arn)["VersionIdsToStages"] == before
    assert len(rotation.wire.commands) == commands


def test_test_secret_fails_when_documentdb_does_not_have_the_pending_password(rotation):
    token = rotation.start_rotation(rotation.app_arn)
    rotation.step(token, "createSecret")  # setSecret skipped: app_clone does not exist
    with pytest.raises(RotationError, match="user app_clone cannot read shop"):
        rotation.step(token, "testSecret")
    assert rotation.value() == {"username": "app", "password": INITIAL}


def test_the_day_one_test_secret_proves_the_current_user_without_rotating(rotation):
    """SecretRotation with rotate_immediately=False: Secrets Manager runs testSecret on a copy of the current value."""
    since = len(rotation.wire.commands)
    token = rotation.start_rotation(rotation.app_arn, copy_current=True)
    assert rotation.step(token, "testSecret") == "service accepts the pending value"
    assert rotation.wire.issued_by[since:] == ["app"]  # the current user's own login and read, nothing else
    assert rotation.user_changes(since) == [] and rotation.value() == {"username": "app", "password": INITIAL}


def test_an_event_for_another_secret_is_refused_before_any_call(rotation):
    calls: list[str] = []

    class Recording:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(rotation.secrets, name)

    other = rotation.secrets.create_secret(Name=f"other-{uuid.uuid4().hex[:8]}", SecretString="{}")["ARN"]
    token = rotation.start_rotation(other)
    commands, options = len(rotation.wire.commands), len(rotation.options)
    for step in STEPS:
        event = {"SecretId": other, "ClientRequestToken": token, "Step": step}
        with pytest.raises(RotationError, match="is not the one this function rotates"):
            handler.handler(event, secrets=Recording(), client_class=rotation.loopback)
    assert calls == [] and len(rotation.wire.commands) == commands and len(rotation.options) == options


def test_nothing_secret_is_logged(rotation, capsys, caplog):
    rotation.rotate()
    rotation.rotate()
    rotation.setup()
    token = rotation.start_rotation(rotation.app_arn)
    rotation.step(token, "createSecret")
    with pytest.raises(RotationError):
        rotation.step(token, "testSecret")  # a failure's message too
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    versions = rotation.secrets.list_secret_version_ids(SecretId=rotation.app_arn)["Versions"]
    passwords = {MASTER["password"], INITIAL} | {
        json.loads(
            rotation.secrets.get_secret_value(SecretId=rotation.app_arn, VersionId=v["VersionId"])["SecretString"]
        )["password"]
        for v in versions
    }
    assert len(passwords) == 5
    assert logged.count('"step": ') == 9 and '"appUser": "app"' in logged
    assert not [p for p in passwords if p in logged]
    assert not re.search(r"password|pwd", logged, re.IGNORECASE)


def test_pulumi_up_after_a_rotation_ensures_the_rotated_user_not_the_initial_one(rotation):
    rotation.rotate()
    current = rotation.value()
    since = len(rotation.wire.commands)
    assert rotation.setup() == {"user": "updated"}
    (update,) = [c for c in rotation.wire.commands[since:] if "updateUser" in c]
    assert (update["updateUser"], update["pwd"]) == ("app_clone", current["password"])
    assert rotation.user_changes(since) == [("updateUser", "app_clone", "docdbadmin")]
    assert can_read(rotation.wire, "app_clone", current["password"]) and can_read(rotation.wire, "app", INITIAL)
