"""Amazon DocumentDB, the legacy document store: encrypted, TLS-only, audited, protected while it matters.

It stays until the migration to MongoDB Atlas is done (``documentdb-to-mongodb-atlas.md``):
- TLS, audit and profiler logs are enforced by its own cluster parameter group;
- in phase ``dual`` change streams are retained long enough for the sync task to resume
  after a pause (the only live path out: MongoDB's migration tools refuse DocumentDB);
- deletion protection and a final snapshot in prod, and everywhere once services moved
  to Atlas (``atlas``: the rollback target must survive) or it is being retired;
- Performance Insights on every instance: the vacuum lock waves of
  ``documentdb-vacuum-locks.md`` were only visible there;
- the master password is managed by Secrets Manager (``manage_master_user_password``);
  services get their own least-privilege user (created once with ``db.createUser``, runbook);
- alarms on what the vacuum report watched: replica lag, freeable memory, CPU, sessions
  waiting on something other than CPU (the lock waves) and garbage collection that runs
  for long or falls behind (``AvailableMVCCIds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.dashboard import AlarmStatus, Graph, Metric, Section
from components.recovery_copies import recovery_output
from foundation.alarms import metric_alarm
from foundation.client_access import admit_clients
from foundation.externals import MissingExternal
from foundation.identity import StackIdentity
from stack_config.data import DocumentDbConfig

PORT = 27017
# Where and how the services' user authenticates: DocumentDB keeps every user in admin, and speaks SCRAM-SHA-1.
AUTH_SOURCE, AUTH_MECHANISM = "admin", "SCRAM-SHA-1"
DEFAULT_CHANGE_STREAM_RETENTION_S = 10800  # DocumentDB's own default: 3 hours
LOG_EXPORTS = ("audit", "profiler")
PROFILER_THRESHOLD_MS = 100  # slow enough to matter, rare enough to keep the log cheap
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
NAMESPACE = "AWS/DocDB"
REPLICA_LAG_MS = 2000  # replicas normally trail by tens of ms; seconds mean reads on secondaries are stale
FREEABLE_MEMORY_SHARE = 0.10  # below a tenth of the instance's memory the working set no longer fits
CPU_PERCENT = 80
# AWS's recommendation (garbage-collection.html): below 1.3 billion IDs left, act before the cluster turns read-only.
MVCC_IDS_FLOOR = 1_300_000_000
GC_RUNNING_SECONDS = 1800  # a reclaim pass this long follows a bulk rewrite: the report's lock waves came with it


@dataclass(frozen=True)
class DocumentDbArgs:
    identity: StackIdentity
    config: DocumentDbConfig
    phase: str
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    client_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    alarm_topic_arn: pulumi.Input[str] | None = None


def keeps_final_snapshot(identity: StackIdentity, phase: str) -> bool:
    """Production data always (staging included); elsewhere once services left it: its data is then the rollback point."""
    return identity.keeps_data or phase in ("atlas", "retiring")


def deletion_protected(identity: StackIdentity, phase: str) -> bool:
    """``retiring`` lifts the protection so the next deploy (``retired``) can delete it, snapshot first."""
    return phase != "retiring" and (identity.keeps_data or phase == "atlas")


def cluster_parameters(config: DocumentDbConfig, phase: str) -> dict[str, tuple[str, str]]:
    """Parameter name -> (value, apply method)."""
    retention = config.change_stream_retention_hours * 3600 if phase == "dual" else DEFAULT_CHANGE_STREAM_RETENTION_S
    return {
        "tls": ("enabled", "pending-reboot"),  # static: takes effect at the next reboot
        "audit_logs": ("enabled", "immediate"),
        "profiler": ("enabled", "immediate"),
        "profiler_threshold_ms": (str(PROFILER_THRESHOLD_MS), "immediate"),
        "change_stream_log_retention_duration": (str(retention), "immediate"),
    }


class DocumentDb(pulumi.ComponentResource):
    """A DocumentDB cluster with its instances, parameter group, subnet group and security group."""

    security_group_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    master_secret_arn: pulumi.Output[str]
    cluster_identifier: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    alarms: list[aws.cloudwatch.MetricAlarm]
    dashboard: Section

    def __init__(self, name: str, args: DocumentDbArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:DocumentDb", name, None, opts)
        ident, cfg, phase = args.identity, args.config, args.phase
        child = pulumi.ResourceOptions(parent=self)
        protect = deletion_protected(ident, phase)
        final = keeps_final_snapshot(ident, phase)

        sg = aws.ec2.SecurityGroup(
            "documentdb",
            name=ident.name("aws:ec2/securityGroup:SecurityGroup", "documentdb"),
            vpc_id=args.vpc_id,
            description=f"DocumentDB {PORT} from the application services only",
            tags={"Name": ident.label("documentdb")},
            opts=child,
        )
        admit_clients(
            "documentdb",
            sg,
            args.client_security_group_ids,
            PORT,
            PORT,
            "DocumentDB (TLS) from a client service",
            child,
        )

        subnets = aws.docdb.SubnetGroup(
            "documentdb",
            name=ident.name("aws:docdb/subnetGroup:SubnetGroup", "documentdb"),
            subnet_ids=args.subnet_ids,
            description="private subnets for DocumentDB",
            opts=child,
        )
        family = "docdb" + ".".join(cfg.engine_version.split(".")[:2])
        params = aws.docdb.ClusterParameterGroup(
            "documentdb",
            name=ident.name("aws:docdb/clusterParameterGroup:ClusterParameterGroup", "documentdb"),
            family=family,
            description="TLS enforced, audit and profiler on, change streams retained for sync",
            parameters=[
                aws.docdb.ClusterParameterGroupParameterArgs(name=k, value=v, apply_method=m)
                for k, (v, m) in sorted(cluster_parameters(cfg, phase).items())
            ],
            opts=child,
        )
        # Retained when the cluster is retired: the final snapshot is encrypted with it and would be unrestorable.
        key = aws.kms.Key(
            "documentdb",
            description=f"{ident.label('documentdb')} storage",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )

        cluster_id = ident.name("aws:docdb/cluster:Cluster", "documentdb")
        cluster = aws.docdb.Cluster(
            "documentdb",
            cluster_identifier=cluster_id,
            engine="docdb",
            engine_version=cfg.engine_version,
            master_username="docdbadmin",
            manage_master_user_password=True,
            storage_encrypted=True,
            kms_key_id=key.arn,
            storage_type=cfg.storage_type,
            backup_retention_period=cfg.backup_retention_days,
            preferred_backup_window="02:00-03:00",
            db_cluster_parameter_group_name=params.name,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[sg.id],
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            deletion_protection=protect,
            skip_final_snapshot=not final,
            final_snapshot_identifier=ident.label("documentdb-final") if final else None,
            tags={"data-lifecycle": phase},
            # A rebuild elsewhere starts from a copied snapshot; read at creation only, so later config edits
            # never replace the live cluster.
            snapshot_identifier=cfg.restore_from_snapshot or self._latest_copy(cfg, ident.region),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, ignore_changes=["snapshotIdentifier"]),
        )
        instance_ids = [
            ident.name("aws:docdb/clusterInstance:ClusterInstance", f"documentdb-{index}")
            for index in range(cfg.instance_count)
        ]
        for index, instance_id in enumerate(instance_ids):
            aws.docdb.ClusterInstance(
                f"documentdb-{index}",
                identifier=instance_id,
                cluster_identifier=cluster.id,
                instance_class=cfg.instance_class,
                ca_cert_identifier=CA_CERTIFICATE,
                auto_minor_version_upgrade=True,
                enable_performance_insights=True,
                promotion_tier=index,
                opts=pulumi.ResourceOptions(parent=self, protect=protect),
            )

        # Known names, not outputs: the alarms (and the policy that checks them) see them at preview.
        self.alarms, self.dashboard = self._alarms(args, cluster_id, instance_ids)

        self.security_group_id = sg.id
        self.endpoint = cluster.endpoint
        self.reader_endpoint = cluster.reader_endpoint
        self.cluster_identifier = cluster.cluster_identifier
        self.cluster_arn = cluster.arn  # what AWS Backup selects (components/recovery_copies.py)
        self.master_secret_arn = cluster.master_user_secrets.apply(
            lambda secrets: (secrets[0].secret_arn or "") if secrets else ""
        )
        self.register_outputs(
            {
                "security_group_id": self.security_group_id,
                "endpoint": self.endpoint,
                "master_secret_arn": self.master_secret_arn,
            }
        )

    def _latest_copy(self, cfg: DocumentDbConfig, region: str) -> pulumi.Output[str] | None:
        """The newest AWS Backup copy of the source stack's cluster in this region (components/recovery_copies.py):
        looked up here, in this stack's own region, so nothing of the source's region is needed on the day."""
        source = cfg.restore_latest_copy_of
        if source is None:
            return None

        def newest(identifier: str) -> str:
            try:
                found = aws.rds.get_cluster_snapshot(
                    db_cluster_identifier=identifier,
                    most_recent=True,
                    snapshot_type="awsbackup",  # recovery points AWS Backup made or copied here
                    opts=pulumi.InvokeOptions(parent=self),
                )
            except Exception as err:  # the provider's error says what is missing
                raise MissingExternal(
                    f"aws-platform:documentStore.documentdb.restoreLatestCopyOf: no AWS Backup copy of {identifier} in "
                    f"{region} yet ({str(err).splitlines()[0]}): the source's hourly plan copies one within its first "
                    "hours (docs/recovery.md)"
                ) from err
            return str(found.db_cluster_snapshot_arn)

        return recovery_output(
            source,
            region,
            "documentdb_cluster",
            reference_name=f"restore-{source.rsplit('/', 1)[-1]}",
            config_key="aws-platform:documentStore.documentdb.restoreLatestCopyOf",
            what="copies no DocumentDB backup",
            allowed=f"a stack whose aws-platform:recovery region is {region}",
        ).apply(newest)

    def _alarms(
        self, args: DocumentDbArgs, cluster_id: str, instance_ids: list[str]
    ) -> tuple[list[aws.cloudwatch.MetricAlarm], Section]:
        """The signals ``documentdb-vacuum-locks.md`` found the waves with, each alarmed where it shows first."""
        ident, cfg = args.identity, args.config
        cluster = {"DBClusterIdentifier": cluster_id}

        def alarm(resource: str, description: str, **metric: Any) -> aws.cloudwatch.MetricAlarm:
            return metric_alarm(
                resource, ident, resource, description, args.alarm_topic_arn, self, namespace=NAMESPACE, **metric
            )

        alarms = [
            alarm(
                "documentdb-mvcc-ids",
                f"DocumentDB has fewer than {MVCC_IDS_FLOOR:,} MVCC ids left: garbage collection is falling behind "
                f"the writes; at zero the cluster turns read-only (pause bulk writes, docs/data-tier.md)",
                metric_name="AvailableMVCCIds",
                dimensions=cluster,
                statistic="Minimum",
                period=300,
                evaluation_periods=1,
                threshold=MVCC_IDS_FLOOR,
                comparison_operator="LessThanThreshold",
            ),
            alarm(
                "documentdb-gc-running",
                f"A DocumentDB garbage-collection pass has run over {GC_RUNNING_SECONDS // 60} minutes: a large "
                f"reclaim after a bulk rewrite, the moment replicas lock in waves (documentdb-vacuum-locks.md)",
                metric_name="LongestRunningGCProcess",
                dimensions=cluster,
                statistic="Maximum",
                period=300,
                evaluation_periods=1,
                threshold=GC_RUNNING_SECONDS,
                comparison_operator="GreaterThanThreshold",
            ),
        ]
        if len(instance_ids) > 1:
            alarms.append(
                alarm(
                    "documentdb-replica-lag",
                    f"DocumentDB replicas trail the writer by over {REPLICA_LAG_MS} ms for 5 minutes: "
                    f"secondaryPreferred reads are stale",
                    metric_name="DBClusterReplicaLagMaximum",
                    dimensions=cluster,
                    statistic="Maximum",
                    period=60,
                    evaluation_periods=5,
                    datapoints_to_alarm=5,
                    threshold=REPLICA_LAG_MS,
                    comparison_operator="GreaterThanThreshold",
                )
            )
        memory_floor = cfg.memory_bytes * FREEABLE_MEMORY_SHARE
        for index, instance_id in enumerate(instance_ids):
            instance = {"DBInstanceIdentifier": instance_id}
            alarms += [
                alarm(
                    f"documentdb-{index}-memory",
                    f"{instance_id}: freeable memory under {FREEABLE_MEMORY_SHARE:.0%} of {cfg.instance_class} for "
                    f"15 minutes (the report's waves ended when freeable memory recovered)",
                    metric_name="FreeableMemory",
                    dimensions=instance,
                    statistic="Minimum",
                    period=300,
                    evaluation_periods=3,
                    datapoints_to_alarm=3,
                    threshold=memory_floor,
                    comparison_operator="LessThanThreshold",
                ),
                alarm(
                    f"documentdb-{index}-cpu",
                    f"{instance_id}: CPU over {CPU_PERCENT} % for 15 minutes",
                    metric_name="CPUUtilization",
                    dimensions=instance,
                    statistic="Average",
                    period=300,
                    evaluation_periods=3,
                    datapoints_to_alarm=3,
                    threshold=CPU_PERCENT,
                    comparison_operator="GreaterThanThreshold",
                ),
                alarm(
                    f"documentdb-{index}-waits",
                    f"{instance_id}: more sessions waiting on locks or I/O than it has vCPUs ({cfg.vcpus}) for 15 "
                    f"minutes: the vacuum lock waves of documentdb-vacuum-locks.md (Performance Insights shows which)",
                    metric_name="DBLoadNonCPU",
                    dimensions=instance,
                    statistic="Average",
                    period=300,
                    evaluation_periods=3,
                    datapoints_to_alarm=3,
                    threshold=cfg.vcpus,
                    comparison_operator="GreaterThanThreshold",
                ),
            ]

        def per_instance(metric: str, stat: str = "Average") -> list[Metric]:
            return [Metric(NAMESPACE, metric, {"DBInstanceIdentifier": i}, stat, i) for i in instance_ids]

        section = Section(
            "Document store: DocumentDB",
            [
                AlarmStatus("DocumentDB alarms", [a.arn for a in alarms]),
                Graph("Sessions waiting (not CPU)", per_instance("DBLoadNonCPU"), threshold=cfg.vcpus),
                Graph("Freeable memory (bytes)", per_instance("FreeableMemory", "Minimum"), threshold=memory_floor),
                Graph("CPU (%)", per_instance("CPUUtilization"), threshold=CPU_PERCENT),
                Graph(
                    "Replica lag (ms)",
                    [Metric(NAMESPACE, "DBClusterReplicaLagMaximum", cluster, "Maximum")],
                    threshold=REPLICA_LAG_MS,
                ),
                Graph(
                    "Longest garbage collection (s)",
                    [Metric(NAMESPACE, "LongestRunningGCProcess", cluster, "Maximum")],
                    threshold=GC_RUNNING_SECONDS,
                ),
                Graph(
                    "MVCC ids left",
                    [Metric(NAMESPACE, "AvailableMVCCIds", cluster, "Minimum")],
                    threshold=MVCC_IDS_FLOOR,
                ),
            ],
        )
        return alarms, section


def connection_uri(endpoint: str, database: str, read_preference: str = "secondaryPreferred") -> str:
    """A DocumentDB URI without credentials (they rotate; the contract names their secret): TLS with the RDS CA
    bundle, users in ``admin``, the contract's read preference, no retryable writes."""
    return (
        f"mongodb://{endpoint}:{PORT}/{database}"
        f"?tls=true&tlsCAFile=global-bundle.pem&replicaSet=rs0&authSource={AUTH_SOURCE}"
        f"&authMechanism={AUTH_MECHANISM}&readPreference={read_preference}&retryWrites=false"
    )
