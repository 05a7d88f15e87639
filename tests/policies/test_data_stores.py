"""Data-store policies: each fires on the mistake its field report describes and passes the safe shape."""

from __future__ import annotations

import pytest

from tests.conftest import messages, resource, stack_tags

SG = "aws:ec2/securityGroup:SecurityGroup"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
DOCDB = "aws:docdb/cluster:Cluster"
ATLAS = "mongodbatlas:index/advancedCluster:AdvancedCluster"
ACCESS = "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList"
LIMITS = {"dataStorage": {"unit": "GB", "maximum": 10}, "ecpuPerSeconds": [{"maximum": 5000}]}


def with_deps(res: dict, *deps: dict) -> dict:
    return {**res, "dependencies": [d["urn"] for d in deps]}


def cache_stack(stack: str, ports: tuple[int, ...], *, inline: bool = False) -> list[dict]:
    """A serverless cache, its security group, and ingress rules for ``ports`` (standalone or inline)."""
    client = resource(stack, SG, "api-tasks", {"name": f"shop-{stack}-api-tasks"})
    if inline:
        sg = resource(
            stack,
            SG,
            "cache",
            {
                "name": f"shop-{stack}-cache",
                "ingress": [
                    {"protocol": "tcp", "fromPort": p, "toPort": p, "securityGroups": ["sg-client"]} for p in ports
                ],
            },
        )
        rules = []
    else:
        sg = resource(stack, SG, "cache", {"name": f"shop-{stack}-cache"})
        rules = [
            with_deps(
                resource(
                    stack,
                    RULE,
                    f"cache-{p}",
                    {"ipProtocol": "tcp", "fromPort": p, "toPort": p, "referencedSecurityGroupId": "sg-client"},
                ),
                sg,
                client,
            )
            for p in ports
        ]
    cache = with_deps(
        resource(
            stack, CACHE, "cache", {"name": f"shop-{stack}-cache", "engine": "valkey", "cacheUsageLimits": LIMITS}
        ),
        sg,
    )
    return [client, sg, *rules, cache]


# --- serverless-cache-reader-port ----------------------------------------------------------


@pytest.mark.parametrize("inline", [False, True])
def test_cache_open_on_6379_without_6380_fires(analyze, inline):
    found = analyze("prod", cache_stack("prod", (6379,), inline=inline))
    (message,) = messages(found, "serverless-cache-reader-port")
    assert "reachable on 6379 but not on 6380" in message


@pytest.mark.parametrize("inline", [False, True])
def test_cache_open_on_both_ports_passes(analyze, inline):
    assert (
        messages(analyze("prod", cache_stack("prod", (6379, 6380), inline=inline)), "serverless-cache-reader-port")
        == []
    )


def test_reader_port_rule_matched_by_security_group_id_too(analyze):
    """In a snapshot the ids are known: a rule on the cache's SG id counts even without a dependency."""
    sg = resource("prod", SG, "cache", {"name": "shop-prod-cache"})
    cache = with_deps(
        resource(
            "prod",
            CACHE,
            "cache",
            {
                "name": "shop-prod-cache",
                "engine": "valkey",
                "securityGroupIds": ["sg-0cache"],
                "cacheUsageLimits": LIMITS,
            },
        ),
        sg,
    )
    rule = resource(
        "prod",
        RULE,
        "primary",
        {
            "securityGroupId": "sg-0cache",
            "ipProtocol": "tcp",
            "fromPort": 6379,
            "toPort": 6379,
            "referencedSecurityGroupId": "sg-client",
        },
    )
    assert messages(analyze("prod", [sg, rule, cache]), "serverless-cache-reader-port")


# --- data-port-open-to-internet --------------------------------------------------------------


@pytest.mark.parametrize(
    "inputs",
    [
        {"ipProtocol": "tcp", "fromPort": 27017, "toPort": 27017, "cidrIpv4": "0.0.0.0/0"},
        {"ipProtocol": "tcp", "fromPort": 6379, "toPort": 6380, "cidrIpv6": "::/0"},
        {"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"},
        {"ipProtocol": "tcp", "fromPort": 1024, "toPort": 65535, "cidrIpv4": "0.0.0.0/0"},
    ],
)
def test_data_port_open_to_the_internet_fires(analyze, inputs):
    found = analyze("dev", [resource("dev", RULE, "open", inputs)])
    (message,) = messages(found, "data-port-open-to-internet")
    assert "data-store port(s)" in message


