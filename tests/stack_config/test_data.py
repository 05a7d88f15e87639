"""The data tier's config: cache limits, Atlas safety rules, and the migration ledger's phase machine.

The ledger is the environment's migration history; every step of it must be a safe
transition, in date order, and DocumentDB may only start retiring after the rollback window.
"""

from __future__ import annotations

import datetime
import itertools

import pytest

import stack_config
from stack_config import ConfigError
from tests.conftest import load_stack_yaml

KEY = "aws-platform:documentStore"
PATH = ["documentdb", "dual", "atlas", "retiring", "retired"]
# The specification, written out rather than read from the module under test.
ALLOWED = {
    ("documentdb", "dual"),
    ("dual", "atlas"),
    ("atlas", "retiring"),
    ("retiring", "retired"),  # forward
    ("dual", "documentdb"),  # abort: services never left DocumentDB
    ("atlas", "dual"),  # roll back while DocumentDB still exists
    ("retiring", "atlas"),  # cancel the retirement before DocumentDB is deleted
}
SYNC_IMAGE = "267721532588.dkr.ecr.eu-west-1.amazonaws.com/shop-docsync@sha256:" + "a" * 64
SYNC = {"image": SYNC_IMAGE}


def sync_declared(stack: str = "dev") -> dict:
    """The stack's own externals plus the sync image: a pinned image exists only where config names its owner."""
    shipped = load_stack_yaml(stack)["config"].get("aws-platform:externals", [])
    return {
        "aws-platform:externals": [
            *[e for e in shipped if "@sha256:" not in e["ref"]],
            {"ref": SYNC_IMAGE, "owner": "data-team", "how": "the change-stream sync image the data team pushes"},
        ]
    }


ATLAS = {"orgId": "64b7f0c2a1d3e4f5a6b7c8d9"}


def ledger(*phases: str, start: str = "2026-01-01", step_days: int = 40) -> list[dict[str, str]]:
    first = datetime.date.fromisoformat(start)
    return [{"phase": p, "since": str(first + datetime.timedelta(days=step_days * i))} for i, p in enumerate(phases)]


def store(phases, stack="dev", **extra):
    return {KEY: {"phases": phases, "atlas": ATLAS, "sync": SYNC, **extra}, **sync_declared(stack)}


def load(stack_yaml, changes, stack="dev"):
    return stack_config.load_file(stack, stack_yaml(stack, changes))


def problems(stack_yaml, changes, stack="dev") -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(stack_yaml, changes, stack)
    return [str(p) for p in err.value.problems]


def test_shipped_environments_are_at_different_phases():
    phases = {s: stack_config.load_file(s).document_store.phase for s in ("dev", "staging", "prod")}
    assert phases == {"dev": "atlas", "staging": "dual", "prod": "documentdb"}
    assert all(stack_config.load_file(s).cache is not None for s in ("dev", "staging", "prod"))


@pytest.mark.parametrize("before,after", list(itertools.product(PATH, PATH)))
def test_every_transition_is_allowed_or_refused_by_name(stack_yaml, before, after):
    phases = ledger(*PATH[: PATH.index(before) + 1], after)
    changes = store(phases)
    index = len(phases) - 1
    if (before, after) in ALLOWED:
        assert load(stack_yaml, changes).document_store.phase == after
    else:
        found = problems(stack_yaml, changes)
        (problem,) = [p for p in found if p.startswith(f"{KEY}.phases[{index}].phase")]
        assert f"'{before}' -> '{after}' is not a safe transition" in problem
        assert ("nothing follows 'retired'" in problem) if before == "retired" else ("allowed after" in problem)


@pytest.mark.parametrize(
    "phases",
    [
        ["documentdb", "atlas"],
        ["dual", "retired"],
        ["documentdb", "retired"],
        ["atlas", "documentdb"],
        ["retired", "documentdb"],
    ],
)
def test_skips_and_unsafe_steps_back_are_refused_mid_ledger(stack_yaml, phases):
    """A bad step is refused wherever it sits in the history, not only at its end."""
    prefix = PATH[: PATH.index(phases[0]) + 1]
    full = ledger(*prefix, *phases[1:])
    found = problems(stack_yaml, store(full))
    assert any(f"'{phases[0]}' -> '{phases[1]}' is not a safe transition" in p for p in found)


