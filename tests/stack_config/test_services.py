"""The `containers` section refuses what would break a deployment, naming the key, the value and what is allowed."""

from __future__ import annotations

import copy

import pytest

import stack_config
from stack_config import ConfigError
from tests.conftest import load_stack_yaml

KEY = "aws-platform:containers"


def containers(stack: str) -> dict:
    return copy.deepcopy(load_stack_yaml(stack)["config"][KEY])


def problems(stack_yaml, stack: str, section: dict) -> list[str]:
    path = stack_yaml(stack, {KEY: section}, name=stack)
    with pytest.raises(ConfigError) as err:
        stack_config.load_file(stack, path)
    return [str(p) for p in err.value.problems]


def test_shipped_services_parse_with_safe_defaults():
    prod = stack_config.load_file("prod").containers
    api = next(s for s in prod.services if s.name == "api")
    assert api.deployment.minimum_healthy_percent == 50 and api.deployment.maximum_percent == 200
    assert api.deployment.strategy == "ROLLING" and api.launch_type == "FARGATE"
    assert all(s.desired_count >= 2 and s.min_count >= 2 and s.off_hours is None for s in prod.services)
    assert prod.image_repositories.keep_images == 100
    assert prod.retention_days("prod") == 90 and stack_config.load_file("dev").containers.retention_days("dev") == 14
    dev_api = next(s for s in stack_config.load_file("dev").containers.services if s.name == "api")
    assert dev_api.off_hours.timezone == "Europe/Paris" and dev_api.autoscaled


@pytest.mark.parametrize("field", ["desiredCount", "minCount"])
def test_prod_refuses_fewer_than_two_tasks(stack_yaml, field):
    section = containers("prod")
    section["services"][1].update({"desiredCount": 1, "minCount": 1})
    found = problems(stack_yaml, "prod", section)
    assert (
        f"{KEY}.services[1].{field}: 1 in prod (allowed: 2 or more); with one task a failed deployment "
        f"rolls back in 20 minutes, not 3-5" in found
    )


def test_prod_refuses_off_hours(stack_yaml):
    section = containers("prod")
    section["services"][0]["offHours"] = {"stop": "19:00", "start": "07:00", "timezone": "Europe/Paris"}
    assert f"{KEY}.services[0].offHours: is not allowed in prod (allowed: dev, sandbox, staging)" in problems(
        stack_yaml, "prod", section
    )


def test_fargate_size_must_be_valid(stack_yaml):
    section = containers("dev")
    section["services"][0].update({"cpu": 256, "memory": 4096})
    (problem,) = problems(stack_yaml, "dev", section)
    assert problem == f"{KEY}.services[0].memory: 4096 is not a Fargate size for cpu 256 (allowed: 512, 1024, 2048)"


def test_health_check_port_must_equal_container_port(stack_yaml):
    section = containers("dev")
    section["services"][0]["healthCheckPort"] = 5001
    (problem,) = problems(stack_yaml, "dev", section)
    assert problem.startswith(f"{KEY}.services[0].healthCheckPort: 5001 differs from port 8080 (allowed: 8080)")
    assert "502 death spiral" in problem


@pytest.mark.parametrize(
    "digest",
    [
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-dev-web:latest",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-dev-web@sha256:abc",
    ],
)
def test_digest_must_be_a_full_sha256(stack_yaml, digest):
    section = containers("dev")
    section["services"][1]["image"] = {"digest": digest}
    (problem,) = problems(stack_yaml, "dev", section)
    assert problem.startswith(f"{KEY}.services[1].image.digest: '{digest}' is not an image reference by digest")


def test_exactly_one_image_source(stack_yaml):
    section = containers("dev")
    section["services"][0]["image"]["digest"] = "267721532588.dkr.ecr.eu-west-1.amazonaws.com/x@sha256:" + "a" * 64
    (problem,) = [p for p in problems(stack_yaml, "dev", section) if p.startswith(f"{KEY}.services[0].image:")]
    assert problem.startswith(f"{KEY}.services[0].image: needs exactly one of 'build', 'digest' or 'promoteFrom'")


