"""One ECS service behind the shared load balancer, deployed so that a bad release rolls itself back.

Field reports: ``ecs-circuit-breaker-rollback.md`` (a port change sent tasks
into a PENDING -> RUNNING -> STOPPED loop behind 502s for 75 minutes: circuit
breaker with rollback, image by digest so every release is a new task
definition revision, at least 2 tasks, min healthy 50 % / max 200 %, alarms on
unhealthy hosts and running tasks, off-hours scaling that does not hide a
broken image), ``ec2-to-ecs-fargate-migration.md`` (separate execution and task
roles, one security group per service, secrets from Secrets Manager/SSM, logs
from day one) and ``ecs-cluster-capacity-scaling.md`` (target tracking, binpack
on EC2).

The circuit breaker's failure threshold: AWS made it configurable, but the
pinned pulumi-aws 7.51.1 ``ServiceDeploymentCircuitBreakerArgs`` has only
``enable`` and ``rollback``, so ECS's default threshold applies (README).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.dashboard import AlarmStatus, Graph, Metric, Section
from foundation import iam, tagging
from foundation.identity import StackIdentity
from stack_config.services import ServiceConfig

ECS_TASKS = "ecs-tasks.amazonaws.com"
# ECS-native blue/green, linear and canary shift traffic by editing the listener rule's weights with this role.
LB_INFRASTRUCTURE_POLICY = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
ARCHITECTURES = {"linux/amd64": "X86_64", "linux/arm64": "ARM64"}


@dataclass(frozen=True)
class EcsServiceArgs:
    identity: StackIdentity
    config: ServiceConfig
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    image_ref: pulumi.Input[str]  # "<repository url>@sha256:<hex>"
    repository_arn: pulumi.Input[str]
    listener_arn: pulumi.Input[str]
    alb_security_group_id: pulumi.Input[str]
    alb_arn_suffix: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str] | None = None
    log_retention_days: int = 14
    ec2_capacity_provider: pulumi.Input[str] | None = None
    # The cluster's capacity provider association: a service's strategy names its providers, so it starts after.
    capacity_providers: pulumi.Resource | None = None
    # The full ARN of every Secrets Manager secret config names by bare name (what valueFrom must say).
    secret_arns: pulumi.Input[Mapping[str, str]] | None = None
    # What must exist before the first task starts: the values (and read grants) of the secrets it references.
    # An Output because the data tier that creates them is built after the services it admits.
    starts_after: pulumi.Input[Sequence[pulumi.Resource]] | None = None


def refuse_unsafe(config: ServiceConfig, identity: StackIdentity) -> None:
    """What the config loader already refuses, refused again for callers that build ``ServiceConfig`` themselves."""
    if identity.protected and min(config.desired_count, config.min_count) < 2:
        raise ValueError(
            f"service '{config.name}': prod runs at least 2 tasks (desiredCount {config.desired_count}, "
            f"minCount {config.min_count}); with one, a failed deployment rolls back in 20 minutes"
        )
    if identity.protected and config.off_hours is not None:
        raise ValueError(f"service '{config.name}': offHours is not allowed in prod")
    if config.health_check_port is not None and config.health_check_port != config.port:
        raise ValueError(
            f"service '{config.name}': healthCheckPort {config.health_check_port} differs from the container port "
            f"{config.port} (allowed: {config.port}). Every task would fail its health check and be replaced "
            f"forever: the 502 death spiral of ecs-circuit-breaker-rollback.md"
        )


def secret_reference(
    value: str, region: str, account: str, secret_arns: Mapping[str, str] | None = None
) -> tuple[str, str, str]:
    """``(valueFrom, IAM resource, IAM action)`` for one entry of ``secrets``.

    ECS takes a Secrets Manager secret by its full ARN only (a bare name works for SSM parameters in the
    same region, not for secrets): a name in ``valueFrom`` stops every task with ResourceInitializationError
    and the first deployment fails (issue 21). ``secret_arns`` maps each configured name to the ARN AWS gave it.
    """
    if value.startswith("ssm:"):
        arn = f"arn:aws:ssm:{region}:{account}:parameter{value[len('ssm:') :]}"
        return arn, arn, "ssm:GetParameters"
    if value.startswith("arn:"):
        # A JSON key or version after the name ("...:secret:name-AbCdEf:key::") is not part of the resource.
        return value, ":".join(value.split(":")[:7]), "secretsmanager:GetSecretValue"
    # A bare name: IAM matches its ARN, whose 6-character suffix AWS picks, with the documented '-??????'.
    resource = f"arn:aws:secretsmanager:{region}:{account}:secret:{value}-??????"
    if secret_arns is None:
        return value, resource, "secretsmanager:GetSecretValue"  # the grant alone needs no ARN
    if value not in secret_arns:
        raise ValueError(
            f"secret {value!r}: no ARN known for it (known: {', '.join(sorted(secret_arns)) or 'none'}); "
            "ECS needs a Secrets Manager secret's full ARN"
        )
    return secret_arns[value], resource, "secretsmanager:GetSecretValue"


SCRATCH_VOLUME = "tmp"
TASK_EGRESS_PORT = 443  # AWS APIs (ECR, logs, Secrets Manager) and HTTPS dependencies; data stores add their own


def container_definitions(
    config: ServiceConfig,
    image_ref: str,
    log_group: str,
    region: str,
    account: str,
    secret_arns: Mapping[str, str] | None = None,
) -> str:
    secrets = [
        {"name": env, "valueFrom": secret_reference(ref, region, account, secret_arns or {})[0]}
        for env, ref in sorted(config.secrets.items())
    ]
    return json.dumps(
        [
            {
                "name": config.name,
                "image": image_ref,
                "essential": True,
                "portMappings": [{"containerPort": config.port, "protocol": "tcp"}],
                "environment": [{"name": k, "value": v} for k, v in sorted(config.environment.items())],
                "secrets": secrets,
                # Read-only root filesystem: a compromised process cannot rewrite the app or drop tools into
                # it. /tmp is the writable scratch space (a task-local volume, gone with the task).
                "readonlyRootFilesystem": True,
                "mountPoints": [{"sourceVolume": SCRATCH_VOLUME, "containerPath": "/tmp", "readOnly": False}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": log_group,
                        "awslogs-region": region,
                        "awslogs-stream-prefix": config.name,
                    },
                },
            }
        ],
        sort_keys=True,
    )


def off_hours_schedules(config: ServiceConfig) -> dict[str, tuple[str, int, int]]:
    """``{"stop"|"start": (cron, min, max)}``: to 0 in the evening, back to the configured range in the morning."""
    off = config.off_hours
    if off is None:
        return {}
    days = "MON-FRI" if off.weekdays_only else "*"

    def cron(clock: str) -> str:
        hour, minute = (int(part) for part in clock.split(":"))
        return f"cron({minute} {hour} ? * {days} *)"

    return {"stop": (cron(off.stop), 0, 0), "start": (cron(off.start), config.min_count, config.max_count)}


class EcsService(pulumi.ComponentResource):
    """A load-balanced ECS service whose bad deployments roll back on their own and are reported.

    Prevents: the 502 death spiral (target group and health check on the
    container port, refused otherwise), deployments the circuit breaker cannot
    see (image by digest), slow rollbacks (2+ tasks in prod, 50/200 %),
    silent failures (deployment alarms with rollback), over-broad roles (an
    execution role for its own image, logs and secrets; a task role with only
    what config grants) and services reachable other than through the ALB.
    """

    security_group_id: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]
    task_role_name: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]
    service_name: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]  # the revision the deploy gate proves is running
    log_group_name: pulumi.Output[str]
    alarm_names: list[pulumi.Output[str]]
    dashboard: Section

    def __init__(self, name: str, args: EcsServiceArgs, opts: pulumi.ResourceOptions | None = None):
        refuse_unsafe(args.config, args.identity)  # before anything is registered
        super().__init__("platform:containers:EcsService", name, None, opts)
        self._prefix = name  # children are named after the service: two services never share a URN
        ident, cfg = args.identity, args.config
        self._child = pulumi.ResourceOptions(parent=self)
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        self._account = caller.account_id

        log_group = aws.cloudwatch.LogGroup(
            f"{self._prefix}-logs",
            name=ident.path("ecs", cfg.name),
            retention_in_days=args.log_retention_days,
            opts=self._child,
        )
        execution_role = self._execution_role(args, log_group)
        task_role = self._task_role(args)
        sg = self._security_group(args)
        target_group = self._target_group(args, "tg", cfg.name)
        alternate = (
            self._target_group(args, "tg-alt", f"{cfg.name}-alt") if cfg.deployment.strategy != "ROLLING" else None
        )
        rule = self._listener_rule(args, target_group, alternate)
        task_definition = self._task_definition(args, log_group, execution_role, task_role)
        alarms = self._alarms(args, target_group)
        service = self._service(args, task_definition, target_group, alternate, rule, sg, alarms)
        if cfg.autoscaled:
            self._autoscaling(args, service)

        self.security_group_id = sg.id
        self.task_role_arn = task_role.arn
        self.task_role_name = task_role.name
        self.execution_role_arn = execution_role.arn
        self.service_name = service.name
        self.target_group_arn = target_group.arn
        self.task_definition_arn = task_definition.arn
        self.log_group_name = log_group.name
        self.alarm_names = [a.name for a in alarms]
        self.dashboard = self._dashboard(args, target_group, alarms)
        self.register_outputs(
            {
                "security_group_id": self.security_group_id,
                "task_role_arn": self.task_role_arn,
                "service_name": self.service_name,
            }
        )

    # --- identity ------------------------------------------------------------

    def _trust(self, region: str) -> pulumi.Output[str]:
        # Only ECS tasks of this account and region may assume it (confused-deputy guard).
        return self._account.apply(
            lambda acct: iam.assume_role_policy(
                ECS_TASKS,
                condition={
                    "StringEquals": {"aws:SourceAccount": acct},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{region}:{acct}:*"},
                },
            )
        )

    def _execution_role(self, args: EcsServiceArgs, log_group: aws.cloudwatch.LogGroup) -> aws.iam.Role:
        """What ECS needs to start the task: pull its image, write its logs, read its secrets. Nothing else."""
        ident, cfg = args.identity, args.config
        role = aws.iam.Role(
            f"{self._prefix}-execution",
            name=ident.name("aws:iam/role:Role", f"{cfg.name}-execution"),
            description=f"ECS starts {cfg.name}: its image, its log group, its secrets",
            assume_role_policy=self._trust(ident.region),
            opts=self._child,
        )

        def policy(parts: list) -> str:
            repository_arn, log_group_arn, account = parts
            statements = [
                iam.statement(
                    ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    repository_arn,
                    sid="PullOwnImage",
                ),
                # GetAuthorizationToken has no resource: it logs in to the whole registry. What the token can
                # pull is decided by the statement above and the repository policy.
                iam.statement(["ecr:GetAuthorizationToken"], "*", sid="RegistryLogin"),
                iam.statement(["logs:CreateLogStream", "logs:PutLogEvents"], f"{log_group_arn}:*", sid="OwnLogs"),
            ]
            by_action: dict[str, set[str]] = {}
            for ref in cfg.secrets.values():
                _, resource, action = secret_reference(ref, ident.region, account)
                by_action.setdefault(action, set()).add(resource)
            for action, resources in sorted(by_action.items()):
                statements.append(iam.statement([action], resources, sid="OwnSecrets" + action.split(":")[0].title()))
            return iam.document(*statements)

        aws.iam.RolePolicy(
            f"{self._prefix}-execution",
            role=role.id,
            policy=pulumi.Output.all(args.repository_arn, log_group.arn, self._account).apply(policy),
            opts=self._child,
        )
        return role

    def _task_role(self, args: EcsServiceArgs) -> aws.iam.Role:
        """What the application may call: only the statements and managed policies its config lists."""
        ident, cfg = args.identity, args.config
        role = aws.iam.Role(
            f"{self._prefix}-task",
            name=ident.name("aws:iam/role:Role", f"{cfg.name}-task"),
            description=f"the {cfg.name} application's own permissions",
            assume_role_policy=self._trust(ident.region),
            opts=self._child,
        )
        if cfg.task_policy_statements:
            aws.iam.RolePolicy(
                f"{self._prefix}-task", role=role.id, policy=iam.document(*cfg.task_policy_statements), opts=self._child
            )
        for index, arn in enumerate(cfg.managed_policy_arns):
            aws.iam.RolePolicyAttachment(
                f"{self._prefix}-task-{index}", role=role.name, policy_arn=arn, opts=self._child
            )
        return role

    # --- network and load balancing -------------------------------------------

    def _security_group(self, args: EcsServiceArgs) -> aws.ec2.SecurityGroup:
        ident, cfg = args.identity, args.config
        sg = aws.ec2.SecurityGroup(
            f"{self._prefix}-tasks",
            name=ident.name("aws:ec2/securityGroup:SecurityGroup", f"svc-{cfg.name}"),
            description=f"{cfg.name} tasks: from the load balancer only",
            vpc_id=args.vpc_id,
            tags={"Name": ident.label(f"svc-{cfg.name}")},
            opts=self._child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{self._prefix}-from-alb",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=cfg.port,
            to_port=cfg.port,
            referenced_security_group_id=args.alb_security_group_id,
            description="the load balancer, on the container port only",
            opts=self._child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{self._prefix}-alb-to-tasks",
            security_group_id=args.alb_security_group_id,
            ip_protocol="tcp",
            from_port=cfg.port,
            to_port=cfg.port,
            referenced_security_group_id=sg.id,
            description=f"to {cfg.name} tasks on their port",
            opts=self._child,
        )
        # Tasks call AWS APIs (ECR, Secrets Manager, logs) and HTTPS dependencies, through the NAT or the VPC's
        # endpoints: HTTPS only. Each data store adds egress to its own port and security group (admit_clients).
        aws.vpc.SecurityGroupEgressRule(
            f"{self._prefix}-tasks-egress",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=TASK_EGRESS_PORT,
            to_port=TASK_EGRESS_PORT,
            cidr_ipv4="0.0.0.0/0",
            description="HTTPS out: AWS APIs and HTTPS dependencies",
            opts=self._child,
        )
        return sg

    def _target_group(self, args: EcsServiceArgs, resource: str, component: str) -> aws.lb.TargetGroup:
        ident, cfg = args.identity, args.config
        port = cfg.port
        return aws.lb.TargetGroup(
            f"{self._prefix}-{resource}",
            name=ident.name("aws:lb/targetGroup:TargetGroup", component),
            port=port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                path=cfg.health_check_path,
                # The container port, spelt out rather than "traffic-port", so a policy can compare it.
                port=str(port),
                protocol="HTTP",
                matcher="200-399",
                interval=15,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            opts=self._child,
        )

    def _listener_rule(
        self, args: EcsServiceArgs, target_group: aws.lb.TargetGroup, alternate: aws.lb.TargetGroup | None
    ) -> aws.lb.ListenerRule:
        cfg = args.config
        conditions = []
        if cfg.routing.path_pattern:
            conditions.append(
                aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[cfg.routing.path_pattern])
                )
            )
        if cfg.routing.host:
            conditions.append(
                aws.lb.ListenerRuleConditionArgs(
                    host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=[cfg.routing.host])
                )
            )
        if alternate is None:
            action = aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group.arn)
            opts = self._child
        else:
            action = aws.lb.ListenerRuleActionArgs(
                type="forward",
                forward=aws.lb.ListenerRuleActionForwardArgs(
                    target_groups=[
                        aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=target_group.arn, weight=100),
                        aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=alternate.arn, weight=0),
                    ]
                ),
            )
            # ECS moves the weights during a blue/green, linear or canary deployment; Pulumi must not move them back.
            opts = pulumi.ResourceOptions(parent=self, ignore_changes=["actions"])
        return aws.lb.ListenerRule(
            f"{self._prefix}-route",
            listener_arn=args.listener_arn,
            priority=cfg.routing.priority,
            conditions=conditions,
            actions=[action],
            opts=opts,
        )

    # --- task and service ------------------------------------------------------

    def _task_definition(
        self,
        args: EcsServiceArgs,
        log_group: aws.cloudwatch.LogGroup,
        execution_role: aws.iam.Role,
        task_role: aws.iam.Role,
    ) -> aws.ecs.TaskDefinition:
        ident, cfg = args.identity, args.config
        definitions = pulumi.Output.all(
            args.image_ref, log_group.name, self._account, pulumi.Output.from_input(args.secret_arns or {})
        ).apply(lambda parts: container_definitions(cfg, parts[0], parts[1], ident.region, parts[2], parts[3]))
        return aws.ecs.TaskDefinition(
            f"{self._prefix}-task",
            family=ident.name("aws:ecs/taskDefinition:TaskDefinition", cfg.name),
            network_mode="awsvpc",
            requires_compatibilities=[cfg.launch_type],
            cpu=str(cfg.cpu),
            memory=str(cfg.memory),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=ARCHITECTURES[cfg.image.platform]
            ),
            # The image is pinned by digest, so every new image is a new revision: the deployment the
            # circuit breaker watches and rolls back from.
            container_definitions=definitions,
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=SCRATCH_VOLUME)],  # the writable /tmp
            opts=self._child,
        )

    def _capacity_strategy(self, args: EcsServiceArgs) -> list[aws.ecs.ServiceCapacityProviderStrategyArgs]:
        cfg = args.config
        if cfg.launch_type == "EC2":
            if args.ec2_capacity_provider is None:
                raise ValueError(f"service '{cfg.name}': launchType EC2 needs the cluster's EC2 capacity provider")
            return [
                aws.ecs.ServiceCapacityProviderStrategyArgs(
                    capacity_provider=args.ec2_capacity_provider, weight=1, base=0
                )
            ]
        if cfg.spot:
            # One on-demand task stays whatever Spot does.
            return [
                aws.ecs.ServiceCapacityProviderStrategyArgs(capacity_provider="FARGATE", weight=1, base=1),
                aws.ecs.ServiceCapacityProviderStrategyArgs(capacity_provider="FARGATE_SPOT", weight=3),
            ]
        return [aws.ecs.ServiceCapacityProviderStrategyArgs(capacity_provider="FARGATE", weight=1, base=0)]

    def _deployment_configuration(self, args: EcsServiceArgs) -> aws.ecs.ServiceDeploymentConfigurationArgs | None:
        dep = args.config.deployment
        if dep.strategy == "ROLLING":
            return None
        return aws.ecs.ServiceDeploymentConfigurationArgs(
            strategy=dep.strategy,
            bake_time_in_minutes=str(dep.bake_time_minutes),
            linear_configuration=aws.ecs.ServiceDeploymentConfigurationLinearConfigurationArgs(
                step_percent=dep.step_percent, step_bake_time_in_minutes=str(dep.bake_time_minutes)
            )
            if dep.strategy == "LINEAR"
            else None,
            canary_configuration=aws.ecs.ServiceDeploymentConfigurationCanaryConfigurationArgs(
                canary_percent=dep.canary_percent, canary_bake_time_in_minutes=str(dep.bake_time_minutes)
            )
            if dep.strategy == "CANARY"
            else None,
        )

    def _service(
        self,
        args: EcsServiceArgs,
        task_definition: aws.ecs.TaskDefinition,
        target_group: aws.lb.TargetGroup,
        alternate: aws.lb.TargetGroup | None,
        rule: aws.lb.ListenerRule,
        sg: aws.ec2.SecurityGroup,
        alarms: list[aws.cloudwatch.MetricAlarm],
    ) -> aws.ecs.Service:
        ident, cfg = args.identity, args.config
        advanced = None
        if alternate is not None:
            infra = aws.iam.Role(
                f"{self._prefix}-lb-infrastructure",
                name=ident.name("aws:iam/role:Role", f"{cfg.name}-ecs-lb"),
                description=f"ECS shifts {cfg.name} traffic between target groups",
                assume_role_policy=iam.assume_role_policy("ecs.amazonaws.com"),
                opts=self._child,
            )
            aws.iam.RolePolicyAttachment(
                f"{self._prefix}-lb-infrastructure",
                role=infra.name,
                policy_arn=LB_INFRASTRUCTURE_POLICY,
                opts=self._child,
            )
            advanced = aws.ecs.ServiceLoadBalancerAdvancedConfigurationArgs(
                alternate_target_group_arn=alternate.arn, production_listener_rule=rule.arn, role_arn=infra.arn
            )
        return aws.ecs.Service(
            f"{self._prefix}-service",
            name=ident.name("aws:ecs/service:Service", cfg.name),
            cluster=args.cluster_arn,
            task_definition=task_definition.arn,
            desired_count=cfg.desired_count,
            capacity_provider_strategies=self._capacity_strategy(args),
            ordered_placement_strategies=[aws.ecs.ServiceOrderedPlacementStrategyArgs(type="binpack", field="memory")]
            if cfg.launch_type == "EC2"
            else None,
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.subnet_ids, security_groups=[sg.id], assign_public_ip=False
            ),
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=target_group.arn,
                    container_name=cfg.name,
                    container_port=cfg.port,
                    advanced_configuration=advanced,
                )
            ],
            health_check_grace_period_seconds=cfg.health_check_grace_seconds,
            # Rollback on: a deployment whose tasks keep failing returns to the last one that completed.
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            deployment_minimum_healthy_percent=cfg.deployment.minimum_healthy_percent,
            deployment_maximum_percent=cfg.deployment.maximum_percent,
            deployment_configuration=self._deployment_configuration(args),
            # Tasks that start but serve errors pass the circuit breaker; these alarms catch them and roll back.
            alarms=aws.ecs.ServiceAlarmsArgs(alarm_names=[a.name for a in alarms], enable=True, rollback=True),
            # `pulumi up` waits for the deployment to settle, so CI sees a failed release as a failed run.
            wait_for_steady_state=True,
            **tagging.ECS_SERVICE_TAGGING,
            opts=pulumi.ResourceOptions(
                parent=self,
                # Tasks start only once their secrets have values: otherwise ResourceInitializationError, and on a
                # fresh environment the circuit breaker fails the first deployment.
                depends_on=pulumi.Output.from_input(args.starts_after or []).apply(
                    lambda ready: [rule, *([args.capacity_providers] if args.capacity_providers else []), *ready]
                ),
                # Application Auto Scaling owns the count (target tracking, off-hours); Pulumi must not reset it.
                ignore_changes=["desiredCount"] if cfg.autoscaled else None,
            ),
        )

    # --- alarms and scaling ----------------------------------------------------

    def _alarms(self, args: EcsServiceArgs, target_group: aws.lb.TargetGroup) -> list[aws.cloudwatch.MetricAlarm]:
        """Deployment alarms. Missing data is "not breaching": a service scaled to 0 at night is asleep, not broken."""
        ident, cfg = args.identity, args.config
        actions = [args.alarm_topic_arn] if args.alarm_topic_arn is not None else []
        service_name = ident.name("aws:ecs/service:Service", cfg.name)
        lb_dimensions = {"TargetGroup": target_group.arn_suffix, "LoadBalancer": args.alb_arn_suffix}

        def alarm(resource: str, component: str, description: str, **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
            return aws.cloudwatch.MetricAlarm(
                f"{self._prefix}-{resource}",
                name=ident.name("aws:cloudwatch/metricAlarm:MetricAlarm", f"{cfg.name}-{component}"),
                alarm_description=description,
                treat_missing_data="notBreaching",
                alarm_actions=actions,
                ok_actions=actions,
                opts=self._child,
                **kwargs,
            )

        return [
            alarm(
                "unhealthy-hosts",
                "unhealthy-hosts",
                f"{cfg.name}: targets failing the load balancer's health check for 3 minutes",
                namespace="AWS/ApplicationELB",
                metric_name="UnHealthyHostCount",
                dimensions=lb_dimensions,
                statistic="Maximum",
                period=60,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
            ),
            alarm(
                "target-5xx",
                "target-5xx",
                f"{cfg.name}: the application answers 5xx",
                namespace="AWS/ApplicationELB",
                metric_name="HTTPCode_Target_5XX_Count",
                dimensions=lb_dimensions,
                statistic="Sum",
                period=60,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                threshold=10,
                comparison_operator="GreaterThanThreshold",
            ),
            # Sustained for 5 minutes: a rolling deployment at 50 % min healthy dips below desired briefly.
            alarm(
                "running-below-desired",
                "running-tasks",
                f"{cfg.name}: fewer tasks running than desired for 5 minutes (crash loop or no capacity)",
                evaluation_periods=5,
                datapoints_to_alarm=5,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
                metric_queries=[
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="missing", expression="desired - running", label="tasks missing", return_data=True
                    ),
                    *[
                        aws.cloudwatch.MetricAlarmMetricQueryArgs(
                            id=key,
                            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                                namespace="ECS/ContainerInsights",
                                metric_name=metric,
                                period=60,
                                stat="Average",
                                dimensions={"ClusterName": args.cluster_name, "ServiceName": service_name},
                            ),
                        )
                        for key, metric in (("desired", "DesiredTaskCount"), ("running", "RunningTaskCount"))
                    ],
                ],
            ),
        ]

    def _dashboard(
        self, args: EcsServiceArgs, target_group: aws.lb.TargetGroup, alarms: list[aws.cloudwatch.MetricAlarm]
    ) -> Section:
        """The service's row: its deployment alarms, tasks running against desired, and what the ALB sees."""
        ident, cfg = args.identity, args.config
        service = {"ClusterName": args.cluster_name, "ServiceName": ident.name("aws:ecs/service:Service", cfg.name)}
        targets = {"TargetGroup": target_group.arn_suffix, "LoadBalancer": args.alb_arn_suffix}
        return Section(
            f"Service {cfg.name}",
            [
                AlarmStatus(f"{cfg.name} alarms", [a.arn for a in alarms]),
                Graph(
                    "Tasks",
                    [
                        Metric("ECS/ContainerInsights", "DesiredTaskCount", service, label="desired"),
                        Metric("ECS/ContainerInsights", "RunningTaskCount", service, label="running"),
                    ],
                ),
                Graph(
                    "Target 5xx and unhealthy hosts",
                    [
                        Metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", targets, "Sum", "5xx"),
                        Metric("AWS/ApplicationELB", "UnHealthyHostCount", targets, "Maximum", "unhealthy"),
                    ],
                ),
            ],
        )

    def _autoscaling(self, args: EcsServiceArgs, service: aws.ecs.Service) -> None:
        ident, cfg = args.identity, args.config
        resource_id = pulumi.Output.concat("service/", args.cluster_name, "/", service.name)
        target = aws.appautoscaling.Target(
            f"{self._prefix}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=resource_id,
            min_capacity=cfg.min_count,
            max_capacity=cfg.max_count,
            opts=self._child,
        )
        common: dict[str, Any] = dict(
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
        )
        metrics = [("cpu", "ECSServiceAverageCPUUtilization", cfg.cpu_target_percent)]
        if cfg.memory_target_percent is not None:
            metrics.append(("memory", "ECSServiceAverageMemoryUtilization", cfg.memory_target_percent))
        for key, metric, value in metrics:
            aws.appautoscaling.Policy(
                f"{self._prefix}-scale-{key}",
                name=ident.name("aws:appautoscaling/policy:Policy", f"{cfg.name}-{key}"),
                policy_type="TargetTrackingScaling",
                **common,
                target_tracking_scaling_policy_configuration=(
                    aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                        target_value=value,
                        scale_in_cooldown=300,
                        scale_out_cooldown=60,
                        predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                            predefined_metric_type=metric
                        ),
                    )
                ),
                opts=self._child,
            )
        for key, (schedule, low, high) in off_hours_schedules(cfg).items():
            aws.appautoscaling.ScheduledAction(
                f"{self._prefix}-off-hours-{key}",
                name=ident.name("aws:appautoscaling/scheduledAction:ScheduledAction", f"{cfg.name}-{key}"),
                schedule=schedule,
                timezone=cfg.off_hours.timezone if cfg.off_hours else None,
                **common,
                scalable_target_action=aws.appautoscaling.ScheduledActionScalableTargetActionArgs(
                    min_capacity=low, max_capacity=high
                ),
                opts=self._child,
            )
