"""ECS services: rollback on their own, only the load balancer reaches them, roles scoped to the service."""

from __future__ import annotations

import dataclasses
import json

import pytest

import stack_config
from components.ecs_service import EcsService, EcsServiceArgs, off_hours_schedules
from tests.conftest import stack_account

PROD_ACCOUNT = stack_account("prod")

SERVICE = "aws:ecs/service:Service"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def test_deployments_roll_back_on_their_own(shipped_preview):
    for stack in ("dev", "staging", "prod"):
        for service in shipped_preview(stack).resources(SERVICE):
            if "platform:containers:EcsService$" not in service["urn"]:
                continue  # another tier's service (the data tier's sync task) has its own rules
            inputs = service["inputs"]
            assert inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
            assert inputs["deploymentMinimumHealthyPercent"] == 50 and inputs["deploymentMaximumPercent"] == 200
            assert inputs["alarms"]["enable"] is True and inputs["alarms"]["rollback"] is True
            assert inputs["propagateTags"] == "SERVICE" and inputs["enableEcsManagedTags"] is True


def test_deployment_alarms_are_the_services_alarms_and_sleep_quietly(shipped_preview):
    prod = shipped_preview("prod")
    service = prod.one(SERVICE, "api-service")
    alarms = {a["inputs"]["name"]: a for a in prod.resources(ALARM) if a["name"].startswith("api-")}
    assert (
        sorted(service["inputs"]["alarms"]["alarmNames"])
        == sorted(alarms)
        == ["shop-prod-api-running-tasks", "shop-prod-api-target-5xx", "shop-prod-api-unhealthy-hosts"]
    )
    topic = prod.snapshot["outputs"]["alerts_topic_arn"]
    for alarm in alarms.values():
        assert alarm["inputs"]["treatMissingData"] == "notBreaching"
        assert alarm["inputs"]["alarmActions"] == [topic]
    unhealthy = alarms["shop-prod-api-unhealthy-hosts"]["inputs"]
    assert unhealthy["metricName"] == "UnHealthyHostCount" and unhealthy["dimensions"]["TargetGroup"].startswith(
        "targetgroup/shop-prod-api/"
    )
    running = alarms["shop-prod-api-running-tasks"]["inputs"]["metricQueries"]
    assert {q["metric"]["metricName"] for q in running if "metric" in q} == {"RunningTaskCount", "DesiredTaskCount"}


def test_target_group_and_health_check_use_the_container_port(shipped_preview):
    prod = shipped_preview("prod")
    for name, port in (("api", 8080), ("web", 3000)):
        group = prod.one("aws:lb/targetGroup:TargetGroup", f"{name}-tg")["inputs"]
        assert group["port"] == port and group["healthCheck"]["port"] == str(port)
        assert prod.one(SERVICE, f"{name}-service")["inputs"]["loadBalancers"][0]["containerPort"] == port


def test_component_refuses_a_health_check_on_another_port():
    config = stack_config.load_file("dev")
    api = dataclasses.replace(config.containers.services[0], health_check_port=5001)
    args = EcsServiceArgs(config.identity, api, *["unused"] * 9)
    with pytest.raises(
        ValueError,
        match=r"healthCheckPort 5001 differs from the container port 8080 "
        r"\(allowed: 8080\).*502 death spiral",
    ):
        EcsService("api", args)


def test_component_refuses_one_task_in_prod():
    config = stack_config.load_file("prod")
    api = dataclasses.replace(config.containers.services[0], desired_count=1, min_count=1)
    with pytest.raises(ValueError, match="prod runs at least 2 tasks"):
        EcsService("api", EcsServiceArgs(config.identity, api, *["unused"] * 9))


def test_only_the_load_balancer_reaches_the_tasks(shipped_preview):
    prod = shipped_preview("prod")
    alb_sg = prod.one("aws:ec2/securityGroup:SecurityGroup", "alb")
    ingress = prod.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "api-from-alb")
    assert alb_sg["urn"] in ingress["dependencies"]
    assert ingress["inputs"]["fromPort"] == ingress["inputs"]["toPort"] == 8080
    assert "cidrIpv4" not in ingress["inputs"] and ingress["inputs"]["referencedSecurityGroupId"].startswith("sg-")
    sgs = prod.one(SERVICE, "api-service")["inputs"]["networkConfiguration"]
    assert sgs["assignPublicIp"] is False and len(sgs["securityGroups"]) == 1
    assert prod.snapshot["outputs"]["services"]["api"]["security_group_id"] == sgs["securityGroups"][0]
    assert sgs["securityGroups"] != prod.one(SERVICE, "web-service")["inputs"]["networkConfiguration"]["securityGroups"]


