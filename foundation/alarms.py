"""CloudWatch alarms the way every component raises them: convention name, why in the description, to the topic."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from foundation.identity import StackIdentity

ALARM_TYPE = "aws:cloudwatch/metricAlarm:MetricAlarm"


def metric_alarm(
    resource_name: str,
    identity: StackIdentity,
    component: str,
    description: str,
    topic_arn: pulumi.Input[str] | None,
    parent: pulumi.Resource,
    *,
    treat_missing_data: str = "notBreaching",
    **metric: Any,
) -> aws.cloudwatch.MetricAlarm:
    """An alarm named ``{context}-{stage}-{component}`` that tells the alerts topic when it fires and when it clears.

    Missing data is "not breaching" unless the caller says otherwise: most of these metrics are
    published only while there is traffic (throttles, session load), and silence is not a failure.
    """
    actions = [topic_arn] if topic_arn is not None else []
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        name=identity.name(ALARM_TYPE, component),
        alarm_description=description,
        treat_missing_data=treat_missing_data,
        alarm_actions=actions,
        ok_actions=actions,
        opts=pulumi.ResourceOptions(parent=parent),
        **metric,
    )
