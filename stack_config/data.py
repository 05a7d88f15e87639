"""The data tier's sections: ``cache`` (Valkey serverless) and ``documentStore`` (DocumentDB -> Atlas).

Field reports behind the defaults: ``redis-to-valkey-serverless.md`` (usage
limits are a cost ceiling and a floor; short client timeouts; port 6380),
``documentdb-to-mongodb-atlas.md`` (sharding, provisioned IOPS, autoscaling that
hurt under load) and ``documentdb-vacuum-locks.md`` (large rewrites lock
replicas for hours: the migration's bulk copy belongs in staging first).

The document store's migration is a *ledger*: a config value cannot know what
is deployed, so the environment declares its whole history and the loader
checks every step of it (``phase_problems``), before anything is registered.
"""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass

from policies import conventions
from stack_config.parsing import Problem, setting, show

# --- cache ---------------------------------------------------------------------

REPLICATION_GROUP_ID = r"[a-z][a-z0-9-]{0,39}"
IMAGE_BY_DIGEST = r"[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}"
HH_MM = r"([01]\d|2[0-3]):[0-5]\d"

# ElastiCache API limits (CacheUsageLimits): data storage 1..5,000 GB, ECPU/s 1,000..15,000,000.
STORAGE_GB = {"min": 1, "max": 5000}
PASSWORD_ROTATION_DAYS = {"min": 1, "max": 365}  # Secrets Manager allows up to 1000; a year is the audit ceiling
ECPU = {"min": 1000, "max": 15_000_000}


@dataclass(frozen=True)
class CacheMigration:
    """An existing Redis OSS replication group this stack takes over."""

    replication_group_id: str = setting(
        pattern=REPLICATION_GROUP_ID, what="a replication group id (lowercase letters, digits, hyphens; <= 40)"
    )
    mode: str = setting(choices=("upgrade-in-place", "replace-with-serverless"))
    node_type: str = setting(
        "cache.r7g.large",
        pattern=r"cache\.[a-z0-9]+\.[a-z0-9]+",
        what="a node type like 'cache.r7g.large'",
        doc="upgrade-in-place keeps the group's nodes; state the type it runs today",
    )
    num_cache_clusters: int = setting(2, min=2, max=6, doc="a primary and a replica: failover survives one node")
    seed_snapshot_arn: str | None = setting(
        None,
        pattern=r"arn:aws:(elasticache|s3):.+",
        what="an ElastiCache snapshot or S3 .rdb ARN",
        doc="replace-with-serverless: start warm from the old group's data",
    )


@dataclass(frozen=True)
class CacheConfig:
    major_engine_version: str = setting("8", choices=("7", "8"), doc="Valkey 8: current major, serverless-capable")
    data_storage_min_gb: int | None = setting(None, **STORAGE_GB, doc="no floor: pay for what is stored")
    data_storage_max_gb: int = setting(
        10, **STORAGE_GB, doc="a cost ceiling; writes fail beyond it, so clients must tolerate errors"
    )
    ecpu_per_second_min: int | None = setting(
        None, **ECPU, doc="a floor guarantees capacity at once; unset: scale from zero"
    )
    ecpu_per_second_max: int = setting(
        100_000, **ECPU, doc="a ceiling: throttles instead of an unbounded bill (circuit breaker!)"
    )
    snapshot_retention_days: int = setting(1, min=0, max=35, doc="one day to recover from a bad flush")
    daily_snapshot_time: str = setting(
        "03:00", pattern=HH_MM, what="a UTC time like '03:00'", doc="the quietest hour of the shop's traffic"
    )
    connect_timeout_ms: int = setting(
        1000, min=100, max=5000, doc="the outage began with a 60 s default: fail fast, fall back to the DB"
    )
    command_timeout_ms: int = setting(500, min=50, max=2000, doc="a cache slower than this is worse than no cache")
    migrate_from: CacheMigration | None = setting(None, doc="take over a Redis OSS replication group")
    alarm_at_percent: int = setting(
        80, min=50, max=95, doc="warn at this share of the maximums: past them the cache throttles, it does not scale"
    )
    password_rotation_days: int = setting(
        30,
        **PASSWORD_ROTATION_DAYS,
        doc="Secrets Manager rotates the app user's password; the old one works a period more",
    )


