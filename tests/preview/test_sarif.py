"""The pack's violations as SARIF 2.1.0 for code scanning: rule metadata from GetAnalyzerInfo, each result at the
component module that registered the resource, waived results suppressed, one run per stack."""

from __future__ import annotations

import json
import re

import pytest

from preview import policy_client, sarif
from tests.conftest import ROOT, run_preview

STACK = "prod"
ECS = "platform:containers:EcsService"
SERVICE_URN = f"urn:pulumi:{STACK}::aws-platform::{ECS}::api"
LOG_URN = f"urn:pulumi:{STACK}::aws-platform::{ECS}$aws:cloudwatch/logGroup:LogGroup::api-logs"
LOOSE_URN = f"urn:pulumi:{STACK}::aws-platform::aws:s3/bucket:Bucket::loose"
SNAPSHOT = {
    "stack": STACK,
    "resources": [
        {"urn": SERVICE_URN, "type": ECS, "name": "api", "parent": "", "custom": False},
        {"urn": LOG_URN, "type": "aws:cloudwatch/logGroup:LogGroup", "name": "api-logs", "parent": SERVICE_URN},
        {"urn": LOOSE_URN, "type": "aws:s3/bucket:Bucket", "name": "loose", "parent": ""},
    ],
}
BASE = "https://github.example/acme/aws-platform/blob/0123abc/"


def violation(policy: str, urn: str, detail: str, level: str = "mandatory", severity: str = "low"):
    return policy_client.Violation(policy, level, f"description\n{detail}", urn, severity)


@pytest.fixture(scope="module")
def log(policy_pack) -> dict:
    found = [
        violation("log-retention", LOG_URN, "log group keeps logs forever"),
        violation(
            "s3-buckets-private",
            LOOSE_URN,
            "waived (owner platform-team, expires 2027-01-01; ...): public",
            "advisory",
            "critical",
        ),
        violation("exceptions-not-expired", "", "entry 1 expired", severity="high"),
    ]
    return sarif.report(SNAPSHOT, found, policy_pack.info, policy_pack.version, base=BASE)


def results(log: dict) -> dict[str, dict]:
    return {r["ruleId"]: r for r in log["runs"][0]["results"]}


def test_the_log_is_sarif_2_1_0_with_one_run_for_the_stack(log) -> None:
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    assert run["automationDetails"]["id"] == f"policy-pack/{STACK}/"
    assert run["tool"]["driver"]["name"] == "aws-platform"


def test_every_rule_carries_severity_help_text_and_an_absolute_help_uri(log, policy_pack) -> None:
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [p.name for p in policy_pack.info.policies]
    for rule, policy in zip(rules, policy_pack.info.policies, strict=True):
        assert rule["helpUri"] == f"{BASE}docs/policies.md#{policy.name}"
        assert rule["help"]["text"] == policy.remediation_steps
        assert float(rule["properties"]["security-severity"]) > 0
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")


def test_a_result_points_at_the_component_module_that_registered_the_resource(log) -> None:
    found = results(log)
    location = found["log-retention"]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "components/ecs_service.py"
    line = location["physicalLocation"]["region"]["startLine"]
    source = (ROOT / "components" / "ecs_service.py").read_text().splitlines()
    assert source[line - 1].startswith("class ")
    assert location["logicalLocations"][0]["fullyQualifiedName"] == LOG_URN
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert rules[found["log-retention"]["ruleIndex"]]["id"] == "log-retention"


def test_a_resource_or_violation_no_component_registered_points_at_the_stack_config(log) -> None:
    found = results(log)
    for rule in ("s3-buckets-private", "exceptions-not-expired"):
        uri = found[rule]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == f"environments/Pulumi.{STACK}.yaml"


def test_a_waived_violation_is_a_suppressed_result(log) -> None:
    found = results(log)
    (suppression,) = found["s3-buckets-private"]["suppressions"]
    assert suppression["status"] == "accepted" and "owner platform-team" in suppression["justification"]
    assert "suppressions" not in found["log-retention"]


def test_component_sources_are_read_from_the_modules_for_every_shipped_component_type(shipped_preview) -> None:
    sources = sarif.component_sources()
    components = {r["type"] for r in shipped_preview("prod").snapshot["resources"] if not r["custom"]}
    components.discard("pulumi:pulumi:Stack")
    assert components and components <= set(sources)
    for token, (path, line) in sources.items():
        text = (ROOT / path).read_text()
        assert f'"{token}"' in text and re.match(r"class \w+", text.splitlines()[line - 1])


def test_the_preview_writes_the_sarif_beside_the_snapshot(tmp_path) -> None:
    result = run_preview("dev", tmp_path, "--quiet", "--sarif", str(tmp_path / "dev-policy.sarif"))
    assert result.exit_code == 0, result.stderr
    log = json.loads((tmp_path / "dev-policy.sarif").read_text())
    assert log["runs"][0]["automationDetails"]["id"] == "policy-pack/dev/"
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) > 30


def test_the_sarif_and_the_printed_verdict_redact_every_planted_secret(planted_prod, policy_pack) -> None:
    """Issue 34: whichever policy's message quotes a flagged value, neither the SARIF log nor the log line has it."""
    from preview.__main__ import violations_report

    p = planted_prod
    text = json.dumps(sarif.report(p.head, p.head_violations, policy_pack.info, policy_pack.version, base=BASE))
    printed = violations_report(p.head, p.head_violations)
    for output in (text, printed):
        assert not [value for value in p.values if value in output]
        assert "no-plaintext-secrets" in output and "[redacted]" in output
