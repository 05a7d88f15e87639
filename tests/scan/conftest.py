"""checkov for the scan tests: its own venv (.venv-checkov), created once by `make checkov` if missing."""

from __future__ import annotations

import subprocess

import pytest

from scan import findings
from tests.conftest import ROOT


@pytest.fixture(scope="session")
def checkov() -> str:
    """The pinned checkov, installed into its venv on a fresh machine (a minute, once)."""
    if not findings.CHECKOV.exists():
        subprocess.run(["make", "checkov"], cwd=ROOT, check=True, capture_output=True, timeout=900)
    return str(findings.checkov_binary())