# --- document store --------------------------------------------------------------

# The migration, in order; `retiring` lifts DocumentDB's protection so the next deploy can delete it
# (a protected resource cannot be removed in the same deploy that un-protects it).
PHASES: tuple[str, ...] = ("documentdb", "dual", "atlas", "retiring", "retired")
FORWARD: dict[str, str] = {"documentdb": "dual", "dual": "atlas", "atlas": "retiring", "retiring": "retired"}
# Safe steps back: each lands on a phase whose data store still exists and holds current data.
BACKWARD: dict[str, str] = {
    "dual": "documentdb",  # abort the migration: services never left DocumentDB
    "atlas": "dual",  # roll back: DocumentDB is still there (protected); sync reversed Atlas -> DocumentDB first
    "retiring": "atlas",  # cancel the retirement: DocumentDB still exists, protection comes back
}
# Where DocumentDB / Atlas exist, and which one the services' connection secret names.
DOCUMENTDB_PHASES = frozenset({"documentdb", "dual", "atlas", "retiring"})
ATLAS_PHASES = frozenset({"dual", "atlas", "retiring", "retired"})
SERVES_FROM_ATLAS = frozenset({"atlas", "retiring", "retired"})
DATE = r"\d{4}-\d{2}-\d{2}"
# MongoDB's read preference modes; DocumentDB honours the same names.
READ_PREFERENCES = ("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")
COLLECTION = r"[A-Za-z_][A-Za-z0-9_.-]{0,119}"
FIELD_PATH = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
STACK_REF = r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"


def _date(text: str) -> str | None:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return "is not a real calendar date (YYYY-MM-DD)"
    return None


def allowed_after(phase: str) -> list[str]:
    return [p for p in (FORWARD.get(phase), BACKWARD.get(phase)) if p]


@dataclass(frozen=True)
class PhaseEntry:
    phase: str = setting(choices=PHASES)
    since: str = setting(pattern=DATE, what="a date like '2026-03-02'", check=_date)

    @property
    def day(self) -> datetime.date:
        return datetime.date.fromisoformat(self.since)


# vCPUs and memory (GiB) per DocumentDB instance class, from "Instance class specifications"
# (https://docs.aws.amazon.com/documentdb/latest/developerguide/db-instance-classes.html#db-instance-class-specs).
# The memory and session-load alarms are shares of them; a class missing here is refused, not alarmed on a guess.
_SIZES = {
    "large": (2, 16),
    "xlarge": (4, 32),
    "2xlarge": (8, 64),
    "4xlarge": (16, 128),
    "8xlarge": (32, 256),
    "12xlarge": (48, 384),
    "16xlarge": (64, 512),
}
DOCUMENTDB_CLASSES: dict[str, tuple[int, int]] = {
    "db.t3.medium": (2, 4),
    "db.t4g.medium": (2, 4),
    **{f"db.{family}.{size}": spec for family in ("r5", "r6g") for size, spec in _SIZES.items()},
}


