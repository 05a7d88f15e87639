"""The simulator's rehearsal: what it simulates while the program runs, so that the stack's own simulations find it
warm, and the bootstrap roles the derivation needs, rendered by then.

A fresh simulator answered prod's 260 simulations at about half the speed of one that had answered a hundred like
them: V8 compiles @cloud-copilot/iam-simulate's paths as they are first taken, and the library loads each
service's IAM data on first use. The stack's simulations come only once the program has ended, so that cost was
all after it (issue 33). While the program runs, this process (``python -m access.rehearsal``, started by the
preview below the program's priority) derives the deploy role creating one resource of every type the platform
creates (``access/create_actions.py``), in the stack's account and region with its tags, against the recorded
SCPs and the role's permissions boundary, with the same derivation the preview uses, and writes them to the
simulator's rehearsal pipe. The simulator answers them until the stack's own come, then stops; a stack's
simulation that is the same question as a rehearsed one gets the answer the rehearsal found. Nothing else of the
rehearsal reaches a verdict.

Deriving the deploy role's creates renders the bootstrap template's roles for the account (cloud-radar: ~0.25 s
with its import), which the preview's derivation needs before its first access. This process prints them first
(one JSON line, by ``documents.rendering_key``); the derivation takes them only for the same template and account
(``accesses.Derivation``), instead of rendering them after the program.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from access import accesses, judge
from access.create_actions import CREATE_ACTIONS

ROOT = pathlib.Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Plan:
    """What the rehearsal needs to know of the stack before its program runs."""

    stack: str
    account: str
    region: str
    tags: Mapping[str, str]
    references: Sequence[str]  # the stacks the stack's config reads, the org stack first (``judge.evidence``)
    organization: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # the org stack's outputs, by name

    @classmethod
    def for_stack(cls, config: Any, world: Any, references: Sequence[str]) -> Plan:
        """From the stack's config (``stack_config.StackConfig``) and the world it previews in (``preview.world``)."""
        org = {config.org_stack: world.stack_references.get(config.org_stack) or {}} if config.org_stack else {}
        identity = config.identity
        return cls(config.stack, world.account, identity.region, identity.tags, list(references), org)


def snapshot(plan: Plan) -> dict[str, Any]:
    """One resource of each type the platform creates, under a provider with the stack's region and tags."""
    provider = {
        "urn": "urn:pulumi:rehearsal::aws-platform::pulumi:providers:aws::default",
        "type": "pulumi:providers:aws",
        "name": "default",
        "custom": True,
        "inputs": {"region": plan.region, "defaultTags": json.dumps({"tags": dict(plan.tags)})},
    }
    resources = [
        {
            "urn": f"urn:pulumi:rehearsal::aws-platform::{kind}::rehearsal-{index}",
            "type": kind,
            "name": f"rehearsal-{index}",
            "custom": True,
            "provider": provider["urn"],
            "inputs": {},
        }
        for index, kind in enumerate(sorted(CREATE_ACTIONS))
    ]
    return {"world": {"account": plan.account}, "resources": [provider, *resources]}


def rehearse(plan: Plan) -> tuple[dict[str, dict[str, dict[str, Any]]], Iterator[str]]:
    """The bootstrap roles rendered for the account, and the rehearsal's simulations (one JSON line each)."""
    rehearsed = snapshot(plan)
    docs, organization = judge.evidence(plan.stack, rehearsed, plan.organization, references=plan.references)
    derivation = accesses.Derivation(rehearsed, docs, organization)
    creates = [a for a in derivation.creates() if a is not None]
    lines = (json.dumps(a.simulation(), separators=(",", ":")) + "\n" for a in creates)
    return derivation.rendered(), lines


class Rehearsal:
    """The rehearsal's process, as the preview starts it beside the simulator."""

    def __init__(self, plan: Plan, writer: int, prefix: Sequence[str] = ()):
        """``writer``: the simulator's rehearsal pipe (``Simulator.rehearsal_writer``); this process gets a copy."""
        # A file, not a pipe: a pipe nobody reads until the end could fill and stall it. Closed by close().
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "access.rehearsal", str(writer), json.dumps(asdict(plan))],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            pass_fds=(writer,),
        )
        self._roles = ""
        self._printed = threading.Event()  # the roles' line, or the process's end without one
        # Read as soon as it is printed: the preview's own thread is running the program then.
        self._reader = threading.Thread(target=self._read, name="access-rehearsal-roles", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None  # PIPE above
        try:
            with contextlib.suppress(ValueError):  # closed under us (close)
                self._roles = self.process.stdout.readline().decode()
                self._printed.set()
                self.process.stdout.read()  # to its end: the rehearsal has written its last simulation
            self.process.wait()  # reaped as soon as it ends, not left a zombie until the preview's end
        finally:
            self._printed.set()

    def rendered(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The bootstrap roles the rehearsal rendered (as soon as it has printed them, while it may still be
        rehearsing); a rehearsal that failed is reported, and the derivation renders them itself."""
        self._printed.wait()
        if self._roles:
            return dict(json.loads(self._roles))
        self.process.wait()
        self._stderr.seek(0)
        err = self._stderr.read().decode(errors="replace").strip().splitlines()
        print(
            f"access simulation: the simulator's rehearsal failed (exit {self.process.returncode}: "
            f"{err[-1] if err else 'no output'}); the simulations go on without it (access/rehearsal.py)",
            file=sys.stderr,
        )
        return {}

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


def main(argv: Sequence[str]) -> int:
    writer, plan = int(argv[0]), Plan(**json.loads(argv[1]))
    rendered, lines = rehearse(plan)
    sys.stdout.write(json.dumps(rendered) + "\n")
    sys.stdout.flush()
    with contextlib.suppress(BrokenPipeError), os.fdopen(writer, "w") as out:
        # The simulator stops reading when the stack's own simulations come: the rest has nowhere to go.
        out.writelines(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
