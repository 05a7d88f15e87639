"""One dashboard per environment, assembled from the sections components contribute."""

from __future__ import annotations

import json

import pytest

from components.dashboard import AlarmStatus, Graph, Metric, Section, layout, metric_row
from tests.conftest import SHIPPED_STACKS

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def region_of(preview, resource: dict) -> str:
    """The region a resource is created in: its provider's, as the snapshot recorded it."""
    (provider,) = [r for r in preview.resources() if r["urn"] == resource["provider"]]
    return provider["inputs"]["region"]


def stack_region(preview) -> str:
    (board,) = preview.resources(DASHBOARD)
    return region_of(preview, board)


def body(preview) -> dict:
    (board,) = preview.resources(DASHBOARD)
    return json.loads(board["inputs"]["dashboardBody"])


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_one_dashboard_per_environment_linked_from_the_outputs(shipped_preview, stack):
    preview = shipped_preview(stack)
    (board,) = preview.resources(DASHBOARD)
    name = board["inputs"]["dashboardName"]
    assert name == f"shop-{stack}-overview"
    url = preview.snapshot["outputs"]["dashboard_url"]
    region = stack_region(preview)
    assert url.startswith(f"https://{region}.console.aws.amazon.com/cloudwatch/") and url.endswith(f"/{name}")


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_alarm_of_the_stack_is_on_its_dashboard(shipped_preview, stack):
    preview = shipped_preview(stack)
    alarm_arns = {
        f"arn:aws:cloudwatch:{region_of(preview, a)}:{preview.snapshot['world']['account']}:alarm:{a['inputs']['name']}"
        for a in preview.resources(ALARM)
    }
    shown = {arn for w in body(preview)["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]}
    assert alarm_arns and shown == alarm_arns


def test_each_component_contributes_its_own_section(shipped_preview):
    prod = shipped_preview("prod")
    headers = [w["properties"]["markdown"] for w in body(prod)["widgets"] if w["type"] == "text"]
    services = sorted(prod.snapshot["outputs"]["services"])
    assert headers == [
        *[f"## Service {s}" for s in services],
        "## Cache (Valkey Serverless)",
        "## Document store: DocumentDB",
        "## Prerender renderer",
        "## CloudFront",
    ]


def test_graphs_are_per_minute_and_draw_the_alarm_line(shipped_preview):
    prod = shipped_preview("prod")
    graphs = {w["properties"]["title"]: w["properties"] for w in body(prod)["widgets"] if w["type"] == "metric"}
    assert {g["period"] for g in graphs.values()} == {60}
    storage = next(a for a in prod.resources(ALARM) if a["name"] == "cache-storage")["inputs"]
    assert graphs["Bytes stored"]["annotations"]["horizontal"][0]["value"] == storage["threshold"]


def test_sections_stack_three_widgets_a_row_and_skip_empty_sections():
    graph = Graph("g", [Metric("AWS/DocDB", "CPUUtilization", {"DBInstanceIdentifier": "a"})])
    widgets = layout(
        [
            Section("first", [AlarmStatus("alarms", ["arn"]), graph, graph, graph]),
            Section("empty"),
            Section("second", [graph]),
        ],
        "eu-west-1",
    )["widgets"]
    placed = [(w["type"], w["x"], w["y"]) for w in widgets]
    assert placed == [
        ("text", 0, 0),
        ("alarm", 0, 1),
        ("metric", 8, 1),
        ("metric", 16, 1),
        ("metric", 0, 7),
        ("text", 0, 13),
        ("metric", 0, 14),
    ]


def test_metric_rows_name_dimensions_in_a_stable_order():
    row = metric_row(
        Metric(
            "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"TargetGroup": "t", "LoadBalancer": "l"}, "Sum", "5xx"
        )
    )
    assert row == [
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        "LoadBalancer",
        "l",
        "TargetGroup",
        "t",
        {"stat": "Sum", "label": "5xx"},
    ]
