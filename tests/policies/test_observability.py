"""Observability policies: alarms that can fire, and prod data stores that have them."""

from __future__ import annotations

import json

import pytest

from tests.conftest import messages, resource

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
ATLAS_ALERT = "mongodbatlas:index/alertConfiguration:AlertConfiguration"
CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
DOCDB = "aws:docdb/cluster:Cluster"
DOCDB_INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
ATLAS = "mongodbatlas:index/advancedCluster:AdvancedCluster"
ECS = "aws:ecs/cluster:Cluster"
RULE = "aws:cloudwatch/eventRule:EventRule"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:shop-prod-platform-alerts"
PUBLISHED, WATCHED = "alarm-metric-published", "prod-data-store-alarms"
ATLAS_MEASUREMENTS = (
    "OPLOG_SLAVE_LAG_MASTER_TIME",
    "NORMALIZED_SYSTEM_CPU_USER",
    "DISK_PARTITION_SPACE_USED_DATA",
    "CONNECTIONS_PERCENT",
)


def alarm(stack: str, name: str, namespace: str, metric: str, dimensions: dict, actions=(TOPIC,)) -> dict:
    inputs = {"name": f"shop-{stack}-{name}", "namespace": namespace, "metricName": metric, "dimensions": dimensions}
    return resource(stack, ALARM, name, {**inputs, "alarmActions": list(actions)})


def atlas_alert(stack: str, measurement: str, cluster: str, units: str = "RAW", notify: bool = True) -> dict:
    inputs = {
        "eventType": "OUTSIDE_METRIC_THRESHOLD",
        "matchers": [{"fieldName": "CLUSTER_NAME", "operator": "EQUALS", "value": cluster}],
        "metricThresholdConfig": {
            "metricName": measurement,
            "operator": "GREATER_THAN",
            "threshold": 80,
            "units": units,
        },
        "notifications": [{"typeName": "EMAIL", "emailAddress": "oncall@example.com"}] if notify else [],
    }
    return resource(stack, ATLAS_ALERT, f"alert-{measurement.lower()}", inputs, provider=False)


# --- alarm-metric-published ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "metric", "dimensions", "complaint"),
    [
        # CDK's serverless cache construct used this dimension: the alarm never had data.
        ("AWS/ElastiCache", "ThrottledCmds", {"ServerlessCacheName": "shop-prod-cache"}, "not {ServerlessCacheName}"),
        ("AWS/ElastiCache", "ThrottledCommands", {"clusterId": "shop-prod-cache"}, "no metric 'ThrottledCommands'"),
        ("AWS/DocDB", "DBLoadNonCPU", {"DBClusterIdentifier": "shop-prod-documentdb"}, "{DBInstanceIdentifier}"),
        ("AWS/DocumentDB", "CPUUtilization", {"DBInstanceIdentifier": "x"}, "namespace 'AWS/DocumentDB'"),
    ],
)
def test_an_alarm_on_a_metric_nobody_publishes_is_refused(analyze, namespace, metric, dimensions, complaint):
    found = messages(analyze("prod", [alarm("prod", "watch", namespace, metric, dimensions)]), PUBLISHED)
    assert len(found) == 1 and complaint in found[0]


def test_published_metrics_and_custom_namespaces_pass(analyze):
    resources = [
        alarm("prod", "throttled", "AWS/ElastiCache", "ThrottledCmds", {"clusterId": "shop-prod-cache"}),
        alarm("prod", "waits", "AWS/DocDB", "DBLoadNonCPU", {"DBInstanceIdentifier": "shop-prod-documentdb-0"}),
        alarm("prod", "renders", "Prerender", "RenderErrors", {"service": "renderer"}),  # an application's own
    ]
    assert messages(analyze("prod", resources), PUBLISHED) == []


def test_metric_math_alarms_are_judged_metric_by_metric(analyze):
    math = resource(
        "prod",
        ALARM,
        "ecpu",
        {
            "name": "shop-prod-ecpu",
            "alarmActions": [TOPIC],
            "metricQueries": [
                {"id": "rate", "expression": "ecpu / PERIOD(ecpu)", "returnData": True},
                {"id": "ecpu", "metric": {"namespace": "AWS/ElastiCache", "metricName": "ElastiCacheProcessingUnit"}},
            ],
        },
    )
    (found,) = messages(analyze("prod", [math]), PUBLISHED)
    assert "no metric 'ElastiCacheProcessingUnit'" in found


def test_dashboard_graphs_are_held_to_the_same_table(analyze):
    def board(dimension: str) -> dict:
        row = ["AWS/ElastiCache", "BytesUsedForCache", dimension, "shop-prod-cache", {"stat": "Maximum"}]
        body = {"widgets": [{"type": "metric", "properties": {"metrics": [row]}}, {"type": "text", "properties": {}}]}
        return resource(
            "prod", DASHBOARD, "overview", {"dashboardName": "shop-prod-overview", "dashboardBody": json.dumps(body)}
        )

    assert messages(analyze("prod", [board("clusterId")]), PUBLISHED) == []
    (found,) = messages(analyze("prod", [board("CacheName")]), PUBLISHED)
    assert "not {CacheName}" in found


