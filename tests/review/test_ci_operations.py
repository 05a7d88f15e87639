"""What the workflows promise for day one and day two: images CI can build, a gate that proves a release runs,
drift noticed every morning, ephemeral stacks that expire. Read from the workflow files themselves."""

from __future__ import annotations

from tests.review.test_workflows import STACKS, WORKFLOWS, load

PULUMI_BUILDS = ("pulumi up", "pulumi preview")


def jobs_of_every_workflow():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        wf = load(path.name)
        for job_id, job in wf["jobs"].items():
            yield path.name, wf, job_id, job


def test_attestations_are_off_and_buildx_is_set_up_wherever_pulumi_may_build_images():
    checked = 0
    for name, wf, job_id, job in jobs_of_every_workflow():
        steps = job.get("steps", [])
        for index, step in enumerate(steps):
            if not any(command in step.get("run", "") for command in PULUMI_BUILDS):
                continue
            env = {**(wf.get("env") or {}), **(job.get("env") or {}), **(step.get("env") or {})}
            assert env.get("BUILDX_NO_DEFAULT_ATTESTATIONS") == "1", f"{name}/{job_id}/{step.get('name')}"
            before = [s.get("uses", "") for s in steps[:index]]
            assert any(u.startswith("docker/setup-buildx-action@") for u in before), f"{name}/{job_id}"
            checked += 1
    assert checked >= 2  # pulumi up in pulumi-up.yml, the real preview in pull-request.yml


def test_every_deployment_is_followed_by_the_gate_before_the_next_stack_may_start():
    (job,) = load("pulumi-up.yml")["jobs"].values()
    runs = [s.get("run", "") for s in job["steps"]]
    up = next(i for i, r in enumerate(runs) if "pulumi up" in r)
    gate = next(i for i, r in enumerate(runs) if "tools.deploy_gate" in r)
    assert gate > up and '--stack "$STACK"' in runs[gate] and "pulumi stack output --json" in runs[gate]
    assert "if" not in job["steps"][gate]  # it always runs, at night too
    jobs = load("deploy.yml")["jobs"]
    assert (jobs["staging"]["needs"], jobs["prod"]["needs"]) == ("dev", "staging")  # the gate's job gates the next


def test_drift_is_checked_daily_per_stack_and_notified():
    wf = load("drift.yml")
    assert wf["on"]["schedule"] and "workflow_dispatch" in wf["on"]
    job = wf["jobs"]["refresh"]
    assert job["strategy"]["matrix"]["stack"] == STACKS and job["strategy"]["fail-fast"] is False
    assert "environment" not in job  # protected environments would hold a scheduled job for a reviewer
    refresh = next(s for s in job["steps"] if "pulumi refresh" in s.get("run", ""))
    for flag in ("--preview-only", "--expect-no-changes", '--stack "$STACK"'):
        assert flag in refresh["run"]
    notify = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/github-script@"))
    assert "failure()" in notify["if"] and "issues.create" in notify["with"]["script"]
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    assert "AWS_PREVIEW_ROLE_ARN" in job["env"]["ROLE_ARN"]  # read-only: a drift check changes nothing
    assert any("tools.untagged_resources" in s.get("run", "") for s in job["steps"])


def test_ephemeral_stacks_are_expired_hourly_from_the_dev_environment():
    wf = load("expire-ephemeral-stacks.yml")
    assert wf["on"]["schedule"][0]["cron"].split()[1] == "*"  # hourly: none lives much past its 24 hours
    job = wf["jobs"]["expire"]
    assert job["environment"]["name"] == "dev" and job["concurrency"]["cancel-in-progress"] is False
    assert any("tools.expire_stacks --stage dev" in s.get("run", "") for s in job["steps"])