def test_build_context_must_exist(stack_yaml):
    section = containers("dev")
    section["services"][0]["image"] = {"build": {"context": "apps/nope"}}
    (problem,) = problems(stack_yaml, "dev", section)
    assert problem.startswith(f"{KEY}.services[0].image.build.context: 'apps/nope' is not a folder in the repository")


def test_timezone_must_exist(stack_yaml):
    section = containers("dev")
    section["services"][0]["offHours"]["timezone"] = "Europe/Atlantis"
    (problem,) = problems(stack_yaml, "dev", section)
    assert problem == (
        f"{KEY}.services[0].offHours.timezone: 'Europe/Atlantis' is not an IANA time zone "
        f"(like 'Europe/Paris' or 'UTC')"
    )


def test_secrets_never_go_in_plain_environment(stack_yaml):
    section = containers("dev")
    section["services"][0]["environment"] = {"DB_PASSWORD": "hunter2"}
    (problem,) = problems(stack_yaml, "dev", section)
    assert problem.startswith(f"{KEY}.services[0].environment.DB_PASSWORD: looks like a secret")
    assert "allowed: move it to 'secrets'" in problem


def test_task_role_statements_may_not_use_wildcards(stack_yaml):
    section = containers("dev")
    section["services"][0]["taskPolicyStatements"] = [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
    (problem,) = problems(stack_yaml, "dev", section)
    assert problem.startswith(f"{KEY}.services[0].taskPolicyStatements[0]: ")
    assert problem.endswith("grants a wildcard action (allowed: the exact actions the application calls)")


def test_prod_needs_https(stack_yaml):
    section = containers("prod")
    del section["loadBalancer"]
    assert (
        f"{KEY}.loadBalancer.certificateArn: is required in prod (allowed: an ACM certificate ARN, or "
        f"certificateFrom: a stack reference); plain HTTP is for dev only"
    ) in problems(stack_yaml, "prod", section)


def test_a_certificate_comes_from_one_place(stack_yaml):
    section = containers("prod")
    section["loadBalancer"]["certificateFrom"] = "organization/aws-platform/prod"
    (problem,) = problems(stack_yaml, "prod", section)
    assert problem == (
        f"{KEY}.loadBalancer.certificateFrom: 'organization/aws-platform/prod' and certificateArn are both set "
        f"(allowed: one of them)"
    )


def test_ec2_services_need_ec2_capacity(stack_yaml):
    section = containers("dev")
    section["services"][0]["launchType"] = "EC2"
    (problem,) = problems(stack_yaml, "dev", section)
    assert problem.startswith(f"{KEY}.services[0].launchType: 'EC2' needs {KEY}.cluster.ec2")


def test_routing_priorities_are_unique(stack_yaml):
    section = containers("dev")
    section["services"][1]["routing"]["priority"] = 10
    (problem,) = problems(stack_yaml, "dev", section)
    assert problem == f"{KEY}.services[1].routing.priority: 10 is already used by 'api' (allowed: a unique priority)"


# --- promotion (issue 12 item 7) ---------------------------------------------------------------------------


def test_images_are_promoted_forward_only(stack_yaml):
    document = load_stack_yaml("staging")
    services = document["config"]["aws-platform:containers"]["services"]
    services[0]["image"] = {"promoteFrom": "organization/aws-platform/prod"}
    services[1]["image"] = {"promoteFrom": "organization/aws-platform/dev", **services[1]["image"]}
    with pytest.raises(ConfigError) as err:
        stack_config.load_file("staging", stack_yaml("staging", document["config"]))
    found = [str(p) for p in err.value.problems]
    assert any(
        p.startswith(
            "aws-platform:containers.services[0].image.promoteFrom: 'organization/aws-platform/prod' is not an earlier stage"
        )
        for p in found
    )
    assert any(p.startswith("aws-platform:containers.services[1].image: needs exactly one of") for p in found)
