"""The document store follows its ledger: what exists per phase, and one secret whose value moves at cut-over."""

from __future__ import annotations

import json

import pytest

from components.document_store import documents_contract
from stack_config.data import DocumentStoreConfig, PhaseEntry
from tests.conftest import run_preview
from tests.stack_config.test_data import ATLAS, SYNC, ledger, sync_declared

APP_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-dev-documentdb-app-user-abc123"

DOCDB = "aws:docdb/cluster:Cluster"
ATLAS_CLUSTER = "mongodbatlas:index/advancedCluster:AdvancedCluster"
SECRET = "aws:secretsmanager/secret:Secret"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"

PATHS = {
    "documentdb": ("documentdb",),
    "dual": ("documentdb", "dual"),
    "atlas": ("documentdb", "dual", "atlas"),
    "retiring": ("documentdb", "dual", "atlas", "retiring"),
    "retired": ("documentdb", "dual", "atlas", "retiring", "retired"),
}
# phase -> (DocumentDB exists, Atlas exists, sync service runs, services are served by)
EXPECTED = {
    "documentdb": (True, False, False, "documentdb"),
    "dual": (True, True, True, "documentdb"),
    "atlas": (True, True, False, "mongodb-atlas"),
    "retiring": (True, True, False, "mongodb-atlas"),
    "retired": (False, True, False, "mongodb-atlas"),
}


