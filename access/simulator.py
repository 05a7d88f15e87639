"""The bridge to @cloud-copilot/iam-simulate: one Node process per preview, every access in one batch.

The simulator is AGPL-3.0, so it stays a separate pinned tool (``access/node/package-lock.json``, installed by
``make venv``): run as a process, never imported into our code or shipped into AWS. It validates each request
against its dataset (actions, resource types, context keys) and returns the deciding statements.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from access import iam_data
from access.accesses import Access

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "simulate.mjs"
PACKAGE = NODE_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate" / "package.json"


class SimulatorMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Verdict:
    access: Access
    result: str  # Allowed | ExplicitlyDenied | ImplicitlyDenied | Error
    denials: list[dict[str, Any]] = field(default_factory=list, hash=False)
    grants: list[dict[str, Any]] = field(default_factory=list, hash=False)
    ignored_context_keys: list[str] = field(default_factory=list, hash=False)
    error: str = ""

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"

    def deciding(self) -> str:
        """The statement that decided, as the simulator names it: policy type, policy and Sid (or index)."""
        if self.error:
            return f"the simulator refused the request: {self.error}"
        parts = []
        for d in self.denials:
            where = d.get("policyIdentifier") or self.access.resource_policy_source or d.get("policyType")
            statement = d.get("statementId") or (f"#{d['statementIndex']}" if "statementIndex" in d else "")
            kind = "explicit deny" if d.get("denialType") == "Explicit" else "no statement allows"
            parts.append(f"{d.get('policyType')} {where}{' ' + statement if statement else ''} ({kind})")
        return "; ".join(parts) or self.result

    def wildcard_grants(self) -> list[str]:
        """The statements an allowed access holds by only through a wildcard: what the conventions forbid without a
        written reason. In identity policies: "*" or "<service>:*" actions, NotAction, or a "*" resource where the
        action takes one. In resource policies only the actions count: "*" is how a key policy names its key."""
        if not self.allowed or not self.grants:
            return []
        takes_resource = not iam_data.wildcard_only(self.access.action)

        def wild(grant: dict[str, Any]) -> bool:
            if grant["policyType"] == "identity":
                return bool(grant.get("wildcardAction") or (grant.get("wildcardResource") and takes_resource))
            return bool(grant.get("wildcardAction"))

        found = []
        for layer in ("identity", "resource"):
            grants = [g for g in self.grants if g["policyType"] == layer]
            if grants and all(wild(g) for g in grants):
                where = [g["policyIdentifier"] or self.access.resource_policy_source for g in grants]
                found += [f"{layer} {w} {g['statementId']}" for w, g in zip(where, grants, strict=True)]
        return found


def version() -> str:
    return json.loads(PACKAGE.read_text())["version"] if PACKAGE.exists() else ""


class Run:
    """A simulation started in the background (the preview asks the policy pack meanwhile)."""

    def __init__(self, accesses: Sequence[Access]):
        node = shutil.which("node")
        if node is None or not PACKAGE.exists():
            raise SimulatorMissing("the IAM simulator is not installed: run `make venv` (npm ci --prefix access/node)")
        self.accesses = list(accesses)
        self._proc = subprocess.Popen(
            [node, str(SCRIPT)], cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps([a.simulation() for a in self.accesses]).encode())
        self._proc.stdin.close()

    def verdicts(self) -> list[Verdict]:
        assert self._proc.stdout is not None and self._proc.stderr is not None
        out, err = self._proc.stdout.read(), self._proc.stderr.read()
        if self._proc.wait() != 0:
            raise RuntimeError(f"the IAM simulator failed: {err.decode(errors='replace')[-2000:]}")
        answers = json.loads(out)
        return [
            Verdict(
                access=a,
                result=str(v.get("result")),
                denials=list(v.get("denials") or []),
                grants=list(v.get("grants") or []),
                ignored_context_keys=list(v.get("ignoredContextKeys") or []),
                error=str(v.get("errors") or ""),
            )
            for a, v in zip(self.accesses, answers, strict=True)
        ]


def simulate(accesses: Sequence[Access]) -> list[Verdict]:
    return Run(accesses).verdicts() if accesses else []
