"""The stack's network: a VPC across at least two AZs, or an existing VPC imported by id.

Services and data stores only ever see ``Network``'s outputs (VPC id, subnet
ids), so switching between a built and an imported VPC changes nothing else.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.identity import StackIdentity
from stack_config.network import NetworkConfig

SUBNET_PREFIX = 20  # 4,091 addresses per subnet: Fargate takes one per task, so leave room to scale out


@dataclass(frozen=True)
class NetworkArgs:
    identity: StackIdentity
    config: NetworkConfig
    flow_log_retention_days: int = 90  # long enough to investigate an incident reported weeks later


def subnet_plan(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Public and private /20 blocks for ``az_count`` AZs, allocated in order so existing ones never move."""
    blocks = [str(b) for b in ipaddress.IPv4Network(cidr).subnets(new_prefix=SUBNET_PREFIX)]
    if len(blocks) < 2 * az_count:
        raise ValueError(
            f"network.cidr {cidr} holds {len(blocks)} /{SUBNET_PREFIX} subnets; "
            f"{2 * az_count} are needed for {az_count} AZs"
        )
    return blocks[:az_count], blocks[az_count : 2 * az_count]


class Network(pulumi.ComponentResource):
    """VPC with public and private subnets, NAT egress, an S3 gateway endpoint and flow logs."""

    vpc_id: pulumi.Output[str]
    cidr_block: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.config.imported:
            self._import(args)
        else:
            self._build(args, child)
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
            }
        )

    def _import(self, args: NetworkArgs) -> None:
        cfg = args.config
        assert cfg.vpc_id is not None  # called only for an existing VPC
        vpc = aws.ec2.get_vpc_output(id=cfg.vpc_id, opts=pulumi.InvokeOptions(parent=self))
        self.vpc_id = pulumi.Output.from_input(cfg.vpc_id)
        self.cidr_block = vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.from_input(list(cfg.public_subnet_ids))
        self.private_subnet_ids = pulumi.Output.from_input(list(cfg.private_subnet_ids))

    def _build(self, args: NetworkArgs, child: pulumi.ResourceOptions) -> None:
        ident, cfg = args.identity, args.config
        zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(parent=self)).names
        if len(zones) < cfg.az_count:
            raise ValueError(f"network.azCount is {cfg.az_count} but {ident.region} offers {len(zones)} AZs")
        zones = sorted(zones)[: cfg.az_count]
        public_blocks, private_blocks = subnet_plan(cfg.cidr, cfg.az_count)

        vpc = aws.ec2.Vpc(
            "vpc",
            cidr_block=cfg.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": ident.label("vpc")},
            opts=child,
        )
        igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id, tags={"Name": ident.label("igw")}, opts=child)

        public_rt = aws.ec2.RouteTable("public", vpc_id=vpc.id, tags={"Name": ident.label("public")}, opts=child)
        aws.ec2.Route(
            "public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        public, private, private_rts, nats = [], [], [], []
        for index, (zone, pub_block, priv_block) in enumerate(zip(zones, public_blocks, private_blocks, strict=True)):
            suffix = zone[-1]
            pub = aws.ec2.Subnet(
                f"public-{suffix}",
                vpc_id=vpc.id,
                cidr_block=pub_block,
                availability_zone=zone,
                # Nothing in a public subnet gets a public IP by accident: only load balancers live there.
                map_public_ip_on_launch=False,
                tags={"Name": ident.label(f"public-{suffix}"), "tier": "public"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"public-{suffix}", subnet_id=pub.id, route_table_id=public_rt.id, opts=child)
            priv = aws.ec2.Subnet(
                f"private-{suffix}",
                vpc_id=vpc.id,
                cidr_block=priv_block,
                availability_zone=zone,
                tags={"Name": ident.label(f"private-{suffix}"), "tier": "private"},
                opts=child,
            )
            if cfg.nat_gateway_per_az or index == 0:
                eip = aws.ec2.Eip(
                    f"nat-{suffix}", domain="vpc", tags={"Name": ident.label(f"nat-{suffix}")}, opts=child
                )
                nats.append(
                    aws.ec2.NatGateway(
                        f"nat-{suffix}",
                        subnet_id=pub.id,
                        allocation_id=eip.id,
                        tags={"Name": ident.label(f"nat-{suffix}")},
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                    )
                )
            rt = aws.ec2.RouteTable(
                f"private-{suffix}", vpc_id=vpc.id, tags={"Name": ident.label(f"private-{suffix}")}, opts=child
            )
            aws.ec2.Route(
                f"private-{suffix}-default",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[-1].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"private-{suffix}", subnet_id=priv.id, route_table_id=rt.id, opts=child)
            public.append(pub)
            private.append(priv)
            private_rts.append(rt)

        # Image layers and cache objects reach S3 without paying NAT data charges.
        aws.ec2.VpcEndpoint(
            "s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{ident.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags={"Name": ident.label("s3")},
            opts=child,
        )
        self._flow_logs(args, vpc, child)

        self.vpc_id = vpc.id
        self.cidr_block = vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])

    def _flow_logs(self, args: NetworkArgs, vpc: aws.ec2.Vpc, child: pulumi.ResourceOptions) -> None:
        ident = args.identity
        log_group = aws.cloudwatch.LogGroup(
            "flow-logs", name=ident.path("vpc-flow-logs"), retention_in_days=args.flow_log_retention_days, opts=child
        )
        role = aws.iam.Role(
            "flow-logs",
            name=ident.name("aws:iam/role:Role", "vpc-flow-logs"),
            assume_role_policy=iam.assume_role_policy("vpc-flow-logs.amazonaws.com"),
            opts=child,
        )
        aws.iam.RolePolicy(
            "flow-logs",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: iam.document(
                    iam.statement(
                        ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], [arn, f"{arn}:*"]
                    )
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            "vpc",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            tags={"Name": ident.label("flow-logs")},
            opts=child,
        )
