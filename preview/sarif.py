"""The pack's violations as SARIF 2.1.0, one run per stack, for GitHub code scanning beside checkov's report.

Rules come from the pack's own ``GetAnalyzerInfo`` (severity, remediation steps as help text, the policy's
documentation URL), results from its verdict on the stack. A result points at the source of the component that
registered the resource: the nearest ancestor whose type token a ``components/`` or ``foundation/`` class
passes to ``super().__init__`` (found by reading those modules, so a new component needs no map entry); a
resource no component registered, or a stack-wide violation, points at the stack's config file. A violation
``policies/exceptions.yaml`` waives carries a SARIF suppression (accepted, with the exception's terms), which
code scanning shows as dismissed rather than open. A value detect-secrets flags (issue 34) is redacted from
every message, whichever policy's.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.runtime.proto import analyzer_pb2

from policies import secret_scan
from preview import policy_client

ROOT = pathlib.Path(__file__).resolve().parent.parent
VERSION = "2.1.0"
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SOURCE_DIRS = ("components", "foundation")
# SARIF's levels and GitHub's security-severity score (its bands: critical >= 9, high >= 7, medium >= 4).
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "unspecified": "warning"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "unspecified": "5.0"}


@functools.cache
def component_sources(root: pathlib.Path = ROOT) -> Mapping[str, tuple[str, int]]:
    """{component type token: (module path relative to the repository, line of its class)}."""
    found: dict[str, tuple[str, int]] = {}
    for folder in SOURCE_DIRS:
        for path in sorted((root / folder).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
                for call in (n for n in ast.walk(cls) if isinstance(n, ast.Call)):
                    func = call.func
                    if (
                        isinstance(func, ast.Attribute)
                        and func.attr == "__init__"
                        and isinstance(func.value, ast.Call)
                        and isinstance(func.value.func, ast.Name)
                        and func.value.func.id == "super"
                        and call.args
                        and isinstance(call.args[0], ast.Constant)
                        and isinstance(call.args[0].value, str)
                        and ":" in call.args[0].value
                    ):
                        found.setdefault(call.args[0].value, (path.relative_to(root).as_posix(), cls.lineno))
    return found


def source_of(
    urn: str, by_urn: Mapping[str, Mapping[str, Any]], sources: Mapping[str, tuple[str, int]]
) -> tuple[str, int] | None:
    """The module and line of the component that registered ``urn`` (itself, if it is one), or None."""
    seen: set[str] = set()
    resource = by_urn.get(urn)
    while resource is not None and resource["urn"] not in seen:
        seen.add(resource["urn"])
        if resource["type"] in sources:
            return sources[resource["type"]]
        resource = by_urn.get(resource.get("parent") or "")
    return None


def docs_base() -> str:
    """Where the repository's files are browsed: the commit on GitHub in Actions, else this checkout."""
    server, repo, sha = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    if server and repo and sha:
        return f"{server}/{repo}/blob/{sha}/"
    return ROOT.as_uri() + "/"


def _rule(policy: analyzer_pb2.PolicyInfo, base: str) -> dict[str, Any]:
    severity = policy_client.SEVERITIES.get(policy.severity, "unspecified")
    help_text = policy.remediation_steps or policy.description
    return {
        "id": policy.name,
        "name": "".join(part.capitalize() for part in policy.name.split("-")),
        "shortDescription": {"text": policy.description.split(": ", 1)[0]},
        "fullDescription": {"text": policy.description},
        "help": {"text": help_text, "markdown": f"{help_text}\n\n[{policy.name}]({base}{policy.url})"},
        "helpUri": base + policy.url if policy.url else base + "docs/policies.md",
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[severity], "severity": severity, "tags": ["pulumi"]},
    }


def _result(v: policy_client.Violation, index: int, stack: str, location: tuple[str, int] | None) -> dict[str, Any]:
    path, line = location or (f"environments/Pulumi.{stack}.yaml", 1)
    name = v.urn.rsplit("::", 1)[-1] if v.urn else stack
    result: dict[str, Any] = {
        "ruleId": v.policy,
        "ruleIndex": index,
        "level": LEVEL[v.severity] if v.level == "mandatory" or v.waived else "note",
        "message": {"text": f"{name}: {v.detail}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": line},
                },
                "logicalLocations": [{"name": name, "fullyQualifiedName": v.urn or stack, "kind": "resource"}],
            }
        ],
        # Alerts follow the resource and the rule, not the component's line, which moves with every edit.
        "partialFingerprints": {
            "policyResource/v1": hashlib.sha256(f"{v.policy}\n{v.urn or stack}".encode()).hexdigest()
        },
        "properties": {"enforcementLevel": v.level, "urn": v.urn},
    }
    if v.waived:
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": v.detail}]
    return result


def report(
    snapshot: Mapping[str, Any],
    violations: Iterable[policy_client.Violation],
    info: analyzer_pb2.AnalyzerInfo,
    version: str = "",
    base: str | None = None,
) -> dict[str, Any]:
    """One SARIF log with one run: this stack's violations against every rule of the pack."""
    violations = list(violations)
    redacted = secret_scan.snapshot_values(snapshot, violations)
    base = base if base is not None else docs_base()
    stack = snapshot["stack"]
    by_urn = {r["urn"]: r for r in snapshot["resources"]}
    sources = component_sources()
    index = {p.name: i for i, p in enumerate(info.policies)}
    ordered = sorted(violations, key=lambda v: (v.policy, v.urn, v.message))
    log = {
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": info.name or "aws-platform",
                        "version": info.version or version or "0",
                        "informationUri": base + "docs/policies.md",
                        "rules": [_rule(p, base) for p in info.policies],
                    }
                },
                "automationDetails": {"id": f"policy-pack/{stack}/"},
                "originalUriBaseIds": {"%SRCROOT%": {"uri": base}},
                "invocations": [{"executionSuccessful": True, "properties": {"pulumiPolicyVersion": version}}],
                "results": [
                    _result(v, index[v.policy], stack, source_of(v.urn, by_urn, sources))
                    for v in ordered
                    if v.policy in index
                ],
            }
        ],
    }
    # Whichever policy's message quotes a flagged value (a name made of one, say), the log never carries it.
    return json.loads(secret_scan.redact(json.dumps(log), redacted)) if redacted else log


def write(path: pathlib.Path, log: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(log, indent=1, sort_keys=True) + "\n", encoding="utf-8")