@dataclass(frozen=True)
class DocumentDbConfig:
    engine_version: str = setting("5.0.0", choices=("5.0.0",), doc="5.0: the version with I/O-optimised storage")
    instance_class: str = setting(
        "db.r6g.large",
        choices=tuple(DOCUMENTDB_CLASSES),
        doc="a class whose size is known: the memory and load alarms are shares of it",
    )
    instance_count: int = setting(2, min=1, max=16, doc="a writer and a reader: failover without a restore")
    backup_retention_days: int = setting(7, min=1, max=35, doc="a week of point-in-time restore")
    storage_type: str = setting(
        "iopt1", choices=("iopt1", "standard"), doc="I/O-optimised: the write-heavy workload paid per I/O otherwise"
    )
    change_stream_retention_hours: int = setting(
        72, min=1, max=168, doc="dual: the sync task may stop for a weekend and resume"
    )
    restore_from_snapshot: str | None = setting(
        None,
        pattern=r"arn:aws:rds:[a-z0-9-]+:\d{12}:cluster-snapshot:[A-Za-z0-9:-]+",
        what="a DocumentDB cluster snapshot ARN in this stack's region",
        doc="unset: a new, empty cluster; set: created from that snapshot (a rebuild elsewhere), read at creation only",
    )
    restore_latest_copy_of: str | None = setting(
        None,
        pattern=r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+",
        what="a stack reference like 'organization/aws-platform/prod'",
        doc="unset: no; set: created from the newest AWS Backup copy of that stack's cluster in this region (its "
        "'recovery' output names it), found by lookup at up: no ARN to edit by hand (docs/recovery.md)",
    )

    @property
    def vcpus(self) -> int:
        return DOCUMENTDB_CLASSES[self.instance_class][0]

    @property
    def memory_bytes(self) -> int:
        return DOCUMENTDB_CLASSES[self.instance_class][1] * 1024**3


@dataclass(frozen=True)
class ShardedCollection:
    """One collection of a sharded cluster and its shard key (``documentdb-to-mongodb-atlas.md``: avoid hot shards)."""

    collection: str = setting(pattern=COLLECTION, what="a collection name like 'orders'")
    key: list[str] = setting(
        min=1,
        max=8,
        each={"pattern": FIELD_PATH, "what": "a field path like 'customerId' or 'address.country'"},
        doc="the shard key's fields, in order",
    )
    hashed: bool = setting(False, doc="hash the first field: spreads monotonically growing keys across shards")

    def shard_key(self) -> dict[str, object]:
        """The key document ``sh.shardCollection`` takes: ``{field: "hashed"}`` first, then ``{field: 1}``."""
        return {field: ("hashed" if self.hashed and i == 0 else 1) for i, field in enumerate(self.key)}


@dataclass(frozen=True)
class AtlasConfig:
    org_id: str = setting(pattern=r"[0-9a-f]{24}", what="an Atlas organization id (24 hex characters)")
    project_name: str | None = setting(
        None,
        pattern=r"[a-z0-9][a-z0-9-]{0,63}",
        what="a lowercase project name",
        doc="default: the convention name, so two stacks never share a project",
    )
    region: str | None = setting(
        None,
        pattern=r"[A-Z]{2}_[A-Z]+_\d",
        what="an Atlas AWS region like 'EU_WEST_1'",
        doc="default: the stack's region (PrivateLink endpoints are regional)",
    )
    instance_size: str = setting(
        "M10",
        pattern=r"M(10|20|30|40|50|60|80|140|200|300|400|700)",
        what="a dedicated tier M10..M700 (PrivateLink needs a dedicated cluster)",
    )
    shards: int = setting(1, min=1, max=50, doc="1 = replica set; more = sharded, to scale writes")
    nodes_per_shard: int = setting(3, choices=(3, 5, 7), doc="three electable nodes survive one AZ")
    mongo_db_major_version: str = setting("8.0", choices=("7.0", "8.0"))
    pitr: bool = setting(True, doc="point-in-time restore: the rollback of a bad migration batch")
    compute_autoscaling: bool = setting(False, doc="off: rolling scale-ups took nodes down at peak (the report)")
    compute_max_instance_size: str | None = setting(None, pattern=r"M\d+", what="an instance size like 'M40'")
    disk_iops: int | None = setting(
        None, min=3000, max=64000, doc="provisioned IOPS: double write capacity in minutes, not a re-shard"
    )
    access_list: list[str] = setting(
        default_factory=list,
        each={"cidr": True},
        doc="empty: PrivateLink only; refused in prod, 0.0.0.0/0 refused everywhere",
    )
    sharded_collections: list[ShardedCollection] = setting(
        default_factory=list,
        doc="required with shards > 1: an unsharded collection lives on one shard and takes all its writes there",
    )

    @property
    def sharded(self) -> bool:
        return self.shards > 1


