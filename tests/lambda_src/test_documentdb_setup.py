"""The DocumentDB setup function, driven through the real driver (pymongo) against a loopback wire-protocol server.

No real MongoDB or DocumentDB can run here (none is packaged for Debian, and downloading server binaries is
not possible offline), and mongomock does not implement admin commands. So ``MongoWire`` below is a small
*fake* server speaking MongoDB's wire protocol (OP_QUERY handshake, OP_MSG commands) on 127.0.0.1: the
driver's real command encoding is what is checked, the server's answers are ours. What this does not check:
authentication (SCRAM) and TLS against DocumentDB, and DocumentDB's own acceptance of the commands.
"""

from __future__ import annotations

import datetime
import json
import socket
import struct
import threading
from typing import Any, ClassVar

import bson
import pytest
from pymongo import MongoClient

from lambda_src.documentdb_setup import handler

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013


class MongoWire:
    """Answers hello/isMaster as a standalone primary and records every other command it receives."""

    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
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

    def _serve(self, conn: socket.socket) -> None:
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
                    reply = struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(self.answer(query))
                    conn.sendall(struct.pack("<iiii", 16 + len(reply), 0, request_id, OP_REPLY) + reply)
                elif opcode == OP_MSG:
                    assert body[4] == 0, "only a kind-0 body section is expected for admin commands"
                    size = struct.unpack("<i", body[5:9])[0]
                    reply = struct.pack("<I", 0) + b"\0" + bson.encode(self.answer(bson.decode(body[5 : 5 + size])))
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

    def answer(self, command: dict[str, Any]) -> dict[str, Any]:
        name = next(iter(command))
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
        if name == "usersInfo":
            user = self.users.get(command["usersInfo"])
            return {"users": [user] if user else [], "ok": 1.0}
        if name in ("createUser", "updateUser"):
            self.users[command[name]] = {"user": command[name], "roles": command["roles"]}
        return {"ok": 1.0}

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

        def get_secret_value(self, SecretId: str) -> dict[str, str]:
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
