"""ECS policies: circuit breaker with rollback, images by digest, 2+ prod tasks, health check on the container
port, service security groups closed to the internet (ecs-circuit-breaker-rollback.md)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import messages as all_messages
from tests.conftest import resource


def messages(violations, policy: str) -> list[str]:
    """The violation's own text, without the policy description the pack puts before it."""
    return [m.split("\n", 1)[-1] for m in all_messages(violations, policy)]


SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
TG = "aws:lb/targetGroup:TargetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DIGEST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-prod-api@sha256:" + "a" * 64


def service(stack: str = "prod", *, depends: tuple[dict, ...] = (), **inputs) -> dict:
    body = {
        "name": f"shop-{stack}-api",
        "desiredCount": 2,
        "propagateTags": "SERVICE",
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "loadBalancers": [{"containerName": "api", "containerPort": 8080, "targetGroupArn": "arn:tg"}],
        **inputs,
    }
    found = resource(stack, SERVICE, "api-service", body)
    found["dependencies"] = [d["urn"] for d in depends]
    return found


def with_dependencies(found: dict, *depends: dict) -> dict:
    found["dependencies"] = [d["urn"] for d in depends]
    return found


@pytest.mark.parametrize(
    "breaker,expected",
    [
        (None, "deployment circuit breaker is off"),
        ({"enable": True, "rollback": False}, "deployment circuit breaker has rollback off"),
    ],
)
def test_service_without_rollback_fires(analyze, breaker, expected):
    found = analyze("prod", [service(deploymentCircuitBreaker=breaker)])
    (message,) = messages(found, "ecs-circuit-breaker")
    assert message.startswith(expected)


def test_service_with_circuit_breaker_and_rollback_passes(analyze):
    assert messages(analyze("prod", [service()]), "ecs-circuit-breaker") == []


def task(image: str) -> dict:
    return resource(
        "prod",
        TASK,
        "api-task",
        {"family": "shop-prod-api", "containerDefinitions": json.dumps([{"name": "api", "image": image}])},
    )


@pytest.mark.parametrize("image", [DIGEST.split("@")[0] + ":latest", DIGEST.split("@")[0]])
def test_image_by_tag_fires(analyze, image):
    (message,) = messages(analyze("prod", [task(image)]), "ecs-image-by-digest")
    assert f"runs image '{image}' by tag" in message


def test_image_by_digest_passes(analyze):
    assert messages(analyze("prod", [task(DIGEST)]), "ecs-image-by-digest") == []


def test_prod_service_with_one_task_fires(analyze):
    (message,) = messages(analyze("prod", [service(desiredCount=1)]), "ecs-prod-min-tasks")
    assert message.startswith("prod service runs 1 task(s)")


def test_prod_service_with_two_tasks_and_dev_with_one_pass(analyze):
    assert messages(analyze("prod", [service()]), "ecs-prod-min-tasks") == []
    assert messages(analyze("dev", [service("dev", desiredCount=1)]), "ecs-prod-min-tasks") == []


def test_declared_singleton_in_prod_passes(analyze):
    """One change-stream consumer must never run twice: tagged singleton and never over 100 % in a deployment."""
    singleton = service(desiredCount=1, deploymentMaximumPercent=100, tags={"workload": "singleton"})
    assert messages(analyze("prod", [singleton]), "ecs-prod-min-tasks") == []


@pytest.mark.parametrize(
    "inputs",
    [
        {"desiredCount": 1, "tags": {"workload": "singleton"}},  # could run two
        {"desiredCount": 1, "deploymentMaximumPercent": 100},  # not declared
        {"desiredCount": 0, "deploymentMaximumPercent": 100, "tags": {"workload": "singleton"}},  # not running
    ],
)
def test_singleton_exemption_needs_both_the_tag_and_the_proof(analyze, inputs):
    assert messages(analyze("prod", [service(**inputs)]), "ecs-prod-min-tasks")


def target_group(port: int, probe: str) -> dict:
    return resource(
        "prod",
        TG,
        "api-tg",
        {"name": "shop-prod-api", "port": port, "protocol": "HTTP", "healthCheck": {"path": "/health", "port": probe}},
    )


@pytest.mark.parametrize(
    "port,probe,expected",
    [
        (8080, "5001", "health-checks port 5001 but service 'api-service' listens on 8080"),
        (5001, "traffic-port", "forwards to port 5001 but service 'api-service' listens on 8080"),
    ],
)
def test_health_check_on_another_port_fires(analyze, port, probe, expected):
    group = target_group(port, probe)
    (message,) = messages(analyze("prod", [group, service(depends=(group,))]), "ecs-health-check-port")
    assert expected in message and "502 death spiral" in message


