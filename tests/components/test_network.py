"""Network: at least two AZs, private subnets behind NAT, or an imported VPC."""

from __future__ import annotations

import pytest

from components.network import subnet_plan
from tests.conftest import run_preview


def test_prod_spans_three_azs_with_a_nat_per_az(shipped_preview):
    prod = shipped_preview("prod")
    subnets = prod.resources("aws:ec2/subnet:Subnet")
    assert sorted(s["inputs"]["availabilityZone"] for s in subnets) == sorted([f"eu-west-1{z}" for z in "abc"] * 2)
    assert len(prod.resources("aws:ec2/natGateway:NatGateway")) == 3
    assert not any(s["inputs"].get("mapPublicIpOnLaunch") for s in subnets)


def test_dev_shares_one_nat(shipped_preview):
    dev = shipped_preview("dev")
    assert len(dev.resources("aws:ec2/subnet:Subnet")) == 4
    assert len(dev.resources("aws:ec2/natGateway:NatGateway")) == 1
    routes = [r for r in dev.resources("aws:ec2/route:Route") if r["name"].startswith("private")]
    assert len(routes) == 2 and len({r["inputs"]["natGatewayId"] for r in routes}) == 1


def test_flow_logs_and_s3_endpoint(shipped_preview):
    prod = shipped_preview("prod")
    assert prod.one("aws:ec2/flowLog:FlowLog", "vpc")["inputs"]["trafficType"] == "ALL"
    assert prod.one("aws:cloudwatch/logGroup:LogGroup", "flow-logs")["inputs"]["name"] == "/prod/shop/vpc-flow-logs"
    endpoint = prod.one("aws:ec2/vpcEndpoint:VpcEndpoint", "s3")
    assert endpoint["inputs"]["vpcEndpointType"] == "Gateway" and len(endpoint["inputs"]["routeTableIds"]) == 3


def test_imported_vpc_registers_no_network_resources(stack_yaml, tmp_path):
    config = stack_yaml(
        "dev",
        {
            "aws-platform:network": {
                "vpcId": "vpc-0abc12345def67890",
                "publicSubnetIds": ["subnet-0aaa12345def67890", "subnet-0bbb12345def67890"],
                "privateSubnetIds": ["subnet-0ccc12345def67890", "subnet-0ddd12345def67890"],
            }
        },
    )
    result = run_preview("dev", tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stderr
    assert not result.resources("aws:ec2/vpc:Vpc") and not result.resources("aws:ec2/subnet:Subnet")
    assert result.snapshot["outputs"]["private_subnet_ids"] == ["subnet-0ccc12345def67890", "subnet-0ddd12345def67890"]


def test_subnet_plan_allocates_in_order_and_refuses_too_small():
    public, private = subnet_plan("10.0.0.0/16", 3)
    assert public == ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]
    assert private == ["10.0.48.0/20", "10.0.64.0/20", "10.0.80.0/20"]
    with pytest.raises(ValueError, match="holds 1 /20"):
        subnet_plan("10.0.0.0/20", 2)


def test_the_default_security_group_is_closed(shipped_preview):
    for stack in ("dev", "prod"):
        default = shipped_preview(stack).one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default")
        assert default["inputs"]["ingress"] == [] and default["inputs"]["egress"] == []


def test_interface_endpoints_only_where_a_stack_opts_in(shipped_preview):
    def network_interface_endpoints(stack):
        return [
            e
            for e in shipped_preview(stack).resources("aws:ec2/vpcEndpoint:VpcEndpoint")
            if "platform:network:Network$" in e["urn"] and e["inputs"]["vpcEndpointType"] == "Interface"
        ]

    prod = network_interface_endpoints("prod")
    assert sorted(e["inputs"]["serviceName"].removeprefix("com.amazonaws.eu-west-1.") for e in prod) == [
        "ecr.api",
        "ecr.dkr",
        "logs",
        "secretsmanager",
    ]
    assert all(e["inputs"]["privateDnsEnabled"] and len(e["inputs"]["subnetIds"]) == 3 for e in prod)
    assert network_interface_endpoints("dev") == []
