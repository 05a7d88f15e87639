"""Alerts: failed and rolled-back deployments reach people through an encrypted topic only they may publish to."""

from __future__ import annotations

import json

import pytest

from components.alerts import deployment_event_pattern
from tests.conftest import stack_account

PROD = stack_account("prod")


def test_topic_is_encrypted_with_a_key_alarms_and_events_may_use(shipped_preview):
    prod = shipped_preview("prod")
    topic = prod.one("aws:sns/topic:Topic", "alerts")
    key = prod.one("aws:kms/key:Key", "alerts")
    assert key["urn"] in topic["dependencies"] and topic["inputs"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert key["inputs"]["enableKeyRotation"] is True
    services = json.loads(key["inputs"]["policy"])["Statement"][1]["Principal"]["Service"]
    assert services == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]


def test_email_subscriptions_from_config(shipped_preview):
    endpoints = sorted(
        s["inputs"]["endpoint"]
        for s in shipped_preview("prod").resources("aws:sns/topicSubscription:TopicSubscription")
        if s["name"].startswith("email-")  # the edge's us-east-1 topic has its own, named edge-alerts-email-*
    )
    assert endpoints == ["oncall@example.com", "platform-team@example.com"]


def test_rule_catches_failed_and_rolled_back_deployments_of_this_cluster(shipped_preview):
    prod = shipped_preview("prod")
    pattern = json.loads(prod.one("aws:cloudwatch/eventRule:EventRule", "ecs-deployments")["inputs"]["eventPattern"])
    assert pattern["detail-type"] == ["ECS Deployment State Change"]
    assert {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]} in pattern["detail"]["$or"]
    assert {"reason": [{"wildcard": "*rolling back*"}]} in pattern["detail"]["$or"]
    assert pattern["resources"] == [{"prefix": f"arn:aws:ecs:eu-west-1:{PROD}:service/shop-prod-services/"}]
    target = prod.one("aws:cloudwatch/eventTarget:EventTarget", "ecs-deployments")["inputs"]
    assert target["arn"] == prod.snapshot["outputs"]["alerts_topic_arn"]


def test_only_this_rule_and_this_accounts_alarms_publish_to_this_topic(shipped_preview):
    prod = shipped_preview("prod")
    topic = prod.snapshot["outputs"]["alerts_topic_arn"]
    rule = prod.one("aws:cloudwatch/eventRule:EventRule", "ecs-deployments")
    policy = json.loads(prod.one("aws:sns/topicPolicy:TopicPolicy", "alerts")["inputs"]["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    events = by_sid["EcsDeploymentRulePublishes"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"} and events["Resource"] == topic
    assert events["Action"] == "sns:Publish"
    assert events["Condition"] == {
        "ArnEquals": {"aws:SourceArn": f"arn:aws:events:eu-west-1:{PROD}:rule/shop-prod-ecs-deploy-failures"}
    }
    assert rule["inputs"]["name"] == "shop-prod-ecs-deploy-failures"
    assert by_sid["CloudWatchAlarmsPublish"]["Condition"]["StringEquals"] == {"aws:SourceAccount": PROD}


def test_pattern_is_scoped_to_the_cluster():
    pattern = json.loads(deployment_event_pattern("arn:aws:ecs:eu-west-1:1:cluster/c"))
    assert pattern["resources"] == [{"prefix": "arn:aws:ecs:eu-west-1:1:service/c/"}]


# --- task stops: the real pattern, matched by moto's implementation of EventBridge's matching ---------------------

CLUSTER = f"arn:aws:ecs:eu-west-1:{PROD}:cluster/shop-prod-services"


def stopped_task(stop_code: str, reason: str, *exit_codes: int, cluster: str = CLUSTER) -> dict:
    """An 'ECS Task State Change' event as ECS sends it for a stopped task (the fields the rule reads)."""
    return {
        "source": "aws.ecs",
        "detail-type": "ECS Task State Change",
        "detail": {
            "clusterArn": cluster,
            "lastStatus": "STOPPED",
            "stopCode": stop_code,
            "stoppedReason": reason,
            "containers": [{"name": f"c{i}", "exitCode": code} for i, code in enumerate(exit_codes)],
        },
    }


def matches(pattern: str, event: dict) -> bool:
    """moto's EventBridge matcher, one container at a time.

    EventBridge matches a field inside an array of objects if any element matches; moto 5.2.5 does not
    descend into arrays of objects, so the event is offered once per container (the pattern reads one
    field of them, exitCode, which makes "any container" and "any copy" the same question).
    """
    from moto.events.models import EventPattern

    compiled = EventPattern.load(pattern)
    containers = event["detail"]["containers"] or [{}]
    return any(
        compiled.matches_event({**event, "detail": {**event["detail"], "containers": one}}) for one in containers
    )


@pytest.mark.parametrize(
    ("event", "alert"),
    [
        (stopped_task("EssentialContainerExited", "Essential container in task exited", 1), True),  # a crash
        (stopped_task("EssentialContainerExited", "Essential container in task exited", 0, 137), True),  # a sidecar
        (stopped_task("ServiceSchedulerInitiated", "Task failed ELB health checks in (target-group arn)", 143), True),
        (stopped_task("ServiceSchedulerInitiated", "Task failed container health checks", 0), True),
        (stopped_task("ServiceSchedulerInitiated", "Scaling activity initiated by deployment", 143), False),
        (stopped_task("ServiceSchedulerInitiated", "Service scaled in (off hours)", 0), False),
        (stopped_task("UserInitiated", "Task stopped by user", 137), False),
        (stopped_task("EssentialContainerExited", "Essential container in task exited", 0), False),  # finished fine
        (stopped_task("EssentialContainerExited", "exited", 1, cluster=CLUSTER.replace("prod", "dev")), False),
    ],
)
def test_task_stops_that_need_a_human_reach_the_topic_and_routine_ones_do_not(shipped_preview, event, alert):
    pattern = shipped_preview("prod").one("aws:cloudwatch/eventRule:EventRule", "ecs-task-stops")["inputs"]
    assert matches(pattern["eventPattern"], event) is alert


def test_task_stop_message_says_why(shipped_preview):
    prod = shipped_preview("prod")
    target = prod.one("aws:cloudwatch/eventTarget:EventTarget", "ecs-task-stops")["inputs"]
    assert target["arn"] == prod.snapshot["outputs"]["alerts_topic_arn"]
    paths = target["inputTransformer"]["inputPaths"]
    assert paths["reason"] == "$.detail.stoppedReason" and paths["exit"] == "$.detail.containers[0].exitCode"
    assert "<reason>" in target["inputTransformer"]["inputTemplate"]
    rule = prod.one("aws:cloudwatch/eventRule:EventRule", "ecs-task-stops")
    policy = json.loads(prod.one("aws:sns/topicPolicy:TopicPolicy", "alerts")["inputs"]["policy"])
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == "EcsTaskStopRulePublishes"]
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": f"arn:aws:events:eu-west-1:{PROD}:rule/{rule['inputs']['name']}"}
    }


def test_the_sync_task_runs_in_the_watched_cluster(shipped_preview):
    staging = shipped_preview("staging")
    (sync,) = [s for s in staging.resources("aws:ecs/service:Service") if s["name"] == "docsync"]
    (_one_cluster,) = staging.resources("aws:ecs/cluster:Cluster")  # no docsync cluster of its own
    pattern = json.loads(staging.one("aws:cloudwatch/eventRule:EventRule", "ecs-task-stops")["inputs"]["eventPattern"])
    assert sync["inputs"]["cluster"] in pattern["detail"]["clusterArn"]
