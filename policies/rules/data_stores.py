"""Data stores: reachable only from inside, encrypted at rest, and impossible to lose by accident in prod.

Field reports: ``redis-to-valkey-serverless.md`` (the 6380 reader port; usage limits as the
cost ceiling), ``documentdb-to-mongodb-atlas.md`` (PrivateLink, backups, termination
protection), ``documentdb-vacuum-locks.md`` (lock waves only visible in Performance
Insights and the profiler), ``you-are-not-saved-by-iac.md`` (a deleted database is gone).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from rules.docs import url
from rules.resource import effective_tags, keeps_data_of, stage_of

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SERVERLESS_CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
DOCDB_CLUSTER = "aws:docdb/cluster:Cluster"
DOCDB_INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
ATLAS_CLUSTER = "mongodbatlas:index/advancedCluster:AdvancedCluster"
ATLAS_ACCESS_LIST = "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList"

PRIMARY_PORT, READER_PORT = 6379, 6380
DATA_PORTS = {
    6379: "Redis/Valkey",
    6380: "Valkey reader",
    27017: "MongoDB/DocumentDB",
    5432: "PostgreSQL",
    3306: "MySQL",
}
ANYWHERE = ("0.0.0.0/0", "::/0")
RETIRING_TAG = ("data-lifecycle", "retiring")


# --- ports -----------------------------------------------------------------------


def covers(protocol: Any, from_port: Any, to_port: Any, port: int) -> bool:
    """Whether one rule's protocol and port range admit TCP ``port`` ("-1" is every protocol and port)."""
    if str(protocol).lower() in ("-1", "all"):
        return True
    if str(protocol).lower() not in ("tcp", "6"):
        return False
    try:
        return int(from_port) <= port <= int(to_port)
    except (TypeError, ValueError):
        return False


