"""The promotion gate proves the deployed revision runs, even when off-hours had scaled the service to 0.

The services, clusters and task definitions come from the dev stack's offline preview outputs (what
`pulumi stack output --json` returns after `pulumi up`); ECS and Application Auto Scaling are moto's server.
"""

from __future__ import annotations

import json

import boto3
import pytest

from tests.lambda_src.conftest import MOTO_ACCOUNT
from tools.deploy_gate import Gate, GateFailed, main, services_from

REGION = "eu-west-1"


@pytest.fixture
def outputs(shipped_preview) -> dict:
    """dev's outputs as if dev had been deployed into moto's one account (the server knows no other)."""
    snapshot = shipped_preview("dev").snapshot
    return json.loads(json.dumps(snapshot["outputs"]).replace(snapshot["world"]["account"], MOTO_ACCOUNT))


@pytest.fixture
def aws(fresh_aws, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    return boto3.client("ecs", region_name=REGION), boto3.client("application-autoscaling", region_name=REGION)


def deploy(
    ecs,
    autoscaling,
    svc,
    *,
    revisions: int = 1,
    running_revision: int | None = None,
    desired: int = 0,
    off_hours: bool = True,
) -> None:
    """The service as AWS would hold it: its revisions registered, running one of them, maybe asleep."""
    ecs.create_cluster(clusterName=svc.cluster)
    family = svc.task_definition.rsplit("/", 1)[1].split(":")[0]
    arns = [
        ecs.register_task_definition(
            family=family, containerDefinitions=[{"name": "app", "image": "app@sha256:" + "0" * 64, "memory": 512}]
        )["taskDefinition"]["taskDefinitionArn"]
        for _ in range(revisions)
    ]
    ecs.create_service(
        cluster=svc.cluster,
        serviceName=svc.service,
        taskDefinition=arns[(running_revision or revisions) - 1],
        desiredCount=desired,
    )
    if off_hours:  # the scheduled stop's range: nothing may run
        autoscaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=f"service/{svc.cluster}/{svc.service}",
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=0,
            MaxCapacity=0,
        )


def test_outputs_name_each_service_its_cluster_and_deployed_revision(outputs):
    services = services_from(outputs, "dev")
    assert {s.name for s in services} == set(outputs["services"])
    for svc in services:
        assert svc.task_definition == outputs["services"][svc.name]["task_definition_arn"]
        assert svc.cluster == outputs["services"][svc.name]["cluster_name"] and svc.minimum >= 1


def test_a_service_asleep_at_night_is_woken_proven_and_put_back_to_sleep(aws, outputs):
    ecs, autoscaling = aws
    svc = services_from(outputs, "dev")[0]
    deploy(ecs, autoscaling, svc)
    seen: list[str] = []
    Gate(ecs, autoscaling, timeout=5, interval=0.01, log=seen.append).prove(svc)
    assert any("waking it to" in line for line in seen)
    assert any(f"task(s) of {svc.task_definition} running" in line for line in seen)
    (service,) = ecs.describe_services(cluster=svc.cluster, services=[svc.service])["services"]
    assert service["desiredCount"] == 0  # asleep again, as the schedule wants
    (target,) = autoscaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 0)


def test_a_rolled_back_release_fails_the_gate(aws, outputs):
    ecs, autoscaling = aws
    svc = services_from(outputs, "dev")[0]
    # Pulumi registered revision 1 (the outputs); ECS rolled back to... pretend the service runs revision 2 instead.
    deploy(ecs, autoscaling, svc, revisions=2, running_revision=2, desired=1, off_hours=False)
    with pytest.raises(GateFailed, match=r"runs .*:2, not the deployed .*:1 \(rolled back"):
        Gate(ecs, autoscaling, timeout=1, interval=0.01).prove(svc)


def test_a_release_whose_tasks_never_run_fails_after_the_timeout(aws, outputs):
    ecs, autoscaling = aws
    svc = services_from(outputs, "dev")[0]
    deploy(ecs, autoscaling, svc, desired=1, off_hours=False)  # moto: desired 1, none running
    with pytest.raises(GateFailed, match=r"0 of 1 task\(s\) running after 0 s"):
        Gate(ecs, autoscaling, timeout=0.2, interval=0.01).prove(svc)


def test_the_command_fails_with_an_annotation(aws, outputs, tmp_path, capsys):
    ecs, autoscaling = aws
    svc = services_from(outputs, "dev")[0]
    deploy(ecs, autoscaling, svc, desired=1, off_hours=False)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    assert main(["--stack", "dev", "--outputs", str(path), "--timeout", "0.1", "--interval", "0.01"]) == 1
    assert f"::error::deploy gate (dev): service '{svc.name}'" in capsys.readouterr().err
