"""Observability: alarms that can fire, and prod data stores that have them.

Field reports: ``redis-to-valkey-serverless.md`` (past its maximums a serverless cache
throttles instead of scaling), ``documentdb-vacuum-locks.md`` (hours of lock waves on the
replicas after a bulk rewrite, found by replica latency, freeable memory and Performance
Insights), ``documentdb-to-mongodb-atlas.md`` (Atlas charts averaged an hour and hid the
peaks) and ``ecs-circuit-breaker-rollback.md`` (tasks failing silently outside deployments).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import published_metrics
from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from rules.docs import url
from rules.resource import stage_of

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
ATLAS_ALERT = "mongodbatlas:index/alertConfiguration:AlertConfiguration"
SERVERLESS_CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
DOCDB_CLUSTER = "aws:docdb/cluster:Cluster"
DOCDB_INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
ATLAS_CLUSTER = "mongodbatlas:index/advancedCluster:AdvancedCluster"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"

# What a prod data store must be watched on: (namespace, metric, dimension) per resource kind.
REQUIRED = {
    SERVERLESS_CACHE: ("clusterId", ("ThrottledCmds", "ElastiCacheProcessingUnits", "BytesUsedForCache")),
    DOCDB_CLUSTER: ("DBClusterIdentifier", ("AvailableMVCCIds", "LongestRunningGCProcess")),
    DOCDB_INSTANCE: ("DBInstanceIdentifier", ("FreeableMemory", "CPUUtilization", "DBLoadNonCPU")),
}
NAME_FIELD = {SERVERLESS_CACHE: "name", DOCDB_CLUSTER: "clusterIdentifier", DOCDB_INSTANCE: "identifier"}
ATLAS_REQUIRED = (
    "OPLOG_SLAVE_LAG_MASTER_TIME",
    "NORMALIZED_SYSTEM_CPU_USER",
    "DISK_PARTITION_SPACE_USED_DATA",
    "CONNECTIONS_PERCENT",
)


# --- every alarm's metric is one AWS publishes ----------------------------------------------


def _published(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == ALARM:
        metrics = published_metrics.alarm_metrics(props)
    elif args.resource_type == DASHBOARD and isinstance(props.get("dashboardBody"), str):
        metrics = published_metrics.dashboard_metrics(props["dashboardBody"])
    elif args.resource_type == ATLAS_ALERT:
        config = props.get("metricThresholdConfig") or {}
        if config.get("metricName"):
            problem = published_metrics.atlas_problem(str(config["metricName"]), config.get("units"))
            if problem:
                report(f"alert '{args.name}': {problem}", None)
        return
    else:
        return
    for namespace, metric, dimensions in metrics:
        problem = published_metrics.metric_problem(namespace, metric, dimensions)
        if problem:
            report(
                f"'{args.name}' watches a metric that never has data: {problem} (policies/published_metrics.py)", None
            )


alarm_metric_published = ResourceValidationPolicy(
    name="alarm-metric-published",
    description=(
        "Alarms, dashboard graphs and Atlas alerts use metric names and dimensions their service publishes "
        "(policies/published_metrics.py, each from the service's documentation): a typo or another resource "
        "kind's dimension creates an alarm that never fires."
    ),
    validate=_published,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Use the metric name and dimensions the service publishes (policies/published_metrics.py lists them with "
        "their documentation); correct the typo or the dimension."
    ),
    url=url("alarm-metric-published"),
)


# --- prod data stores are watched ------------------------------------------------------------


def _watched(alarms: Iterable[Any]) -> dict[tuple[str, str], set[str]]:
    """(dimension name, value) -> the metrics alarmed on it, counting only alarms that notify someone."""
    watched: dict[tuple[str, str], set[str]] = {}
    for alarm in alarms:
        if not alarm.props.get("alarmActions"):
            continue
        for _namespace, metric, dimensions in published_metrics.alarm_metrics(alarm.props):
            for key, value in dimensions.items():
                watched.setdefault((key, str(value)), set()).add(metric)
    return watched


def _data_store_alarms(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    if not resources or stage_of(resources[0]) != "prod":
        return
    watched = _watched(r for r in resources if r.resource_type == ALARM)
    for resource in resources:
        if resource.resource_type not in REQUIRED:
            continue
        dimension, metrics = REQUIRED[resource.resource_type]
        name = resource.props.get(NAME_FIELD[resource.resource_type])
        if not isinstance(name, str):
            continue  # a computed name: nothing to match on at preview
        missing = [m for m in metrics if m not in watched.get((dimension, name), set())]
        if missing:
            report(
                f"'{name}' has no alarm that notifies anyone on {', '.join(missing)} ({dimension}={name}): "
                f"prod data stores must say when they are in trouble (docs/observability.md)",
                resource.urn,
            )
    alerts: dict[str, set[str]] = {}
    for alert in (r for r in resources if r.resource_type == ATLAS_ALERT):
        if not alert.props.get("notifications"):
            continue
        measurement = (alert.props.get("metricThresholdConfig") or {}).get("metricName")
        for matcher in alert.props.get("matchers") or []:
            if matcher.get("fieldName") == "CLUSTER_NAME" and matcher.get("operator") == "EQUALS":
                alerts.setdefault(str(matcher.get("value")), set()).add(str(measurement))
    for cluster in (r for r in resources if r.resource_type == ATLAS_CLUSTER):
        name = cluster.props.get("name")
        missing = [m for m in ATLAS_REQUIRED if m not in alerts.get(str(name), set())]
        if isinstance(name, str) and missing:
            report(
                f"Atlas cluster '{name}' has no alert configuration with a notification for {', '.join(missing)}: "
                f"Atlas's charts average an hour and hid the peaks (documentdb-to-mongodb-atlas.md)",
                cluster.urn,
            )
    if any(r.resource_type == ECS_CLUSTER for r in resources):
        stops = [r for r in resources if r.resource_type == EVENT_RULE and _watches_task_stops(r.props)]
        if not stops:
            report(
                "no EventBridge rule reports ECS tasks that stop (ECS Task State Change, lastStatus STOPPED): a task "
                "crashing outside a deployment rolls nothing back and tells no one (ecs-circuit-breaker-rollback.md)",
                None,
            )


def _watches_task_stops(props: Mapping[str, Any]) -> bool:
    pattern = props.get("eventPattern")
    if not isinstance(pattern, str):
        return False
    parsed = json.loads(pattern)
    detail = parsed.get("detail") or {}
    return "ECS Task State Change" in (parsed.get("detail-type") or []) and "STOPPED" in (
        detail.get("lastStatus") or []
    )


data_store_alarms = StackValidationPolicy(
    name="prod-data-store-alarms",
    description=(
        "In prod, every serverless cache (throttling, ECPU, storage), DocumentDB cluster (garbage collection) and "
        "instance (memory, CPU, lock waits) has alarms that notify, every Atlas cluster has alerts on replication "
        "lag, CPU, disk and connections, and ECS task stops are reported: incidents of the field reports no alarm "
        "here would have caught."
    ),
    validate=_data_store_alarms,
    severity=Severity.HIGH,
    remediation_steps=(
        "Create the store through its component with alarms on (components/alerts.py wires them to the stack's "
        "topic); for Atlas, the project's alert configurations."
    ),
    url=url("prod-data-store-alarms"),
)

POLICIES = [alarm_metric_published, data_store_alarms]
