"""MongoDB Atlas: the document store the services move to, reached over AWS PrivateLink only.

What ``documentdb-to-mongodb-atlas.md`` taught, each a line below:
- writes scale by sharding: ``AdvancedCluster`` with one replication spec per shard
  (a replica set in dev, N shards x 3 nodes in prod; the report ran 4 x 3 of M40);
- compute autoscaling is off unless config says otherwise: its rolling scale-up took
  nodes down one by one at the peak it was reacting to;
- provisioned IOPS (``diskIops``) doubles write capacity in minutes, without a re-balance;
- backups with point-in-time recovery; termination protection in prod.
Private connectivity: Atlas PrivateLink endpoint + our interface endpoint + the
endpoint service that joins them; no IP access list in prod and never 0.0.0.0/0.
No database passwords: each ECS task role is a ``MONGODB-AWS`` user.

The provider's API keys are never in config or code: ``pulumi up`` reads them from
``MONGODB_ATLAS_PUBLIC_KEY`` / ``MONGODB_ATLAS_PRIVATE_KEY`` (or secret config
``mongodbatlas:publicKey`` / ``mongodbatlas:privateKey``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_mongodbatlas as atlas

from foundation.client_access import admit_clients
from foundation.identity import StackIdentity
from stack_config.data import AtlasConfig, atlas_region

# Atlas maps each node behind its PrivateLink load balancer to its own port: clients need 1024-65535.
ENDPOINT_PORTS = (1024, 65535)
PROVIDER = "AWS"


@dataclass(frozen=True)
class AtlasClusterArgs:
    identity: StackIdentity
    config: AtlasConfig
    database_name: str
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    client_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    client_role_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)


def region_config(config: AtlasConfig, region: str) -> atlas.AdvancedClusterReplicationSpecRegionConfigArgs:
    provisioned = config.disk_iops is not None
    return atlas.AdvancedClusterReplicationSpecRegionConfigArgs(
        provider_name=PROVIDER,
        region_name=region,
        priority=7,
        electable_specs=atlas.AdvancedClusterReplicationSpecRegionConfigElectableSpecsArgs(
            instance_size=config.instance_size,
            node_count=config.nodes_per_shard,
            disk_iops=config.disk_iops,
            ebs_volume_type="PROVISIONED" if provisioned else None,
        ),
        auto_scaling=atlas.AdvancedClusterReplicationSpecRegionConfigAutoScalingArgs(
            compute_enabled=config.compute_autoscaling,
            compute_scale_down_enabled=config.compute_autoscaling,
            compute_min_instance_size=config.instance_size if config.compute_autoscaling else None,
            compute_max_instance_size=config.compute_max_instance_size if config.compute_autoscaling else None,
            # Storage growth never hurt anyone: running out of disk does.
            disk_gb_enabled=True,
        ),
    )


def connection_uri(srv: str, database: str) -> str:
    """Private-endpoint SRV, authenticated by the caller's AWS role (no password anywhere)."""
    return f"{srv}/{database}?authSource=%24external&authMechanism=MONGODB-AWS&retryWrites=true&w=majority"


def private_srv(strings: atlas.outputs.AdvancedClusterConnectionStrings | None, sharded: bool) -> str:
    """The PrivateLink SRV string; sharded clusters get the shard-optimised one (fewer mongos hops)."""
    for endpoint in (strings.private_endpoints or []) if strings else []:
        optimised = endpoint.srv_shard_optimized_connection_string
        if sharded and optimised:
            return optimised
        if endpoint.srv_connection_string:
            return endpoint.srv_connection_string
    return ""


