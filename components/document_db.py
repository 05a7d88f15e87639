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
  services get their own least-privilege user (created once with ``db.createUser``, runbook).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import pulumi
import pulumi_aws as aws

from foundation.client_access import admit_clients
from foundation.identity import StackIdentity
from stack_config.data import DocumentDbConfig

PORT = 27017
DEFAULT_CHANGE_STREAM_RETENTION_S = 10800  # DocumentDB's own default: 3 hours
LOG_EXPORTS = ("audit", "profiler")
PROFILER_THRESHOLD_MS = 100  # slow enough to matter, rare enough to keep the log cheap
CA_CERTIFICATE = "rds-ca-rsa2048-g1"


@dataclass(frozen=True)
class DocumentDbArgs:
    identity: StackIdentity
    config: DocumentDbConfig
    phase: str
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    client_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)


def keeps_final_snapshot(identity: StackIdentity, phase: str) -> bool:
    """Prod always; elsewhere once services left it: its data is then the rollback point."""
    return identity.protected or phase in ("atlas", "retiring")


def deletion_protected(identity: StackIdentity, phase: str) -> bool:
    """``retiring`` lifts the protection so the next deploy (``retired``) can delete it, snapshot first."""
    return phase != "retiring" and (identity.protected or phase == "atlas")


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

        cluster = aws.docdb.Cluster(
            "documentdb",
            cluster_identifier=ident.name("aws:docdb/cluster:Cluster", "documentdb"),
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
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        for index in range(cfg.instance_count):
            aws.docdb.ClusterInstance(
                f"documentdb-{index}",
                identifier=ident.name("aws:docdb/clusterInstance:ClusterInstance", f"documentdb-{index}"),
                cluster_identifier=cluster.id,
                instance_class=cfg.instance_class,
                ca_cert_identifier=CA_CERTIFICATE,
                auto_minor_version_upgrade=True,
                enable_performance_insights=True,
                promotion_tier=index,
                opts=pulumi.ResourceOptions(parent=self, protect=protect),
            )

        self.security_group_id = sg.id
        self.endpoint = cluster.endpoint
        self.reader_endpoint = cluster.reader_endpoint
        self.cluster_identifier = cluster.cluster_identifier
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


def connection_uri(username: str, password: str, endpoint: str, database: str) -> str:
    """A DocumentDB URI: TLS with the RDS CA bundle, replica set reads, no retryable writes (unsupported)."""
    return (
        f"mongodb://{quote(username, safe='')}:{quote(password, safe='')}@{endpoint}:{PORT}/{database}"
        f"?tls=true&tlsCAFile=global-bundle.pem&replicaSet=rs0&readPreference=secondaryPreferred"
        f"&retryWrites=false"
    )
