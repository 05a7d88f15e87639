"""checkov for the scan tests: its own venv (.venv-checkov), created once by `make checkov` if missing, and its
verdict on each shipped stack."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from scan import findings, terraform_plan
from tests.conftest import ROOT


@pytest.fixture(scope="session")
def checkov() -> str:
    """The pinned checkov, installed into its venv on a fresh machine (a minute, once)."""
    if not findings.CHECKOV.exists():
        subprocess.run(["make", "checkov"], cwd=ROOT, check=True, capture_output=True, timeout=900)
    return str(findings.checkov_binary())


@pytest.fixture(scope="session")
def shipped_scan(checkov, shipped_preview, tmp_path_factory) -> Callable[[str], findings.ScanResult]:
    """checkov on a shipped stack's offline preview, with the shipped exceptions: once per session and stack."""
    cache: dict[str, findings.ScanResult] = {}

    def get(stack: str) -> findings.ScanResult:
        if stack not in cache:
            plan = terraform_plan.to_terraform_plan(shipped_preview(stack).snapshot)
            cache[stack] = findings.scan(stack, plan, tmp_path_factory.mktemp(f"scan-{stack}"))
        return cache[stack]

    return get
