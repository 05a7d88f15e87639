"""The metric names and dimension sets AWS (and MongoDB Atlas) publish, per namespace, with the page that says so.

An alarm on a metric nobody publishes is created without complaint and never fires: a
typo in a name, or a dimension that exists only on another resource kind (serverless
caches publish under ``clusterId``, node-based ones under ``CacheClusterId``; CDK's own
``ServerlessCacheName`` is such a mistake). The ``alarm-metric-published`` policy and
``tests/test_published_metrics.py`` hold every alarm, dashboard widget and Atlas alert
against this table, so the mistake fails a check instead of a night.

Only the metrics this platform watches are listed; adding one means adding it here with
its source. Namespaces outside AWS's own (``AWS/...``, ``ECS/ContainerInsights``) are an
application's custom metrics and are not judged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

Dims = frozenset[str]


def _dims(*names: str) -> Dims:
    return frozenset(names)


def _each(metrics: Iterable[str], *dimension_sets: Dims) -> dict[str, frozenset[Dims]]:
    return {metric: frozenset(dimension_sets) for metric in metrics}


_DOCDB_CLUSTER = _dims("DBClusterIdentifier")
_DOCDB_ROLE = _dims("DBClusterIdentifier", "Role")
_DOCDB_INSTANCE = _dims("DBInstanceIdentifier")
_SERVERLESS = _dims("clusterId")
_NODE = _dims("CacheClusterId")
_NODE_HOST = _dims("CacheClusterId", "CacheNodeId")
_ALB_TARGETS = _dims("LoadBalancer", "TargetGroup")
_ECS_SERVICE = _dims("ClusterName", "ServiceName")

# namespace -> metric -> the dimension sets it is published under.
PUBLISHED: dict[str, dict[str, frozenset[Dims]]] = {
    "AWS/ElastiCache": {
        **_each(
            (
                "BytesUsedForCache",
                "ElastiCacheProcessingUnits",
                "ThrottledCmds",
                "SuccessfulReadRequestLatency",
                "SuccessfulWriteRequestLatency",
                "TotalCmdsCount",
                "CacheHits",
                "NewConnections",
                "NetworkBytesIn",
                "NetworkBytesOut",
            ),
            _SERVERLESS,
        ),
        # Published by serverless caches and by nodes alike.
        **_each(("CacheHitRate", "CurrConnections", "Evictions"), _SERVERLESS, _NODE, _NODE_HOST),
        **_each(
            ("EngineCPUUtilization", "CPUUtilization", "DatabaseMemoryUsagePercentage", "ReplicationLag"),
            _NODE,
            _NODE_HOST,
        ),
    },
    "AWS/DocDB": {
        **_each(
            ("CPUUtilization", "FreeableMemory", "DatabaseConnections", "ReadLatency", "WriteLatency"),
            _DOCDB_INSTANCE,
            _DOCDB_CLUSTER,
            _DOCDB_ROLE,
        ),
        "DBInstanceReplicaLag": frozenset({_DOCDB_INSTANCE}),
        # Performance Insights publishes the session load per instance only.
        **_each(("DBLoad", "DBLoadCPU", "DBLoadNonCPU"), _DOCDB_INSTANCE),
        **_each(
            (
                "DBClusterReplicaLagMaximum",
                "DBClusterReplicaLagMinimum",
                "VolumeBytesUsed",
                "ChangeStreamLogSize",
                # Garbage collection (the "vacuum" of documentdb-vacuum-locks.md), cluster level.
                "AvailableMVCCIds",
                "LongestRunningGCProcess",
            ),
            _DOCDB_CLUSTER,
        ),
    },
    "AWS/ApplicationELB": _each(
        ("UnHealthyHostCount", "HealthyHostCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime", "RequestCount"),
        _ALB_TARGETS,
    ),
    "ECS/ContainerInsights": _each(
        ("DesiredTaskCount", "RunningTaskCount", "PendingTaskCount", "CpuUtilized", "MemoryUtilized"),
        _ECS_SERVICE,
    ),
    "AWS/ECS": _each(("CPUUtilization", "MemoryUtilization"), _ECS_SERVICE),
    # The edge: distributions report in us-east-1 with Region=Global; Lambda (and Lambda@Edge, per region
    # it ran in, as "us-east-1.<name>") by function; HTTP APIs by API id and stage.
    "AWS/CloudFront": _each(
        (
            "Requests",
            "BytesDownloaded",
            "4xxErrorRate",
            "5xxErrorRate",
            "TotalErrorRate",
            "OriginLatency",
            "CacheHitRate",
        ),
        _dims("DistributionId", "Region"),
    ),
    "AWS/Lambda": _each(
        ("Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"),
        _dims("FunctionName"),
        _dims("FunctionName", "Resource"),
        _dims("FunctionName", "ExecutedVersion"),
    ),
    "AWS/ApiGateway": _each(
        ("Count", "4xx", "5xx", "Latency", "IntegrationLatency"), _dims("ApiId"), _dims("ApiId", "Stage")
    ),
}

SOURCES: dict[str, tuple[str, ...]] = {
    "AWS/ElastiCache": (
        "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/serverless-metrics-events-redis.html",
        "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.Redis.html",
        "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.DimensionsAndSets.html",
    ),
    "AWS/DocDB": (
        "https://docs.aws.amazon.com/documentdb/latest/developerguide/cloud_watch.html",
        "https://docs.aws.amazon.com/documentdb/latest/developerguide/garbage-collection.html",
        "https://docs.aws.amazon.com/documentdb/latest/developerguide/performance-insights-cloudwatch.html",
    ),
    "AWS/ApplicationELB": (
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html",
    ),
    "ECS/ContainerInsights": (
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html",
    ),
    "AWS/ECS": ("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html",),
    "AWS/CloudFront": (
        "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/programming-cloudwatch-metrics.html",
    ),
    "AWS/Lambda": ("https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",),
    "AWS/ApiGateway": ("https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html",),
}

# MongoDB Atlas alert measurements (AlertConfiguration metricThresholdConfig.metricName) and their units.
ATLAS_METRICS: dict[str, frozenset[str]] = {
    "OPLOG_SLAVE_LAG_MASTER_TIME": frozenset({"SECONDS", "MINUTES", "HOURS"}),  # replication lag
    "NORMALIZED_SYSTEM_CPU_USER": frozenset({"RAW"}),  # percent of all cores
    "DISK_PARTITION_SPACE_USED_DATA": frozenset({"RAW"}),  # percent of the data disk
    "CONNECTIONS_PERCENT": frozenset({"RAW"}),  # percent of the tier's connection limit
}
ATLAS_SOURCE = "https://www.mongodb.com/docs/atlas/reference/alert-host-metrics/"


def judged(namespace: str) -> bool:
    """AWS's own namespaces are judged; an application's custom namespace is its own business."""
    return namespace.startswith("AWS/") or namespace in PUBLISHED


def metric_problem(namespace: str, metric: str, dimensions: Iterable[str]) -> str | None:
    """Why ``namespace``/``metric`` with these dimension names would never have data, or None."""
    if not judged(namespace):
        return None
    if namespace not in PUBLISHED:
        return (
            f"namespace {namespace!r} is not in policies/published_metrics.py "
            f"(known: {', '.join(sorted(PUBLISHED))}); add it with the AWS page that lists its metrics"
        )
    metrics = PUBLISHED[namespace]
    if metric not in metrics:
        return f"{namespace} publishes no metric {metric!r} (known: {', '.join(sorted(metrics))})"
    given = frozenset(dimensions)
    if given not in metrics[metric]:
        allowed = " or ".join("{" + ", ".join(sorted(d)) + "}" for d in sorted(metrics[metric], key=sorted))
        return f"{namespace} {metric} is published with dimensions {allowed}, not {{{', '.join(sorted(given))}}}"
    return None


def atlas_problem(metric: str, units: str | None) -> str | None:
    """Why an Atlas alert on ``metric`` in ``units`` would never fire as meant, or None."""
    if metric not in ATLAS_METRICS:
        return f"Atlas has no alert measurement {metric!r} (known: {', '.join(sorted(ATLAS_METRICS))}; {ATLAS_SOURCE})"
    if units is not None and units not in ATLAS_METRICS[metric]:
        return f"Atlas {metric} is measured in {', '.join(sorted(ATLAS_METRICS[metric]))}, not {units!r}"
    return None


# --- reading what a resource watches ------------------------------------------------------------------


def alarm_metrics(props: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric, dimensions) of an alarm: its own metric, or each metric of its metric math."""
    if props.get("metricName"):
        return [(str(props.get("namespace")), str(props["metricName"]), dict(props.get("dimensions") or {}))]
    found = []
    for query in props.get("metricQueries") or []:
        metric = query.get("metric") or {}
        if metric.get("metricName"):
            found.append(
                (str(metric.get("namespace")), str(metric["metricName"]), dict(metric.get("dimensions") or {}))
            )
    return found


def dashboard_metrics(body: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric, dimensions) of every fully spelled-out metric row of a dashboard body."""
    found = []
    for widget in json.loads(body).get("widgets") or []:
        if widget.get("type") != "metric":
            continue
        for row in (widget.get("properties") or {}).get("metrics") or []:
            names = [cell for cell in row if not isinstance(cell, dict)]
            if len(names) < 2 or any(cell in (".", "...") for cell in names):
                continue  # an expression or CloudWatch's "same as above" shorthand: nothing to look up
            namespace, metric, *pairs = names
            found.append((str(namespace), str(metric), dict(zip(pairs[::2], pairs[1::2], strict=False))))
    return found
