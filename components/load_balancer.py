"""The stack's shared Application Load Balancer: the only thing in the public subnets that accepts traffic.

Field reports: ``ec2-to-ecs-fargate-migration.md`` (services take traffic from
the load balancer only, each behind its own security group) and
``ecs-circuit-breaker-rollback.md`` (the ALB's target health is what the
deployment alarms watch).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.access_logs import ALB_PREFIX, AccessLogs
from components.recovery_copies import recovery_output
from components.web_acl import WebAcl
from foundation.identity import StackIdentity
from stack_config.services import LoadBalancerConfig

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.2+ only, TLS 1.3 preferred


@dataclass(frozen=True)
class LoadBalancerArgs:
    identity: StackIdentity
    config: LoadBalancerConfig
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]]
    # Access logs to the stack's log bucket (prefix "alb") and a WAF web ACL in front; both off only when None.
    access_logs: AccessLogs | None = None
    web_acl: WebAcl | None = None
    # The certificate another stack issues for this one (config certificateFrom), when not certificateArn.
    certificate_arn: pulumi.Input[str] | None = None


class LoadBalancer(pulumi.ComponentResource):
    """Internet-facing ALB with one listener that services attach rules to; unknown paths get a 404.

    Prevents: services reachable from the internet directly (they sit in
    private subnets behind it) and prod traffic in clear text (HTTPS is
    required in prod by the config loader).
    """

    arn: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    listener_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:containers:LoadBalancer", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)
        certificate_arn = cfg.certificate_arn if cfg.certificate_arn is not None else args.certificate_arn
        https = certificate_arn is not None
        port = 443 if https else 80
        sg = aws.ec2.SecurityGroup(
            "alb",
            name=ident.name("aws:ec2/securityGroup:SecurityGroup", "alb"),
            description="Public load balancer",
            vpc_id=args.vpc_id,
            tags={"Name": ident.label("alb")},
            opts=child,
        )
        listen_ports = [port] + ([80] if https else [])
        for listen in listen_ports:
            aws.vpc.SecurityGroupIngressRule(
                f"alb-{listen}",
                security_group_id=sg.id,
                ip_protocol="tcp",
                from_port=listen,
                to_port=listen,
                cidr_ipv4="0.0.0.0/0",
                description="the internet reaches the load balancer only",
                opts=child,
            )
        # Egress to each service is added by the service itself (its port, its security group only).
        alb = aws.lb.LoadBalancer(
            "alb",
            name=ident.name("aws:lb/loadBalancer:LoadBalancer", "alb"),
            load_balancer_type="application",
            internal=False,
            subnets=args.public_subnet_ids,
            security_groups=[sg.id],
            drop_invalid_header_fields=True,
            idle_timeout=cfg.idle_timeout_seconds,
            # Deleting the prod entry point by accident takes every service offline and changes its DNS name.
            enable_deletion_protection=ident.protected,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=args.access_logs.bucket_name, prefix=ALB_PREFIX, enabled=True
            )
            if args.access_logs
            else None,
            # The ALB checks it can write to the bucket when logging is switched on: the policy must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.access_logs] if args.access_logs else None),
        )
        if args.web_acl is not None:
            args.web_acl.associate(alb.arn)
        not_found = aws.lb.ListenerDefaultActionArgs(
            type="fixed-response",
            fixed_response=(
                aws.lb.ListenerDefaultActionFixedResponseArgs(
                    content_type="text/plain", message_body="not found", status_code="404"
                )
            ),
        )
        if https:
            listener = aws.lb.Listener(
                "https",
                load_balancer_arn=alb.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                certificate_arn=certificate_arn,
                default_actions=[not_found],
                opts=child,
            )
            aws.lb.Listener(
                "http-redirect",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                            port="443", protocol="HTTPS", status_code="HTTP_301"
                        ),
                    )
                ],
                opts=child,
            )
        else:
            # Plain HTTP: acceptable only where no real user data flows (dev, throw-away stacks); the config
            # loader refuses a prod stack without certificateArn.
            listener = aws.lb.Listener(
                "http", load_balancer_arn=alb.arn, port=80, protocol="HTTP", default_actions=[not_found], opts=child
            )
        self.arn = alb.arn
        self.arn_suffix = alb.arn_suffix
        self.dns_name = alb.dns_name
        self.listener_arn = listener.arn
        self.security_group_id = sg.id
        self.register_outputs({"dns_name": self.dns_name, "listener_arn": self.listener_arn})


def issued_certificate(source: str | None, region: str) -> pulumi.Output[str] | None:
    """The certificate the stack ``source`` issues for this one in ``region`` (components/recovery_copies.py)."""
    if source is None:
        return None
    return recovery_output(
        source,
        region,
        "load_balancer_certificate_arn",
        reference_name=f"certificate-{source.rsplit('/', 1)[-1]}",
        config_key="aws-platform:containers.loadBalancer.certificateFrom",
        what="issues no load balancer certificate",
        allowed=f"a stack whose aws-platform:recovery region is {region} with loadBalancerDomainNames",
    )
