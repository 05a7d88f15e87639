"""The cluster: Container Insights, Fargate by default, EC2 capacity that scales with the tasks when asked for."""

from __future__ import annotations

import copy

import pytest

from tests.conftest import load_stack_yaml, run_preview


def test_fargate_cluster_with_container_insights(shipped_preview):
    prod = shipped_preview("prod")
    cluster = prod.one("aws:ecs/cluster:Cluster", "cluster")["inputs"]
    assert cluster["name"] == "shop-prod-services"
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    capacity = prod.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "capacity")["inputs"]
    assert capacity["capacityProviders"] == ["FARGATE"]
    assert not prod.resources("aws:autoscaling/group:Group")


@pytest.fixture(scope="module")
def ec2_stack(tmp_path_factory):
    """dev with EC2 capacity and the web service on it."""
    tmp = tmp_path_factory.mktemp("ec2")
    document = load_stack_yaml("dev")
    section = copy.deepcopy(document["config"]["aws-platform:containers"])
    section["cluster"] = {
        "fargateSpot": True,
        "ec2": {"instanceType": "t4g.medium", "architecture": "arm64", "maxSize": 6, "targetCapacity": 90},
    }
    section["services"][1]["launchType"] = "EC2"
    section["services"][0]["spot"] = True
    document["config"]["aws-platform:containers"] = section
    path = tmp / "Pulumi.dev.yaml"
    import yaml

    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = run_preview("dev", tmp, "--config", str(path), "--no-policy")
    assert result.exit_code == 0, result.stderr
    return result


def test_ec2_capacity_scales_with_the_tasks(ec2_stack):
    provider = ec2_stack.one("aws:ecs/capacityProvider:CapacityProvider", "ec2")["inputs"]
    asg_provider = provider["autoScalingGroupProvider"]
    assert provider["name"] == "shop-dev-ec2"
    assert asg_provider["managedScaling"]["status"] == "ENABLED"
    assert asg_provider["managedScaling"]["targetCapacity"] == 90
    assert asg_provider["managedTerminationProtection"] == "ENABLED"
    capacity = ec2_stack.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "capacity")["inputs"]
    assert capacity["capacityProviders"] == ["FARGATE", "FARGATE_SPOT", "shop-dev-ec2"]


def test_auto_scaling_group_is_protected_and_tagged(ec2_stack):
    group = ec2_stack.one("aws:autoscaling/group:Group", "hosts")
    assert group["inputs"]["protectFromScaleIn"] is True and group["inputs"]["maxSize"] == 6
    assert group["ignoreChanges"] == ["desiredCapacity"]
    tags = {t["key"]: t for t in group["inputs"]["tags"]}
    assert tags["stage"]["value"] == "dev" and all(t["propagateAtLaunch"] for t in tags.values())
    template = ec2_stack.one("aws:ec2/launchTemplate:LaunchTemplate", "hosts")["inputs"]
    assert {s["resourceType"] for s in template["tagSpecifications"]} == {"instance", "volume", "network-interface"}
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["instanceType"] == "t4g.medium" and template["imageId"].startswith("ami-")


def test_ec2_services_binpack_on_the_ec2_provider(ec2_stack):
    web = ec2_stack.one("aws:ecs/service:Service", "web-service")["inputs"]
    assert web["capacityProviderStrategies"] == [{"base": 0, "capacityProvider": "shop-dev-ec2", "weight": 1}]
    assert web["orderedPlacementStrategies"] == [{"field": "memory", "type": "binpack"}]
    api = ec2_stack.one("aws:ecs/service:Service", "api-service")["inputs"]
    assert [s["capacityProvider"] for s in api["capacityProviderStrategies"]] == ["FARGATE", "FARGATE_SPOT"]
    assert "orderedPlacementStrategies" not in api
