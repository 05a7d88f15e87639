"""Replacements cascade as the engine's do: every output of a replaced resource is unknown to what reads it.

Each case changes the real prod stack (its config, or one input in its snapshot), diffs it against the shipped
snapshot, and checks that every stateful or protected resource a real `pulumi preview` would replace or update is
warned about with the chain that reaches it. Expectations are computed from the snapshot's own wiring
(``propertyDependencies``) and the generated replace-on-change data, not restated by hand.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from foundation.replacement import REPLACEMENT_RULES
from review import diff, markdown
from review.names import STATEFUL_TYPES
from tests.conftest import SHIPPED_STACKS, run_preview, stack_account

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
DOCDB = "aws:docdb/cluster:Cluster"
SUBNET_GROUP = "aws:docdb/subnetGroup:SubnetGroup"
KEY = "aws:kms/key:Key"


def by_type(snapshot: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in snapshot["resources"] if r["type"] == type_]


def readers(snapshot: dict[str, Any], urn: str) -> list[tuple[dict[str, Any], str]]:
    """(resource, input) for every input of the snapshot that reads ``urn``."""
    return [
        (r, prop)
        for r in snapshot["resources"]
        for prop, deps in r.get("propertyDependencies", {}).items()
        if urn in deps
    ]


def ops(d: diff.StackDiff) -> dict[str, diff.ResourceDiff]:
    return {r.urn: r for c in d.components for r in c.resources}


def warning_for(d: diff.StackDiff, urn: str) -> str:
    (message,) = [w.message for w in d.warnings if w.urn == urn and w.kind in ("replace", "update-unknown")]
    return message


@pytest.fixture(scope="module")
def prod(shipped_preview) -> dict[str, Any]:
    return shipped_preview("prod").snapshot


@pytest.fixture(scope="module")
def variant(tmp_path_factory) -> Callable[..., dict[str, Any]]:
    """The prod snapshot after a config change, from the real offline preview (once per change)."""
    cache: dict[str, dict[str, Any]] = {}

    def run(**changes: Any) -> dict[str, Any]:
        import yaml

        from tests.conftest import load_stack_yaml

        key = json.dumps(changes, sort_keys=True)
        if key in cache:
            return cache[key]
        document = copy.deepcopy(load_stack_yaml("prod"))
        for key, value in changes.items():  # None removes the key
            if value is None:
                document["config"].pop(key, None)
            else:
                document["config"][key] = value
        out = tmp_path_factory.mktemp("variant")
        config = out / "Pulumi.prod.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        # Diffs only: the judges are tested on their own (a context rename alone, e.g., also breaks promotion from
        # shop-staging, whose repositories admit shop-* push roles: the access simulation denies it).
        result = run_preview("prod", out, "--config", str(config), "--no-policy", "--no-access", "--quiet")
        assert result.exit_code == 0, result.stderr
        cache[key] = result.snapshot
        return cache[key]

    return run


def test_every_input_dependency_is_recorded(prod):
    (cache,) = by_type(prod, CACHE)
    subnets = {r["urn"] for r in by_type(prod, SUBNET) if r["name"].startswith("private-")}
    assert set(cache["propertyDependencies"]["subnetIds"]) == subnets
    (key,) = [r for r in by_type(prod, KEY) if r["urn"] in cache["propertyDependencies"]["kmsKeyId"]]
    assert key["name"] == "cache"


def test_moving_the_prod_vpc_cidr_replaces_what_reads_it_and_names_every_data_store_it_reaches(prod, variant):
    from tests.conftest import load_stack_yaml

    network = load_stack_yaml("prod")["config"]["aws-platform:network"]  # only the CIDR moves
    head = variant(**{"aws-platform:network": {**network, "cidr": "10.31.0.0/16"}})
    d = diff.diff_snapshots(prod, head)
    plan = ops(d)
    (vpc,) = by_type(prod, VPC)
    assert plan[vpc["urn"]].op == "replace" and "`cidrBlock`" in plan[vpc["urn"]].reason
    # Everything whose forcing input reads the VPC is replaced with it (subnets, security groups, target groups).
    for reader, prop in readers(prod, vpc["urn"]):
        forcing, _ = diff.forcing_properties(reader["type"])
        if prop in forcing:
            assert plan[reader["urn"]].op == "replace", reader["name"]
    # The cache: a new subnet id forces a new cache; the warning walks the chain down to the VPC.
    (cache,) = by_type(prod, CACHE)
    assert plan[cache["urn"]].op == "replace"
    message = warning_for(d, cache["urn"])
    assert "replaced because `subnetIds` reads `private-" in message
    assert "holds data" in message and "protected" in message
    # DocumentDB keeps its subnet group (subnet ids update in place) but its security group is new.
    (docdb,) = by_type(prod, DOCDB)
    assert plan[docdb["urn"]].op == "update" and "vpcSecurityGroupIds" in plan[docdb["urn"]].unknown
    assert "`vpcSecurityGroupIds` reads `documentdb`, replaced because `vpcId` reads `vpc`" in warning_for(
        d, docdb["urn"]
    )
    (group,) = by_type(prod, SUBNET_GROUP)
    assert plan[group["urn"]].op == "update" and plan[group["urn"]].unknown == ("subnetIds",)
    # Every stateful or protected resource the cascade reaches is in the warnings.
    reached = {u for u, r in plan.items() if r.op in ("replace", "update") and r.unknown}
    for urn in reached:
        resource = next(r for r in head["resources"] if r["urn"] == urn)
        if resource["type"] in STATEFUL_TYPES or resource["protect"]:
            assert warning_for(d, urn)
    text = markdown.render(d)
    assert f"{d.count('replace')} to replace" in text and f"{d.count_unknown()} known after apply" in text
    assert d.count("replace") > 20  # the old review said "7 to change"


def test_a_documentdb_subnet_group_rename_replaces_the_cluster_and_its_instances(prod):
    head = copy.deepcopy(prod)
    (group,) = by_type(head, SUBNET_GROUP)
    group["inputs"]["name"] += "-v2"
    d = diff.diff_snapshots(prod, head)
    plan = ops(d)
    (docdb,) = by_type(prod, DOCDB)
    assert plan[docdb["urn"]].op == "replace"
    message = warning_for(d, docdb["urn"])
    assert "replaced because `dbSubnetGroupName` reads `documentdb`, replaced because `name`" in message
    assert "holds data" in message and "protected" in message
    for instance in by_type(prod, "aws:docdb/clusterInstance:ClusterInstance"):
        assert plan[instance["urn"]].op == "replace"
        assert "`clusterIdentifier` reads `documentdb`" in warning_for(d, instance["urn"])


def test_a_new_kms_key_for_the_cache_replaces_the_cache(prod):
    head = copy.deepcopy(prod)
    (cache,) = by_type(head, CACHE)
    (key,) = [r for r in by_type(head, KEY) if r["urn"] in cache["propertyDependencies"]["kmsKeyId"]]
    key["inputs"]["multiRegion"] = True
    d = diff.diff_snapshots(prod, head)
    message = warning_for(d, cache["urn"])
    assert "replaced because `kmsKeyId` reads `cache`, replaced because `multiRegion`" in message
    assert "At apply: **fails**" in message  # create-first under the same name: AWS refuses it, nothing is deleted


def test_a_context_rename_replaces_every_named_data_store(prod, variant):
    from tests.conftest import load_stack_yaml

    # The services name their connection secrets physically, so they follow the rename (the loader insists).
    containers = copy.deepcopy(load_stack_yaml("prod")["config"]["aws-platform:containers"])
    for service in containers["services"]:
        service["secrets"] = {k: v.replace("shop-prod-", "store-prod-") for k, v in service.get("secrets", {}).items()}
    # The org stack has no 'store-prod' account: pin by id instead (the same account); account names for
    # promotion resolve through the org stack, so this variant promotes to nobody.
    containers.get("imageRepositories", {}).pop("promotionAccounts", None)
    head = variant(
        **{
            "aws-platform:context": "store",
            "aws-platform:containers": containers,
            "aws-platform:orgStack": None,
            "aws-platform:accountId": stack_account("prod"),
        }
    )
    d = diff.diff_snapshots(prod, head)
    plan = ops(d)
    for resource in prod["resources"]:
        if resource["type"] in STATEFUL_TYPES and diff.physical_name(resource) and resource["urn"] in plan:
            assert plan[resource["urn"]].op == "replace", resource["name"]
            assert "holds data" in warning_for(d, resource["urn"])
    (cache,) = by_type(prod, CACHE)
    assert '`name` `"shop-prod-' in warning_for(d, cache["urn"])


def test_a_change_that_touches_nothing_stateful_warns_of_nothing(prod):
    head = copy.deepcopy(prod)
    alarm = next(r for r in head["resources"] if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm")
    alarm["inputs"]["evaluationPeriods"] = alarm["inputs"].get("evaluationPeriods", 1) + 1
    d = diff.diff_snapshots(prod, head)
    assert d.count("update") == 1 and d.count("replace") == 0 and d.warnings == []


def test_a_delete_first_type_is_deleted_before_it_is_recreated(prod):
    head = copy.deepcopy(prod)
    alarm = next(r for r in head["resources"] if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarm["deleteBeforeReplace"], "foundation/replacement.py chooses delete-first for alarms"
    urn = alarm["urn"]
    base = copy.deepcopy(prod)
    next(r for r in base["resources"] if r["urn"] == urn)["inputs"][diff.NAME_PROPERTIES[alarm["type"]]] = "old-name"
    plan = ops(diff.diff_snapshots(base, head))
    assert plan[urn].op == "replace" and "deleted first" in plan[urn].how


@pytest.mark.parametrize("stack", (*SHIPPED_STACKS, "org"))
def test_every_type_in_a_shipped_snapshot_has_replace_on_change_data(stack, shipped_preview):
    known = diff.replace_on_change()
    missing = {r["type"] for r in shipped_preview(stack).snapshot["resources"] if r["custom"]} - set(known)
    assert not missing, f"run python -m tools.generate_replace_on_change: no entry for {sorted(missing)}"


def test_replacement_rules_name_real_types():
    known = json.loads(diff.REPLACE_ON_CHANGE_FILE.read_text())["types"]
    assert set(REPLACEMENT_RULES) <= set(known) | {
        "aws:ssm/parameter:Parameter",
        "mongodbatlas:index/project:Project",
    }


def test_a_replaced_provider_replaces_everything_it_manages():
    from tests.review.snapshots import web_stack

    base, urns = web_stack()
    head = copy.deepcopy(base)
    provider = next(r for r in head["resources"] if r["type"] == "pulumi:providers:aws")
    provider["inputs"]["region"] = "eu-central-1"
    plan = ops(diff.diff_snapshots(base, head))
    assert plan[provider["urn"]].op == "replace"
    assert plan[urns["docdb"]].op == "replace"
    assert plan[urns["docdb"]].reason.startswith("replaced because is managed by `aws-regional`")


def test_a_security_group_in_a_new_vpc_does_not_collide_with_its_old_name(prod, variant):
    from tests.conftest import load_stack_yaml

    network = load_stack_yaml("prod")["config"]["aws-platform:network"]  # only the CIDR moves
    head = variant(**{"aws-platform:network": {**network, "cidr": "10.31.0.0/16"}})
    plan = ops(diff.diff_snapshots(prod, head))
    for group in by_type(prod, "aws:ec2/securityGroup:SecurityGroup"):
        assert "free in its new scope" in plan[group["urn"]].how, group["name"]
