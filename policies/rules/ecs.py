"""ECS services deploy so that a bad release rolls back on its own (ecs-circuit-breaker-rollback.md).

The incident: a port change sent every new task into PENDING -> RUNNING ->
STOPPED behind 502s for 75 minutes. Rollback needs the circuit breaker with
rollback on, a new task definition revision per image (an image pinned by
digest, never a mutable tag), a target group whose health check probes the
port the container listens on, and enough tasks (2+ in prod) for the failure
to be detected in minutes. Services take traffic from the load balancer only
(ec2-to-ecs-fargate-migration.md: one security group per service).
"""

from __future__ import annotations

import json
import re
from typing import Any

import conventions
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

SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
CAPACITY_PROVIDERS = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
BY_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
WORLD = ("0.0.0.0/0", "::/0")
MIN_PROD_TASKS = 2


def _circuit_breaker(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SERVICE:
        return
    breaker = args.props.get("deploymentCircuitBreaker") or {}
    if not breaker.get("enable"):
        report(
            "deployment circuit breaker is off: a deployment whose tasks keep failing retries forever "
            "(deploymentCircuitBreaker {enable: true, rollback: true})",
            None,
        )
    elif not breaker.get("rollback"):
        report(
            "deployment circuit breaker has rollback off: a failed deployment stops but the service is left "
            "on the broken revision (rollback: true)",
            None,
        )


def _containers(args: ResourceValidationArgs) -> list[dict[str, Any]]:
    """A task definition's container definitions (none for other types, or while still unknown at preview)."""
    if args.resource_type != TASK_DEFINITION:
        return []
    raw = args.props.get("containerDefinitions")
    try:
        containers = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return []  # unknown during a preview; checked again at update
    return [c for c in containers if isinstance(c, dict)] if isinstance(containers, list) else []


def _image_by_digest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in _containers(args):
        image = str(container.get("image", ""))
        if not BY_DIGEST.search(image):
            report(
                f"container '{container.get('name')}' runs image '{image}' by tag: a new image under the same "
                f"tag registers no new revision, so the circuit breaker never sees the deployment "
                f"(use '<repository>@sha256:<digest>')",
                None,
            )


def _secrets_by_arn(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in _containers(args):
        for secret in container.get("secrets") or []:
            value = str(secret.get("valueFrom", ""))
            if not value.startswith(("arn:aws:secretsmanager:", "arn:aws:ssm:", "arn:aws-")):
                report(
                    f"container '{container.get('name')}' reads {secret.get('name')} from '{value}', not an ARN: "
                    "ECS takes a Secrets Manager secret by its full ARN only, so every task would stop with "
                    "ResourceInitializationError and the first deployment fail",
                    None,
                )


def _prod_task_count(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SERVICE or stage_of(args) not in conventions.PROTECTED_STAGES:
        return
    if args.props.get("schedulingStrategy") == "DAEMON":
        return
    if _declared_singleton(args.props):
        return
    desired = int(args.props.get("desiredCount") or 0)
    if desired < MIN_PROD_TASKS:
        report(
            f"prod service runs {desired} task(s): with fewer than {MIN_PROD_TASKS} a failed deployment takes "
            f"~20 minutes to roll back instead of 3-5, and one task failure is an outage",
            None,
        )


def _declared_singleton(props: Any) -> bool:
    """A service that must never run twice (one change-stream consumer: two would apply every change twice).

    It says so with the tag ``workload: singleton`` and proves it with ``deploymentMaximumPercent`` 100, so
    even a deployment never starts a second copy; the tag alone exempts nothing.
    """
    tags = props.get("tags") or {}
    return (
        tags.get("workload") == "singleton"
        and int(props.get("desiredCount") or 0) == 1
        and int(props.get("deploymentMaximumPercent") or 200) <= 100
    )


def _port(value: Any) -> int | str | None:
    """Ports arrive as numbers (doubles on the wire) or strings; "traffic-port" stays as it is."""
    if value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return str(value)


def _dependencies(resource: Any, types: tuple[str, ...]) -> list[Any]:
    return [d for d in getattr(resource, "dependencies", None) or [] if d.resource_type in types]


def _health_check_port(args: StackValidationArgs, report: ReportViolation) -> None:
    for service in args.resources:
        if service.resource_type != SERVICE:
            continue
        ports = {
            _port(lb.get("containerPort")) for lb in service.props.get("loadBalancers") or [] if lb.get("containerPort")
        }
        if not ports:
            continue
        for group in _dependencies(service, TARGET_GROUPS):
            health = group.props.get("healthCheck") or {}
            probe = _port(health.get("port") or "traffic-port")
            forward = _port(group.props.get("port"))
            for port in sorted(ports, key=str):  # a port that is not a number stays a string: no int-str order
                if forward is not None and forward != port:
                    report(
                        f"target group '{group.name}' forwards to port {forward} but service '{service.name}' "
                        f"listens on {port}: every task fails its health check (the 502 death spiral)",
                        group.urn,
                    )
                if probe not in ("traffic-port", port):
                    report(
                        f"target group '{group.name}' health-checks port {probe} but service '{service.name}' "
                        f"listens on {port}: every task is replaced forever (the 502 death spiral)",
                        group.urn,
                    )


def _after_capacity_providers(args: StackValidationArgs, report: ReportViolation) -> None:
    associations = [r for r in args.resources if r.resource_type == CAPACITY_PROVIDERS]
    if not associations:
        return  # a cluster this stack does not manage: nothing here to wait for
    for service in args.resources:
        if service.resource_type != SERVICE or not service.props.get("capacityProviderStrategies"):
            continue
        if not _dependencies(service, (CAPACITY_PROVIDERS,)):
            report(
                f"service '{service.name}' names a capacity provider strategy but does not depend on the cluster's "
                "capacity provider association: on a first deploy ECS refuses a provider the cluster has not "
                "associated yet",
                service.urn,
            )


def _open_ingress(rule: Any) -> bool:
    props = rule.props
    if rule.resource_type == INGRESS_RULE:
        return props.get("cidrIpv4") in WORLD or props.get("cidrIpv6") in WORLD
    if rule.resource_type == LEGACY_RULE:
        return props.get("type") == "ingress" and any(
            c in WORLD for c in [*(props.get("cidrBlocks") or []), *(props.get("ipv6CidrBlocks") or [])]
        )
    return False


def _service_security_group(args: StackValidationArgs, report: ReportViolation) -> None:
    groups = {
        sg.urn: sg
        for service in args.resources
        if service.resource_type == SERVICE
        for sg in _dependencies(service, (SECURITY_GROUP,))
    }
    for urn, sg in groups.items():
        inline = [
            block
            for block in sg.props.get("ingress") or []
            if any(c in WORLD for c in [*(block.get("cidrBlocks") or []), *(block.get("ipv6CidrBlocks") or [])])
        ]
        rules = [
            r
            for r in args.resources
            if r.resource_type in (INGRESS_RULE, LEGACY_RULE)
            and any(d.urn == urn for d in r.dependencies or [])
            and _open_ingress(r)
        ]
        for _ in inline:
            report(
                f"ECS service security group '{sg.name}' accepts traffic from the internet: tasks take traffic "
                f"from the load balancer's security group only",
                urn,
            )
        for rule in rules:
            report(
                f"ingress rule '{rule.name}' opens ECS service security group '{sg.name}' to the internet: "
                f"tasks take traffic from the load balancer's security group only",
                rule.urn,
            )


ecs_circuit_breaker = ResourceValidationPolicy(
    name="ecs-circuit-breaker",
    description=(
        "ECS services deploy with the circuit breaker and rollback on, so a release whose tasks keep "
        "failing returns to the last good one (ecs-circuit-breaker-rollback.md: 75 minutes of 502s)."
    ),
    validate=_circuit_breaker,
    severity=Severity.HIGH,
    remediation_steps=(
        "Set deployment_circuit_breaker {enable: true, rollback: true} on the service (components/ecs_service.py does)."
    ),
    url=url("ecs-circuit-breaker"),
)

ecs_image_by_digest = ResourceValidationPolicy(
    name="ecs-image-by-digest",
    description=(
        "Task definitions reference images by digest, never a mutable tag: a new image under ':latest' "
        "registers no revision and the circuit breaker never sees it (ecs-circuit-breaker-rollback.md)."
    ),
    validate=_image_by_digest,
    severity=Severity.HIGH,
    remediation_steps=(
        "Reference the image as repository@sha256:<digest> (the stack config's image.digest), never by a tag."
    ),
    url=url("ecs-image-by-digest"),
)

ecs_secrets_by_arn = ResourceValidationPolicy(
    name="ecs-secrets-by-arn",
    description=(
        "Task definitions name every secret by its full ARN: ECS refuses a bare Secrets Manager name, and the "
        "first deployment of a fresh environment fails with ResourceInitializationError (issue 21)."
    ),
    validate=_secrets_by_arn,
    severity=Severity.HIGH,
    remediation_steps=(
        "Pass the secret's ARN (the resource's arn output, or the ARN a lookup of a declared external returns) "
        "as valueFrom; never the configured name."
    ),
    url=url("ecs-secrets-by-arn"),
)

ecs_after_capacity_providers = StackValidationPolicy(
    name="ecs-after-capacity-providers",
    description=(
        "A service whose strategy names capacity providers starts after the cluster's association of them: "
        "otherwise the first deploy races the association and ECS refuses the service (issue 21)."
    ),
    validate=_after_capacity_providers,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Give the service depends_on the cluster's aws.ecs.ClusterCapacityProviders (EcsServiceArgs.capacity_providers)."
    ),
    url=url("ecs-after-capacity-providers"),
)

ecs_prod_task_count = ResourceValidationPolicy(
    name="ecs-prod-min-tasks",
    description=(
        "Prod ECS services run at least 2 tasks: with 1 a failed deployment took 20 minutes to roll back "
        "instead of 3-5 (ecs-circuit-breaker-rollback.md)."
    ),
    validate=_prod_task_count,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Raise the service's desired count (and its autoscaling minimum) to 2 or more in the prod stack's config."
    ),
    url=url("ecs-prod-min-tasks"),
)

ecs_health_check_port = StackValidationPolicy(
    name="ecs-health-check-port",
    description=(
        "A service's target group forwards to and health-checks the container's port: a mismatch "
        "started the 502 death spiral of ecs-circuit-breaker-rollback.md."
    ),
    validate=_health_check_port,
    severity=Severity.HIGH,
    remediation_steps=(
        "Make the target group's port and its health check's port the container port the task definition maps."
    ),
    url=url("ecs-health-check-port"),
)

ecs_service_ingress = StackValidationPolicy(
    name="ecs-service-ingress",
    description=(
        "ECS service security groups are never open to 0.0.0.0/0 or ::/0: tasks take traffic from the "
        "load balancer only (ec2-to-ecs-fargate-migration.md, one security group per service)."
    ),
    validate=_service_security_group,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Remove the 0.0.0.0/0 or ::/0 rule; admit the load balancer's security group on the container port instead."
    ),
    url=url("ecs-service-ingress"),
)