@pytest.mark.parametrize("probe", ["8080", "traffic-port"])
def test_health_check_on_the_container_port_passes(analyze, probe):
    group = target_group(8080, probe)
    assert messages(analyze("prod", [group, service(depends=(group,))]), "ecs-health-check-port") == []


def test_a_named_port_beside_a_numbered_one_is_reported_not_a_crash(analyze):
    """A port that is not a number stays a string; sorting it with an int used to raise TypeError in the pack."""
    group = target_group(8080, "traffic-port")
    ports = [{"containerName": "api", "containerPort": p, "targetGroupArn": "arn:tg"} for p in (8080, "http")]
    found = messages(analyze("prod", [group, service(depends=(group,), loadBalancers=ports)]), "ecs-health-check-port")
    assert [m for m in found if "listens on http" in m] == found and len(found) == 1


def security_group(**inputs) -> dict:
    return resource("prod", SG, "api-tasks", {"name": "shop-prod-svc-api", "vpcId": "vpc-1", **inputs})


def test_service_security_group_open_to_the_internet_fires(analyze):
    group = security_group()
    rule = with_dependencies(
        resource(
            "prod",
            INGRESS,
            "api-open",
            {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrIpv4": "0.0.0.0/0"},
        ),
        group,
    )
    inline = security_group(
        ingress=[{"protocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrBlocks": ["0.0.0.0/0"]}]
    )
    found = messages(analyze("prod", [group, rule, service(depends=(group,))]), "ecs-service-ingress")
    assert found == [
        "ingress rule 'api-open' opens ECS service security group 'api-tasks' to the internet: "
        "tasks take traffic from the load balancer's security group only"
    ]
    (message,) = messages(analyze("prod", [inline, service(depends=(inline,))]), "ecs-service-ingress")
    assert message.startswith("ECS service security group 'api-tasks' accepts traffic from the internet")


def test_service_security_group_open_to_the_load_balancer_only_passes(analyze):
    group = security_group()
    alb = resource("prod", SG, "alb", {"name": "shop-prod-alb", "vpcId": "vpc-1"})
    from_alb = with_dependencies(
        resource(
            "prod",
            INGRESS,
            "api-from-alb",
            {
                "securityGroupId": "sg-1",
                "ipProtocol": "tcp",
                "fromPort": 8080,
                "toPort": 8080,
                "referencedSecurityGroupId": "sg-alb",
            },
        ),
        group,
        alb,
    )
    alb_open = with_dependencies(
        resource(
            "prod",
            INGRESS,
            "alb-443",
            {"securityGroupId": "sg-alb", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
        ),
        alb,
    )
    found = analyze("prod", [group, alb, from_alb, alb_open, service(depends=(group,))])
    assert messages(found, "ecs-service-ingress") == []


def task_reading(value_from: str) -> dict:
    found = task(DIGEST)
    (container,) = json.loads(found["inputs"]["containerDefinitions"])
    container["secrets"] = [{"name": "CACHE_CONNECTION", "valueFrom": value_from}]
    found["inputs"]["containerDefinitions"] = json.dumps([container])
    return found


def test_a_secret_named_by_its_bare_name_fires_and_one_by_arn_passes(analyze):
    (message,) = messages(analyze("prod", [task_reading("shop-prod-cache-connection")]), "ecs-secrets-by-arn")
    assert "'shop-prod-cache-connection', not an ARN" in message and "ResourceInitializationError" in message
    arn = "arn:aws:secretsmanager:eu-west-1:190910285287:secret:shop-prod-cache-connection-AbCdEf"
    ssm = "arn:aws:ssm:eu-west-1:190910285287:parameter/prod/shop/api/greeting"
    assert messages(analyze("prod", [task_reading(arn), task_reading(ssm)]), "ecs-secrets-by-arn") == []


def test_a_service_that_does_not_wait_for_the_capacity_providers_fires(analyze):
    capacity = resource("prod", "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "capacity", {})
    strategy = {"capacityProviderStrategies": [{"capacityProvider": "FARGATE", "weight": 1}]}
    (message,) = messages(analyze("prod", [capacity, service(**strategy)]), "ecs-after-capacity-providers")
    assert message.startswith("service 'api-service' names a capacity provider strategy but does not depend")
    waiting = service(depends=(capacity,), **strategy)
    assert messages(analyze("prod", [capacity, waiting]), "ecs-after-capacity-providers") == []
