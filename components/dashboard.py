"""One CloudWatch dashboard per environment, assembled from what each component contributes.

The contract is small on purpose: a component that wants to be on the dashboard exposes
``dashboard: Section`` (a title and its widgets), and ``__main__.py`` hands every section
to ``Dashboard``. A component never creates a dashboard of its own, so an environment has
exactly one place to look (``documentdb-to-mongodb-atlas.md``: Atlas's own charts average
an hour, which hid the peaks; here every graph is per minute, next to its alarm line).

    cache.dashboard = Section("Cache", [Graph("Throttled commands", [Metric(...)], threshold=0)])
    Dashboard("dashboard", DashboardArgs(identity, [cache.dashboard, documents.dashboard]))
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from foundation.identity import StackIdentity

COLUMNS = 24  # CloudWatch's grid width
GRAPH_WIDTH, GRAPH_HEIGHT = 8, 6  # three graphs a row


@dataclass(frozen=True)
class Metric:
    """One published metric (``policies/published_metrics.py`` holds its name and dimensions to AWS's list)."""

    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    stat: str = "Average"
    label: str | None = None


@dataclass(frozen=True)
class Graph:
    """A time series of one or more metrics; ``threshold`` draws the alarm's line on it."""

    title: str
    metrics: Sequence[Metric]
    threshold: float | None = None
    period: int = 60  # per minute: an hourly average hides exactly the peaks an alarm is for


@dataclass(frozen=True)
class AlarmStatus:
    """The state of a component's alarms at a glance."""

    title: str
    alarm_arns: Sequence[pulumi.Input[str]]


Widget = Graph | AlarmStatus


@dataclass(frozen=True)
class Section:
    """What one component contributes: a header and its widgets, laid out in rows of three."""

    title: str
    widgets: Sequence[Widget] = field(default_factory=list)


@dataclass(frozen=True)
class DashboardArgs:
    identity: StackIdentity
    sections: Sequence[Section]


def metric_row(metric: Metric) -> list[Any]:
    """CloudWatch's metric array: namespace, name, then dimension name/value pairs, then rendering options."""
    row: list[Any] = [metric.namespace, metric.name]
    for key in sorted(metric.dimensions):
        row += [key, metric.dimensions[key]]
    options: dict[str, Any] = {"stat": metric.stat}
    if metric.label:
        options["label"] = metric.label
    return [*row, options]


def widget_properties(widget: Widget, region: str) -> tuple[str, dict[str, Any]]:
    if isinstance(widget, AlarmStatus):
        return "alarm", {"title": widget.title, "alarms": list(widget.alarm_arns)}
    properties: dict[str, Any] = {
        "title": widget.title,
        "region": region,
        "view": "timeSeries",
        "period": widget.period,
        "metrics": [metric_row(m) for m in widget.metrics],
    }
    if widget.threshold is not None:
        properties["annotations"] = {"horizontal": [{"label": "alarm", "value": widget.threshold}]}
    return "metric", properties


def layout(sections: Sequence[Section], region: str) -> dict[str, Any]:
    """The dashboard body: each section a header row, then its widgets three to a row (inputs unresolved)."""
    widgets: list[dict[str, Any]] = []
    y = 0
    for section in sections:
        if not section.widgets:
            continue
        widgets.append(
            {
                "type": "text",
                "x": 0,
                "y": y,
                "width": COLUMNS,
                "height": 1,
                "properties": {"markdown": f"## {section.title}"},
            }
        )
        y += 1
        for index, widget in enumerate(section.widgets):
            kind, properties = widget_properties(widget, region)
            column = index % (COLUMNS // GRAPH_WIDTH)
            if index and column == 0:
                y += GRAPH_HEIGHT
            widgets.append(
                {
                    "type": kind,
                    "x": column * GRAPH_WIDTH,
                    "y": y,
                    "width": GRAPH_WIDTH,
                    "height": GRAPH_HEIGHT,
                    "properties": properties,
                }
            )
        y += GRAPH_HEIGHT
    return {"widgets": widgets}


def console_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


class Dashboard(pulumi.ComponentResource):
    """The environment's one dashboard: every component's section, per-minute graphs with their alarm lines.

    Prevents: peaks hidden by hourly averages (``documentdb-to-mongodb-atlas.md``) and an
    incident spent hunting for the right console page across services.
    """

    name: str
    url: str

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:observability:Dashboard", name, None, opts)
        ident = args.identity
        self.name = ident.name("aws:cloudwatch/dashboard:Dashboard", "overview")
        body = pulumi.Output.from_input(layout(args.sections, ident.region)).apply(
            lambda resolved: json.dumps(resolved, sort_keys=True)
        )
        aws.cloudwatch.Dashboard(
            "overview", dashboard_name=self.name, dashboard_body=body, opts=pulumi.ResourceOptions(parent=self)
        )
        self.url = console_url(ident.region, self.name)
        self.register_outputs({"url": self.url})