@dataclass(frozen=True)
class SyncConfig:
    """The DocumentDB -> Atlas copy. MongoDB's live-migration tools refuse DocumentDB as a source."""

    image: str = setting(pattern=IMAGE_BY_DIGEST, what="an image reference pinned by digest (name@sha256:<64 hex>)")
    mode: str = setting(
        "change-stream",
        choices=("change-stream", "dump-restore"),
        doc="change-stream: no write freeze; dump-restore: a window, for small data sets",
    )
    cpu: int = setting(1024, choices=(256, 512, 1024, 2048, 4096))
    memory: int = setting(2048, min=512, max=30720)
    direction: str = setting(
        "forward",
        choices=("forward", "reverse"),
        doc="forward: DocumentDB -> Atlas in 'dual'; reverse: Atlas -> DocumentDB in 'atlas', before a rollback",
    )
    reverse_writes_per_second: int = setting(
        500,
        min=10,
        max=20000,
        doc="the reverse sync's write ceiling into DocumentDB: bulk rewrites there set off hours of vacuum lock waves",
    )


@dataclass(frozen=True)
class DocumentStoreConfig:
    phases: list[PhaseEntry] = setting(min=1, doc="the migration ledger; the current phase is the last entry")
    database_name: str = setting("shop", pattern=r"[a-z][a-z0-9_]{0,37}", what="a database name")
    rollback_window_days: int = setting(
        30, min=7, max=365, doc="a month on Atlas before DocumentDB may go: one billing/traffic cycle"
    )
    documentdb: DocumentDbConfig = setting(default_factory=DocumentDbConfig)
    atlas: AtlasConfig | None = setting(None)
    sync: SyncConfig | None = setting(None)
    read_preference: str = setting(
        "secondaryPreferred",
        choices=READ_PREFERENCES,
        doc="one choice for both engines: a cut-over must not move every read onto the primaries",
    )
    rehearsed_in: str | None = setting(
        None,
        pattern=STACK_REF,
        what="a stack reference like 'organization/aws-platform/staging'",
        doc="prod only: the stack whose ledger must reach 'atlas' before prod enters 'dual'",
    )

    @property
    def phase(self) -> str:
        return self.phases[-1].phase

    @property
    def has_documentdb(self) -> bool:
        return self.phase in DOCUMENTDB_PHASES

    @property
    def has_atlas(self) -> bool:
        return self.phase in ATLAS_PHASES

    @property
    def sets_up_documentdb(self) -> bool:
        """Whether the setup function (its own image repository) makes users and change streams in DocumentDB."""
        return self.has_documentdb and self.phase in ("documentdb", "dual", "atlas")

    @property
    def serves_from_atlas(self) -> bool:
        return self.phase in SERVES_FROM_ATLAS

    @property
    def syncing(self) -> str | None:
        """Which way the sync task copies now: forward in ``dual``, reverse in ``atlas`` when asked; else none."""
        if self.sync is None:
            return None
        if self.phase == "dual" and self.sync.direction == "forward":
            return "forward"
        if self.phase == "atlas" and self.sync.direction == "reverse":
            return "reverse"
        return None

    @property
    def entered_dual(self) -> datetime.date | None:
        """The first day of ``dual``: when prod's bulk copy starts, staging must already have been through it."""
        return next((entry.day for entry in self.phases if entry.phase == "dual"), None)


# Where the rehearsal counts as done: staging's services ran on Atlas (its bulk copy and cut-over are behind it).
REHEARSED_PHASES = frozenset({"atlas", "retiring", "retired"})


def phase_on(ledger: list[dict[str, str]], day: datetime.date) -> str | None:
    """The phase a ledger (``[{phase, since}]``, as a stack exports it) was in on ``day``; None before it began."""
    current = None
    for entry in sorted(ledger, key=lambda e: e["since"]):
        if datetime.date.fromisoformat(entry["since"]) <= day:
            current = entry["phase"]
    return current


