"""policies/secret_scan.py: how inputs are read for detect-secrets, what is redacted, and the preview's own outputs
(snapshot, logs, figures) over every shipped stack (issue 34)."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from policies import secret_scan
from tests.conftest import ROOT, SHIPPED_STACKS

PASSWORD = "Zq" + secrets.token_urlsafe(18)


def test_walk_names_a_value_by_its_pair_and_reads_json_and_base64_text_inside_strings() -> None:
    inputs = {
        "containerDefinitions": json.dumps([{"environment": [{"name": "DB_PASSWORD", "value": "x"}]}]),
        "userData": base64.b64encode(b"#!/bin/bash\necho started at boot\n").decode(),
    }
    leaves = {path: (name, text) for path, name, text in secret_scan.walk(inputs)}
    assert leaves["containerDefinitions[0].environment[0].value"] == ("DB_PASSWORD", "x")
    assert leaves["userData(base64)"][1].startswith("#!/bin/bash")


def test_what_pulumi_marks_secret_masked_or_unknown_and_assets_are_not_read() -> None:
    inputs = {
        "wire": {secret_scan.SIG_KEY: secret_scan.SECRET_SIG, "value": PASSWORD},
        "masked": "[secret]",
        "unknown": "[unknown]",
        "code": {"archive": {"handler.py": {"asset": secrets.token_hex(8)}}},
    }
    assert list(secret_scan.walk(inputs)) == []


def test_a_finding_names_path_and_detector_and_its_repr_never_the_value() -> None:
    found = secret_scan.findings({"environment": {"variables": {"DB_PASSWORD": PASSWORD}}})
    # The keyword detector always; a high-entropy one too when the random value happens to score above its limit.
    assert ("environment.variables.DB_PASSWORD", "Secret Keyword") in {(f.path, f.detector) for f in found}
    assert not [f for f in found if PASSWORD in repr(f)]


@pytest.mark.parametrize("name", sorted(secret_scan.PUBLIC_BY_NATURE))
def test_inputs_public_by_nature_are_not_findings(name: str) -> None:
    assert secret_scan.findings_in_text(name, secrets.token_hex(20)) == []
    assert secret_scan.findings_in_text("note", secrets.token_hex(20))  # the same value elsewhere is one


def test_redact_replaces_raw_json_escaped_and_base64_carried_values() -> None:
    script = base64.b64encode(f"#!/bin/bash\nexport DB_PASSWORD={PASSWORD}\n".encode()).decode()
    tree = {"userData": script, "doc": json.dumps({"k": f'say "{PASSWORD}"'}), "DB_PASSWORD": PASSWORD}
    values = secret_scan.secret_values([tree])
    redacted = json.dumps(secret_scan.redact_tree(tree, values))
    assert PASSWORD not in redacted and script not in redacted
    assert secret_scan.redact(json.dumps(tree), values).count(secret_scan.REDACTED) >= 3


def _figures() -> list:
    """The measured figures and the generated picture the README shows."""
    return [*sorted((ROOT / "bench" / "results").glob("*.json")), *sorted((ROOT / "docs" / "architecture").iterdir())]


def _found_in_file(path) -> list:
    text = path.read_text()
    if path.suffix == ".json":
        return secret_scan.findings(json.loads(text))
    return secret_scan.findings_in_text(path.name, text)


@pytest.mark.parametrize("stack", [*SHIPPED_STACKS, "org"])
def test_no_preview_output_of_a_shipped_stack_holds_a_secret(shipped_preview, stack: str) -> None:
    """Issue 34's third part: the snapshot JSON (structured, as the pack reads it) and the preview's logs, read the
    same way as inputs; the shared session previews, none of its own."""
    result = shipped_preview(stack)
    assert secret_scan.findings(result.snapshot) == []
    for log in (result.stdout, result.stderr):
        assert [(f.path, f.detector) for f in secret_scan.findings_in_text("log", log)] == []


def test_no_figure_or_picture_holds_a_secret() -> None:
    found = {path.name: [(f.path, f.detector) for f in _found_in_file(path)] for path in _figures()}
    assert {name: hits for name, hits in found.items() if hits} == {}
    assert len(found) >= 3  # the files are there to be read
