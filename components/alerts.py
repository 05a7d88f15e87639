"""Platform alerts: one encrypted SNS topic; ECS deployment failures, rollbacks and failed task stops routed to it.

Field report: ``ecs-circuit-breaker-rollback.md`` ("ECS retries silently when
tasks fail during deployment ... this can go unnoticed": alarm on task health
and on service deployment events; "alert on unusual task exit reasons, STOPPED
states"). A task that crashes or fails its health check outside a deployment
rolls nothing back, so every such stop is a message with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.identity import StackIdentity
from stack_config.services import AlertsConfig

# ECS says "rolling back" in the reason of the deployment that replaces a failed one (circuit breaker or alarms).
DEPLOYMENT_EVENTS = {
    "source": ["aws.ecs"],
    "detail-type": ["ECS Deployment State Change"],
    "detail": {
        "$or": [
            {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
            {"reason": [{"wildcard": "*rolling back*"}]},
        ]
    },
}


# Stops the scheduler or a person asked for (scale-in, a replaced revision, off-hours) are routine, whatever the code.
ROUTINE_STOPS = ["ServiceSchedulerInitiated", "UserInitiated"]


def task_stop_pattern(cluster_arn: str) -> str:
    """Tasks of this cluster that stopped on their own with a non-zero exit, or because they failed a health check.

    ECS words health-check stops as "Task failed ELB health checks in ..." or "Task failed container health
    checks"; the scheduler initiates those, so they are matched by reason, not by stop code.
    """
    return json.dumps(
        {
            "source": ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            "detail": {
                "clusterArn": [cluster_arn],
                "lastStatus": ["STOPPED"],
                "$or": [
                    {"stopCode": [{"anything-but": ROUTINE_STOPS}], "containers": {"exitCode": [{"anything-but": 0}]}},
                    {"stoppedReason": [{"wildcard": "*health check*"}]},
                ],
            },
        },
        sort_keys=True,
    )


def deployment_event_pattern(cluster_arn: str) -> str:
    """Deployment failures and rollbacks of the services in this stack's cluster only."""
    service_prefix = cluster_arn.replace(":cluster/", ":service/", 1) + "/"
    return json.dumps({**DEPLOYMENT_EVENTS, "resources": [{"prefix": service_prefix}]}, sort_keys=True)


@dataclass(frozen=True)
class AlertsArgs:
    identity: StackIdentity
    config: AlertsConfig
    ecs_cluster_arn: pulumi.Input[str] | None = None
    # Other EventBridge rules of this account that publish here (the org's security findings).
    publisher_rule_arns: Sequence[pulumi.Input[str]] = ()
    topic_component: str = "platform-alerts"  # the topic's name component


class Alerts(pulumi.ComponentResource):
    """The topic every alarm and deployment event of the stack goes to.

    Prevents: a deployment that failed and rolled back without anyone knowing
    (the circuit breaker recovers the service, not the release), and alarms
    whose notifications are silently dropped because EventBridge or CloudWatch
    may not publish to, or decrypt for, the topic.
    """

    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:observability:Alerts", name, None, opts)
        ident = args.identity
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        # A customer-managed key: the AWS-managed aws/sns key's policy cannot let EventBridge or CloudWatch
        # encrypt, so their messages to a topic under it would be dropped.
        key = aws.kms.Key(
            "alerts",
            description=f"{ident.label('alerts')}: SNS alert topic encryption",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=account.apply(self._key_policy),
            opts=child,
        )
        topic = aws.sns.Topic(
            "alerts",
            name=ident.name("aws:sns/topic:Topic", args.topic_component),
            kms_master_key_id=key.arn,
            opts=child,
        )
        for index, email in enumerate(args.config.emails):
            aws.sns.TopicSubscription(f"email-{index}", topic=topic.arn, protocol="email", endpoint=email, opts=child)
        rule_arn: pulumi.Output[str] | None = None
        stop_rule_arn: pulumi.Output[str] | None = None
        if args.ecs_cluster_arn is not None:
            cluster = pulumi.Output.from_input(args.ecs_cluster_arn)

            def route(
                key: str,
                component: str,
                description: str,
                pattern: Callable[[str], str],
                paths: dict[str, str],
                template: str,
            ) -> pulumi.Output[str]:
                """One EventBridge rule for this cluster's events, its message shaped to say why, to the topic."""
                rule = aws.cloudwatch.EventRule(
                    key,
                    name=ident.name("aws:cloudwatch/eventRule:EventRule", component),
                    description=description,
                    event_pattern=cluster.apply(pattern),
                    opts=child,
                )
                aws.cloudwatch.EventTarget(
                    key,
                    rule=rule.name,
                    arn=topic.arn,
                    input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                        input_paths=paths, input_template=template
                    ),
                    opts=child,
                )
                return rule.arn

            rule_arn = route(
                "ecs-deployments",
                "ecs-deploy-failures",
                "ECS deployments that failed or rolled back",
                deployment_event_pattern,
                {
                    "service": "$.resources[0]",
                    "event": "$.detail.eventName",
                    "reason": "$.detail.reason",
                    "deployment": "$.detail.deploymentId",
                },
                '"<event> on <service> (deployment <deployment>): <reason>"',
            )
            stop_rule_arn = route(
                "ecs-task-stops",
                "ecs-task-stops",
                "ECS tasks that exited non-zero or failed a health check",
                task_stop_pattern,
                {
                    "group": "$.detail.group",
                    "task": "$.detail.taskArn",
                    "code": "$.detail.stopCode",
                    "reason": "$.detail.stoppedReason",
                    "exit": "$.detail.containers[0].exitCode",
                    "revision": "$.detail.taskDefinitionArn",
                },
                '"Task stopped in <group> (<code>, first container exit <exit>): <reason>. Task <task>, revision <revision>"',
            )
        aws.sns.TopicPolicy(
            "alerts",
            arn=topic.arn,
            policy=pulumi.Output.all(
                topic.arn, account, rule_arn, stop_rule_arn, pulumi.Output.all(*args.publisher_rule_arns)
            ).apply(lambda parts: self._topic_policy(*parts)),
            opts=child,
        )
        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": self.topic_arn})

    @staticmethod
    def _key_policy(account: str) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    # The account administers the key through IAM, as for every other key (no lock-out).
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    # In a key policy "*" is the key itself. Only this account's alarms and rules may use it.
                    {
                        "Sid": "AlertSourcesEncrypt",
                        "Effect": "Allow",
                        "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                    },
                ],
            },
            sort_keys=True,
        )

    @staticmethod
    def _topic_policy(
        topic_arn: str,
        account: str,
        rule_arn: str | None,
        stop_rule_arn: str | None = None,
        publishers: Sequence[str] = (),
    ) -> str:
        """Who may publish to THIS topic: this account's alarms and, when there are some, the ECS rules and the
        other rules named in ``publishers``."""
        statements = [
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:*:{account}:alarm:*"},
                },
            }
        ]
        named = [("EcsDeploymentRulePublishes", rule_arn), ("EcsTaskStopRulePublishes", stop_rule_arn)]
        named += [(f"Rule{index}Publishes", arn) for index, arn in enumerate(publishers)]
        for sid, arn in named:
            if arn is None:
                continue
            statements.append(
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": arn}},
                }
            )
        return iam.document(*statements)
