"""Where a stack's state lives, and the stack references that this makes readable.

A stack reference reads only from the backend the referring stack runs on, and names stacks the way that
backend does: ``<organization>/<project>/<stack>`` on Pulumi Cloud, ``organization/<project>/<stack>`` on a
DIY backend (S3, a file), whatever anyone's organization is called. The first day-one design kept one S3
bucket per account, so no pinned stack could read the org stack and prod could not read staging's digests
(issue 21); the loader now checks every reference against the backend config declares, and that the
referenced stack declares the same one (docs/day-one.md sets it up: one bucket every deploy role reads). A recovery
stack runs on that bucket's replica in its own region (``replicaOf``) and reads the source's stacks from their
replicas there, so it needs nothing from the region it recovers from (docs/recovery.md).
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

from stack_config.parsing import Problem, setting, show

if TYPE_CHECKING:
    from stack_config.model import StackConfig

PROJECT = "aws-platform"
DIY_ORGANIZATION = "organization"  # what a DIY backend calls every stack's organization
BACKEND_URL = r"(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\?[A-Za-z0-9=&_.-]+)?|https://[a-z0-9.-]+(:\d+)?|file://\S+)"


@dataclass(frozen=True)
class StateBackend:
    """``pulumi login <url>``: a DIY bucket (``s3://…``) or a Pulumi Cloud service (``https://…`` + organization)."""

    url: str = setting(
        pattern=BACKEND_URL,
        what="a Pulumi backend URL like 's3://<bucket>' or 'https://api.pulumi.com'",
    )
    organization: str | None = setting(
        None,
        pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}",
        what="a Pulumi Cloud organization name",
        doc="Pulumi Cloud only: a DIY backend has no organizations (its references say 'organization/')",
    )
    replica_of: str | None = setting(
        None,
        pattern=BACKEND_URL,
        what="the backend URL this bucket is an S3 replica of, like 's3://<the shared state bucket>'",
        doc="a recovery stack's: its own state here, and the stacks it references read from their replicas here "
        "(docs/recovery.md)",
    )

    @property
    def is_diy(self) -> bool:
        return not self.url.startswith("https://")

    @property
    def reference_prefix(self) -> str:
        """What every stack reference on this backend starts with."""
        return f"{DIY_ORGANIZATION if self.is_diy else self.organization}/{PROJECT}/"


def references(config: StackConfig, ns: str) -> list[tuple[str, str]]:
    """``(key, stack reference)`` for every other stack this one reads."""
    found = [(f"{ns}:orgStack", config.org_stack)] if config.org_stack else []
    found += [
        (f"{ns}:containers.services[{i}].image.promoteFrom", svc.image.promote_from)
        for i, svc in enumerate(config.containers.services)
        if svc.image.promote_from
    ]
    if config.containers.load_balancer.certificate_from:
        found.append(
            (f"{ns}:containers.loadBalancer.certificateFrom", config.containers.load_balancer.certificate_from)
        )
    store = config.document_store
    if store is not None and store.documentdb.restore_latest_copy_of:
        found.append((f"{ns}:documentStore.documentdb.restoreLatestCopyOf", store.documentdb.restore_latest_copy_of))
    if store is not None and store.rehearsed_in:
        found.append((f"{ns}:documentStore.rehearsedIn", store.rehearsed_in))
    return found


def _declared_backend(path: pathlib.Path, ns: str) -> dict[str, str] | None:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    value = (document.get("config") or {}).get(f"{ns}:stateBackend")
    return value if isinstance(value, dict) else None


def reference_problems(config: StackConfig, ns: str, environments: pathlib.Path) -> list[Problem]:
    """Every reference is readable from this stack's backend: named as that backend names stacks, and the stack it
    names lives there too (its config, when it is in this checkout, declares the same backend)."""
    key = f"{ns}:stateBackend"
    backend = config.state_backend
    found = references(config, ns)
    problems: list[Problem] = []
    if backend is not None:
        if backend.is_diy and backend.organization:
            problems.append(
                Problem(
                    f"{key}.organization", f"{show(backend.organization)} is set for a DIY backend (allowed: unset)"
                )
            )
        if not backend.is_diy and not backend.organization:
            problems.append(
                Problem(f"{key}.organization", f"is required for {show(backend.url)} (allowed: the Pulumi Cloud org)")
            )
    if not found or problems:
        return problems  # references are judged against a whole backend only; otherwise every one is noise
    if backend is None:
        return [
            *problems,
            Problem(
                key,
                f"unset, but this stack reads {', '.join(sorted({ref for _, ref in found}))}: a stack reference reads only "
                "from the stack's own backend (allowed: {url: s3://<the shared state bucket>} or "
                "{url: https://api.pulumi.com, organization: <org>})",
            ),
        ]
    prefix = backend.reference_prefix
    # Each referenced stack's file is read once: every promoted service references the same earlier stage.
    declared: dict[pathlib.Path, dict[str, str] | None] = {}
    for at, ref in found:
        if not ref.startswith(prefix):
            why = f"; a DIY backend calls every organization '{DIY_ORGANIZATION}'" if backend.is_diy else ""
            problems.append(
                Problem(
                    at,
                    f"{show(ref)} cannot be read from {backend.url} (allowed: '{prefix}<stack>', like "
                    f"'{prefix}{ref.rsplit('/', 1)[-1]}'{why})",
                )
            )
            continue
        path = environments / f"Pulumi.{ref.rsplit('/', 1)[-1]}.yaml"
        if path.exists():
            if path not in declared:
                declared[path] = _declared_backend(path, ns)
            theirs = declared[path]
            ours = {k: v for k, v in (("url", backend.url), ("organization", backend.organization)) if v}
            # A replica holds what its source holds (S3 replication): a stack there is readable here too.
            replicated = {**ours, "url": backend.replica_of} if backend.replica_of else None
            if theirs != ours and theirs != replicated:
                problems.append(
                    Problem(
                        at,
                        f"{show(ref)} lives on {show((theirs or {}).get('url', 'an undeclared backend'))}, not on "
                        f"this stack's {show(backend.url)} (allowed: a stack on the same backend)",
                    )
                )
    return problems
