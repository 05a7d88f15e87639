"""The document store follows its ledger: what exists per phase, and one secret whose value moves at cut-over."""

from __future__ import annotations

import json

import pytest

from components.document_store import documents_contract
from stack_config.data import DocumentStoreConfig, PhaseEntry
from tests.conftest import run_preview
from tests.stack_config.test_data import ATLAS, SYNC, ledger

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
        {"aws-platform:documentStore": {"phases": ledger(*PATHS[phase]), "atlas": ATLAS, "sync": {**SYNC, **sync}}},
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
    contract = documents_contract(store(*phases), "mongodb://docdb", "mongodb+srv://atlas")
    assert (contract["engine"], contract["uri"], contract["phase"]) == (engine, uri, phases[-1])
    assert contract["connectTimeoutMS"] <= 2000 and contract["database"] == "shop"
    assert contract["authMechanism"] == ("MONGODB-AWS" if engine == "mongodb-atlas" else "SCRAM-SHA-1")


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