def test_ledger_starts_with_documentdb(stack_yaml):
    found = problems(stack_yaml, store(ledger("atlas")))
    assert (
        f"{KEY}.phases[0].phase: 'atlas' (allowed: 'documentdb'; the ledger starts where the environment started)"
        in found
    )


def test_dates_must_strictly_increase(stack_yaml):
    phases = [{"phase": "documentdb", "since": "2026-03-02"}, {"phase": "dual", "since": "2026-03-02"}]
    found = problems(stack_yaml, store(phases))
    assert (
        f"{KEY}.phases[1].since: '2026-03-02' is not after '2026-03-02' (allowed: dates strictly increasing)" in found
    )


@pytest.mark.parametrize(
    "since,what", [("2026-13-01", "is not a real calendar date"), ("March 2", "is not a date like '2026-03-02'")]
)
def test_dates_must_be_real(stack_yaml, since, what):
    found = problems(stack_yaml, store([{"phase": "documentdb", "since": since}]))
    assert any(p.startswith(f"{KEY}.phases[0].since: '{since}' {what}") for p in found)


def test_unknown_phase_names_the_allowed_ones(stack_yaml):
    found = problems(
        stack_yaml, store([{"phase": "documentdb", "since": "2026-01-01"}, {"phase": "mongodb", "since": "2026-02-01"}])
    )
    assert (
        f"{KEY}.phases[1].phase: 'mongodb' is not allowed (allowed: documentdb, dual, atlas, retiring, retired)"
        in found
    )


@pytest.mark.parametrize("days,ok", [(29, False), (30, True), (31, True)])
def test_retiring_waits_for_the_rollback_window(stack_yaml, days, ok):
    phases = ledger("documentdb", "dual", "atlas")
    atlas_day = datetime.date.fromisoformat(phases[-1]["since"])
    phases.append({"phase": "retiring", "since": str(atlas_day + datetime.timedelta(days=days))})
    if ok:
        assert load(stack_yaml, store(phases)).document_store.phase == "retiring"
    else:
        (problem,) = [p for p in problems(stack_yaml, store(phases)) if p.startswith(f"{KEY}.phases[3].since")]
        assert f"inside the 30-day rollback window that began on {atlas_day}" in problem
        assert f"allowed: {atlas_day + datetime.timedelta(days=30)} or later" in problem


def test_rollback_window_is_configurable_and_restarts_after_a_rollback(stack_yaml):
    phases = ledger("documentdb", "dual", "atlas", "dual", "atlas", step_days=10)
    last_atlas = datetime.date.fromisoformat(phases[-1]["since"])
    phases.append({"phase": "retiring", "since": str(last_atlas + datetime.timedelta(days=10))})
    found = problems(stack_yaml, store(phases, rollbackWindowDays=14))
    assert any("inside the 14-day rollback window that began on " + str(last_atlas) in p for p in found)


def test_atlas_and_sync_are_required_by_the_phases_that_use_them(stack_yaml):
    found = problems(stack_yaml, {KEY: {"phases": ledger("documentdb", "dual")}})
    assert f"{KEY}.atlas: is required in phase 'dual' (the Atlas org, size and shards)" in found
    assert f"{KEY}.sync: is required in phase 'dual' (the sync task's image by digest)" in found
    assert load(stack_yaml, {KEY: {"phases": ledger("documentdb")}}).document_store.atlas is None


def test_sync_image_must_be_pinned_by_digest(stack_yaml):
    found = problems(stack_yaml, store(ledger("documentdb", "dual"), sync={"image": "docsync:latest"}))
    assert any(
        p.startswith(f"{KEY}.sync.image: 'docsync:latest' is not an image reference pinned by digest") for p in found
    )


def test_open_access_list_is_refused_everywhere(stack_yaml):
    found = problems(stack_yaml, store(ledger("documentdb"), atlas={**ATLAS, "accessList": ["0.0.0.0/0"]}))
    assert any(
        p.startswith(f"{KEY}.atlas.accessList[0]: '0.0.0.0/0' opens the database to the internet") for p in found
    )