def test_inline_security_group_ingress_open_to_the_internet_fires(analyze):
    sg = resource(
        "dev",
        SG,
        "db",
        {
            "name": "shop-dev-db",
            "ingress": [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": ["0.0.0.0/0"]}],
        },
    )
    assert any("5432 (PostgreSQL)" in m for m in messages(analyze("dev", [sg]), "data-port-open-to-internet"))


@pytest.mark.parametrize(
    "inputs",
    [
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},  # HTTPS is no data port
        {"ipProtocol": "tcp", "fromPort": 27017, "toPort": 27017, "cidrIpv4": "10.0.0.0/16"},  # private range
        {"ipProtocol": "tcp", "fromPort": 6379, "toPort": 6380, "referencedSecurityGroupId": "sg-client"},
    ],
)
def test_data_ports_from_inside_pass(analyze, inputs):
    assert messages(analyze("dev", [resource("dev", RULE, "ok", inputs)]), "data-port-open-to-internet") == []


# --- data-store-encryption ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "type_,inputs,flag",
    [
        (DOCDB, {"clusterIdentifier": "shop-prod-documentdb", "storageEncrypted": False}, "storageEncrypted"),
        (DOCDB, {"clusterIdentifier": "shop-prod-documentdb"}, "storageEncrypted"),
        (
            "aws:elasticache/replicationGroup:ReplicationGroup",
            {"replicationGroupId": "shop-prod-sessions"},
            "atRestEncryptionEnabled",
        ),
        ("aws:rds/cluster:Cluster", {"storageEncrypted": False}, "storageEncrypted"),
    ],
)
def test_unencrypted_data_store_fires(analyze, type_, inputs, flag):
    (message,) = messages(analyze("prod", [resource("prod", type_, "store", inputs)]), "data-store-encryption")
    assert message.split("\n", 1)[-1].startswith(flag)


def test_encrypted_data_stores_pass(analyze):
    found = analyze(
        "prod",
        [
            resource("prod", DOCDB, "docdb", {"clusterIdentifier": "shop-prod-documentdb", "storageEncrypted": True}),
            resource(
                "prod",
                "aws:elasticache/replicationGroup:ReplicationGroup",
                "rg",
                {"replicationGroupId": "shop-prod-sessions", "atRestEncryptionEnabled": True},
            ),
            # Serverless caches are always encrypted at rest: nothing to switch on.
            resource(
                "prod", CACHE, "cache", {"name": "shop-prod-cache", "engine": "valkey", "cacheUsageLimits": LIMITS}
            ),
        ],
    )
    assert messages(found, "data-store-encryption") == []


# --- serverless-cache-limits ------------------------------------------------------------------------


def test_serverless_cache_without_a_ceiling_fires(analyze):
    found = analyze("dev", [resource("dev", CACHE, "cache", {"name": "shop-dev-cache", "engine": "valkey"})])
    (message,) = messages(found, "serverless-cache-limits")
    assert "dataStorage.maximum or ecpuPerSecond.maximum" in message


def test_serverless_cache_with_ceilings_passes(analyze):
    found = analyze(
        "dev",
        [resource("dev", CACHE, "cache", {"name": "shop-dev-cache", "engine": "valkey", "cacheUsageLimits": LIMITS})],
    )
    assert messages(found, "serverless-cache-limits") == []


# --- documentdb-prod-protection ------------------------------------------------------------------------

PROTECTED_DOCDB = {
    "clusterIdentifier": "shop-prod-documentdb",
    "storageEncrypted": True,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "shop-prod-documentdb-final",
    "enabledCloudwatchLogsExports": ["audit", "profiler"],
}


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"deletionProtection": False}, "without deletionProtection"),
        ({"skipFinalSnapshot": True}, "without a final snapshot"),
        ({"finalSnapshotIdentifier": None}, "without a final snapshot"),
    ],
)
def test_prod_documentdb_without_protection_fires(analyze, change, expected):
    inputs = {k: v for k, v in {**PROTECTED_DOCDB, **change}.items() if v is not None}
    (message,) = messages(analyze("prod", [resource("prod", DOCDB, "docdb", inputs)]), "documentdb-prod-protection")
    assert expected in message


