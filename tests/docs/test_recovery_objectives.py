"""docs/recovery.md's recovery objectives are what the shipped config and the previews give: a weaker schedule,
a shorter retention or a replication without its time control changes a figure, and this test fails until the
page says so."""

from __future__ import annotations

import json
import re

import stack_config
from tests.conftest import ROOT


def row(store: str) -> list[str]:
    text = (ROOT / "docs" / "recovery.md").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith(f"| {store} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_documentdb_recovery_point_is_the_backup_schedule_plus_its_copy_windows(shipped_preview):
    recovery = stack_config.load_file("prod").recovery
    assert recovery is not None and recovery.region == stack_config.load_file("prod-dr").region
    backup = recovery.document_backup
    (plan,) = shipped_preview("prod").resources("aws:backup/plan:Plan")
    (rule,) = plan["inputs"]["rules"]
    (copy,) = rule["copyActions"]
    assert copy["lifecycle"]["deleteAfter"] == rule["lifecycle"]["deleteAfter"] == backup.keep_days
    start, completion = rule["startWindow"] // 60, rule["completionWindow"] // 60
    _, how, rpo, _ = row("DocumentDB documents")
    assert f"AWS Backup every {backup.every_hours} h" in how and f"kept {backup.keep_days} days" in how
    assert rpo == (
        f"{backup.every_hours} h + the copy (up to {backup.every_hours + start + completion} h: "
        f"start window {start} h, completion {completion} h)"
    )
    (lock,) = shipped_preview("prod").resources("aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    assert lock["inputs"]["minRetentionDays"] == backup.lock_days
    assert f"vault lock\n({backup.lock_days} days" in (ROOT / "docs" / "recovery.md").read_text()


def test_the_state_recovery_point_is_the_replication_time_control_window(shipped_preview):
    template = json.loads(
        shipped_preview("org").one("aws:cloudformation/stackSet:StackSet", "bootstrap")["inputs"]["templateBody"]
    )
    rules = template["Resources"]["StateBucket"]["Properties"]["ReplicationConfiguration"]["Rules"]
    (twin,) = [r for r in rules if r["Id"] == "state-to-recovery-region"]
    minutes = twin["Destination"]["ReplicationTime"]["Time"]["Minutes"]
    assert twin["Destination"]["ReplicationTime"]["Status"] == "Enabled"
    assert row("Pulumi state (every stack)")[2] == f"{minutes} min"


def test_images_are_replicated_on_every_push_of_every_service_repository(shipped_preview):
    prod = shipped_preview("prod")
    (replication,) = prod.resources("aws:ecr/replicationConfiguration:ReplicationConfiguration")
    (rule,) = replication["inputs"]["replicationConfiguration"]["rules"]
    assert {d["region"] for d in rule["destinations"]} == {"eu-central-1"}
    filters = {f["filter"] for f in rule["repositoryFilters"]}
    services = {svc.name for svc in stack_config.load_file("prod").containers.services}
    assert filters == {f"shop-prod-{name}" for name in services}
    assert re.match(r"ECR replication of every push", row("images (ECR)")[1])
