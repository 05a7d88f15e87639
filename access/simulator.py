"""The bridge to @cloud-copilot/iam-simulate: one Node process per preview, every distinct access streamed to it.

The simulator is AGPL-3.0, so it stays a separate pinned tool (``access/node/package-lock.json``, installed by
``make venv``): run as a process, never imported into our code or shipped into AWS. It validates each request
against its dataset (actions, resource types, context keys) and returns the deciding statements.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from access import iam_data
from access.accesses import Access

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "simulate.mjs"
PACKAGE = NODE_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate" / "package.json"
# V8's young generation is three semi-spaces, each up to 16 MiB by default on a 64-bit machine with 2 GiB or more
# (https://nodejs.org/api/cli.html#--max-semi-space-sizesize-in-mib). The simulations' garbage is short-lived, so
# half that costs no measurable time and ~20 MB of the simulator's peak, at the preview's peak (issue 33).
SEMI_SPACE_MIB = 8


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


class Simulator:
    """A started simulator process, waiting for its simulations: the preview starts it while the program runs, so
    Node's start and the library's import happen on the other core instead of after the program (issue 33).

    ``prefix``: what runs the command (the preview's lower priority for its judges: ``preview/priority.py``).
    ``rehearsal``: give it a second pipe, for simulations to rehearse on until its own come (``access/rehearsal.py``
    writes them: ``rehearsal_writer`` is that pipe's end, for it to take over)."""

    def __init__(self, prefix: Sequence[str] = (), rehearsal: bool = False) -> None:
        node = shutil.which("node")
        if node is None or not PACKAGE.exists():
            raise SimulatorMissing("the IAM simulator is not installed: run `make venv` (npm ci --prefix access/node)")
        reader, self.rehearsal_writer = os.pipe() if rehearsal else (None, None)
        try:
            self.process = subprocess.Popen(
                [
                    *prefix,
                    node,
                    f"--max-semi-space-size={SEMI_SPACE_MIB}",
                    str(SCRIPT),
                    *([f"--rehearsal-fd={reader}"] if reader is not None else []),
                ],
                cwd=NODE_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(reader,) if reader is not None else (),
            )
        finally:
            if reader is not None:
                os.close(reader)  # the simulator's now

    def handed_over(self) -> None:
        """The rehearsal's writer has its own copy of the pipe's end (or there is none): the simulator reads to the
        end of what it writes."""
        if self.rehearsal_writer is not None:
            os.close(self.rehearsal_writer)
            self.rehearsal_writer = None

    def close(self) -> None:
        """Stop a simulator that was never given its simulations (the program failed first)."""
        self.handed_over()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


class Run:
    """A simulation started in the background (the preview asks the policy pack meanwhile).

    The requests go to the simulator one a line from a thread, and the verdicts come back one a line: at 200
    services the single JSON batch (and its parsed copy in Node) was the largest of the preview's three copies of
    the stack (issue 33); streamed, neither side holds more than the simulation at hand and the verdicts read.
    Each distinct simulation is sent once: accesses that differ only in why the platform needs them (a third of
    prod's) ask the simulator the same question, and it answers the same request the same way.
    """

    def __init__(self, accesses: Iterable[Access], simulator: Simulator | None = None):
        """``accesses``: a list, or an iterator the writer thread consumes as it sends (an error it raises is
        raised again by ``verdicts``)."""
        self._source = accesses
        self.accesses: list[Access] = []
        self._failure: BaseException | None = None
        simulator = simulator or Simulator()
        simulator.handed_over()
        self._proc = simulator.process
        # Which sent simulation answers each access (filled by the writer, read once it has finished).
        self._asked: list[int] = []
        self._sent = 0
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
        seen: dict[bytes, int] = {}
        try:
            for access in self._source:
                line = json.dumps(access.simulation(), separators=(",", ":")).encode() + b"\n"
                index = seen.get(line)
                if index is None:
                    index = seen[line] = len(seen)
                    stdin.write(line)
                self.accesses.append(access)
                self._asked.append(index)
        except (BrokenPipeError, ValueError):
            pass  # the simulator died or was closed: its exit code and stderr say why (verdicts)
        except Exception as err:  # the derivation's own failure: the caller's, raised by verdicts
            self._failure = err
        finally:
            self._sent = len(seen)
            with contextlib.suppress(BrokenPipeError, ValueError):
                stdin.close()

    def _read_answers(self) -> None:
        assert self._proc.stdout is not None
        with contextlib.suppress(ValueError):  # closed under us: the preview ended without asking (Simulator.close)
            self._answers.extend(json.loads(line) for line in self._proc.stdout)

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        with contextlib.suppress(ValueError):
            self._stderr.append(self._proc.stderr.read())

    def verdicts(self) -> list[Verdict]:
        code = self._proc.wait()
        for thread in (self._writer, *self._readers):
            thread.join()
        if self._failure is not None:
            raise self._failure
        if code != 0 or len(self._asked) != len(self.accesses) or len(self._answers) != self._sent:
            err = b"".join(self._stderr).decode(errors="replace")[-2000:]
            raise RuntimeError(
                f"the IAM simulator failed (exit {code}, {len(self._answers)} of {self._sent} verdicts for "
                f"{len(self.accesses)} accesses): {err}"
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
            for access, v in zip(self.accesses, (self._answers[i] for i in self._asked), strict=True)
        ]


def simulate(accesses: Sequence[Access]) -> list[Verdict]:
    return Run(accesses).verdicts() if accesses else []
