"""Alerts: failed and rolled-back deployments reach people through an encrypted topic only they may publish to."""

from __future__ import annotations

import json

from components.alerts import deployment_event_pattern


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
    assert pattern["resources"] == [{"prefix": "arn:aws:ecs:eu-west-1:123456789012:service/shop-prod-services/"}]
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
        "ArnEquals": {"aws:SourceArn": "arn:aws:events:eu-west-1:123456789012:rule/shop-prod-ecs-deploy-failures"}
    }
    assert rule["inputs"]["name"] == "shop-prod-ecs-deploy-failures"
    assert by_sid["CloudWatchAlarmsPublish"]["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_pattern_is_scoped_to_the_cluster():
    pattern = json.loads(deployment_event_pattern("arn:aws:ecs:eu-west-1:1:cluster/c"))
    assert pattern["resources"] == [{"prefix": "arn:aws:ecs:eu-west-1:1:service/c/"}]
