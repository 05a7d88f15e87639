"""Shared evidence for the access simulation's tests: a shipped stack's snapshot, its documents, its organization,
and a way to simulate just the accesses a test is about after changing one document."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from access import accesses, documents, judge, simulator
from preview import world


@dataclass
class Evidence:
    snapshot: dict[str, Any]
    documents: documents.Documents
    organization: accesses.Organization

    def mutated(self) -> Evidence:
        """A deep copy to change one document in, leaving the shared evidence as shipped."""
        return Evidence(copy.deepcopy(self.snapshot), copy.deepcopy(self.documents), self.organization)

    def simulate(self, caller: str = accesses.DEPLOY, **match: str) -> list[simulator.Verdict]:
        """The verdicts of the accesses whose fields contain the given values (kind="push", action="ecr:Put")."""
        derivation = accesses.Derivation(self.snapshot, self.documents, self.organization, caller)
        found = [a for a in derivation.all() if all(value in getattr(a, key) for key, value in match.items())]
        assert found, f"no access matches {match}"
        return simulator.simulate(found)


@pytest.fixture(scope="session")
def evidence(shipped_preview) -> Callable[[str], Evidence]:
    def get(stack: str) -> Evidence:
        snapshot = shipped_preview(stack).snapshot
        docs, organization = judge.evidence(stack, snapshot, world.recorded_references())
        return Evidence(snapshot, docs, organization)

    return get


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy["Statement"]
    return found if isinstance(found, list) else [found]


def without(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    """``policy`` without the statement ``sid`` (which must be there: a test that removes nothing proves nothing)."""
    kept = [s for s in statements(policy) if s.get("Sid") != sid]
    assert len(kept) < len(statements(policy)), f"no statement {sid}"
    return {**policy, "Statement": kept}


def denied_by(verdicts: list[simulator.Verdict]) -> list[str]:
    return [v.deciding() for v in verdicts if not v.allowed]