class AtlasCluster(pulumi.ComponentResource):
    """An Atlas project and cluster, its PrivateLink path from the VPC, and an IAM-role user per client."""

    project_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    connection_uri: pulumi.Output[str]

    def __init__(self, name: str, args: AtlasClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:AtlasCluster", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)
        region = cfg.region or atlas_region(ident.region)
        sharded = cfg.shards > 1

        project = atlas.Project(
            "documents",
            name=cfg.project_name or ident.name("mongodbatlas:index/project:Project", "documents"),
            org_id=cfg.org_id,
            with_default_alerts_settings=True,
            tags=ident.tags,
            opts=child,
        )
        for index, cidr in enumerate(cfg.access_list):
            # Non-prod only (the loader refuses it in prod, and 0.0.0.0/0 everywhere): an operator's VPN range.
            atlas.ProjectIpAccessList(
                f"documents-access-{index}",
                project_id=project.id,
                cidr_block=cidr,
                comment="operator access outside PrivateLink (non-prod)",
                opts=child,
            )

        endpoint, sg = self._private_link(args, project, region, child)

        cluster = atlas.AdvancedCluster(
            "documents",
            project_id=project.id,
            name=ident.name("mongodbatlas:index/advancedCluster:AdvancedCluster", "docs"),
            cluster_type="SHARDED" if sharded else "REPLICASET",
            mongo_db_major_version=cfg.mongo_db_major_version,
            # One replication spec per shard: the v2 schema's way to say "N shards".
            replication_specs=[
                atlas.AdvancedClusterReplicationSpecArgs(region_configs=[region_config(cfg, region)])
                for _ in range(cfg.shards)
            ],
            backup_enabled=True,
            pit_enabled=cfg.pitr,
            termination_protection_enabled=ident.protected,
            # Atlas always encrypts storage and snapshots; "NONE" means no *customer* key on top (KMS via
            # CloudProviderAccess is a later step, README).
            encryption_at_rest_provider="NONE",
            tags=ident.tags,
            # The private-endpoint connection strings exist only once the endpoint service is available.
            opts=pulumi.ResourceOptions(parent=self, protect=ident.protected, depends_on=[endpoint]),
        )

        for index, role_arn in enumerate(args.client_role_arns):
            atlas.DatabaseUser(
                f"documents-client-{index}",
                project_id=project.id,
                username=role_arn,
                aws_iam_type="ROLE",
                auth_database_name="$external",
                roles=[atlas.DatabaseUserRoleArgs(role_name="readWrite", database_name=args.database_name)],
                scopes=[atlas.DatabaseUserScopeArgs(name=cluster.name, type="CLUSTER")],
                opts=child,
            )

        self.project_id = project.id
        self.security_group_id = sg.id
        self.connection_uri = cluster.connection_strings.apply(
            lambda strings: connection_uri(private_srv(strings, sharded), args.database_name)
        )
        self.register_outputs({"project_id": self.project_id, "security_group_id": self.security_group_id})

    def _private_link(self, args: AtlasClusterArgs, project: atlas.Project, region: str, child: pulumi.ResourceOptions):
        ident = args.identity
        link = atlas.PrivateLinkEndpoint(
            "documents", project_id=project.id, provider_name=PROVIDER, region=region, opts=child
        )
        sg = aws.ec2.SecurityGroup(
            "atlas-endpoint",
            name=ident.name("aws:ec2/securityGroup:SecurityGroup", "atlas-endpoint"),
            vpc_id=args.vpc_id,
            description="Atlas PrivateLink endpoint: the services' mongod/mongos ports",
            tags={"Name": ident.label("atlas-endpoint")},
            opts=child,
        )
        low, high = ENDPOINT_PORTS
        admit_clients(
            "atlas-endpoint",
            sg,
            args.client_security_group_ids,
            low,
            high,
            "Atlas over PrivateLink from a client service",
            child,
        )
        vpce = aws.ec2.VpcEndpoint(
            "atlas",
            vpc_id=args.vpc_id,
            service_name=link.endpoint_service_name,
            vpc_endpoint_type="Interface",
            subnet_ids=args.subnet_ids,
            security_group_ids=[sg.id],
            # Atlas publishes its own private-endpoint hostnames; AWS private DNS does not apply.
            private_dns_enabled=False,
            tags={"Name": ident.label("atlas")},
            opts=child,
        )
        service = atlas.PrivateLinkEndpointService(
            "documents",
            project_id=project.id,
            private_link_id=link.private_link_id,
            endpoint_service_id=vpce.id,
            provider_name=PROVIDER,
            opts=child,
        )
        return service, sg