def test_protected_prod_documentdb_and_unprotected_dev_pass(analyze):
    assert (
        messages(analyze("prod", [resource("prod", DOCDB, "docdb", PROTECTED_DOCDB)]), "documentdb-prod-protection")
        == []
    )
    dev = {"clusterIdentifier": "shop-dev-documentdb", "storageEncrypted": True, "skipFinalSnapshot": True}
    ephemeral = stack_tags("dev", usage="EPHEMERAL")
    found = analyze("dev", [resource("dev", DOCDB, "docdb", dev)], default_tags=ephemeral)
    assert messages(found, "documentdb-prod-protection") == []


def test_staging_documentdb_holds_production_data_and_must_be_protected(analyze):
    """Usage PRODUCTION, not the stage, decides (conventions-tagging-naming-validation.md)."""
    unprotected = {"clusterIdentifier": "shop-staging-documentdb", "storageEncrypted": True, "skipFinalSnapshot": True}
    found = messages(
        analyze("staging", [resource("staging", DOCDB, "docdb", unprotected)]), "documentdb-prod-protection"
    )
    assert len(found) == 2 and "usage PRODUCTION" in found[0]
    protected = {**PROTECTED_DOCDB, "clusterIdentifier": "shop-staging-documentdb"}
    assert (
        messages(analyze("staging", [resource("staging", DOCDB, "docdb", protected)]), "documentdb-prod-protection")
        == []
    )


def test_retiring_prod_documentdb_may_drop_deletion_protection_but_not_its_final_snapshot(analyze):
    retiring = {**PROTECTED_DOCDB, "deletionProtection": False, "tags": {"data-lifecycle": "retiring"}}
    assert messages(analyze("prod", [resource("prod", DOCDB, "docdb", retiring)]), "documentdb-prod-protection") == []
    careless = {**retiring, "skipFinalSnapshot": True}
    assert messages(analyze("prod", [resource("prod", DOCDB, "docdb", careless)]), "documentdb-prod-protection")


# --- atlas-prod-protection -------------------------------------------------------------------------------

SAFE_ATLAS = {
    "name": "shop-prod-docs",
    "clusterType": "SHARDED",
    "terminationProtectionEnabled": True,
    "backupEnabled": True,
    "pitEnabled": True,
}


@pytest.mark.parametrize("flag", ["terminationProtectionEnabled", "backupEnabled", "pitEnabled"])
def test_prod_atlas_without_protection_or_backups_fires(analyze, flag):
    found = analyze("prod", [resource("prod", ATLAS, "docs", {**SAFE_ATLAS, flag: False}, provider=False)])
    (message,) = messages(found, "atlas-prod-protection")
    assert f"without {flag}" in message


def test_protected_prod_atlas_and_unprotected_dev_pass(analyze):
    assert (
        messages(
            analyze("prod", [resource("prod", ATLAS, "docs", SAFE_ATLAS, provider=False)]), "atlas-prod-protection"
        )
        == []
    )
    dev = {**SAFE_ATLAS, "name": "shop-dev-docs", "terminationProtectionEnabled": False}
    assert (
        messages(analyze("dev", [resource("dev", ATLAS, "docs", dev, provider=False)]), "atlas-prod-protection") == []
    )


def test_staging_atlas_tagged_production_must_be_protected(analyze):
    staging = {**SAFE_ATLAS, "name": "shop-staging-docs", "terminationProtectionEnabled": False}
    tagged = {**staging, "tags": stack_tags("staging")}
    (message,) = messages(
        analyze("staging", [resource("staging", ATLAS, "docs", tagged, provider=False)]), "atlas-prod-protection"
    )
    assert "without terminationProtectionEnabled" in message
    ephemeral = {**staging, "tags": stack_tags("staging", usage="EPHEMERAL")}  # the loader refuses it; the rule agrees
    assert (
        messages(
            analyze("staging", [resource("staging", ATLAS, "docs", ephemeral, provider=False)]), "atlas-prod-protection"
        )
        == []
    )


