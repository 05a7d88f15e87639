"""DocumentDB: encrypted, TLS-only, audited, I/O-optimised, protected in prod and while it is the rollback point."""

from __future__ import annotations

import pytest

from tests.conftest import run_preview

CLUSTER = "aws:docdb/cluster:Cluster"
INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
PARAMS = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"


def parameters(preview) -> dict[str, str]:
    return {p["name"]: p["value"] for p in preview.one(PARAMS, "documentdb")["inputs"]["parameters"]}


def at_phase(stack_yaml, tmp_path, *phases):
    from tests.stack_config.test_data import ATLAS, SYNC, ledger, sync_declared

    config = stack_yaml(
        "dev",
        {
            "aws-platform:documentStore": {
                "phases": ledger(*phases),
                "atlas": ATLAS,
                "sync": SYNC,
                "documentdb": {"instanceCount": 1},
            },
            **sync_declared("dev"),
        },
    )
    result = run_preview("dev", tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def test_encrypted_io_optimised_cluster_with_managed_master_password(shipped_preview):
    cluster = shipped_preview("prod").one(CLUSTER, "documentdb")["inputs"]
    assert cluster["storageEncrypted"] is True and cluster["kmsKeyId"].startswith("arn:aws:kms:")
    assert cluster["storageType"] == "iopt1" and cluster["engineVersion"] == "5.0.0"
    assert cluster["manageMasterUserPassword"] is True and "masterPassword" not in cluster
    assert sorted(cluster["enabledCloudwatchLogsExports"]) == ["audit", "profiler"]
    assert cluster["backupRetentionPeriod"] == 14


def test_parameter_group_enforces_tls_audit_and_profiler(shipped_preview):
    params = parameters(shipped_preview("prod"))
    assert params["tls"] == "enabled" and params["audit_logs"] == "enabled" and params["profiler"] == "enabled"
    assert shipped_preview("prod").one(PARAMS, "documentdb")["inputs"]["family"] == "docdb5.0"


def test_change_streams_are_retained_for_the_sync_only_in_dual(shipped_preview):
    assert parameters(shipped_preview("staging"))["change_stream_log_retention_duration"] == str(72 * 3600)
    assert parameters(shipped_preview("prod"))["change_stream_log_retention_duration"] == "10800"


def test_prod_is_protected_with_a_final_snapshot(shipped_preview):
    cluster = shipped_preview("prod").one(CLUSTER, "documentdb")
    assert cluster["protect"] and cluster["inputs"]["deletionProtection"] is True
    assert cluster["inputs"]["skipFinalSnapshot"] is False
    assert cluster["inputs"]["finalSnapshotIdentifier"] == "shop-prod-documentdb-final"


def test_staging_holds_production_data_and_is_protected_like_prod(shipped_preview):
    """Usage PRODUCTION decides, not the stage (issue 12 item 9)."""
    cluster = shipped_preview("staging").one(CLUSTER, "documentdb")
    assert cluster["protect"] and cluster["inputs"]["deletionProtection"] is True
    assert cluster["inputs"]["finalSnapshotIdentifier"] == "shop-staging-documentdb-final"


def test_every_instance_runs_performance_insights(shipped_preview):
    instances = shipped_preview("prod").resources(INSTANCE)
    assert len(instances) == 3
    assert all(i["inputs"]["enablePerformanceInsights"] for i in instances)
    assert {i["inputs"]["instanceClass"] for i in instances} == {"db.r6g.2xlarge"}


def test_security_group_admits_27017_only_from_the_services(shipped_preview):
    prod = shipped_preview("prod")
    rules = [
        r
        for r in prod.resources("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["name"].startswith("documentdb-")
    ]
    services = {r["urn"] for r in prod.resources("aws:ec2/securityGroup:SecurityGroup") if "EcsService" in r["urn"]}
    assert rules and {(r["inputs"]["fromPort"], r["inputs"]["toPort"]) for r in rules} == {(27017, 27017)}
    assert {d for r in rules for d in r["dependencies"] if d in services} == services
    assert not any("cidrIpv4" in r["inputs"] for r in rules)


@pytest.mark.parametrize(
    "phases,protected,final",
    [
        (("documentdb",), True, True),  # the shared dev is usage PRODUCTION: its data is kept before the migration too
        (("documentdb", "dual", "atlas"), True, True),  # the rollback point
        (("documentdb", "dual", "atlas", "retiring"), False, True),  # next deploy deletes it, snapshot first
    ],
)
def test_dev_protection_follows_the_phase(stack_yaml, tmp_path, phases, protected, final):
    cluster = at_phase(stack_yaml, tmp_path, *phases).one(CLUSTER, "documentdb")
    assert cluster["protect"] is protected and cluster["inputs"]["deletionProtection"] is protected
    assert cluster["inputs"]["skipFinalSnapshot"] is (not final)
    assert bool(cluster["inputs"].get("finalSnapshotIdentifier")) is final
    assert cluster["inputs"]["tags"]["data-lifecycle"] == phases[-1]


def test_retired_removes_documentdb(stack_yaml, tmp_path):
    result = at_phase(stack_yaml, tmp_path, "documentdb", "dual", "atlas", "retiring", "retired")
    assert not result.resources(CLUSTER) and not result.resources(INSTANCE)


def test_storage_key_outlives_the_cluster_so_the_final_snapshot_stays_restorable(shipped_preview):
    for stack in ("dev", "prod"):
        assert shipped_preview(stack).one("aws:kms/key:Key", "documentdb")["retainOnDelete"] is True


def docdb_alarms(preview) -> dict[str, dict]:
    return {
        r["name"]: r["inputs"]
        for r in preview.resources("aws:cloudwatch/metricAlarm:MetricAlarm")
        if r["name"].startswith("documentdb-")
    }


def test_alarms_watch_what_the_vacuum_report_used(shipped_preview):
    import stack_config

    prod = shipped_preview("prod")
    documentdb = stack_config.load_file("prod").document_store.documentdb
    instances = [i["inputs"]["identifier"] for i in prod.resources("aws:docdb/clusterInstance:ClusterInstance")]
    cluster = prod.one("aws:docdb/cluster:Cluster", "documentdb")["inputs"]["clusterIdentifier"]
    alarms = docdb_alarms(prod)
    by_metric: dict[str, list[dict]] = {}
    for a in alarms.values():
        by_metric.setdefault(a["metricName"], []).append(a)
    for metric in ("FreeableMemory", "CPUUtilization", "DBLoadNonCPU"):
        assert sorted(a["dimensions"]["DBInstanceIdentifier"] for a in by_metric[metric]) == sorted(instances)
    for metric in ("DBClusterReplicaLagMaximum", "AvailableMVCCIds", "LongestRunningGCProcess"):
        (alarm,) = by_metric[metric]
        assert alarm["dimensions"] == {"DBClusterIdentifier": cluster}
    # Shares of the instance class, not absolute numbers that fit one size.
    assert {a["threshold"] for a in by_metric["FreeableMemory"]} == {documentdb.memory_bytes * 0.10}
    assert {a["threshold"] for a in by_metric["DBLoadNonCPU"]} == {documentdb.vcpus}
    assert by_metric["AvailableMVCCIds"][0]["comparisonOperator"] == "LessThanThreshold"
    topic = prod.snapshot["outputs"]["alerts_topic_arn"]
    assert all(a["alarmActions"] == [topic] for a in alarms.values())


def test_a_single_instance_has_no_replica_to_lag(shipped_preview):
    metrics = {a["metricName"] for a in docdb_alarms(shipped_preview("dev")).values()}
    assert "DBClusterReplicaLagMaximum" not in metrics and "FreeableMemory" in metrics