def test_any_access_list_is_refused_in_prod_but_a_private_range_is_fine_in_dev(stack_yaml):
    found = problems(
        stack_yaml,
        store(ledger("documentdb"), atlas={**ATLAS, "accessList": ["10.250.0.0/16"]}, stack="prod"),
        stack="prod",
    )
    assert (
        f"{KEY}.atlas.accessList[0]: '10.250.0.0/16' in prod (allowed: none; prod reaches Atlas over PrivateLink only)"
        in found
    )
    dev = load(stack_yaml, store(ledger("documentdb"), atlas={**ATLAS, "accessList": ["10.250.0.0/16"]}))
    assert dev.document_store.atlas.access_list == ["10.250.0.0/16"]


def test_prod_keeps_point_in_time_restore(stack_yaml):
    found = problems(
        stack_yaml, store(ledger("documentdb"), atlas={**ATLAS, "pitr": False}, stack="prod"), stack="prod"
    )
    assert any(p.startswith(f"{KEY}.atlas.pitr: false with usage PRODUCTION in stage prod") for p in found)


def test_autoscaling_is_off_by_default_and_needs_a_ceiling_when_on(stack_yaml):
    assert stack_config.load_file("prod").document_store.atlas.compute_autoscaling is False
    found = problems(stack_yaml, store(ledger("documentdb"), atlas={**ATLAS, "computeAutoscaling": True}))
    assert (
        f"{KEY}.atlas.computeMaxInstanceSize: is required when computeAutoscaling is true (the cost ceiling)" in found
    )


def test_atlas_region_must_be_the_stack_region(stack_yaml):
    found = problems(stack_yaml, store(ledger("documentdb"), atlas={**ATLAS, "region": "US_EAST_1"}))
    assert any(
        p.startswith(f"{KEY}.atlas.region: 'US_EAST_1' but the stack runs in eu-west-1 (allowed: 'EU_WEST_1'")
        for p in found
    )


@pytest.mark.parametrize("size", ["M0", "M5", "m10", "M15"])
def test_atlas_needs_a_dedicated_tier(stack_yaml, size):
    found = problems(stack_yaml, store(ledger("documentdb"), atlas={**ATLAS, "instanceSize": size}))
    assert any(p.startswith(f"{KEY}.atlas.instanceSize: '{size}' is not a dedicated tier") for p in found)


# --- cache -----------------------------------------------------------------------------

CACHE = "aws-platform:cache"


@pytest.mark.parametrize(
    "field,value,allowed",
    [
        ("ecpuPerSecondMax", 999, "1000..15000000"),
        ("ecpuPerSecondMax", 15_000_001, "1000..15000000"),
        ("ecpuPerSecondMin", 500, "1000..15000000"),
        ("dataStorageMaxGb", 0, "1..5000"),
        ("dataStorageMaxGb", 5001, "1..5000"),
        ("snapshotRetentionDays", 36, "0..35"),
        ("connectTimeoutMs", 60000, "100..5000"),
        ("commandTimeoutMs", 60000, "50..2000"),
        ("passwordRotationDays", 0, "1..365"),
        ("passwordRotationDays", 366, "1..365"),
    ],
)
def test_cache_limits_follow_the_elasticache_ranges(stack_yaml, field, value, allowed):
    found = problems(stack_yaml, {CACHE: {field: value}})
    assert f"{CACHE}.{field}: {value} is out of range (allowed {allowed})" in found


def test_cache_minimum_above_maximum_is_refused(stack_yaml):
    found = problems(
        stack_yaml,
        {CACHE: {"ecpuPerSecondMin": 20000, "ecpuPerSecondMax": 10000, "dataStorageMinGb": 20, "dataStorageMaxGb": 10}},
    )
    assert (
        f"{CACHE}.ecpuPerSecondMin: 20000 is above ecpuPerSecondMax 10000 (allowed: a minimum <= the maximum)" in found
    )
    assert f"{CACHE}.dataStorageMinGb: 20 is above dataStorageMaxGb 10 (allowed: a minimum <= the maximum)" in found


