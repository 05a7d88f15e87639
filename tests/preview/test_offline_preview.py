"""The offline preview: the real program under mocks, a deterministic snapshot, the real policy pack."""

from __future__ import annotations

import json
import textwrap

import pytest

from preview import policy_client
from tests.conftest import ROOT, SHIPPED_STACKS, run_preview


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_stacks_preview_with_zero_mandatory_violations(shipped_preview, stack):
    result = shipped_preview(stack)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "[mandatory]" not in result.stdout
    assert result.stdout.splitlines()[0].startswith(f"stack {stack} (")
    assert "counts by type:" in result.stdout


def test_snapshot_is_byte_identical_across_runs(shipped_preview, tmp_path):
    first = shipped_preview("prod").snapshot_path.read_bytes()
    second = run_preview("prod", tmp_path)
    assert second.exit_code == 0
    assert second.snapshot_path.read_bytes() == first


def test_snapshot_records_what_a_reviewer_needs(shipped_preview):
    snapshot = shipped_preview("prod").snapshot
    assert snapshot["stack"] == "prod" and snapshot["project"] == "aws-platform"
    assert [r["urn"] for r in snapshot["resources"]] == sorted(r["urn"] for r in snapshot["resources"])
    vpc = next(r for r in snapshot["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    assert set(vpc) >= {"urn", "type", "name", "parent", "provider", "inputs", "protect", "dependencies"}
    assert vpc["provider"].endswith("::pulumi:providers:aws::aws-regional")
    assert vpc["parent"].endswith("platform:network:Network::network")
    assert snapshot["outputs"]["vpc_id"].startswith("vpc-")


def test_every_aws_provider_puts_the_required_tags_in_every_request(shipped_preview):
    providers = shipped_preview("staging").resources("pulumi:providers:aws")
    assert {p["inputs"]["region"] for p in providers} == {"eu-west-1", "us-east-1"}
    for p in providers:
        tags = json.loads(p["inputs"]["defaultTags"])["tags"]
        assert tags == {
            "stage": "staging",
            "context": "shop",
            "owner": "platform-team",
            "usage": "PRODUCTION",
            "managed-by": "pulumi",
            "stack": "staging",
        }


ROGUE = """
import runpy
import pulumi_aws as aws
runpy.run_path({main!r}, run_name="__main__")
aws.s3.Bucket("rogue-untagged", bucket="shop-prod-rogue")   # default provider: no default tags
aws.sqs.Queue("rogue-misnamed", name="Shop_Jobs")             # not the convention
"""


def test_untagged_and_misnamed_resources_fail_the_preview(tmp_path):
    program = tmp_path / "rogue.py"
    program.write_text(ROGUE.format(main=str(ROOT / "__main__.py")))
    result = run_preview("prod", tmp_path, "--program", str(program))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "required-tags [mandatory]" in result.stdout
    assert "naming-convention [mandatory]" in result.stdout
    assert "aws:s3/bucket:Bucket rogue-untagged: missing required tag(s)" in result.stdout
    assert "aws:sqs/queue:Queue rogue-misnamed: name 'Shop_Jobs' is not lowercase" in result.stdout


def test_program_failure_is_exit_3(tmp_path):
    program = tmp_path / "broken.py"
    program.write_text("raise RuntimeError('boom')\n")
    result = run_preview("dev", tmp_path, "--program", str(program))
    assert result.exit_code == 3 and "boom" in result.stderr


def test_pack_answers_the_cli_handshake(policy_pack):
    assert policy_pack.info.name == "aws-platform"
    names = {p.name for p in policy_pack.info.policies}
    assert {"required-tags", "naming-convention"} <= names
    assert policy_pack.version


def test_policy_config_reconciles_like_the_cli(policy_pack):
    levels = policy_pack.configure("dev", {"all": "advisory", "required-tags": {"enforcementLevel": "mandatory"}})
    assert levels["required-tags"] == "mandatory" and levels["naming-convention"] == "advisory"
    with pytest.raises(ValueError, match="unknown policies: no-such-policy"):
        policy_client.reconcile(policy_pack.info, {"no-such-policy": "mandatory"})
    with pytest.raises(ValueError, match="enforcement level 'loud'"):
        policy_client.reconcile(policy_pack.info, {"all": "loud"})


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "org"])
def test_every_stack_has_a_policy_config_naming_real_policies(policy_pack, stack):
    config = json.loads((ROOT / "policies" / "config" / f"{stack}.json").read_text())
    policy_client.reconcile(policy_pack.info, config)  # raises on unknown policies or levels
    if stack != "dev":
        assert config == {"all": "mandatory"} or config.get("all") == "mandatory"


def test_tree_shows_components_and_their_children(shipped_preview):
    out = shipped_preview("dev").stdout
    assert "+ platform:network:Network network" in out
    assert textwrap.indent("- aws:ec2/vpc:Vpc vpc", "    ") in out


def test_duplicate_urns_fail_like_the_engine(tmp_path):
    program = tmp_path / "twice.py"
    program.write_text(
        ROGUE.split("aws.s3")[0].format(main=str(ROOT / "__main__.py"))
        + 'aws.sqs.Queue("dup", name="shop-prod-a")\naws.sqs.Queue("dup", name="shop-prod-b")\n'
    )
    result = run_preview("prod", tmp_path, "--program", str(program))
    assert result.exit_code == 3 and "duplicate resource URN" in result.stderr
