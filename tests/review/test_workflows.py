"""The GitHub Actions workflows: valid for actionlint, and shaped the way the review and deploy flow promise."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
STACKS = ["dev", "staging", "prod", "org"]


def actionlint() -> str:
    found = shutil.which("actionlint", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("actionlint")
    assert found, "actionlint is not installed: pip install -r requirements-dev.txt"
    return found


def lint(*paths: pathlib.Path, cwd: pathlib.Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [actionlint(), "-no-color", "-oneline", *map(str, paths)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as a boolean
    return document


def test_actionlint_passes_on_every_workflow():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert files
    proc = lint(*files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text((WORKFLOWS / "deploy.yml").read_text().replace("needs: dev", "needs: no-such-job"))
    (broken.parent / "pulumi-up.yml").write_text((WORKFLOWS / "pulumi-up.yml").read_text())
    proc = lint(broken, cwd=tmp_path)
    assert proc.returncode != 0 and "no-such-job" in proc.stdout


def test_pull_requests_review_every_stack_with_preview_diff_and_diagram():
    wf = load("pull-request.yml")
    assert "pull_request" in wf["on"]
    review = wf["jobs"]["review"]
    assert review["strategy"]["matrix"]["stack"] == STACKS
    runs = "\n".join(step.get("run", "") for step in review["steps"])
    for command in ("make preview", "make diff", "make diagram", "pulumi preview --diff", "--policy-pack policies"):
        assert command in runs
    checkout = next(s for s in review["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the diff needs the base branch's history
    assert "make test" in "\n".join(s.get("run", "") for s in wf["jobs"]["test"]["steps"])
    script = next(s for s in review["steps"] if s.get("uses", "").startswith("actions/github-script@"))
    assert "aws-platform-review:${stack}" in script["with"]["script"] and "updateComment" in script["with"]["script"]
    assert review["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "id-token": "write",
        "security-events": "write",  # the checkov SARIF goes to code scanning
    }


def test_pull_requests_scan_every_stack_and_upload_sarif():
    review = load("pull-request.yml")["jobs"]["review"]
    runs = "\n".join(step.get("run", "") for step in review["steps"])
    assert 'make scan STACK="$STACK"' in runs and "SECURITY=1" in runs
    uploads = [s for s in review["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    sarif = {u["with"]["category"]: u["with"]["sarif_file"] for u in uploads}
    # checkov's report and the policy pack's, each its own code scanning category per stack
    assert sarif == {
        "checkov-${{ matrix.stack }}": "build/scan/${{ matrix.stack }}/results_sarif.sarif",
        "policy-pack-${{ matrix.stack }}": "build/${{ matrix.stack }}-policy.sarif",
    }
    assert "--sarif build/$(STACK)-policy.sarif" in (ROOT / "Makefile").read_text()  # `make preview` writes it


def test_the_real_preview_runs_only_when_a_role_is_configured():
    review = load("pull-request.yml")["jobs"]["review"]
    cloud = [
        s
        for s in review["steps"]
        if "pulumi preview" in s.get("run", "")
        or s.get("uses", "").startswith(("aws-actions/configure-aws-credentials@", "pulumi/actions@"))
    ]
    assert len(cloud) == 4 and all("env.ROLE_ARN != ''" in s["if"] for s in cloud)


def test_deploys_go_dev_then_staging_then_prod_and_org_separately():
    jobs = load("deploy.yml")["jobs"]
    assert load("deploy.yml")["on"]["push"]["branches"] == ["main"]
    assert jobs["dev"]["needs"] == "test"
    assert jobs["staging"]["needs"] == "dev"
    assert jobs["prod"]["needs"] == "staging"
    assert jobs["org"]["needs"] == "test"
    for stack in STACKS:
        assert jobs[stack]["uses"] == "./.github/workflows/pulumi-up.yml"
        assert jobs[stack]["with"]["stack"] == stack


def test_each_deployment_runs_in_its_stacks_environment_one_at_a_time():
    wf = load("pulumi-up.yml")
    (job,) = wf["jobs"].values()
    assert job["environment"]["name"] == "${{ inputs.stack }}"  # prod and org are protected environments
    assert job["concurrency"] == {"group": "deploy-${{ inputs.stack }}", "cancel-in-progress": False}
    assert any("pulumi up" in s.get("run", "") for s in job["steps"])
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_workflows_default_to_read_only_and_pin_every_action_to_a_version(name):
    wf = load(name)
    assert wf["permissions"] == {"contents": "read"}
    for job in wf["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                assert "@v" in step["uses"], step["uses"]