def test_prod_cache_keeps_snapshots(stack_yaml):
    found = problems(stack_yaml, {CACHE: {"snapshotRetentionDays": 0}}, stack="prod")
    assert (
        f"{CACHE}.snapshotRetentionDays: 0 with usage PRODUCTION in stage prod "
        f"(allowed: 1..35; production data keeps snapshots)" in found
    )


def test_production_usage_keeps_its_data_in_staging_too(stack_yaml):
    """Usage PRODUCTION, not the stage prod, is what keeps data (conventions-tagging-naming-validation.md)."""
    found = problems(stack_yaml, {CACHE: {"snapshotRetentionDays": 0}}, stack="staging")
    assert any(p.startswith(f"{CACHE}.snapshotRetentionDays: 0 with usage PRODUCTION in stage staging") for p in found)
    found = problems(
        stack_yaml, store(ledger("documentdb"), atlas={**ATLAS, "pitr": False}, stack="staging"), stack="staging"
    )
    assert any(p.startswith(f"{KEY}.atlas.pitr: false with usage PRODUCTION in stage staging") for p in found)


def test_cache_migration_mode_is_one_of_two(stack_yaml):
    found = problems(
        stack_yaml, {CACHE: {"migrateFrom": {"replicationGroupId": "shop-dev-sessions", "mode": "lift-and-shift"}}}
    )
    assert (
        f"{CACHE}.migrateFrom.mode: 'lift-and-shift' is not allowed "
        f"(allowed: upgrade-in-place, replace-with-serverless)"
    ) in found


def test_default_client_timeouts_are_short():
    cache = stack_config.load_file("dev").cache
    assert cache.connect_timeout_ms <= 1000 and cache.command_timeout_ms <= 1000


# --- shard keys ---------------------------------------------------------------------------------------------------

ORDERS = {"collection": "orders", "key": ["customerId"], "hashed": True}


def test_a_sharded_cluster_without_shard_keys_is_refused(stack_yaml):
    found = problems(stack_yaml, store(ledger("documentdb"), atlas={**ATLAS, "shards": 2}))
    assert any(
        p.startswith(f"{KEY}.atlas.shardedCollections: [] with shards 2 (allowed: at least one {{collection, key}}")
        for p in found
    )


def test_a_sharded_cluster_with_its_shard_keys_loads_and_builds_the_key_document(stack_yaml):
    compound = {"collection": "events", "key": ["tenantId", "createdAt"]}
    atlas = load(
        stack_yaml, store(ledger("documentdb"), atlas={**ATLAS, "shards": 2, "shardedCollections": [ORDERS, compound]})
    )
    orders, events = atlas.document_store.atlas.sharded_collections
    assert orders.shard_key() == {"customerId": "hashed"}
    assert events.shard_key() == {"tenantId": 1, "createdAt": 1}


@pytest.mark.parametrize(
    ("atlas", "complaint"),
    [
        ({"shards": 1, "shardedCollections": [ORDERS]}, "is set but shards is 1 (allowed: only with shards > 1)"),
        ({"shards": 2, "shardedCollections": [ORDERS, ORDERS]}, "[1].collection: 'orders' appears twice"),
        (
            {"shards": 2, "shardedCollections": [{"collection": "o", "key": ["a", "a"]}]},
            "[0].key: ['a', 'a'] names a field twice",
        ),
        ({"shards": 2, "shardedCollections": [{"collection": "o", "key": []}]}, "[0].key: 0 entries is out of range"),
        (
            {"shards": 2, "shardedCollections": [{"collection": "o", "key": ["$bad"]}]},
            "[0].key[0]: '$bad' is not a field path",
        ),
    ],
)
def test_shard_key_declarations_are_checked(stack_yaml, atlas, complaint):
    found = problems(stack_yaml, store(ledger("documentdb"), atlas={**ATLAS, **atlas}))
    assert any(p.startswith(f"{KEY}.atlas.shardedCollections") and complaint in p for p in found), found


# --- read preference, reverse sync, instance classes ----------------------------------------------------------------