def preview_at(stack_yaml, tmp_path, phase, **sync):
    config = stack_yaml(
        "dev",
        {
            "aws-platform:documentStore": {"phases": ledger(*PATHS[phase]), "atlas": ATLAS, "sync": {**SYNC, **sync}},
            **sync_declared("dev"),
        },
    )
    result = run_preview("dev", tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def sync_services(result):
    return [s for s in result.resources(SERVICE) if s["name"] == "docsync"]


@pytest.mark.parametrize("phase", list(PATHS))
def test_each_phase_registers_its_stores_and_keeps_the_secret_name(stack_yaml, tmp_path, phase):
    result = preview_at(stack_yaml, tmp_path, phase)
    docdb, atlas, syncing, served_by = EXPECTED[phase]
    assert bool(result.resources(DOCDB)) is docdb
    assert bool(result.resources(ATLAS_CLUSTER)) is atlas
    assert bool(sync_services(result)) is syncing
    secret = result.one(SECRET, "documents-connection")["inputs"]
    assert secret["name"] == "shop-dev-documents-connection", "services never change their configuration"
    assert secret["tags"] == {"served-by": served_by, "migration-phase": phase}
    assert result.snapshot["outputs"]["documents_connection_secret"] == "shop-dev-documents-connection"


def store(*phases):
    from stack_config.data import AtlasConfig

    entries = [PhaseEntry(**e) for e in ledger(*phases)]
    return DocumentStoreConfig(phases=entries, atlas=AtlasConfig(org_id=ATLAS["orgId"]))


@pytest.mark.parametrize(
    "phases,engine,uri",
    [
        (("documentdb",), "documentdb", "mongodb://docdb"),
        (("documentdb", "dual"), "documentdb", "mongodb://docdb"),
        (("documentdb", "dual", "atlas"), "mongodb-atlas", "mongodb+srv://atlas"),
        (("documentdb", "dual", "atlas", "dual"), "documentdb", "mongodb://docdb"),  # rollback moves it back
        (("documentdb", "dual", "atlas", "retiring", "retired"), "mongodb-atlas", "mongodb+srv://atlas"),
    ],
)
def test_the_secret_value_switches_at_cut_over_and_back_on_rollback(phases, engine, uri):
    contract = documents_contract(store(*phases), "mongodb://docdb", "mongodb+srv://atlas", APP_SECRET)
    assert (contract["engine"], contract["uri"], contract["phase"]) == (engine, uri, phases[-1])
    assert contract["connectTimeoutMS"] <= 2000 and contract["database"] == "shop"
    assert contract["authMechanism"] == ("MONGODB-AWS" if engine == "mongodb-atlas" else "SCRAM-SHA-1")
    # DocumentDB: the rotating credentials by reference; Atlas: the task role, no secret at all.
    assert contract.get("credentialsSecretArn") == (APP_SECRET if engine == "documentdb" else None)


DOCDB_PHASES = [("documentdb",), ("documentdb", "dual"), ("documentdb", "dual", "atlas", "dual")]


@pytest.mark.parametrize("phases", DOCDB_PHASES)
def test_the_documentdb_contract_carries_no_password(phases):
    from components import document_db

    uri = document_db.connection_uri("docdb.example", "shop", "secondaryPreferred")
    contract = documents_contract(store(*phases), uri, None, APP_SECRET)
    assert contract["uri"].startswith("mongodb://docdb.example:27017/shop?") and "@" not in contract["uri"]
    assert "authSource=admin" in contract["uri"] and "authMechanism=SCRAM-SHA-1" in contract["uri"]
    assert (contract["authSource"], contract["credentialsSecretArn"]) == ("admin", APP_SECRET)
    assert not {"username", "password", "user", "pwd"} & set(contract)
    with pytest.raises(ValueError, match="needs the app user's secret"):
        documents_contract(store(*phases), uri, None, None)


@pytest.mark.parametrize("phase", ["documentdb", "dual"])
def test_services_read_the_rotating_app_secret_and_their_contract_no_longer_holds_the_password(
    stack_yaml, tmp_path, phase
):
    result = preview_at(stack_yaml, tmp_path, phase)
    app_secret = result.one(SECRET, "documentdb-app-user")
    password = result.one("random:index/randomPassword:RandomPassword", "documentdb-app")
    contract = result.one("aws:secretsmanager/secretVersion:SecretVersion", "documents-connection")
    # The contract's value is made from the app secret's ARN and the cluster, never from the password.
    assert app_secret["urn"] in contract["propertyDependencies"]["secretString"]
    assert password["urn"] not in contract["dependencies"]
    # The client task roles (and nobody else) may read the app secret; services start after the grant exists.
    policy = result.one("aws:secretsmanager/secretPolicy:SecretPolicy", "documentdb-app-user")
    (statement,) = json.loads(policy["inputs"]["policy"])["Statement"]
    roles = sorted(s["task_role_arn"] for s in result.snapshot["outputs"]["services"].values())
    assert statement["Principal"]["AWS"] == roles
    assert statement["Action"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert app_secret["urn"] in policy["dependencies"]
    for service in result.resources(SERVICE):
        if service["name"] in ("api-service", "web-service"):
            assert policy["urn"] in service["dependencies"], service["name"]


def test_secret_is_readable_by_the_services_only(shipped_preview):
    dev = shipped_preview("dev")
    policy = json.loads(
        dev.one("aws:secretsmanager/secretPolicy:SecretPolicy", "documents-connection")["inputs"]["policy"]
    )
    (statement,) = policy["Statement"]
    roles = sorted(s["task_role_arn"] for s in dev.snapshot["outputs"]["services"].values())
    assert statement["Principal"]["AWS"] == roles
    assert statement["Action"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]


def test_dual_runs_one_change_stream_consumer_between_both_stores(shipped_preview):
    staging = shipped_preview("staging")
    (service,) = sync_services(staging)
    inputs = service["inputs"]
    assert inputs["desiredCount"] == 1 and inputs["deploymentMaximumPercent"] == 100, "never two consumers"
    assert inputs["networkConfiguration"]["assignPublicIp"] is False
    task = staging.one(TASK, "docsync")["inputs"]
    (container,) = json.loads(task["containerDefinitions"])
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert "@sha256:" in container["image"]
    assert env["SOURCE_HOST"].endswith(".docdb.amazonaws.com") and env["SOURCE_PORT"] == "27017"
    assert env["TARGET_URI"].startswith("mongodb+srv://") and "-pl-" in env["TARGET_URI"]
    assert "authMechanism=MONGODB-AWS" in env["TARGET_URI"]
    assert {s["name"] for s in container["secrets"]} == {"SOURCE_USERNAME", "SOURCE_PASSWORD"}


def test_sync_task_reaches_documentdb_on_27017_and_atlas_over_private_link(shipped_preview):
    staging = shipped_preview("staging")
    egress = {
        r["name"]: r
        for r in staging.resources("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r["name"].startswith("docsync-")
    }
    assert (
        egress["docsync-to-documentdb"]["inputs"]["fromPort"],
        egress["docsync-to-documentdb"]["inputs"]["toPort"],
    ) == (27017, 27017)
    assert (egress["docsync-to-atlas"]["inputs"]["fromPort"], egress["docsync-to-atlas"]["inputs"]["toPort"]) == (
        1024,
        65535,
    )
    sync_sg = staging.one("aws:ec2/securityGroup:SecurityGroup", "docsync")["urn"]
    ingress = staging.resources("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    admitted = {r["name"].rsplit("-from-", 1)[0] for r in ingress if sync_sg in r["dependencies"]}
    assert admitted == {"documentdb", "atlas-endpoint"}
    users = staging.resources("mongodbatlas:index/databaseUser:DatabaseUser")
    assert any(u["inputs"]["username"].endswith(":role/shop-staging-docsync-task") for u in users)


def test_dump_restore_registers_the_task_but_no_long_running_service(stack_yaml, tmp_path):
    result = preview_at(stack_yaml, tmp_path, "dual", mode="dump-restore")
    assert result.one(TASK, "docsync") and not sync_services(result)


def test_a_refused_ledger_registers_nothing(stack_yaml, tmp_path):
    config = stack_yaml(
        "dev", {"aws-platform:documentStore": {"phases": ledger("documentdb", "atlas"), "atlas": ATLAS}}
    )
    result = run_preview("dev", tmp_path, "--config", str(config))
    assert result.exit_code == 2
    assert "'documentdb' -> 'atlas' is not a safe transition" in result.stderr
    assert not result.snapshot_path.exists()


# --- read preference survives the cut-over ---------------------------------------------------------------------------


@pytest.mark.parametrize("preference", ["secondaryPreferred", "nearest"])
def test_both_sides_of_the_contract_read_from_the_same_members(preference):
    from components import atlas_cluster, document_db

    configs = [
        DocumentStoreConfig(phases=list(store(*p).phases), atlas=store(*p).atlas, read_preference=preference)
        for p in (("documentdb", "dual"), ("documentdb", "dual", "atlas"))
    ]
    docdb_uri = document_db.connection_uri("docdb.example", "shop", preference)
    atlas_uri = atlas_cluster.connection_uri("mongodb+srv://pl-0.example", "shop", preference)
    before, after = (documents_contract(c, docdb_uri, atlas_uri, APP_SECRET) for c in configs)
    assert (before["engine"], after["engine"]) == ("documentdb", "mongodb-atlas")
    assert before["readPreference"] == after["readPreference"] == preference
    assert f"readPreference={preference}" in before["uri"] and f"readPreference={preference}" in after["uri"]


def test_the_sync_task_connects_to_atlas_with_the_contracts_read_preference(shipped_preview):
    staging = shipped_preview("staging")
    (container,) = json.loads(staging.one(TASK, "docsync")["inputs"]["containerDefinitions"])
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["TARGET_URI"].endswith("&readPreference=secondaryPreferred")


# --- shard keys before the bulk copy --------------------------------------------------------------------------------------


def test_the_sync_task_shards_the_declared_collections_before_copying(shipped_preview):
    from tests.conftest import load_stack_yaml

    staging = shipped_preview("staging")
    declared = load_stack_yaml("staging")["config"]["aws-platform:documentStore"]["atlas"]["shardedCollections"]
    (container,) = json.loads(staging.one(TASK, "docsync")["inputs"]["containerDefinitions"])
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["SYNC_DIRECTION"] == "forward"
    assert json.loads(env["SHARD_COLLECTIONS"]) == {
        f"shop.{c['collection']}": {
            field: ("hashed" if c.get("hashed") and i == 0 else 1) for i, field in enumerate(c["key"])
        }
        for c in declared
    }
    (sync_user,) = [
        u["inputs"]
        for u in staging.resources("mongodbatlas:index/databaseUser:DatabaseUser")
        if u["inputs"]["username"].endswith(":role/shop-staging-docsync-task")
    ]
    assert {"roleName": "enableSharding", "databaseName": "admin"} in sync_user["roles"]
    services = [u for u in staging.resources("mongodbatlas:index/databaseUser:DatabaseUser") if u is not sync_user]
    assert all(
        r["roleName"] == "readWrite"
        for u in services
        if u["name"].startswith("documents-client")
        for r in u["inputs"]["roles"]
    )


def test_a_replica_set_sync_has_nothing_to_shard(stack_yaml, tmp_path):
    (container,) = json.loads(
        preview_at(stack_yaml, tmp_path, "dual").one(TASK, "docsync")["inputs"]["containerDefinitions"]
    )
    assert "SHARD_COLLECTIONS" not in {e["name"] for e in container["environment"]}


def test_a_sharded_atlas_without_shard_keys_is_refused_by_the_component_too():
    from components.atlas_cluster import refuse_unsafe
    from stack_config.data import AtlasConfig, ShardedCollection

    with pytest.raises(ValueError, match=r"atlas.shardedCollections: \[\] with shards 4"):
        refuse_unsafe(AtlasConfig(org_id=ATLAS["orgId"], shards=4))
    refuse_unsafe(
        AtlasConfig(org_id=ATLAS["orgId"], shards=4, sharded_collections=[ShardedCollection("orders", ["id"])])
    )


# --- reverse sync before a rollback ---------------------------------------------------------------------------------------


def test_reverse_sync_runs_in_atlas_at_the_configured_rate(stack_yaml, tmp_path):
    result = preview_at(stack_yaml, tmp_path, "atlas", direction="reverse", reverseWritesPerSecond=300)
    (service,) = sync_services(result)
    assert service["inputs"]["desiredCount"] == 1
    (container,) = json.loads(result.one(TASK, "docsync")["inputs"]["containerDefinitions"])
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert (env["SYNC_DIRECTION"], env["MAX_WRITES_PER_SECOND"]) == ("reverse", "300")
    assert result.one(SECRET, "documents-connection")["inputs"]["tags"]["served-by"] == "mongodb-atlas"


# --- staging first ----------------------------------------------------------------------------------------------------------

STAGING = "organization/aws-platform/staging"


def prod_in_dual(stack_yaml):
    from tests.conftest import load_stack_yaml

    store_config = load_stack_yaml("prod")["config"]["aws-platform:documentStore"]
    return stack_yaml(
        "prod",
        {
            "aws-platform:documentStore": {**store_config, "phases": ledger("documentdb", "dual"), "sync": SYNC},
            **sync_declared("prod"),
        },
    )


def test_prod_cannot_enter_dual_while_staging_has_not_reached_atlas(stack_yaml, tmp_path):
    # The shipped references hold staging's shipped ledger: still in 'dual'.
    result = run_preview("prod", tmp_path, "--config", str(prod_in_dual(stack_yaml)))
    assert result.exit_code == 3
    assert (
        f"prod enters 'dual' on 2026-02-10 but '{STAGING}' was in 'documentdb' then (it has not entered 'atlas'"
        in result.stderr + result.stdout
    )


def test_prod_enters_dual_once_staging_was_on_atlas_first(stack_yaml, tmp_path, stack_references):
    stack_references(**{STAGING: {"documents_ledger": ledger("documentdb", "dual", "atlas", start="2025-10-01")}})
    # The sync task's vCPU is beyond what the org requested for the shipped prod: entering 'dual' for real re-records
    # the needs (`make quota-needs`) first; the quota judge has its own tests (tests/preview/test_quotas.py).
    result = run_preview("prod", tmp_path, "--config", str(prod_in_dual(stack_yaml)), "--no-quotas")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.resources("mongodbatlas:index/project:Project") and sync_services(result)


def test_the_component_refuses_prod_in_dual_without_the_rehearsal_ledger():
    from components.document_store import DocumentStoreArgs, refuse_unrehearsed
    from foundation.identity import StackIdentity

    def args(stage: str, **config) -> DocumentStoreArgs:
        identity = StackIdentity(stage, "shop", "platform-team", "PRODUCTION", stage, "eu-west-1")
        cfg = DocumentStoreConfig(phases=list(store("documentdb", "dual").phases), **config)
        return DocumentStoreArgs(identity, cfg, "vpc-1", ["subnet-1"])

    with pytest.raises(ValueError, match=r"documentStore\.rehearsedIn: unset while prod's ledger enters 'dual'"):
        refuse_unrehearsed(args("prod"))
    with pytest.raises(ValueError, match="was not read"):
        refuse_unrehearsed(args("prod", rehearsed_in=STAGING))
    refuse_unrehearsed(args("staging"))  # staging is the rehearsal
