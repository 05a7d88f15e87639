"""Hand-built snapshots in the preview's format, for tests that need a shape the shipped stacks may not have."""

from __future__ import annotations

from typing import Any

from preview.mocks import ID_PREFIXES, digest

PROJECT = "aws-platform"


class SnapshotBuilder:
    """``add(type, name, inputs, parent=component, deps=[...])`` -> URN; ``.snapshot()`` -> snapshot dict."""

    def __init__(self, stack: str):
        self.stack = stack
        self.resources: dict[str, dict[str, Any]] = {}
        self.provider = self.add("pulumi:providers:aws", "aws-regional", {"region": "eu-west-1"}, provider=False)

    def urn(self, type_: str, name: str, parent: str = "") -> str:
        chain = []
        while parent:
            chain.insert(0, self.resources[parent]["type"])
            parent = self.resources[parent]["parent"]
        qualified = "$".join([*chain, type_])
        return f"urn:pulumi:{self.stack}::{PROJECT}::{qualified}::{name}"

    @staticmethod
    def mock_id(type_: str, name: str) -> str:
        """The id the offline preview's mocks give a resource (so references by id resolve)."""
        return ID_PREFIXES.get(type_, "") + digest(type_, name)

    def add(
        self,
        type_: str,
        name: str,
        inputs: dict[str, Any] | None = None,
        *,
        parent: str = "",
        deps: list[str] = (),
        custom: bool = True,
        provider: bool = True,
        protect: bool = False,
    ) -> str:
        urn = self.urn(type_, name, parent)
        self.resources[urn] = {
            "urn": urn,
            "type": type_,
            "name": name,
            "parent": parent,
            "custom": custom,
            "provider": self.provider if custom and provider else "",
            "protect": protect,
            "retainOnDelete": False,
            "deleteBeforeReplace": False,
            "ignoreChanges": [],
            "dependencies": sorted(deps),
            "inputs": inputs or {},
        }
        return urn

    def component(self, type_: str, name: str, parent: str = "") -> str:
        return self.add(type_, name, parent=parent, custom=False, provider=False)

    def snapshot(self) -> dict[str, Any]:
        return {
            "project": PROJECT,
            "stack": self.stack,
            "outputs": {},
            "resources": [self.resources[u] for u in sorted(self.resources)],
        }


def web_stack() -> tuple[dict[str, Any], dict[str, str]]:
    """CloudFront -> ALB -> target group -> ECS service -> DocumentDB, plus an almost empty component."""
    b = SnapshotBuilder("prod")
    sgt = "aws:ec2/securityGroup:SecurityGroup"
    ingress = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    net = b.component("platform:network:Network", "network")
    vpc = b.add("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}, parent=net)
    subnets = [
        b.add("aws:ec2/subnet:Subnet", f"private-{az}", {"cidrBlock": f"10.0.{i * 16}.0/20"}, parent=net, deps=[vpc])
        for i, az in enumerate("ab")
    ]
    svc = b.component("platform:services:Services", "shop")
    cluster = b.add("aws:ecs/cluster:Cluster", "cluster", {"name": "shop-prod"}, parent=svc)
    repo = b.add("aws:ecr/repository:Repository", "api-images", {"name": "shop-prod-api"}, parent=svc)
    sg_alb = b.add(sgt, "alb", {"name": "shop-prod-alb"}, parent=svc, deps=[vpc])
    sg_api = b.add(sgt, "api", {"name": "shop-prod-api"}, parent=svc, deps=[vpc])
    alb = b.add("aws:lb/loadBalancer:LoadBalancer", "alb", {"internal": False}, parent=svc, deps=[sg_alb, *subnets])
    tg = b.add("aws:lb/targetGroup:TargetGroup", "api-tg", {"port": 8080}, parent=svc, deps=[vpc])
    b.add("aws:lb/listener:Listener", "https", {"port": 443}, parent=svc, deps=[alb, tg])
    role = b.add("aws:iam/role:Role", "api-task", {"name": "shop-prod-api-task"}, parent=svc)
    taskdef = b.add(
        "aws:ecs/taskDefinition:TaskDefinition", "api", {"family": "shop-prod-api"}, parent=svc, deps=[repo, role]
    )
    service = b.add(
        "aws:ecs/service:Service",
        "api",
        {"name": "shop-prod-api"},
        parent=svc,
        deps=[cluster, tg, sg_api, taskdef, *subnets],
    )
    b.add(
        ingress,
        "api-from-alb",
        {
            "securityGroupId": b.mock_id(sgt, "api"),
            "fromPort": 8080,
            "toPort": 8080,
            "ipProtocol": "tcp",
            "referencedSecurityGroupId": b.mock_id(sgt, "alb"),
        },
        parent=svc,
        deps=[sg_api, sg_alb],
    )
    b.add(
        ingress,
        "alb-https",
        {
            "securityGroupId": b.mock_id(sgt, "alb"),
            "fromPort": 443,
            "toPort": 443,
            "ipProtocol": "tcp",
            "cidrIpv4": "0.0.0.0/0",
        },
        parent=svc,
        deps=[sg_alb],
    )
    data = b.component("platform:data:DocumentStore", "documents")
    sg_db = b.add(sgt, "docdb", {"name": "shop-prod-docdb"}, parent=data, deps=[vpc])
    docdb = b.add(
        "aws:docdb/cluster:Cluster", "docdb", {"clusterIdentifier": "shop-prod-docdb"}, parent=data, deps=[sg_db]
    )
    b.add(
        ingress,
        "docdb-from-api",
        {
            "securityGroupId": b.mock_id(sgt, "docdb"),
            "fromPort": 27017,
            "toPort": 27017,
            "ipProtocol": "tcp",
            "referencedSecurityGroupId": b.mock_id(sgt, "api"),
        },
        parent=data,
        deps=[sg_db, sg_api],
    )
    edge = b.component("platform:edge:Site", "site")
    bucket = b.add("aws:s3/bucket:Bucket", "spa", {"bucket": "shop-prod-spa"}, parent=edge)
    cdn = b.add("aws:cloudfront/distribution:Distribution", "cdn", {"enabled": True}, parent=edge, deps=[alb, bucket])
    alarms = b.component("platform:monitoring:Alarms", "alarms")
    b.add("aws:cloudwatch/metricAlarm:MetricAlarm", "5xx", {"name": "shop-prod-5xx"}, parent=alarms)
    urns = {
        "vpc": vpc,
        "alb": alb,
        "tg": tg,
        "service": service,
        "cluster": cluster,
        "repo": repo,
        "docdb": docdb,
        "bucket": bucket,
        "cdn": cdn,
        "alarms": alarms,
    }
    return b.snapshot(), urns
