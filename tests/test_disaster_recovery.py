"""prod-dr: prod stood up in a second region from config alone (issue 12 item 11; you-are-not-saved-by-iac.md).

Read from the two stacks' snapshots: the rebuild must preview green under prod's rules, live entirely in
its own region (plus us-east-1 for what CloudFront needs), and collide with prod on no name, since both may
run in one account and IAM roles, buckets and Lambda@Edge functions share global namespaces.
"""

from __future__ import annotations

import json

import pytest

import stack_config
from policies import conventions
from tests.conftest import stack_account

DR_REGION = "eu-central-1"


def test_prod_dr_is_a_prod_stack_named_after_its_stage():
    config = stack_config.load_file("prod-dr")
    assert (config.stage, config.usage, config.region) == ("prod", "PRODUCTION", DR_REGION)
    assert config.identity.suffix == "dr" and config.identity.keeps_data


def test_prod_dr_previews_green_with_zero_violations(shipped_preview):
    result = shipped_preview("prod-dr")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "policy pack: no violations" in result.stdout


def test_prod_dr_shares_no_name_with_prod(shipped_preview):
    def names(stack: str) -> set[tuple[str, str]]:
        found = set()
        for r in shipped_preview(stack).resources():
            rule = conventions.NAME_RULES.get(r["type"])
            key = rule.property if rule else conventions.PATH_NAMED.get(r["type"])
            if key and isinstance(r["inputs"].get(key), str):
                found.add((r["type"], r["inputs"][key]))
        return found

    prod, dr = names("prod"), names("prod-dr")
    assert len(dr) > 50
    assert prod & dr == set(), sorted(prod & dr)[:5]


def test_prod_dr_lives_in_its_own_region(shipped_preview):
    snapshot = shipped_preview("prod-dr").snapshot
    regions = {r["inputs"].get("region") for r in snapshot["resources"] if r["type"] == "pulumi:providers:aws"}
    assert regions == {DR_REGION, "us-east-1"}


def test_prod_dr_data_comes_back_from_prods_snapshot_and_its_images_are_prods_digests(shipped_preview):
    dr = shipped_preview("prod-dr")
    cluster = dr.one("aws:docdb/cluster:Cluster", "documentdb")
    assert cluster["inputs"]["snapshotIdentifier"].endswith(":cluster-snapshot:shop-prod-documentdb-dr-copy")
    assert cluster["protect"] and "snapshotIdentifier" in cluster["ignoreChanges"]
    prod_task = shipped_preview("prod").one("aws:ecs/taskDefinition:TaskDefinition", "api-task")
    dr_task = dr.one("aws:ecs/taskDefinition:TaskDefinition", "api-task")
    (prod_image,) = [c["image"] for c in json.loads(prod_task["inputs"]["containerDefinitions"])]
    (dr_image,) = [c["image"] for c in json.loads(dr_task["inputs"]["containerDefinitions"])]
    assert dr_image.split("@")[1] == prod_image.split("@")[1]
    assert dr_image.startswith(f"{stack_account('prod-dr')}.dkr.ecr.{DR_REGION}.amazonaws.com/shop-prod-dr-api@")


def test_a_stack_suffix_must_fit_into_names(stack_yaml):
    with pytest.raises(stack_config.ConfigError) as err:
        stack_config.load_file("prod-Disaster_Site", stack_yaml("prod-dr", name="prod-Disaster_Site"))
    assert any(p.key == "stack" and "is not 1-8 lowercase letters or digits" in p.message for p in err.value.problems)