def ingress_entries(resource_type: str, props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every ingress permission a resource declares, as {protocol, from, to, cidrs}."""
    if resource_type == INGRESS_RULE:
        cidrs = [c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c]
        return [
            {
                "protocol": props.get("ipProtocol"),
                "from": props.get("fromPort"),
                "to": props.get("toPort"),
                "cidrs": cidrs,
            }
        ]
    if resource_type == SG_RULE and props.get("type") == "ingress":
        return [
            {
                "protocol": props.get("protocol"),
                "from": props.get("fromPort"),
                "to": props.get("toPort"),
                "cidrs": list(props.get("cidrBlocks") or []) + list(props.get("ipv6CidrBlocks") or []),
            }
        ]
    if resource_type == SG:
        return [
            {
                "protocol": i.get("protocol"),
                "from": i.get("fromPort"),
                "to": i.get("toPort"),
                "cidrs": list(i.get("cidrBlocks") or []) + list(i.get("ipv6CidrBlocks") or []),
            }
            for i in props.get("ingress") or []
        ]
    return []


def open_to_anywhere(cidrs: Iterable[str]) -> list[str]:
    found = []
    for cidr in cidrs:
        try:
            if ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0:
                found.append(str(cidr))
        except ValueError:
            continue
    return found


def _open_ports(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for entry in ingress_entries(args.resource_type, args.props):
        everyone = open_to_anywhere(entry["cidrs"])
        if not everyone:
            continue
        ports = [
            f"{port} ({what})"
            for port, what in DATA_PORTS.items()
            if covers(entry["protocol"], entry["from"], entry["to"], port)
        ]
        if ports:
            report(
                f"admits {', '.join(everyone)} on data-store port(s) {', '.join(ports)}: databases and caches "
                f"are reached only from the application services' security groups",
                None,
            )


data_port_open_to_internet = ResourceValidationPolicy(
    name="data-port-open-to-internet",
    description=(
        "No security group admits 0.0.0.0/0 or ::/0 on a data-store port (6379, 6380, 27017, 5432, 3306): "
        "a database on the internet is a breach waiting for a scanner."
    ),
    validate=_open_ports,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Remove the 0.0.0.0/0 or ::/0 rule on the data-store port; admit the application services' security groups "
        "only."
    ),
    url=url("data-port-open-to-internet"),
)


def _cache_ports(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    rules = [r for r in resources if r.resource_type in (INGRESS_RULE, SG_RULE)]
    for cache in resources:
        if cache.resource_type != SERVERLESS_CACHE or str(cache.props.get("engine")).lower() not in ("redis", "valkey"):
            continue
        ids = {str(i) for i in cache.props.get("securityGroupIds") or []}
        attached = [d for d in cache.dependencies if d.resource_type == SG]
        attached_urns = {d.urn for d in attached}
        entries = [e for sg in attached for e in ingress_entries(SG, sg.props)]
        for rule in rules:
            # Match by id when known (resolved in a snapshot), by dependency when not (a new SG in `pulumi preview`).
            if rule.props.get("securityGroupId") in ids or attached_urns & {d.urn for d in rule.dependencies}:
                entries += ingress_entries(rule.resource_type, rule.props)
        opened = {
            port
            for port in (PRIMARY_PORT, READER_PORT)
            if any(covers(e["protocol"], e["from"], e["to"], port) for e in entries)
        }
        if PRIMARY_PORT in opened and READER_PORT not in opened:
            report(
                f"serverless cache '{cache.name}' is reachable on {PRIMARY_PORT} but not on {READER_PORT}: "
                f"serverless serves reads on {READER_PORT}; clients start fine and then suffer latency "
                f"(redis-to-valkey-serverless.md). Admit both ports from the same clients.",
                cache.urn,
            )


serverless_cache_reader_port = StackValidationPolicy(
    name="serverless-cache-reader-port",
    description=(
        "A Valkey/Redis serverless cache whose security groups open 6379 must open 6380 too: the "
        "reader endpoint's port (redis-to-valkey-serverless.md)."
    ),
    validate=_cache_ports,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Open 6380 beside 6379 to the same sources in the cache's security group (components/valkey_cache.py)."
    ),
    url=url("serverless-cache-reader-port"),
)


# --- encryption, limits ------------------------------------------------------------


def _encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    if (
        kind in (DOCDB_CLUSTER, "aws:rds/cluster:Cluster", "aws:rds/instance:Instance")
        and props.get("storageEncrypted") is not True
    ):
        report("storageEncrypted is not true: the data, its replicas and its snapshots would be readable on disk", None)
    if kind == REPLICATION_GROUP and props.get("atRestEncryptionEnabled") is not True:
        report("atRestEncryptionEnabled is not true: snapshots and swapped data would be readable on disk", None)
    # ElastiCache Serverless and Atlas clusters are always encrypted at rest (no switch to turn it off);
    # Atlas' encryptionAtRestProvider only adds a customer-managed key on top.


data_store_encryption = ResourceValidationPolicy(
    name="data-store-encryption",
    description=(
        "DocumentDB, RDS and ElastiCache replication groups are encrypted at rest (serverless caches "
        "and Atlas always are): a lost snapshot or disk must not be a data breach."
    ),
    validate=_encryption,
    severity=Severity.HIGH,
    remediation_steps=(
        "Set storage_encrypted (DocumentDB, RDS) or at_rest_encryption_enabled (ElastiCache replication groups) to "
        "true; changing it replaces the store, so migrate its data."
    ),
    url=url("data-store-encryption"),
)


def _cache_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SERVERLESS_CACHE:
        return
    limits = args.props.get("cacheUsageLimits") or {}
    storage = (limits.get("dataStorage") or {}).get("maximum")
    ecpu = [e.get("maximum") for e in limits.get("ecpuPerSeconds") or []]
    missing = [
        name for name, value in (("dataStorage.maximum", storage), ("ecpuPerSecond.maximum", any(ecpu))) if not value
    ]
    if missing:
        report(
            f"no {' or '.join(missing)} in cacheUsageLimits: serverless scales (and bills) without a ceiling; "
            f"set one and let the services' circuit breaker absorb throttling (redis-to-valkey-serverless.md)",
            None,
        )


serverless_cache_limits = ResourceValidationPolicy(
    name="serverless-cache-limits",
    description=(
        "A serverless cache declares its maximum data storage and ECPU/s: the cost ceiling the Valkey "
        "report weighs against throttling (redis-to-valkey-serverless.md)."
    ),
    validate=_cache_limits,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Give the serverless cache cache_usage_limits with data_storage maximum and ecpu_per_second maximum (the "
        "stack config's cache limits)."
    ),
    url=url("serverless-cache-limits"),
)


# --- protection --------------------------------------------------------------------


def _documentdb_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DOCDB_CLUSTER or not keeps_data_of(args):
        return
    props = args.props
    tags = effective_tags(args) or {}
    retiring = tags.get(RETIRING_TAG[0]) == RETIRING_TAG[1]
    if props.get("deletionProtection") is not True and not retiring:
        report(
            "production DocumentDB (usage PRODUCTION) without deletionProtection: one mistaken destroy deletes "
            "the database "
            "(only a cluster tagged data-lifecycle=retiring, final snapshot set, may drop it)",
            None,
        )
    if props.get("skipFinalSnapshot") is not False or not props.get("finalSnapshotIdentifier"):
        report(
            "production DocumentDB without a final snapshot (skipFinalSnapshot false and a finalSnapshotIdentifier): "
            "deleting it would keep nothing",
            None,
        )


documentdb_prod_protection = ResourceValidationPolicy(
    name="documentdb-prod-protection",
    description=(
        "DocumentDB holding production data (usage PRODUCTION, staging included) has deletion protection and "
        "takes a final snapshot when deleted "
        "(you-are-not-saved-by-iac.md; the migration's rollback point, documentdb-to-mongodb-atlas.md)."
    ),
    validate=_documentdb_protection,
    severity=Severity.HIGH,
    remediation_steps=(
        "Set deletion_protection true and skip_final_snapshot false with a final_snapshot_identifier on the cluster."
    ),
    url=url("documentdb-prod-protection"),
)


def _atlas_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ATLAS_CLUSTER or not keeps_data_of(args):
        return
    props = args.props
    if props.get("terminationProtectionEnabled") is not True:
        report(
            "production Atlas cluster without terminationProtectionEnabled: a destroy deletes it with its data", None
        )
    if props.get("backupEnabled") is not True:
        report("production Atlas cluster without backupEnabled: no snapshot to restore after a bad batch", None)
    if props.get("pitEnabled") is not True:
        report(
            "production Atlas cluster without pitEnabled: no point-in-time restore to the minute before an incident",
            None,
        )


atlas_prod_protection = ResourceValidationPolicy(
    name="atlas-prod-protection",
    description=(
        "Atlas clusters holding production data (usage PRODUCTION) have termination protection, backups and "
        "point-in-time recovery "
        "(documentdb-to-mongodb-atlas.md; you-are-not-saved-by-iac.md)."
    ),
    validate=_atlas_protection,
    severity=Severity.HIGH,
    remediation_steps="Set termination_protection_enabled, backup_enabled and pit_enabled on the Atlas cluster.",
    url=url("atlas-prod-protection"),
)


def _cache_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (SERVERLESS_CACHE, REPLICATION_GROUP) or not keeps_data_of(args):
        return
    if int(args.props.get("snapshotRetentionLimit") or 0) < 1:
        report(
            "production cache (usage PRODUCTION) without snapshots (snapshotRetentionLimit >= 1): a bad flush or "
            "a deleted cache leaves nothing to restore",
            None,
        )
    if not args.opts.protect:
        report(
            "production cache (usage PRODUCTION) is not protected: a mistaken destroy deletes it, and serverless "
            "caches take no final snapshot (protect it and retain it on delete)",
            None,
        )


cache_production_retention = ResourceValidationPolicy(
    name="cache-production-retention",
    description=(
        "Caches holding production data (usage PRODUCTION, staging included) keep daily snapshots and are "
        "protected from a mistaken destroy (conventions-tagging-naming-validation.md; you-are-not-saved-by-iac.md)."
    ),
    validate=_cache_retention,
    severity=Severity.HIGH,
    remediation_steps=(
        "Set snapshot_retention_limit to 1 or more and protect the cache (the component sets both when the stack "
        "keeps data)."
    ),
    url=url("cache-production-retention"),
)


def _atlas_access_list(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ATLAS_ACCESS_LIST:
        return
    entry = args.props.get("cidrBlock") or args.props.get("ipAddress") or args.props.get("awsSecurityGroup")
    if str(entry) in ("0.0.0.0/0", "0.0.0.0") or open_to_anywhere([str(entry)]):
        report(f"Atlas access list admits {entry}: the whole internet; Atlas is reached over PrivateLink", None)
    elif stage_of(args) == "prod":
        report(f"Atlas access list entry {entry} in prod: prod reaches Atlas over PrivateLink only", None)


atlas_access_list = ResourceValidationPolicy(
    name="atlas-access-list",
    description=(
        "No Atlas project access list entry is 0.0.0.0/0, and prod has none at all: PrivateLink is "
        "the only way in (documentdb-to-mongodb-atlas.md)."
    ),
    validate=_atlas_access_list,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Remove the 0.0.0.0/0 entry (and in prod every entry); reach the cluster through its PrivateLink endpoint."
    ),
    url=url("atlas-access-list"),
)


# --- observability ------------------------------------------------------------------


def _documentdb_observability(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == DOCDB_CLUSTER:
        exports = set(args.props.get("enabledCloudwatchLogsExports") or [])
        missing = sorted({"audit", "profiler"} - exports)
        if missing:
            report(
                f"enabledCloudwatchLogsExports lacks {', '.join(missing)}: slow operations and lock waves "
                f"leave no trace (documentdb-vacuum-locks.md)",
                None,
            )
    elif args.resource_type == DOCDB_INSTANCE and args.props.get("enablePerformanceInsights") is not True:
        report(
            "enablePerformanceInsights is not true: the vacuum lock waves on the replicas were only visible in "
            "Performance Insights (documentdb-vacuum-locks.md)",
            None,
        )


documentdb_observability = ResourceValidationPolicy(
    name="documentdb-observability",
    description=(
        "DocumentDB exports audit and profiler logs and every instance runs Performance Insights: how the "
        "vacuum lock waves after a bulk rewrite were found (documentdb-vacuum-locks.md)."
    ),
    validate=_documentdb_observability,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Export audit and profiler logs from the cluster (enabled_cloudwatch_logs_exports) and turn on Performance "
        "Insights on every instance."
    ),
    url=url("documentdb-observability"),
)


POLICIES = [
    data_port_open_to_internet,
    serverless_cache_reader_port,
    data_store_encryption,
    serverless_cache_limits,
    documentdb_prod_protection,
    atlas_prod_protection,
    cache_production_retention,
    atlas_access_list,
    documentdb_observability,
]
