"""One stack's access simulation: its snapshot, the documents of the stacks it references, the organization.

The preview starts the simulator process while the program runs, gives it the accesses right after (``start``)
and collects the verdicts after the policy pack answered (``Pending.result``), so the Node process overlaps both. ``python -m access`` runs it alone on a snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import stack_config
from access import accesses, documents, simulator
from stack_config import backend

NAMESPACE = "aws-platform"


@dataclass
class Judgement:
    stack: str
    verdicts: list[simulator.Verdict]
    on_trust: list[accesses.OnTrust]
    unmapped: list[str]
    seconds: float
    simulator_version: str = field(default_factory=simulator.version)

    @property
    def denied(self) -> list[simulator.Verdict]:
        """Accesses the platform needs that AWS would refuse (tamper attempts are meant to be refused)."""
        return [v for v in self.verdicts if not v.allowed and v.access.kind != accesses.TAMPER]

    @property
    def tampering(self) -> list[simulator.Verdict]:
        """Tamper attempts the simulator would let through: the baseline does not protect itself there."""
        return [v for v in self.verdicts if v.access.kind == accesses.TAMPER and v.result != "ExplicitlyDenied"]

    @property
    def failing(self) -> bool:
        return bool(self.denied or self.unmapped or self.tampering)

    def keys(self) -> dict[str, bool]:
        return {v.access.key: v.allowed for v in self.verdicts}


def _references(stack: str) -> list[str]:
    try:
        config = stack_config.load_file(stack)
    except stack_config.ConfigError:
        return []
    return [ref for _, ref in backend.references(config, NAMESPACE)]


def evidence(
    stack: str,
    snapshot: Mapping[str, Any],
    stack_references: Mapping[str, Any],
    recorded: Mapping[str, Any] | None = None,
    references: Sequence[str] | None = None,
) -> tuple[documents.Documents, accesses.Organization]:
    """The documents the stack is judged against and the organization its accounts belong to. ``references``: the
    stacks its config reads (the preview has them; otherwise the config is loaded for them)."""
    recorded = documents.recorded() if recorded is None else recorded
    docs = documents.Documents()
    references = _references(stack) if references is None else references
    for ref in references:  # the org stack first: its SCPs and bootstrap; then the stages it promotes from
        docs.add(recorded.get(ref) or {})
    docs.add(documents.extract(snapshot))
    org_ref = next((r for r in references if r.rsplit("/", 1)[-1] == "org"), None)
    outputs = stack_references.get(org_ref) if org_ref else snapshot.get("outputs") if stack == "org" else None
    return docs, accesses.Organization(outputs or {})


@dataclass
class Pending:
    stack: str
    derivation: accesses.Derivation
    run: simulator.Run | None
    started: float

    def result(self) -> Judgement:
        verdicts = self.run.verdicts() if self.run is not None else []  # the derivation is complete once they are
        return Judgement(
            self.stack,
            verdicts,
            self.derivation.on_trust,
            sorted(set(self.derivation.unmapped)),
            time.perf_counter() - self.started,
        )


def start(
    stack: str,
    snapshot: Mapping[str, Any],
    stack_references: Mapping[str, Any],
    *,
    caller: str = accesses.DEPLOY,
    recorded: Mapping[str, Any] | None = None,
    references: Sequence[str] | None = None,
    started_simulator: simulator.Simulator | None = None,
    rendered: Mapping[str, dict[str, dict[str, Any]]] | None = None,
) -> Pending:
    """Derive the stack's accesses and hand them to the simulator. ``started_simulator``: one the caller started
    earlier, which this takes over; the accesses are then derived in the background, each sent as it comes, so the
    simulator starts on the first while the caller goes on (the preview asks the policy pack). ``rendered``: the
    bootstrap roles the rehearsal rendered (``accesses.Derivation``)."""
    started = time.perf_counter()
    docs, organization = evidence(stack, snapshot, stack_references, recorded, references)
    derivation = accesses.Derivation(snapshot, docs, organization, caller, rendered)
    if started_simulator is not None:
        return Pending(stack, derivation, simulator.Run(derivation.each(), started_simulator), started)
    found = derivation.all()
    return Pending(stack, derivation, simulator.Run(found) if found else None, started)


def judge(stack: str, snapshot: Mapping[str, Any], stack_references: Mapping[str, Any], **kwargs: Any) -> Judgement:
    return start(stack, snapshot, stack_references, **kwargs).result()
