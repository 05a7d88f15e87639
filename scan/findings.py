"""checkov's verdict on one stack's plan: passed, failed, accepted — and whether that fails the scan.

A finding is accepted only by an unexpired entry of ``policies/exceptions.yaml`` (``policies.exceptions``, the
same file and matching the policy pack uses); an expired entry accepts nothing and fails the scan in every stack.

checkov runs from its own venv (``.venv-checkov``, made by ``make checkov``): its
dependency pins conflict with the shared ``.venv``. It runs offline
(``--skip-download``), on the Terraform plan ``scan.terraform_plan`` wrote, and
writes its JSON and SARIF reports next to it.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import subprocess
from dataclasses import dataclass, field
from typing import Any

from policies import conventions, exceptions
from policies.exceptions import Exception_
from scan.terraform_plan import Plan

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
REPORT_ONLY_STAGES = ("dev", "sandbox")  # findings are reported there; every other stage fails on them


class CheckovMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Finding:
    check: str
    title: str
    address: str
    name: str  # the Pulumi resource name
    urn: str
    accepted_by: Exception_ | None = None

    def line(self) -> str:
        return f"{self.check} {self.address} ({self.title})"


@dataclass
class ScanResult:
    stack: str
    passed: int
    failed: list[Finding] = field(default_factory=list)  # not accepted
    accepted: list[Finding] = field(default_factory=list)
    expired: list[Exception_] = field(default_factory=list)  # fail every stack, report-only ones too
    checkov_version: str = ""
    sarif_path: pathlib.Path | None = None

    @property
    def blocking(self) -> bool:
        failing = bool(self.failed) and conventions.stage_for_stack(self.stack) not in REPORT_ONLY_STAGES
        return failing or bool(self.expired)

    def summary(self) -> str:
        text = f"{self.stack}: {self.passed} passed, {len(self.failed)} failed, {len(self.accepted)} accepted"
        return text + (f", {len(self.expired)} expired exception(s)" if self.expired else "")

    def as_json(self) -> dict[str, Any]:
        def row(f: Finding) -> dict[str, Any]:
            out = {"check": f.check, "title": f.title, "address": f.address, "name": f.name, "urn": f.urn}
            if f.accepted_by:
                by = f.accepted_by
                out |= {"reason": by.reason, "owner": by.owner, "expires": str(by.expires or ""), "entry": by.number}
                out["falsePositive"] = by.false_positive
            return out

        return {
            "stack": self.stack,
            "checkov_version": self.checkov_version,
            "passed": self.passed,
            "failed": [row(f) for f in self.failed],
            "accepted": [row(f) for f in self.accepted],
            "expired": [exceptions.expiry_line(e) for e in self.expired],
            "blocking": self.blocking,
        }


def checkov_binary() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("CHECKOV", CHECKOV))
    if not path.exists():
        raise CheckovMissing(f"checkov not found at {path}: run `make checkov` (its own venv, .venv-checkov)")
    return path


def run_checkov(plan_path: pathlib.Path, out_dir: pathlib.Path) -> dict[str, Any]:
    """checkov's JSON report for the plan; its SARIF lands in ``out_dir/results_sarif.sarif``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "ERROR"}
    proc = subprocess.run(
        [
            str(checkov_binary()),
            "--file",
            str(plan_path),
            "--framework",
            "terraform_plan",
            "--skip-download",
            "--compact",
            "--quiet",
            "--output",
            "json",
            "--output",
            "sarif",
            "--output-file-path",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    report_path = out_dir / "results_json.json"
    if proc.returncode not in (0, 1) or not report_path.exists():
        raise RuntimeError(f"checkov failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    report = json.loads(report_path.read_text())
    # Nothing to check gives checkov's empty summary rather than a report per framework.
    return report[0] if isinstance(report, list) else report


def classify(
    stack: str, plan: Plan, report: dict[str, Any], entries: list[Exception_], on: datetime.date | None = None
) -> ScanResult:
    """checkov's failures split into accepted (an unexpired entry covers them) and failed; expired entries listed."""
    on = on or exceptions.today()
    urn_by_address = {address: urn for urn, address in plan.addresses.items()}
    results = report.get("results", {})
    result = ScanResult(
        stack,
        passed=int(report.get("summary", {}).get("passed", len(results.get("passed_checks", [])))),
        checkov_version=report.get("summary", {}).get("checkov_version", ""),
        expired=exceptions.expired(entries, on),
    )
    for failed in results.get("failed_checks", []):
        address = failed.get("resource", "")
        urn = urn_by_address.get(address, "")
        name = urn.split("::")[-1] if urn else address.split(".", 1)[-1]
        check = failed["check_id"]
        entry = exceptions.match(entries, check, stack, (address, name, urn), on)
        finding = Finding(check, failed.get("check_name", ""), address, name, urn, entry)
        (result.accepted if entry else result.failed).append(finding)
    return result


def scan(
    stack: str,
    plan: Plan,
    out_dir: pathlib.Path,
    entries: list[Exception_] | None = None,
    on: datetime.date | None = None,
) -> ScanResult:
    """Write the plan, run checkov on it, classify its failures against ``policies/exceptions.yaml``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = out_dir / f"{stack}.tfplan.json"
    plan_path.write_text(json.dumps(plan.document, indent=1, sort_keys=True))
    report = run_checkov(plan_path, out_dir)
    on = on or exceptions.today()
    result = classify(stack, plan, report, exceptions.load(on=on) if entries is None else entries, on)
    sarif = out_dir / "results_sarif.sarif"
    result.sarif_path = sarif if sarif.exists() else None
    return result
