"""ElastiCache Serverless for Valkey, reachable only from the application services, with a connection contract.

Lessons of ``redis-to-valkey-serverless.md``, each a line below:
- the security group admits 6379 *and* 6380: serverless serves reads on 6380, and a
  client that cannot reach it "starts but experiences latency";
- usage limits are explicit (``cacheUsageLimits``): the maximum is the cost ceiling,
  the minimum the capacity floor the report weighs;
- the outage began with a 60 s default client timeout, so the contract services read
  carries the recommended timeouts (connect ~1 s, command ~0.5 s) next to the endpoints;
- an existing Redis OSS replication group migrates by config: upgraded in place to
  Valkey, or replaced by the serverless cache (the old group is left running until cut-over).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.connection_secret import connection_secret, contract_json
from foundation.client_access import admit_clients
from foundation.identity import StackIdentity
from stack_config.data import CacheConfig

PRIMARY_PORT = 6379
READER_PORT = 6380  # serverless only: reads from replicas; without it reads fall back to the primary, slowly
SERVERLESS_PORTS = (PRIMARY_PORT, READER_PORT)
ENGINE = "valkey"
# Node-based engine versions for an in-place upgrade (the serverless cache takes the major alone).
NODE_ENGINE_VERSION = {"7": "7.2", "8": "8.0"}


@dataclass(frozen=True)
class ValkeyCacheArgs:
    identity: StackIdentity
    config: CacheConfig
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]  # private subnets: the cache has no business in a public one
    client_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    client_role_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)


class ValkeyCache(pulumi.ComponentResource):
    """A Valkey cache (serverless, or an upgraded Redis OSS group) and the secret that says how to use it."""

    security_group_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    connection_secret_arn: pulumi.Output[str]
    connection_secret_name: pulumi.Output[str]

    def __init__(self, name: str, args: ValkeyCacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:ValkeyCache", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)
        migration = cfg.migrate_from
        in_place = migration is not None and migration.mode == "upgrade-in-place"
        ports = (PRIMARY_PORT,) if in_place else SERVERLESS_PORTS

        sg = aws.ec2.SecurityGroup(
            "cache",
            name=ident.name("aws:ec2/securityGroup:SecurityGroup", "cache"),
            vpc_id=args.vpc_id,
            description=f"Valkey {', '.join(map(str, ports))} from the application services only",
            tags={"Name": ident.label("cache")},
            opts=child,
        )
        for port in ports:
            admit_clients(
                f"cache-{port}",
                sg,
                args.client_security_group_ids,
                port,
                port,
                f"Valkey {'reader' if port == READER_PORT else 'primary'} from a client service",
                child,
            )

        # Customer-managed, rotated key: who read cached data is auditable in CloudTrail (KMS Decrypt).
        key = aws.kms.Key(
            "cache",
            description=f"{ident.label('cache')} data at rest",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            # Prod snapshots are encrypted with it: it outlives a destroy, like the cache.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=ident.protected),
        )
        user, group, password = self._access(ident, child)

        if in_place:
            endpoint, reader = self._upgrade_in_place(args, sg, key, group, child)
            port_primary = port_reader = PRIMARY_PORT
        else:
            endpoint, reader = self._serverless(args, sg, key, group, child)
            port_primary, port_reader = PRIMARY_PORT, READER_PORT

        contract = cache_contract(cfg, endpoint, reader, port_primary, port_reader, user.user_name, password.result)
        secret = connection_secret(
            "cache-connection",
            ident,
            "cache-connection",
            "How services reach the Valkey cache: endpoints, ports, TLS, credentials, client timeouts",
            contract_json(contract),
            args.client_role_arns,
            self,
        )

        self.security_group_id = sg.id
        self.endpoint = pulumi.Output.from_input(endpoint)
        self.reader_endpoint = pulumi.Output.from_input(reader)
        self.connection_secret_arn = secret.arn
        self.connection_secret_name = secret.name
        self.register_outputs(
            {
                "security_group_id": self.security_group_id,
                "endpoint": self.endpoint,
                "reader_endpoint": self.reader_endpoint,
                "connection_secret_arn": self.connection_secret_arn,
            }
        )

    def _access(self, ident: StackIdentity, child: pulumi.ResourceOptions):
        """RBAC: the built-in ``default`` user switched off, one application user whose password is a secret."""
        password = random.RandomPassword(
            "cache-app",
            length=40,
            special=True,
            # ElastiCache refuses ", / and @ in passwords; these are safe in every client's URL form too.
            override_special="!#$%^&*-_=+",
            opts=child,
        )
        default_password = random.RandomPassword("cache-default", length=40, special=False, opts=child)
        user_type = "aws:elasticache/user:User"
        disabled = aws.elasticache.User(
            "cache-default",
            user_id=ident.name(user_type, "cache-default"),
            user_name="default",
            engine=ENGINE,
            access_string="off -@all",
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[pulumi.Output.secret(default_password.result)]
            ),
            opts=child,
        )
        user = aws.elasticache.User(
            "cache-app",
            user_id=ident.name(user_type, "cache-app"),
            user_name="app",
            engine=ENGINE,
            # Every key, no admin commands (CONFIG, FLUSHALL, DEBUG...): the services cache, they do not operate.
            access_string="on ~* &* +@all -@dangerous",
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[pulumi.Output.secret(password.result)]
            ),
            opts=child,
        )
        group = aws.elasticache.UserGroup(
            "cache",
            user_group_id=ident.name("aws:elasticache/userGroup:UserGroup", "cache"),
            engine=ENGINE,
            user_ids=[disabled.user_id, user.user_id],
            opts=child,
        )
        return user, group, password

    def _serverless(
        self,
        args: ValkeyCacheArgs,
        sg: aws.ec2.SecurityGroup,
        key: aws.kms.Key,
        group: aws.elasticache.UserGroup,
        child: pulumi.ResourceOptions,
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        ident, cfg = args.identity, args.config
        migration = cfg.migrate_from
        seed = [migration.seed_snapshot_arn] if migration and migration.seed_snapshot_arn else None
        cache = aws.elasticache.ServerlessCache(
            "cache",
            name=ident.name("aws:elasticache/serverlessCache:ServerlessCache", "cache"),
            engine=ENGINE,
            major_engine_version=cfg.major_engine_version,
            description=(
                f"replaces Redis OSS group {migration.replication_group_id}"
                if migration
                else f"{ident.label('cache')} application cache"
            ),
            cache_usage_limits=aws.elasticache.ServerlessCacheCacheUsageLimitsArgs(
                data_storage=aws.elasticache.ServerlessCacheCacheUsageLimitsDataStorageArgs(
                    unit="GB", minimum=cfg.data_storage_min_gb, maximum=cfg.data_storage_max_gb
                ),
                ecpu_per_seconds=[
                    aws.elasticache.ServerlessCacheCacheUsageLimitsEcpuPerSecondArgs(
                        minimum=cfg.ecpu_per_second_min, maximum=cfg.ecpu_per_second_max
                    )
                ],
            ),
            kms_key_id=key.arn,
            security_group_ids=[sg.id],
            subnet_ids=args.subnet_ids,
            snapshot_retention_limit=cfg.snapshot_retention_days,
            daily_snapshot_time=cfg.daily_snapshot_time,
            snapshot_arns_to_restores=seed,
            user_group_id=group.user_group_id,
            # The provider exposes no final snapshot for serverless caches: prod survives a destroy instead.
            opts=pulumi.ResourceOptions(parent=self, protect=ident.protected, retain_on_delete=ident.protected),
        )
        endpoint = cache.endpoints.apply(lambda eps: eps[0].address)
        reader = cache.reader_endpoints.apply(lambda eps: eps[0].address)
        return endpoint, reader

    def _upgrade_in_place(
        self,
        args: ValkeyCacheArgs,
        sg: aws.ec2.SecurityGroup,
        key: aws.kms.Key,
        group: aws.elasticache.UserGroup,
        child: pulumi.ResourceOptions,
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The existing group, adopted with ``pulumi import`` (README runbook), switched to the Valkey engine."""
        ident, cfg = args.identity, args.config
        migration = cfg.migrate_from
        assert migration is not None  # called only for a group to migrate
        subnets = aws.elasticache.SubnetGroup(
            "cache",
            name=ident.name("aws:elasticache/subnetGroup:SubnetGroup", "cache"),
            description="private subnets for the Valkey cache",
            subnet_ids=args.subnet_ids,
            opts=child,
        )
        group_resource = aws.elasticache.ReplicationGroup(
            "cache-upgraded",
            replication_group_id=migration.replication_group_id,
            description=f"Redis OSS group upgraded in place to Valkey {cfg.major_engine_version}",
            engine=ENGINE,
            engine_version=NODE_ENGINE_VERSION[cfg.major_engine_version],
            node_type=migration.node_type,
            num_cache_clusters=migration.num_cache_clusters,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            at_rest_encryption_enabled=True,
            kms_key_id=key.arn,
            transit_encryption_enabled=True,
            security_group_ids=[sg.id],
            subnet_group_name=subnets.name,
            user_group_ids=[group.user_group_id],
            snapshot_retention_limit=cfg.snapshot_retention_days,
            snapshot_window=_window(cfg.daily_snapshot_time),
            final_snapshot_identifier=ident.label("cache-final") if ident.protected else None,
            # The engine change rolls node by node; let it happen in the maintenance window, not mid-deploy.
            apply_immediately=False,
            # Always protected: it holds live data and was adopted, not created. An unencrypted legacy group
            # would need a replacement to encrypt; protect turns that silent data loss into a failed deploy.
            # Moving an adopted group's subnet group forces a replacement too, so the adopted one stays.
            opts=pulumi.ResourceOptions(parent=self, protect=True, ignore_changes=["subnetGroupName"]),
        )
        return group_resource.primary_endpoint_address, group_resource.reader_endpoint_address


def cache_contract(
    cfg: CacheConfig,
    endpoint: pulumi.Input[str],
    reader: pulumi.Input[str],
    port: int,
    reader_port: int,
    username: pulumi.Input[str],
    password: pulumi.Input[str],
) -> dict:
    """What services need to use the cache well: where, how (TLS, credentials) and how long to wait."""
    return {
        "engine": ENGINE,
        "endpoint": endpoint,
        "port": port,
        "readerEndpoint": reader,
        "readerPort": reader_port,
        "tls": True,
        "username": username,
        "password": password,
        # The report's outage: a 60 s client default outlived the callers. Fail fast, skip the cache.
        "connectTimeoutMs": cfg.connect_timeout_ms,
        "commandTimeoutMs": cfg.command_timeout_ms,
        "circuitBreaker": "required: on timeout or throttling, read from the database",
    }


def _window(start: str) -> str:
    """``03:00`` -> ``03:00-04:00``: ElastiCache wants a snapshot window of at least an hour."""
    hour, minute = (int(part) for part in start.split(":"))
    return f"{start}-{(hour + 1) % 24:02d}:{minute:02d}"