def rehearsal_problem(ledger: list[dict[str, str]] | None, reference: str, entered_dual: datetime.date) -> str | None:
    """Why prod may not be in ``dual`` yet, or None: staging's ledger must show 'atlas' on the day prod entered dual."""
    if not ledger:
        return (
            f"documentStore.rehearsedIn: stack {reference!r} exports no 'documents_ledger' "
            f"(allowed: a stack whose document store reached 'atlas' first; documentdb-vacuum-locks.md: staging first)"
        )
    reached = phase_on(ledger, entered_dual)
    if reached in REHEARSED_PHASES:
        return None
    atlas_days = [e["since"] for e in ledger if e["phase"] == "atlas"]
    when = f"it entered 'atlas' on {atlas_days[0]}" if atlas_days else "it has not entered 'atlas'"
    return (
        f"documentStore.phases: prod enters 'dual' on {entered_dual} but {reference!r} was in {reached!r} then "
        f"({when}; allowed: a 'dual' date on or after staging's 'atlas' date; rehearse the bulk copy in staging "
        f"first, documentdb-vacuum-locks.md)"
    )


def atlas_region(aws_region: str) -> str:
    """``eu-west-1`` -> ``EU_WEST_1``: Atlas's name for the same AWS region."""
    return aws_region.upper().replace("-", "_")


# --- cross-field checks (called by the loader) -------------------------------------


def cache_problems(cache: CacheConfig | None, stage: str, key: str, usage: str = "PRODUCTION") -> list[Problem]:
    if cache is None:
        return []
    problems = []
    for low_key, high_key, low, high in (
        ("dataStorageMinGb", "dataStorageMaxGb", cache.data_storage_min_gb, cache.data_storage_max_gb),
        ("ecpuPerSecondMin", "ecpuPerSecondMax", cache.ecpu_per_second_min, cache.ecpu_per_second_max),
    ):
        if low is not None and low > high:
            problems.append(
                Problem(f"{key}.{low_key}", f"{low} is above {high_key} {high} (allowed: a minimum <= the maximum)")
            )
    if conventions.keeps_data(stage, usage) and cache.snapshot_retention_days < 1:
        problems.append(
            Problem(
                f"{key}.snapshotRetentionDays",
                f"{cache.snapshot_retention_days} with usage {usage} in stage {stage} "
                f"(allowed: 1..35; production data keeps snapshots)",
            )
        )
    return problems


def phase_problems(phases: list[PhaseEntry], rollback_window_days: int, key: str) -> list[Problem]:
    """Every step of the ledger must be an allowed transition, in date order, after the rollback window."""
    problems = []
    if phases[0].phase != "documentdb":
        problems.append(
            Problem(
                f"{key}[0].phase",
                f"{show(phases[0].phase)} (allowed: 'documentdb'; the ledger starts where the environment started)",
            )
        )
    entered_atlas: datetime.date | None = phases[0].day if phases[0].phase == "atlas" else None
    for i, (before, after) in enumerate(itertools.pairwise(phases), start=1):
        allowed = allowed_after(before.phase)
        if after.phase not in allowed:
            why = (
                "nothing follows 'retired': DocumentDB is gone"
                if before.phase == "retired"
                else f"allowed after {show(before.phase)}: {', '.join(map(show, allowed))}"
            )
            problems.append(
                Problem(
                    f"{key}[{i}].phase", f"{show(before.phase)} -> {show(after.phase)} is not a safe transition ({why})"
                )
            )
        if after.day <= before.day:
            problems.append(
                Problem(
                    f"{key}[{i}].since",
                    f"{show(after.since)} is not after {show(before.since)} (allowed: dates strictly increasing)",
                )
            )
        if after.phase == "atlas" and before.phase == "dual":
            entered_atlas = after.day
        if after.phase == "retiring" and entered_atlas is not None:
            earliest = entered_atlas + datetime.timedelta(days=rollback_window_days)
            if after.day < earliest:
                problems.append(
                    Problem(
                        f"{key}[{i}].since",
                        f"{show(after.since)} is inside the "
                        f"{rollback_window_days}-day rollback window that "
                        f"began on {entered_atlas} (allowed: {earliest} "
                        f"or later)",
                    )
                )
    return problems