def test_execution_role_reaches_only_its_image_logs_and_secrets(shipped_preview):
    prod = shipped_preview("prod")
    policy = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "api-execution")["inputs"]["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["PullOwnImage"]["Resource"] == f"arn:aws:ecr:eu-west-1:{PROD_ACCOUNT}:repository/shop-prod-api"
    assert by_sid["OwnLogs"]["Resource"] == f"arn:aws:logs:eu-west-1:{PROD_ACCOUNT}:log-group:/prod/shop/ecs/api:*"
    assert by_sid["OwnSecretsSsm"] == {
        "Sid": "OwnSecretsSsm",
        "Effect": "Allow",
        "Action": ["ssm:GetParameters"],
        "Resource": [f"arn:aws:ssm:eu-west-1:{PROD_ACCOUNT}:parameter/prod/shop/api/greeting"],
    }
    # The data tier's connection contracts, by name: IAM needs the ARN with AWS's random 6-character suffix.
    assert by_sid["OwnSecretsSecretsmanager"]["Resource"] == [
        f"arn:aws:secretsmanager:eu-west-1:{PROD_ACCOUNT}:secret:shop-prod-cache-connection-??????",
        f"arn:aws:secretsmanager:eu-west-1:{PROD_ACCOUNT}:secret:shop-prod-documents-connection-??????",
    ]
    assert by_sid["RegistryLogin"]["Resource"] == "*" and by_sid["RegistryLogin"]["Action"] == [
        "ecr:GetAuthorizationToken"
    ]
    assert len(policy["Statement"]) == 5


def test_task_role_gets_nothing_unless_config_grants_it(shipped_preview):
    prod = shipped_preview("prod")
    role = prod.one("aws:iam/role:Role", "api-task")
    assert role["inputs"]["name"] == "shop-prod-api-task"
    attached = [r for r in prod.resources() if role["urn"] in r["dependencies"] and r["type"].startswith("aws:iam/")]
    assert attached == []
    assert (
        prod.snapshot["outputs"]["services"]["api"]["task_role_arn"]
        == f"arn:aws:iam::{PROD_ACCOUNT}:role/shop-prod-api-task"
    )


def test_secrets_reach_the_container_as_secrets_never_as_environment(shipped_preview):
    (container,) = json.loads(
        shipped_preview("prod").one("aws:ecs/taskDefinition:TaskDefinition", "api-task")["inputs"][
            "containerDefinitions"
        ]
    )
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert secrets.keys() == {"CACHE_CONNECTION", "DOCUMENTS_CONNECTION", "GREETING"}
    prefix = f"arn:aws:secretsmanager:eu-west-1:{PROD_ACCOUNT}:secret:"
    assert secrets["CACHE_CONNECTION"].startswith(f"{prefix}shop-prod-cache-connection-")
    assert secrets["DOCUMENTS_CONNECTION"].startswith(f"{prefix}shop-prod-documents-connection-")
    assert secrets["GREETING"] == f"arn:aws:ssm:eu-west-1:{PROD_ACCOUNT}:parameter/prod/shop/api/greeting"
    assert container["environment"] == []


def test_log_retention_follows_the_stage(shipped_preview):
    assert shipped_preview("prod").one("aws:cloudwatch/logGroup:LogGroup", "api-logs")["inputs"] == {
        "name": "/prod/shop/ecs/api",
        "retentionInDays": 90,
    }
    assert shipped_preview("dev").one("aws:cloudwatch/logGroup:LogGroup", "api-logs")["inputs"]["retentionInDays"] == 14


def test_autoscaling_owns_the_desired_count(shipped_preview):
    prod = shipped_preview("prod")
    assert prod.one(SERVICE, "api-service")["ignoreChanges"] == ["desiredCount"]
    target = prod.one("aws:appautoscaling/target:Target", "api-scaling")["inputs"]
    assert (target["minCapacity"], target["maxCapacity"]) == (3, 12)
    metrics = {
        p["inputs"]["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"][
            "predefinedMetricType"
        ]: p["inputs"]["targetTrackingScalingPolicyConfiguration"]["targetValue"]
        for p in prod.resources("aws:appautoscaling/policy:Policy")
        if p["name"].startswith("api-")
    }
    assert metrics == {"ECSServiceAverageCPUUtilization": 60, "ECSServiceAverageMemoryUtilization": 70}
    assert not prod.resources("aws:appautoscaling/scheduledAction:ScheduledAction")


def test_dev_sleeps_at_night_in_its_time_zone(shipped_preview):
    actions = {
        a["name"]: a["inputs"]
        for a in shipped_preview("dev").resources("aws:appautoscaling/scheduledAction:ScheduledAction")
        if a["name"].startswith("api-")
    }
    stop, start = actions["api-off-hours-stop"], actions["api-off-hours-start"]
    assert stop["schedule"] == "cron(0 19 ? * MON-FRI *)" and stop["timezone"] == "Europe/Paris"
    assert stop["scalableTargetAction"] == {"minCapacity": 0, "maxCapacity": 0}
    assert start["schedule"] == "cron(0 7 ? * MON-FRI *)" and start["scalableTargetAction"] == {
        "minCapacity": 1,
        "maxCapacity": 2,
    }


def test_off_hours_every_day_when_asked():
    config = stack_config.load_file("dev").containers.services[0]
    daily = dataclasses.replace(config, off_hours=dataclasses.replace(config.off_hours, weekdays_only=False))
    assert off_hours_schedules(daily)["stop"][0] == "cron(0 19 ? * * *)"


def test_blue_green_shifts_traffic_between_two_target_groups(shipped_preview):
    staging = shipped_preview("staging")
    service = staging.one(SERVICE, "web-service")["inputs"]
    assert service["deploymentConfiguration"] == {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "10"}
    advanced = service["loadBalancers"][0]["advancedConfiguration"]
    assert advanced["alternateTargetGroupArn"].endswith("/shop-staging-web-alt")
    assert advanced["roleArn"].endswith(":role/shop-staging-web-ecs-lb")
    rule = staging.one("aws:lb/listenerRule:ListenerRule", "web-route")
    assert rule["ignoreChanges"] == ["actions"]
    alternate = staging.one("aws:lb/targetGroup:TargetGroup", "web-tg-alt")["inputs"]
    assert alternate["port"] == 3000 and alternate["healthCheck"]["port"] == "3000"
    assert "deploymentConfiguration" not in staging.one(SERVICE, "api-service")["inputs"]


def test_containers_run_on_a_read_only_root_with_a_writable_tmp(shipped_preview):
    for task in shipped_preview("prod").resources("aws:ecs/taskDefinition:TaskDefinition"):
        (container,) = json.loads(task["inputs"]["containerDefinitions"])
        assert container["readonlyRootFilesystem"] is True
        (mount,) = container["mountPoints"]
        assert mount["containerPath"] == "/tmp" and mount["readOnly"] is False
        assert [v["name"] for v in task["inputs"]["volumes"]] == [mount["sourceVolume"]]


def test_tasks_send_https_out_and_reach_data_stores_only_on_their_ports(shipped_preview):
    dev = shipped_preview("dev")
    task_sgs = {
        sg["urn"] for sg in dev.resources("aws:ec2/securityGroup:SecurityGroup") if "svc-" in sg["inputs"]["name"]
    }
    egress = [
        r
        for r in dev.resources("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r["name"].endswith("-tasks-egress")
    ]
    assert egress and all(
        r["inputs"]["ipProtocol"] == "tcp" and r["inputs"]["fromPort"] == r["inputs"]["toPort"] == 443 for r in egress
    )
    to_stores = [
        r for r in dev.resources("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") if "-to-store-" in r["name"]
    ]
    assert to_stores and all(
        "cidrIpv4" not in r["inputs"] and r["inputs"]["referencedSecurityGroupId"] for r in to_stores
    )
    assert task_sgs


def test_task_definitions_name_every_secrets_manager_secret_by_its_full_arn(shipped_preview):
    """ECS takes a Secrets Manager secret by ARN only: a bare name stops every task (ResourceInitializationError)."""
    for stack in ("dev", "staging", "prod", "prod-dr"):
        preview = shipped_preview(stack)
        secrets = {s["inputs"]["name"] for s in preview.resources("aws:secretsmanager/secret:Secret")}
        declared = {e.ref for e in stack_config.load_file(stack).externals}
        named = 0
        for task in preview.resources("aws:ecs/taskDefinition:TaskDefinition"):
            if "platform:containers:EcsService$" not in task["urn"]:
                continue  # the data tier's sync task reads the secret RDS made, by the ARN RDS reports
            for container in json.loads(task["inputs"]["containerDefinitions"]):
                for secret in container.get("secrets", []):
                    value = secret["valueFrom"]
                    assert value.startswith(("arn:aws:secretsmanager:", "arn:aws:ssm:")), (stack, task["name"], value)
                    if value.startswith("arn:aws:secretsmanager:"):
                        # "<name>-<AWS's 6 characters>": the ARN AWS gave a secret of this stack or a declared one.
                        name, suffix = value.split(":")[6].rsplit("-", 1)
                        assert len(suffix) == 6 and (name in secrets or name in declared), (stack, value)
                        named += 1
        assert named, stack


def test_services_start_after_the_capacity_providers_their_strategy_names(shipped_preview):
    for stack in ("dev", "staging", "prod", "prod-dr"):
        preview = shipped_preview(stack)
        (capacity,) = preview.resources("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
        associated = set(capacity["inputs"]["capacityProviders"])
        for service in preview.resources(SERVICE):
            if "platform:containers:EcsService$" not in service["urn"]:
                continue
            strategy = {s["capacityProvider"] for s in service["inputs"]["capacityProviderStrategies"]}
            assert strategy <= associated, (stack, service["name"])
            assert capacity["urn"] in service["dependencies"], (stack, service["name"])
