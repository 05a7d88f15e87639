"""ElastiCache Serverless for Valkey, reachable only from the application services, with a connection contract.

Lessons of ``redis-to-valkey-serverless.md``, each a line below:
- the security group admits 6379 *and* 6380: serverless serves reads on 6380, and a
  client that cannot reach it "starts but experiences latency";
- usage limits are explicit (``cacheUsageLimits``): the maximum is the cost ceiling,
  the minimum the capacity floor the report weighs;
- the outage began with a 60 s default client timeout, so the contract services read
  carries the recommended timeouts (connect ~1 s, command ~0.5 s) next to the endpoints;
- an existing Redis OSS replication group migrates by config: upgraded in place to
  Valkey, or replaced by the serverless cache (the old group is left running until cut-over);
- past its maximums a serverless cache throttles instead of scaling, so alarms watch
  throttled commands and ECPU/s and storage at ``alarmAtPercent`` (80 %) of the maximums.

The app user's password lives in its own secret, rotated by Secrets Manager every
``passwordRotationDays`` (``components/cache_user_rotation.py``, issue 13); the contract names that
secret instead of carrying the password, so Pulumi's contract and the rotation never write one value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.cache_user_rotation import CacheUserRotation, CacheUserRotationArgs
from components.connection_secret import connection_secret, contract_json
from components.dashboard import AlarmStatus, Graph, Metric, Section
from foundation.alarms import metric_alarm
from foundation.client_access import admit_clients
from foundation.identity import StackIdentity
from stack_config.data import CacheConfig, CacheMigration

PRIMARY_PORT = 6379
READER_PORT = 6380  # serverless only: reads from replicas; without it reads fall back to the primary, slowly
SERVERLESS_PORTS = (PRIMARY_PORT, READER_PORT)
ENGINE = "valkey"
# Node-based engine versions for an in-place upgrade (the serverless cache takes the major alone).
NODE_ENGINE_VERSION = {"7": "7.2", "8": "8.0"}
NAMESPACE = "AWS/ElastiCache"
GB = 1000**3  # usage limits are in GB; the decimal GB is the smaller, so the alarm fires a little early, never late


@dataclass(frozen=True)
class ValkeyCacheArgs:
    identity: StackIdentity
    config: CacheConfig
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]  # private subnets: the cache has no business in a public one
    client_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    client_role_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)
    alarm_topic_arn: pulumi.Input[str] | None = None


class ValkeyCache(pulumi.ComponentResource):
    """A Valkey cache (serverless, or an upgraded Redis OSS group) and the secret that says how to use it."""

    security_group_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    connection_secret_arn: pulumi.Output[str]
    connection_secret_name: pulumi.Output[str]
    credentials_secret_arn: pulumi.Output[str]
    connection_ready: list[pulumi.Resource]  # the secrets' values and read grants: services start after these
    alarms: list[aws.cloudwatch.MetricAlarm]
    dashboard: Section

    def __init__(self, name: str, args: ValkeyCacheArgs, opts: pulumi.ResourceOptions | None = None):
        ident, cfg = args.identity, args.config
        if ident.keeps_data and cfg.snapshot_retention_days < 1:  # the loader refuses it too; callers may not use it
            raise ValueError(
                f"cache: snapshotRetentionDays {cfg.snapshot_retention_days} with usage {ident.usage} "
                f"(allowed: 1..35; production data keeps snapshots)"
            )
        super().__init__("platform:data:ValkeyCache", name, None, opts)
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
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=ident.keeps_data),
        )
        user, group, password = self._access(ident, child)

        if in_place and migration is not None:  # in_place implies a migration; said again for the type checker
            endpoint, reader = self._upgrade_in_place(args, sg, key, group, child)
            port_primary = port_reader = PRIMARY_PORT
            self.alarms, self.dashboard = self._node_alarms(args, migration)
        else:
            endpoint, reader = self._serverless(args, sg, key, group, child)
            port_primary, port_reader = PRIMARY_PORT, READER_PORT
            self.alarms, self.dashboard = self._serverless_alarms(args)

        credentials = connection_secret(
            "cache-credentials",
            ident,
            "cache-credentials",
            f"The Valkey app user's name and password; Secrets Manager rotates it every {cfg.password_rotation_days} days",
            # The shape AWS documents for ElastiCache user rotation: user_arn binds the secret to its user.
            contract_json({"username": user.user_name, "password": password.result, "user_arn": user.arn}),
            args.client_role_arns,
            self,
        )
        rotation = CacheUserRotation(
            "cache-rotation",
            CacheUserRotationArgs(
                identity=ident,
                secret_arn=credentials.arn,
                user_arn=user.arn,
                rotation_days=cfg.password_rotation_days,
                after=credentials.ready,
                alarm_topic_arn=args.alarm_topic_arn,
            ),
            opts=child,
        )
        contract = cache_contract(
            cfg, endpoint, reader, port_primary, port_reader, credentials.arn, cfg.password_rotation_days
        )
        secret = connection_secret(
            "cache-connection",
            ident,
            "cache-connection",
            "How services reach the Valkey cache: endpoints, ports, TLS, credentials' secret, client timeouts",
            contract_json(contract),
            args.client_role_arns,
            self,
        )

        self.alarms.append(rotation.alarm)
        self.dashboard = replace(
            self.dashboard, widgets=[*self.dashboard.widgets, AlarmStatus("Password rotation", [rotation.alarm.arn])]
        )
        self.security_group_id = sg.id
        self.endpoint = pulumi.Output.from_input(endpoint)
        self.reader_endpoint = pulumi.Output.from_input(reader)
        self.connection_secret_arn = secret.arn
        self.connection_secret_name = secret.name
        self.credentials_secret_arn = credentials.arn
        self.connection_ready = secret.ready + credentials.ready
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
            opts=pulumi.ResourceOptions(parent=self, protect=ident.keeps_data, retain_on_delete=ident.keeps_data),
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
            final_snapshot_identifier=ident.label("cache-final") if ident.keeps_data else None,
            # The engine change rolls node by node; let it happen in the maintenance window, not mid-deploy.
            apply_immediately=False,
            # Always protected: it holds live data and was adopted, not created. An unencrypted legacy group
            # would need a replacement to encrypt; protect turns that silent data loss into a failed deploy.
            # Moving an adopted group's subnet group forces a replacement too, so the adopted one stays.
            opts=pulumi.ResourceOptions(parent=self, protect=True, ignore_changes=["subnetGroupName"]),
        )
        return group_resource.primary_endpoint_address, group_resource.reader_endpoint_address

    # --- alarms -------------------------------------------------------------------

    def _serverless_alarms(self, args: ValkeyCacheArgs) -> tuple[list[aws.cloudwatch.MetricAlarm], Section]:
        """Throttling now, and the two maximums the cache is approaching (past them it throttles, not scales)."""
        ident, cfg = args.identity, args.config
        cache_id = {"clusterId": ident.name("aws:elasticache/serverlessCache:ServerlessCache", "cache")}
        share = cfg.alarm_at_percent / 100
        ecpu_ceiling = cfg.ecpu_per_second_max * share
        storage_ceiling = cfg.data_storage_max_gb * GB * share
        alarms = [
            metric_alarm(
                "cache-throttled",
                ident,
                "cache-throttled",
                "Valkey is throttling commands (ThrottledCmds > 0 in 2 of 3 minutes): the workload outgrew "
                "the cache's scaling or its ECPU maximum; clients must be falling back to the database",
                args.alarm_topic_arn,
                self,
                namespace=NAMESPACE,
                metric_name="ThrottledCmds",
                dimensions=cache_id,
                statistic="Sum",
                period=60,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
            ),
            metric_alarm(
                "cache-ecpu",
                ident,
                "cache-ecpu",
                f"Valkey uses over {cfg.alarm_at_percent} % of its ECPU/s maximum ({cfg.ecpu_per_second_max}) "
                f"for 5 minutes: raise ecpuPerSecondMax before it throttles",
                args.alarm_topic_arn,
                self,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                threshold=ecpu_ceiling,
                comparison_operator="GreaterThanThreshold",
                metric_queries=[
                    # ElastiCacheProcessingUnits is a count per period; the maximum is per second.
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="rate", expression="ecpu / PERIOD(ecpu)", label="ECPU per second", return_data=True
                    ),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="ecpu",
                        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                            namespace=NAMESPACE,
                            metric_name="ElastiCacheProcessingUnits",
                            dimensions=cache_id,
                            period=60,
                            stat="Sum",
                        ),
                    ),
                ],
            ),
            metric_alarm(
                "cache-storage",
                ident,
                "cache-storage",
                f"Valkey stores over {cfg.alarm_at_percent} % of its {cfg.data_storage_max_gb} GB maximum: "
                f"past it writes fail; raise dataStorageMaxGb or shorten TTLs",
                args.alarm_topic_arn,
                self,
                namespace=NAMESPACE,
                metric_name="BytesUsedForCache",
                dimensions=cache_id,
                statistic="Maximum",
                period=300,
                evaluation_periods=2,
                datapoints_to_alarm=2,
                threshold=storage_ceiling,
                comparison_operator="GreaterThanThreshold",
            ),
        ]
        section = Section(
            "Cache (Valkey Serverless)",
            [
                AlarmStatus("Cache alarms", [a.arn for a in alarms]),
                Graph("Throttled commands", [Metric(NAMESPACE, "ThrottledCmds", cache_id, "Sum")], threshold=0),
                Graph(
                    "ECPUs per minute",
                    [Metric(NAMESPACE, "ElastiCacheProcessingUnits", cache_id, "Sum")],
                    threshold=ecpu_ceiling * 60,
                ),
                Graph("Bytes stored", [Metric(NAMESPACE, "BytesUsedForCache", cache_id, "Maximum")], storage_ceiling),
                Graph(
                    "Latency (microseconds)",
                    [
                        Metric(NAMESPACE, "SuccessfulReadRequestLatency", cache_id, "p99", "read p99"),
                        Metric(NAMESPACE, "SuccessfulWriteRequestLatency", cache_id, "p99", "write p99"),
                    ],
                ),
                Graph("Hit rate (%)", [Metric(NAMESPACE, "CacheHitRate", cache_id)]),
            ],
        )
        return alarms, section

    def _node_alarms(
        self, args: ValkeyCacheArgs, migration: CacheMigration
    ) -> tuple[list[aws.cloudwatch.MetricAlarm], Section]:
        """An upgraded node-based group: engine CPU and memory per member node, where it runs out first."""
        cfg = args.config
        members = [f"{migration.replication_group_id}-{n:03d}" for n in range(1, migration.num_cache_clusters + 1)]
        alarms = []
        for member in members:
            node = {"CacheClusterId": member}
            for metric, short, why in (
                ("EngineCPUUtilization", "cpu", "the engine's one thread is saturated"),
                ("DatabaseMemoryUsagePercentage", "memory", "keys are about to be evicted"),
            ):
                alarms.append(
                    metric_alarm(
                        f"cache-{member}-{short}",
                        args.identity,
                        f"cache-{member[-3:]}-{short}",
                        f"Valkey node {member}: {metric} over {cfg.alarm_at_percent} % for 10 minutes ({why})",
                        args.alarm_topic_arn,
                        self,
                        namespace=NAMESPACE,
                        metric_name=metric,
                        dimensions=node,
                        statistic="Average",
                        period=60,
                        evaluation_periods=10,
                        datapoints_to_alarm=10,
                        threshold=cfg.alarm_at_percent,
                        comparison_operator="GreaterThanThreshold",
                    )
                )
        section = Section(
            "Cache (Valkey, node-based)",
            [
                AlarmStatus("Cache alarms", [a.arn for a in alarms]),
                *[
                    Graph(
                        f"{metric} (%)",
                        [Metric(NAMESPACE, metric, {"CacheClusterId": m}, label=m) for m in members],
                        threshold=cfg.alarm_at_percent,
                    )
                    for metric in ("EngineCPUUtilization", "DatabaseMemoryUsagePercentage")
                ],
            ],
        )
        return alarms, section


def cache_contract(
    cfg: CacheConfig,
    endpoint: pulumi.Input[str],
    reader: pulumi.Input[str],
    port: int,
    reader_port: int,
    credentials_secret_arn: pulumi.Input[str],
    rotation_days: int,
) -> dict:
    """What services need to use the cache well: where, how (TLS, whose credentials) and how long to wait.

    No password: it rotates, so services read it from ``credentialsSecretArn`` and read it again on WRONGPASS
    (the previous password still works until the rotation after next).
    """
    return {
        "engine": ENGINE,
        "endpoint": endpoint,
        "port": port,
        "readerEndpoint": reader,
        "readerPort": reader_port,
        "tls": True,
        "credentialsSecretArn": credentials_secret_arn,
        "credentialsRotateEveryDays": rotation_days,
        "onAuthenticationFailure": "re-read credentialsSecretArn, then reconnect",
        # The report's outage: a 60 s client default outlived the callers. Fail fast, skip the cache.
        "connectTimeoutMs": cfg.connect_timeout_ms,
        "commandTimeoutMs": cfg.command_timeout_ms,
        "circuitBreaker": "required: on timeout or throttling, read from the database",
    }


def _window(start: str) -> str:
    """``03:00`` -> ``03:00-04:00``: ElastiCache wants a snapshot window of at least an hour."""
    hour, minute = (int(part) for part in start.split(":"))
    return f"{start}-{(hour + 1) % 24:02d}:{minute:02d}"