def document_store_problems(
    store: DocumentStoreConfig | None, stage: str, region: str, key: str, usage: str = "PRODUCTION"
) -> list[Problem]:
    if store is None:
        return []
    problems = phase_problems(store.phases, store.rollback_window_days, f"{key}.phases")
    atlas = store.atlas
    if store.has_atlas and atlas is None:
        problems.append(
            Problem(f"{key}.atlas", f"is required in phase {show(store.phase)} (the Atlas org, size and shards)")
        )
    if store.phase == "dual" and store.sync is None:
        problems.append(Problem(f"{key}.sync", "is required in phase 'dual' (the sync task's image by digest)"))
    if store.sync is not None and store.sync.direction == "reverse" and store.phase != "atlas":
        problems.append(
            Problem(
                f"{key}.sync.direction",
                f"'reverse' in phase {show(store.phase)} (allowed: 'reverse' only in 'atlas', where the services write "
                f"to Atlas and DocumentDB must catch up before a rollback; 'forward' elsewhere)",
            )
        )
    if stage == "prod" and store.entered_dual is not None and store.rehearsed_in is None:
        problems.append(
            Problem(
                f"{key}.rehearsedIn",
                "is required once prod's ledger enters 'dual' (allowed: the staging stack, like "
                "'organization/aws-platform/staging', whose ledger reached 'atlas' first; documentdb-vacuum-locks.md)",
            )
        )
    if atlas is not None:
        expected = atlas_region(region) if region else None
        if atlas.region is not None and expected and atlas.region != expected:
            problems.append(
                Problem(
                    f"{key}.atlas.region",
                    f"{show(atlas.region)} but the stack runs in {region} "
                    f"(allowed: {show(expected)}; PrivateLink is regional)",
                )
            )
        if atlas.compute_autoscaling and atlas.compute_max_instance_size is None:
            problems.append(
                Problem(
                    f"{key}.atlas.computeMaxInstanceSize",
                    "is required when computeAutoscaling is true (the cost ceiling)",
                )
            )
        for i, cidr in enumerate(atlas.access_list):
            if cidr == "0.0.0.0/0":
                problems.append(
                    Problem(
                        f"{key}.atlas.accessList[{i}]",
                        "'0.0.0.0/0' opens the database to the internet (allowed: private CIDRs, outside prod)",
                    )
                )
            elif stage == "prod":
                problems.append(
                    Problem(
                        f"{key}.atlas.accessList[{i}]",
                        f"{show(cidr)} in prod (allowed: none; prod reaches Atlas over PrivateLink only)",
                    )
                )
        problems.extend(shard_problems(atlas, f"{key}.atlas"))
        if conventions.keeps_data(stage, usage) and not atlas.pitr:
            problems.append(
                Problem(
                    f"{key}.atlas.pitr",
                    f"false with usage {usage} in stage {stage} "
                    "(allowed: true; point-in-time restore is the way back from a bad batch)",
                )
            )
    return problems


def shard_problems(atlas: AtlasConfig, key: str) -> list[Problem]:
    """A sharded cluster names its sharded collections and their keys; a replica set names none."""
    name = f"{key}.shardedCollections"
    if atlas.sharded and not atlas.sharded_collections:
        return [
            Problem(
                name,
                f"[] with shards {atlas.shards} (allowed: at least one {{collection, key}}; an unsharded collection "
                f"stays on the primary shard, which then takes every write: documentdb-to-mongodb-atlas.md)",
            )
        ]
    if not atlas.sharded and atlas.sharded_collections:
        return [Problem(name, f"is set but shards is {atlas.shards} (allowed: only with shards > 1)")]
    problems = []
    seen: set[str] = set()
    for i, spec in enumerate(atlas.sharded_collections):
        if spec.collection in seen:
            problems.append(Problem(f"{name}[{i}].collection", f"{show(spec.collection)} appears twice"))
        seen.add(spec.collection)
        if len(set(spec.key)) != len(spec.key):
            problems.append(Problem(f"{name}[{i}].key", f"{show(spec.key)} names a field twice"))
    return problems
