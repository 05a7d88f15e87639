"""MongoDB Atlas: replica set in dev, sharded in prod, PrivateLink only, IAM-role users, protected prod."""

from __future__ import annotations

from types import SimpleNamespace

from components.atlas_cluster import connection_uri, private_srv
from tests.conftest import run_preview
from tests.stack_config.test_data import ATLAS, SYNC, ledger, sync_declared

CLUSTER = "mongodbatlas:index/advancedCluster:AdvancedCluster"


def variant(stack_yaml, tmp_path, stack="dev", atlas=None, phases=("documentdb", "dual"), rehearsed_in=None):
    store = {"phases": ledger(*phases), "atlas": {**ATLAS, **(atlas or {})}, "sync": SYNC}
    if rehearsed_in:
        store["rehearsedIn"] = rehearsed_in
    config = stack_yaml(stack, {"aws-platform:documentStore": store, **sync_declared(stack)})
    result = run_preview(stack, tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def test_dev_is_one_replica_set_with_backups_and_pitr(shipped_preview):
    cluster = shipped_preview("dev").one(CLUSTER, "documents")
    inputs = cluster["inputs"]
    assert inputs["clusterType"] == "REPLICASET" and len(inputs["replicationSpecs"]) == 1
    (region,) = inputs["replicationSpecs"][0]["regionConfigs"]
    assert region["electableSpecs"] == {"instanceSize": "M10", "nodeCount": 3}
    assert region["regionName"] == "EU_WEST_1" and region["providerName"] == "AWS"
    # The shared dev is long-lived (usage PRODUCTION), so its data is kept like staging's and prod's.
    assert inputs["backupEnabled"] and inputs["pitEnabled"] and inputs["terminationProtectionEnabled"]
    assert inputs["name"] == "shop-dev-docs" and len(inputs["name"]) <= 23


SHARDED = {"shardedCollections": [{"collection": "orders", "key": ["customerId"], "hashed": True}]}
STAGING = "organization/aws-platform/staging"


def rehearsed_staging(stack_references) -> None:
    """Staging on Atlas before test ledgers enter 'dual' (2026-02-10): prod may follow."""
    stack_references(**{STAGING: {"documents_ledger": ledger("documentdb", "dual", "atlas", start="2025-10-01")}})


def test_prod_is_four_shards_of_three_m40_nodes_protected_without_autoscaling(stack_yaml, tmp_path, stack_references):
    rehearsed_staging(stack_references)
    prod = variant(
        stack_yaml,
        tmp_path,
        "prod",
        atlas={"instanceSize": "M40", "shards": 4, **SHARDED},
        phases=("documentdb", "dual", "atlas"),
        rehearsed_in=STAGING,
    )
    cluster = prod.one(CLUSTER, "documents")
    inputs = cluster["inputs"]
    assert inputs["clusterType"] == "SHARDED" and len(inputs["replicationSpecs"]) == 4
    regions = [spec["regionConfigs"][0] for spec in inputs["replicationSpecs"]]
    assert all(r["electableSpecs"] == {"instanceSize": "M40", "nodeCount": 3} for r in regions)
    assert all(r["autoScaling"]["computeEnabled"] is False for r in regions)
    assert inputs["terminationProtectionEnabled"] is True and cluster["protect"]
    assert not prod.resources("mongodbatlas:index/projectIpAccessList:ProjectIpAccessList")
    assert prod.exit_code == 0


def test_autoscaling_and_provisioned_iops_only_when_configured(stack_yaml, tmp_path):
    result = variant(
        stack_yaml,
        tmp_path,
        atlas={"computeAutoscaling": True, "computeMaxInstanceSize": "M30", "diskIops": 6000, "instanceSize": "M30"},
    )
    region = result.one(CLUSTER, "documents")["inputs"]["replicationSpecs"][0]["regionConfigs"][0]
    assert region["electableSpecs"]["diskIops"] == 6000 and region["electableSpecs"]["ebsVolumeType"] == "PROVISIONED"
    assert region["autoScaling"]["computeEnabled"] is True
    assert region["autoScaling"]["computeMaxInstanceSize"] == "M30"


def test_private_link_joins_atlas_and_the_vpc(shipped_preview):
    dev = shipped_preview("dev")
    link = dev.one("mongodbatlas:index/privateLinkEndpoint:PrivateLinkEndpoint", "documents")
    assert link["inputs"]["providerName"] == "AWS" and link["inputs"]["region"] == "EU_WEST_1"
    endpoint = dev.one("aws:ec2/vpcEndpoint:VpcEndpoint", "atlas")["inputs"]
    assert endpoint["vpcEndpointType"] == "Interface" and endpoint["serviceName"].startswith(
        "com.amazonaws.vpce.eu-west-1."
    )
    assert sorted(endpoint["subnetIds"]) == sorted(dev.snapshot["outputs"]["private_subnet_ids"])
    service = dev.one("mongodbatlas:index/privateLinkEndpointService:PrivateLinkEndpointService", "documents")
    assert service["inputs"]["endpointServiceId"].startswith("vpce-") and service["inputs"]["privateLinkId"]
    cluster = dev.one(CLUSTER, "documents")
    assert service["urn"] in cluster["dependencies"], "private connection strings exist once the link is up"


def test_endpoint_admits_the_atlas_port_range_only_from_the_services(shipped_preview):
    dev = shipped_preview("dev")
    rules = [
        r
        for r in dev.resources("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["name"].startswith("atlas-endpoint-")
    ]
    assert rules and {(r["inputs"]["fromPort"], r["inputs"]["toPort"]) for r in rules} == {(1024, 65535)}
    assert all("referencedSecurityGroupId" in r["inputs"] and "cidrIpv4" not in r["inputs"] for r in rules)


def test_database_users_are_the_task_roles_without_passwords(shipped_preview):
    dev = shipped_preview("dev")
    users = dev.resources("mongodbatlas:index/databaseUser:DatabaseUser")
    roles = {s["task_role_arn"] for s in dev.snapshot["outputs"]["services"].values()}
    assert roles and {u["inputs"]["username"] for u in users} == roles
    for user in users:
        assert user["inputs"]["awsIamType"] == "ROLE" and user["inputs"]["authDatabaseName"] == "$external"
        assert "password" not in user["inputs"]
        assert user["inputs"]["roles"] == [{"roleName": "readWrite", "databaseName": "shop"}]


def test_access_list_only_where_configured(shipped_preview, stack_yaml, tmp_path):
    assert not shipped_preview("dev").resources("mongodbatlas:index/projectIpAccessList:ProjectIpAccessList")
    result = variant(stack_yaml, tmp_path, atlas={"accessList": ["10.250.0.0/16"]})
    (entry,) = result.resources("mongodbatlas:index/projectIpAccessList:ProjectIpAccessList")
    assert entry["inputs"]["cidrBlock"] == "10.250.0.0/16"


def test_connection_uri_uses_the_private_srv_and_aws_iam():
    strings = SimpleNamespace(
        private_endpoints=[
            SimpleNamespace(
                srv_connection_string="mongodb+srv://c-pl-0.x.mongodb.net",
                srv_shard_optimized_connection_string="mongodb+srv://c-pl-0-lb.x.mongodb.net",
            )
        ]
    )
    assert private_srv(strings, sharded=False) == "mongodb+srv://c-pl-0.x.mongodb.net"
    assert private_srv(strings, sharded=True) == "mongodb+srv://c-pl-0-lb.x.mongodb.net"
    uri = connection_uri(private_srv(strings, sharded=False), "shop")
    assert uri.startswith("mongodb+srv://c-pl-0.x.mongodb.net/shop?")
    assert "authMechanism=MONGODB-AWS" in uri and "authSource=%24external" in uri and "password" not in uri
