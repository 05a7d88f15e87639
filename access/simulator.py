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
import threading
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
    """A simulation started in the background (the preview asks the policy pack meanwhile).

    The requests go to the simulator one a line from a thread, and the verdicts come back one a line: at 200
    services the single JSON batch (and its parsed copy in Node) was the largest of the preview's three copies of
    the stack (issue 33); streamed, neither side holds more than the simulation at hand and the verdicts read.
    """

    def __init__(self, accesses: Sequence[Access]):
        node = shutil.which("node")
        if node is None or not PACKAGE.exists():
            raise SimulatorMissing("the IAM simulator is not installed: run `make venv` (npm ci --prefix access/node)")
        self.accesses = list(accesses)
        self._proc = subprocess.Popen(
            [node, str(SCRIPT)], cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._writer = threading.Thread(target=self._write, name="access-simulator-requests", daemon=True)
        self._writer.start()
        # Read as they come (stderr too): a pipe nobody reads fills after 64 KiB, and the simulator would wait on it
        # instead of simulating while the preview asks the policy pack.
        self._answers: list[dict[str, Any]] = []
        self._stderr: list[bytes] = []
        self._readers = [
            threading.Thread(target=self._read_answers, name="access-simulator-verdicts", daemon=True),
            threading.Thread(target=self._read_stderr, name="access-simulator-stderr", daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _write(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            for access in self.accesses:
                stdin.write(json.dumps(access.simulation(), separators=(",", ":")).encode() + b"\n")
            stdin.close()
        except BrokenPipeError:
            pass  # the simulator died: its exit code and stderr say why (verdicts)

    def _read_answers(self) -> None:
        assert self._proc.stdout is not None
        self._answers.extend(json.loads(line) for line in self._proc.stdout)

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        self._stderr.append(self._proc.stderr.read())

    def verdicts(self) -> list[Verdict]:
        code = self._proc.wait()
        for thread in (self._writer, *self._readers):
            thread.join()
        if code != 0 or len(self._answers) != len(self.accesses):
            err = b"".join(self._stderr).decode(errors="replace")[-2000:]
            raise RuntimeError(
                f"the IAM simulator failed (exit {code}, {len(self._answers)} of {len(self.accesses)} verdicts): {err}"
            )
        return [
            Verdict(
                access=access,
                result=str(v.get("result")),
                denials=list(v.get("denials") or []),
                grants=list(v.get("grants") or []),
                ignored_context_keys=list(v.get("ignoredContextKeys") or []),
                error=str(v.get("errors") or ""),
            )
            for access, v in zip(self.accesses, self._answers, strict=True)
        ]


def simulate(accesses: Sequence[Access]) -> list[Verdict]:
    return Run(accesses).verdicts() if accesses else []