def test_atlas_alerts_name_a_measurement_atlas_has(analyze):
    good = atlas_alert("prod", "CONNECTIONS_PERCENT", "shop-prod-docs")
    wrong_units = atlas_alert("prod", "OPLOG_SLAVE_LAG_MASTER_TIME", "shop-prod-docs", units="RAW")
    typo = atlas_alert("prod", "REPLICATION_LAG", "shop-prod-docs")
    found = messages(analyze("prod", [good, wrong_units, typo]), PUBLISHED)
    assert len(found) == 2
    assert any("not 'RAW'" in m for m in found) and any("no alert measurement 'REPLICATION_LAG'" in m for m in found)


# --- prod-data-store-alarms ------------------------------------------------------------------------


def watched_prod(stack: str = "prod", *, drop: str | None = None, silent: str | None = None) -> list[dict]:
    """A cache, a DocumentDB cluster with one instance, an Atlas cluster and an ECS cluster, each fully watched."""
    cache, cluster, instance, docs = (
        "shop-prod-cache",
        "shop-prod-documentdb",
        "shop-prod-documentdb-0",
        "shop-prod-docs",
    )
    alarms = [
        ("throttled", "AWS/ElastiCache", "ThrottledCmds", {"clusterId": cache}),
        ("ecpu", "AWS/ElastiCache", "ElastiCacheProcessingUnits", {"clusterId": cache}),
        ("storage", "AWS/ElastiCache", "BytesUsedForCache", {"clusterId": cache}),
        ("mvcc", "AWS/DocDB", "AvailableMVCCIds", {"DBClusterIdentifier": cluster}),
        ("gc", "AWS/DocDB", "LongestRunningGCProcess", {"DBClusterIdentifier": cluster}),
        ("memory", "AWS/DocDB", "FreeableMemory", {"DBInstanceIdentifier": instance}),
        ("cpu", "AWS/DocDB", "CPUUtilization", {"DBInstanceIdentifier": instance}),
        ("waits", "AWS/DocDB", "DBLoadNonCPU", {"DBInstanceIdentifier": instance}),
    ]
    stops = {
        "detail-type": ["ECS Task State Change"],
        "detail": {"lastStatus": ["STOPPED"], "clusterArn": ["arn:aws:ecs:eu-west-1:123456789012:cluster/c"]},
    }
    resources = [
        resource(stack, CACHE, "cache", {"name": cache, "engine": "valkey"}),
        resource(stack, DOCDB, "documentdb", {"clusterIdentifier": cluster, "storageEncrypted": True}),
        resource(stack, DOCDB_INSTANCE, "documentdb-0", {"identifier": instance}),
        resource(stack, ATLAS, "documents", {"name": docs}, provider=False),
        resource(stack, ECS, "ecs", {"name": "shop-prod-services"}),
        resource(
            stack, RULE, "ecs-task-stops", {"name": "shop-prod-ecs-task-stops", "eventPattern": json.dumps(stops)}
        ),
        *[
            alarm(stack, name, ns, metric, dims, actions=() if name == silent else (TOPIC,))
            for name, ns, metric, dims in alarms
            if name != drop
        ],
        *[
            atlas_alert(stack, m, docs, units="SECONDS" if m.startswith("OPLOG") else "RAW")
            for m in ATLAS_MEASUREMENTS
            if m != drop
        ],
    ]
    if drop == "stops":
        resources = [r for r in resources if r["type"] != RULE]
    return resources


def test_a_fully_watched_prod_data_tier_passes(analyze):
    assert messages(analyze("prod", watched_prod()), WATCHED) == []


@pytest.mark.parametrize(
    ("drop", "where", "complaint"),
    [
        ("throttled", "cache", "ThrottledCmds (clusterId=shop-prod-cache)"),
        ("gc", "documentdb", "LongestRunningGCProcess"),
        ("waits", "documentdb-0", "DBLoadNonCPU (DBInstanceIdentifier=shop-prod-documentdb-0)"),
        ("CONNECTIONS_PERCENT", "documents", "CONNECTIONS_PERCENT"),
    ],
)
def test_a_prod_data_store_without_its_alarm_is_refused(analyze, drop, where, complaint):
    (found,) = messages(analyze("prod", watched_prod(drop=drop)), WATCHED, where)
    assert complaint in found


def test_an_alarm_that_notifies_nobody_does_not_count(analyze):
    (found,) = messages(analyze("prod", watched_prod(silent="memory")), WATCHED, "documentdb-0")
    assert "FreeableMemory" in found


def test_ecs_task_stops_must_be_reported_in_prod(analyze):
    (found,) = messages(analyze("prod", watched_prod(drop="stops")), WATCHED)
    assert "ECS Task State Change" in found


def test_outside_prod_missing_alarms_are_not_this_policys_business(analyze):
    assert messages(analyze("staging", watched_prod("staging", drop="throttled")), WATCHED) == []
