"""The program as a whole, read from each shipped stack's snapshot: what the first real `pulumi up` depends on.

Issue 12 (day one): a task whose secret has no value yet fails with ResourceInitializationError, and on a
fresh environment the circuit breaker then fails the very first deployment. So every secret or parameter a
task definition references is created with its value upstream of the ECS service in the dependency graph,
or declared as an external the stack checks before it deploys.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import stack_config
from stack_config.externals import secret_name

SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
PARAMETER = "aws:ssm/parameter:Parameter"
DOCDB = "aws:docdb/cluster:Cluster"
STACKS = ("dev", "staging", "prod", "prod-dr")


def upstream(resources: dict[str, dict[str, Any]], urn: str) -> set[str]:
    """Every URN ``urn`` transitively depends on (the engine creates all of them first)."""
    seen: set[str] = set()
    todo = list(resources[urn]["dependencies"])
    while todo:
        dep = todo.pop()
        if dep not in seen and dep in resources:
            seen.add(dep)
            todo.extend(resources[dep]["dependencies"])
    return seen


def producers(resources: dict[str, dict[str, Any]], value_from: str) -> list[str] | None:
    """The resources that give ``value_from`` its value (all must be upstream); None when no stack resource does."""
    if value_from.startswith("arn:aws:ssm:"):
        path = value_from.split(":parameter", 1)[1]
        region = value_from.split(":")[3]  # a copy under the same name in another region is another parameter
        found = [
            u
            for u, r in resources.items()
            if r["type"] == PARAMETER and r["inputs"].get("name") == path and r.get("arn", "").split(":")[3] == region
        ]
        return found or None
    name = secret_name(value_from)
    if name.startswith("rds!"):
        # A managed master secret: the cluster creates it with its value (manageMasterUserPassword).
        return [u for u, r in resources.items() if r["type"] == DOCDB and r["inputs"].get("manageMasterUserPassword")]
    secrets = [
        u
        for u, r in resources.items()
        if r["type"] == SECRET and (r["inputs"].get("name") == name or name.startswith(f"{r['inputs'].get('name')}-"))
    ]
    if not secrets:
        return None
    # Its value (SecretVersion) and, when it has one, its read grant (SecretPolicy): a task needs both to start.
    return [
        u
        for u, r in resources.items()
        if r["type"] in (VERSION, SECRET_POLICY) and any(s in r["dependencies"] for s in secrets)
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_services_start_only_after_their_secrets_have_values(shipped_preview, stack):
    result = shipped_preview(stack)
    assert result.exit_code == 0, result.stdout + result.stderr
    resources = {r["urn"]: r for r in result.snapshot["resources"]}
    declared = {e.ref for e in getattr(stack_config.load_file(stack), "externals", [])}
    checked = 0
    for urn, service in resources.items():
        if service["type"] != SERVICE:
            continue
        before = upstream(resources, urn)
        (task,) = [d for d in service["dependencies"] if resources.get(d, {}).get("type") == TASK]
        for container in json.loads(resources[task]["inputs"]["containerDefinitions"]):
            for secret in container.get("secrets", []):
                found = producers(resources, secret["valueFrom"])
                if found is None:
                    ref = secret["valueFrom"]
                    as_configured = "ssm:" + ref.split(":parameter", 1)[1] if ref.startswith("arn:aws:ssm:") else ref
                    assert as_configured in declared, (
                        f"{service['name']} reads {ref}: created by no stack, not declared"
                    )
                else:
                    assert found and set(found) <= before, (
                        f"{service['name']} can start before {secret['valueFrom']} has a value: "
                        f"{sorted(set(found) - before)} are not upstream of it"
                    )
                checked += 1
    assert checked > 0, "no service reads a secret: the test would prove nothing"
