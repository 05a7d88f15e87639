"""Every alarm, dashboard graph and Atlas alert of every shipped stack watches a metric its service publishes.

The table (``policies/published_metrics.py``) is transcribed from the services' documentation pages it
cites; these tests hold the snapshots to it, so a typo in a metric or dimension fails here instead of
creating an alarm that never fires.
"""

from __future__ import annotations

import json

import pytest

from policies import published_metrics
from policies.published_metrics import alarm_metrics, dashboard_metrics
from tests.conftest import SHIPPED_STACKS


def watched(snapshot: dict) -> list[tuple[str, str, str, dict]]:
    """(resource name, namespace, metric, dimensions) for everything in a snapshot that watches a metric."""
    found = []
    for r in snapshot["resources"]:
        if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm":
            found += [(r["name"], *m) for m in alarm_metrics(r["inputs"])]
        elif r["type"] == "aws:cloudwatch/dashboard:Dashboard":
            found += [(r["name"], *m) for m in dashboard_metrics(r["inputs"]["dashboardBody"])]
    return found


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_alarm_and_graph_watches_a_published_metric(shipped_preview, stack):
    metrics = watched(shipped_preview(stack).snapshot)
    assert len(metrics) > 20  # the data tier, the services and the dashboard are all there
    problems = [
        f"{name}: {problem}"
        for name, namespace, metric, dims in metrics
        if (problem := published_metrics.metric_problem(namespace, metric, dims))
    ]
    assert problems == []


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_atlas_alert_names_an_atlas_measurement(shipped_preview, stack):
    alerts = shipped_preview(stack).resources("mongodbatlas:index/alertConfiguration:AlertConfiguration")
    configs = [a["inputs"]["metricThresholdConfig"] for a in alerts]
    assert len(configs) == (0 if stack.startswith("prod") else 4)  # prod (and its DR copy) is still on DocumentDB
    assert [c for c in configs if published_metrics.atlas_problem(c["metricName"], c.get("units"))] == []


def test_every_namespace_cites_where_its_metrics_are_published():
    assert set(published_metrics.SOURCES) == set(published_metrics.PUBLISHED)
    assert all(
        url.startswith("https://docs.aws.amazon.com/") for urls in published_metrics.SOURCES.values() for url in urls
    )


@pytest.mark.parametrize(
    ("namespace", "metric", "dimensions"),
    [
        ("AWS/ElastiCache", "ThrottledCmds", ["ServerlessCacheName"]),  # CDK's name for it; AWS says clusterId
        ("AWS/ElastiCache", "ThrottledCmds", ["CacheClusterId"]),  # a node's dimension on a serverless metric
        ("AWS/ElastiCache", "EngineCPUUtilization", ["clusterId"]),  # a node metric on a serverless cache
        ("AWS/DocDB", "FreeableMemory", ["DBInstanceIdentifier", "DBClusterIdentifier"]),  # no such set
        ("AWS/DocDB", "FreeableMemorys", ["DBInstanceIdentifier"]),
        # AWS's own, but not in the table: add it with its page first.
        ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", ["StreamName"]),
    ],
)
def test_the_table_refuses_what_would_never_have_data(namespace, metric, dimensions):
    assert published_metrics.metric_problem(namespace, metric, dimensions)


def test_the_table_leaves_application_namespaces_alone():
    assert published_metrics.metric_problem("Prerender", "RenderErrors", ["service"]) is None


def test_a_widget_spelled_with_shorthand_is_skipped_not_misread():
    body = {
        "widgets": [
            {
                "type": "metric",
                "properties": {
                    "metrics": [["AWS/DocDB", "CPUUtilization", "DBInstanceIdentifier", "a"], [".", ".", ".", "b"]]
                },
            }
        ]
    }
    assert dashboard_metrics(json.dumps(body)) == [("AWS/DocDB", "CPUUtilization", {"DBInstanceIdentifier": "a"})]
