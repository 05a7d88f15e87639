"""The DocumentDB user and change streams are set up during `pulumi up`, before anything uses them (issue 12 item 4)."""

from __future__ import annotations

import json

import pytest

INVOCATION = "aws:lambda/invocation:Invocation"
FUNCTION = "aws:lambda/function:Function"
SERVICE = "aws:ecs/service:Service"
INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.mark.parametrize("stack,change_streams", [("staging", True), ("prod", False), ("dev", False)])
def test_setup_runs_after_the_instances_and_before_every_service(shipped_preview, stack, change_streams):
    preview = shipped_preview(stack)
    run = preview.one(INVOCATION, "documentdb-setup")
    event = json.loads(run["inputs"]["input"])
    assert event["database"] == "shop" and event["changeStreams"] is change_streams
    assert {"masterSecretArn", "appSecretArn"} <= set(event) and "password" not in run["inputs"]["input"]
    instances = [r["urn"] for r in preview.resources(INSTANCE)]
    assert instances and set(instances) <= set(run["dependencies"])
    for service in preview.resources(SERVICE):
        if service["name"] in ("api-service", "web-service", "docsync"):
            assert run["urn"] in service["dependencies"], service["name"]


def test_setup_function_reaches_documentdb_from_its_own_security_group_only(shipped_preview):
    staging = shipped_preview("staging")
    function = staging.one(FUNCTION, "documentdb-setup")
    assert (
        function["inputs"]["packageType"] == "Image" and function["inputs"]["name"] == "shop-staging-documentdb-setup"
    )
    sg = staging.one("aws:ec2/securityGroup:SecurityGroup", "documentdb-setup")
    (attached,) = function["inputs"]["vpcConfig"]["securityGroupIds"]
    assert attached.startswith("sg-") and sg["urn"] in function["dependencies"]
    admitted = [
        r for r in staging.resources(INGRESS) if r["name"].startswith("documentdb") and sg["urn"] in r["dependencies"]
    ]
    assert [(r["inputs"]["fromPort"], r["inputs"]["toPort"]) for r in admitted] == [(27017, 27017)]
    policy = json.loads(staging.one("aws:iam/rolePolicy:RolePolicy", "documentdb-setup")["inputs"]["policy"])
    # Secrets: exactly the two it needs (the other statement is X-Ray's, which has no resource-level permissions).
    (statement,) = [s for s in policy["Statement"] if not all(a.startswith("xray:") for a in s["Action"])]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"] and len(statement["Resource"]) == 2