def test_one_read_preference_for_both_engines_defaults_to_the_replicas(stack_yaml):
    assert stack_config.load_file("prod").document_store.read_preference == "secondaryPreferred"
    found = problems(stack_yaml, store(ledger("documentdb"), readPreference="secondaryPrefered"))
    assert any(
        p.startswith(f"{KEY}.readPreference: 'secondaryPrefered' is not allowed (allowed: primary,") for p in found
    )


def test_reverse_sync_only_runs_where_the_services_write_to_atlas(stack_yaml):
    reverse = {**SYNC, "direction": "reverse", "reverseWritesPerSecond": 200}
    found = problems(stack_yaml, store(ledger("documentdb", "dual"), sync=reverse))
    assert any(
        p.startswith(f"{KEY}.sync.direction: 'reverse' in phase 'dual' (allowed: 'reverse' only in 'atlas'")
        for p in found
    )
    at_atlas = load(stack_yaml, store(ledger("documentdb", "dual", "atlas"), sync=reverse)).document_store
    assert at_atlas.syncing == "reverse" and at_atlas.sync.reverse_writes_per_second == 200


@pytest.mark.parametrize("rate", [0, 5, 20001])
def test_reverse_write_rate_is_bounded(stack_yaml, rate):
    found = problems(stack_yaml, store(ledger("documentdb", "dual"), sync={**SYNC, "reverseWritesPerSecond": rate}))
    assert f"{KEY}.sync.reverseWritesPerSecond: {rate} is out of range (allowed 10..20000)" in found


def test_an_instance_class_of_unknown_size_is_refused(stack_yaml):
    found = problems(stack_yaml, store(ledger("documentdb"), documentdb={"instanceClass": "db.r9.large"}))
    assert any(
        p.startswith(f"{KEY}.documentdb.instanceClass: 'db.r9.large' is not allowed (allowed: db.t3.medium")
        for p in found
    )


# --- staging first ----------------------------------------------------------------------------------------------------

STAGING = "organization/aws-platform/staging"


def test_prod_entering_dual_must_name_the_stack_that_rehearsed_it(stack_yaml):
    found = problems(stack_yaml, store(ledger("documentdb", "dual"), atlas={**ATLAS}, stack="prod"), stack="prod")
    assert any(p.startswith(f"{KEY}.rehearsedIn: is required once prod's ledger enters 'dual'") for p in found)
    named = load(stack_yaml, store(ledger("documentdb", "dual"), rehearsedIn=STAGING, stack="prod"), stack="prod")
    assert named.document_store.rehearsed_in == STAGING


def test_staging_itself_needs_no_rehearsal(stack_yaml):
    assert (
        load(
            stack_yaml, store(ledger("documentdb", "dual"), stack="staging"), stack="staging"
        ).document_store.rehearsed_in
        is None
    )


@pytest.mark.parametrize(
    ("staging", "prod_dual", "refused"),
    [
        (
            ledger("documentdb", "dual", start="2026-01-01"),
            "2026-03-01",
            "was in 'dual' then (it has not entered 'atlas'",
        ),
        (
            ledger("documentdb", "dual", "atlas", start="2026-01-01"),
            "2026-03-01",
            "was in 'dual' then (it entered 'atlas' on 2026-03-22",
        ),
        # Staging reached atlas, then rolled back before prod started: not a finished rehearsal on that day.
        (
            ledger("documentdb", "dual", "atlas", "dual", start="2026-01-01", step_days=10),
            "2026-02-05",
            "was in 'dual'",
        ),
        ([], "2026-03-01", "exports no 'documents_ledger'"),
        (ledger("documentdb", "dual", "atlas", start="2026-01-01"), "2026-03-22", None),  # the same day counts
        (ledger("documentdb", "dual", "atlas", "retiring", start="2025-01-01", step_days=60), "2026-03-01", None),
    ],
)
def test_prod_may_be_in_dual_only_after_staging_reached_atlas(staging, prod_dual, refused):
    from stack_config.data import rehearsal_problem

    problem = rehearsal_problem(staging, STAGING, datetime.date.fromisoformat(prod_dual))
    if refused is None:
        assert problem is None
    else:
        assert problem is not None and refused in problem and STAGING in problem