# --- cache-production-retention --------------------------------------------------------------------------


def test_production_cache_without_snapshots_or_protection_fires(analyze):
    cache = resource("staging", CACHE, "cache", {"name": "shop-staging-cache", "cacheUsageLimits": LIMITS})
    found = messages(analyze("staging", [cache]), "cache-production-retention")
    assert any("snapshotRetentionLimit" in m for m in found) and any("not protected" in m for m in found)


def test_protected_production_cache_and_ephemeral_dev_cache_pass(analyze):
    inputs = {"name": "shop-staging-cache", "cacheUsageLimits": LIMITS, "snapshotRetentionLimit": 3}
    kept = {**resource("staging", CACHE, "cache", inputs), "protect": True}
    assert messages(analyze("staging", [kept]), "cache-production-retention") == []
    dev = resource("dev", CACHE, "cache", {"name": "shop-dev-cache", "cacheUsageLimits": LIMITS})
    found = analyze("dev", [dev], default_tags=stack_tags("dev", usage="EPHEMERAL"))
    assert messages(found, "cache-production-retention") == []


# --- atlas-access-list -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stack,inputs",
    [
        ("dev", {"projectId": "p", "cidrBlock": "0.0.0.0/0"}),
        ("dev", {"projectId": "p", "ipAddress": "0.0.0.0"}),
        ("prod", {"projectId": "p", "cidrBlock": "10.250.0.0/16"}),
    ],
)
def test_open_or_prod_access_list_fires(analyze, stack, inputs):
    assert messages(analyze(stack, [resource(stack, ACCESS, "entry", inputs, provider=False)]), "atlas-access-list")


def test_private_access_list_outside_prod_passes(analyze):
    entry = resource("dev", ACCESS, "entry", {"projectId": "p", "cidrBlock": "10.250.0.0/16"}, provider=False)
    assert messages(analyze("dev", [entry]), "atlas-access-list") == []


# --- documentdb-observability --------------------------------------------------------------------------------


def test_documentdb_without_profiler_or_performance_insights_fires(analyze):
    found = analyze(
        "staging",
        [
            resource(
                "staging",
                DOCDB,
                "docdb",
                {
                    "clusterIdentifier": "shop-staging-documentdb",
                    "storageEncrypted": True,
                    "enabledCloudwatchLogsExports": ["audit"],
                },
            ),
            resource(
                "staging",
                "aws:docdb/clusterInstance:ClusterInstance",
                "docdb-0",
                {"identifier": "shop-staging-documentdb-0", "enablePerformanceInsights": False},
            ),
        ],
    )
    assert any("lacks profiler" in m for m in messages(found, "documentdb-observability", "docdb"))
    assert any("Performance Insights" in m for m in messages(found, "documentdb-observability", "docdb-0"))


def test_observable_documentdb_passes(analyze):
    found = analyze(
        "staging",
        [
            resource(
                "staging",
                DOCDB,
                "docdb",
                {
                    "clusterIdentifier": "shop-staging-documentdb",
                    "storageEncrypted": True,
                    "enabledCloudwatchLogsExports": ["audit", "profiler"],
                },
            ),
            resource(
                "staging",
                "aws:docdb/clusterInstance:ClusterInstance",
                "docdb-0",
                {"identifier": "shop-staging-documentdb-0", "enablePerformanceInsights": True},
            ),
        ],
    )
    assert messages(found, "documentdb-observability") == []


def test_shipped_stacks_pass_every_data_store_policy(shipped_preview):
    names = (
        "data-port-open-to-internet",
        "serverless-cache-reader-port",
        "data-store-encryption",
        "serverless-cache-limits",
        "documentdb-prod-protection",
        "atlas-prod-protection",
        "cache-production-retention",
        "atlas-access-list",
        "documentdb-observability",
    )
    for stack in ("dev", "staging", "prod"):
        result = shipped_preview(stack)
        assert result.exit_code == 0, result.stdout + result.stderr
        assert not any(name in result.stdout for name in names), result.stdout
