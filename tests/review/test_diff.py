"""`make diff`: two snapshots of a stack in, one Markdown review comment out."""

from __future__ import annotations

import copy
import json
import pathlib
import subprocess
import sys

import pytest
import yaml

from preview import policy_client
from preview.policy_client import Violation
from review import diff, markdown
from tests.conftest import ROOT, add_scratch_bucket, stack_tags

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
URN = "urn:pulumi:prod::aws-platform::"
VPC = URN + "platform:network:Network$aws:ec2/vpc:Vpc::vpc"
NAT = URN + "platform:network:Network$aws:ec2/natGateway:NatGateway::nat-b"
VALKEY = URN + "platform:cache:Cache$aws:elasticache/serverlessCache:ServerlessCache::valkey"
KEPT = Violation("required-tags", "mandatory", "Resources carry the required tags.\nmissing required tag(s) owner", VPC)
FIXED = Violation(
    "naming-convention", "mandatory", "Names follow the convention.\nname 'nat-b' does not start with 'shop-prod-'", NAT
)
INTRODUCED = Violation(
    "required-tags", "mandatory", "Resources carry the required tags.\nmissing required tag(s) owner", VALKEY
)


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def fixture_diff(**overrides) -> diff.StackDiff:
    args = {"base_label": "origin/main", "base_violations": [KEPT, FIXED], "head_violations": [KEPT, INTRODUCED]}
    args.update(overrides)
    return diff.diff_snapshots(load("base"), load("head"), **args)


def warnings(d: diff.StackDiff, kind: str) -> list[str]:
    return [w.message for w in d.warnings if w.kind == kind]


def test_fixture_snapshots_render_exactly_the_expected_comment():
    text = markdown.render(fixture_diff(), command="make diff STACK=prod BASE=origin/main")
    assert text == (FIXTURES / "expected.md").read_text()


def test_comment_starts_with_the_hidden_per_stack_marker_and_puts_warnings_before_changes():
    text = markdown.render(fixture_diff())
    assert text.splitlines()[0] == "<!-- aws-platform-review:prod -->"
    assert text.index("### ⚠️ Warnings") < text.index("### Changes by component")


def test_deleting_a_protected_resource_warns():
    d = fixture_diff()
    (message,) = warnings(d, "delete-protected")
    assert "**assets**" in message and "protected" in message


def test_deleting_a_retained_resource_warns():
    base, head = load("base"), load("head")
    (message,) = warnings(diff.diff_snapshots(base, head), "delete-retained")
    assert "`aws:cloudwatch/logGroup:LogGroup` **flow-logs**" in message


def test_no_delete_warnings_when_nothing_protected_or_stateful_is_deleted():
    base = load("base")
    head = copy.deepcopy(base)
    head["resources"] = [r for r in head["resources"] if r["type"] != "aws:ec2/natGateway:NatGateway"]
    d = diff.diff_snapshots(base, head)
    assert d.count("delete") == 1 and d.warnings == []


def test_renaming_a_stateful_resource_warns_that_it_is_replaced_and_starts_empty():
    (message,) = [m for m in warnings(fixture_diff(), "replace") if "docdb" in m]
    assert "`clusterIdentifier`" in message and '"shop-prod-documents"' in message
    assert "holds data" in message and "protected" in message


def test_a_known_replace_on_change_property_warns():
    (message,) = [m for m in warnings(fixture_diff(), "replace") if "private-a" in m]
    assert "`cidrBlock`" in message and "holds data" not in message


def test_an_in_place_change_does_not_warn_of_replacement():
    base = load("base")
    head = copy.deepcopy(base)
    (docdb,) = [r for r in head["resources"] if r["type"] == "aws:docdb/cluster:Cluster"]
    docdb["inputs"]["backupRetentionPeriod"] = 35
    d = diff.diff_snapshots(base, head)
    assert d.count("update") == 1 and warnings(d, "replace") == []


def test_removing_protection_warns():
    (message,) = warnings(fixture_diff(), "unprotect")
    assert "`aws:ecr/repository:Repository` **api**" in message


def test_moving_a_resource_into_a_component_warns_that_it_is_recreated():
    (message,) = warnings(fixture_diff(), "recreate")
    assert "db-credentials" in message and "component `documents`" in message and "aliases" in message


def test_secrets_stay_masked_and_secret_looking_keys_are_masked_too():
    text = markdown.render(fixture_diff())
    assert "hunter2" not in text and "hunter3" not in text
    assert "`adminPassword`: `[secret]` → `[secret]` (changed; values hidden)" in text
    assert "masterPassword" not in text  # masked in both snapshots and unchanged: nothing to show


def test_policy_documents_in_strings_diff_key_by_key():
    changes = diff.input_changes(
        {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:Get*"}]})},
        {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]})},
    )
    assert changes == [("policy.Statement[0].Action", "s3:Get*", "s3:*")]


def test_long_values_are_shortened():
    shown = diff.display("x" * 500)
    assert len(shown) == diff.MAX_VALUE_CHARS and shown.endswith("…")


def test_changes_are_grouped_under_their_top_level_component():
    d = fixture_diff()
    by_name = {c.name: c for c in d.components}
    assert [r.name for r in by_name["network"].resources if r.op == "create"] == ["private-b"]
    assert {r.name for r in by_name[diff.STACK_COMPONENT].resources} == {"assets", "db-credentials"}


def test_long_component_sections_fold_into_details():
    base = load("base")
    head = copy.deepcopy(base)
    (vpc,) = [r for r in head["resources"] if r["type"] == "aws:ec2/vpc:Vpc"]
    vpc["inputs"]["tags"] = {f"k{i:02d}": "v" for i in range(markdown.COLLAPSE_OVER_LINES + 1)}
    text = markdown.render(diff.diff_snapshots(base, head))
    assert "<details><summary>1 resource</summary>" in text


def test_only_violations_the_change_introduces_are_new():
    d = fixture_diff()
    assert [(v.policy, v.urn) for v in d.new_violations] == [("required-tags", VALKEY)]
    assert [(v.policy, v.urn) for v in d.resolved_violations] == [("naming-convention", NAT)]


def test_a_waived_violation_reads_waived_with_its_severity_and_terms():
    waived = Violation(
        "required-tags",
        "advisory",
        "Resources carry the required tags.\nwaived (owner platform-team, expires 2027-01-01; entry 1): missing owner",
        VALKEY,
        "high",
    )
    d = fixture_diff(head_violations=[KEPT, waived])
    (new,) = d.new_violations
    assert (new.level, new.severity) == ("waived", "high")
    text = markdown.render(d)
    assert "`required-tags` (waived, severity high) on" in text and "waived (owner platform-team, expires" in text


def test_the_real_pack_flags_what_a_change_breaks_and_nothing_that_was_already_there(shipped_preview, policy_pack):
    base = shipped_preview("prod").snapshot
    head = copy.deepcopy(base)
    bucket_urn = add_scratch_bucket(
        head, {"bucket": "shop-prod-scratch", "tags": {**stack_tags("prod"), "stage": "dev"}}
    )
    config = policy_client.policy_config_for("prod")
    base_v = diff.check_policies(policy_pack, base, config)
    head_v = diff.check_policies(policy_pack, head, config)
    d = diff.diff_snapshots(base, head, base_violations=base_v, head_violations=head_v)
    assert d.new_violations and {v.urn for v in d.new_violations} == {bucket_urn}
    assert any(v.policy == "required-tags" and "'stage' is 'dev'" in v.message for v in d.new_violations)
    text = markdown.render(d)
    assert (
        "**New policy violation** `required-tags` (mandatory, severity high) on `aws:s3/bucket:Bucket` **scratch**"
        in text
    )
    # The same violation on both sides is not news.
    assert diff.diff_snapshots(head, head, base_violations=head_v, head_violations=head_v).new_violations == []


# --- end to end: a throw-away clone, BASE checked out into a temporary worktree ---------------------------


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> pathlib.Path:
    """The committed project in a scratch repository: the real working tree is never touched."""
    path = tmp_path_factory.mktemp("repo") / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(path)], check=True)
    return path


def run_review(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "review", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_review_diff_compares_a_worktree_at_base_with_the_changed_tree(clone, tmp_path):
    config = clone / "environments" / "Pulumi.dev.yaml"
    original = config.read_text()
    document = yaml.safe_load(original)
    network = document["config"].setdefault("aws-platform:network", {})
    network["cidr"] = "10.99.0.0/16" if network.get("cidr") != "10.99.0.0/16" else "10.98.0.0/16"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        out = tmp_path / "dev-diff.md"
        proc = run_review("diff", "--repo", str(clone), "--stack", "dev", "--base", "HEAD", "--out", str(out))
    finally:
        config.write_text(original)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text == proc.stdout
    assert text.startswith("<!-- aws-platform-review:dev -->")
    assert "**Replaces** `aws:ec2/vpc:Vpc` **vpc**: `cidrBlock`" in text
    worktrees = subprocess.run(
        ["git", "worktree", "list", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout
    assert worktrees.count("worktree ") == 1, "the temporary worktree was not removed"


def test_review_diff_of_an_unchanged_tree_reports_no_changes(clone, tmp_path):
    proc = run_review("diff", "--repo", str(clone), "--stack", "dev", "--base", "HEAD", "--no-policy")
    assert proc.returncode == 0, proc.stderr
    assert "**No changes.**" in proc.stdout


def test_a_stack_missing_at_base_shows_everything_as_new(clone, tmp_path):
    config = clone / "environments" / "Pulumi.dev-new.yaml"
    # dev-new's services read dev-new's own data-tier secrets, and its edge has its own name (names carry the stack
    # suffix; a CloudFront alias is on one distribution only).
    dev = (clone / "environments" / "Pulumi.dev.yaml").read_text()
    config.write_text(
        dev.replace("shop-dev-cache-", "shop-dev-new-cache-")
        .replace("shop-dev-documents-", "shop-dev-new-documents-")
        .replace("domainNames: [dev.shop.example.com]", "domainNames: [new.dev.shop.example.com]")
    )
    try:
        proc = run_review("diff", "--repo", str(clone), "--stack", "dev-new", "--base", "HEAD", "--no-policy")
    finally:
        config.unlink()
    assert proc.returncode == 0, proc.stderr
    assert "everything shows as new" in proc.stdout and "to delete" not in proc.stdout


def test_an_unknown_base_is_a_tool_error_and_leaves_no_worktree(clone):
    proc = run_review("diff", "--repo", str(clone), "--stack", "dev", "--base", "no-such-ref")
    assert proc.returncode == 2 and "no-such-ref" in proc.stderr
    listing = subprocess.run(["git", "worktree", "list"], cwd=clone, capture_output=True, text=True).stdout
    assert len(listing.splitlines()) == 1


def test_a_failing_base_preview_is_a_tool_error_and_the_worktree_is_removed(clone, tmp_path):
    broken = clone / "environments" / "Pulumi.dev.yaml"
    original = broken.read_text()
    broken.write_text(original.replace("aws-platform:stage: dev", "aws-platform:stage: nonsense"))
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "--quiet", "-am", "broken base"],
        cwd=clone,
        check=True,
    )
    broken.write_text(original)
    try:
        proc = run_review("diff", "--repo", str(clone), "--stack", "dev", "--base", "HEAD", "--no-policy")
    finally:
        subprocess.run(["git", "reset", "--quiet", "--hard", "HEAD~1"], cwd=clone, check=True)
    assert proc.returncode == 3 and "offline preview of 'dev'" in proc.stderr
    listing = subprocess.run(["git", "worktree", "list"], cwd=clone, capture_output=True, text=True).stdout
    assert len(listing.splitlines()) == 1


def test_other_checks_add_one_line_each_under_the_summary():
    text = markdown.render(fixture_diff(), extra_lines=["🔎 security scan: 0 new findings"])
    lines = text.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("**"))
    assert lines[summary + 2] == "🔎 security scan: 0 new findings"


# --- issue 34: the comment never prints a secret ------------------------------------------------------------------


def test_the_whole_comment_redacts_every_planted_secret_and_names_where_it_was(planted_prod):
    p = planted_prod
    d = diff.diff_snapshots(p.base, p.head, base_violations=p.base_violations, head_violations=p.head_violations)
    text = markdown.render(d, command="make diff STACK=prod BASE=origin/main")
    assert not [value for value in p.values if value in text]
    assert "[redacted]" in text
    new = {(v.policy, v.urn) for v in d.new_violations}
    # The pack's finding names the resource and the path; naming-convention's message quoted the name: redacted.
    assert ("no-plaintext-secrets", p.task_urn) in new and ("no-plaintext-secrets", p.bucket_urn) in new
    assert any("input containerDefinitions[0].environment[" in v.message for v in d.new_violations)
    assert any(v.policy == "naming-convention" and "[redacted]" in v.message for v in d.new_violations)


def test_without_the_pack_the_comment_still_redacts_what_detect_secrets_flags(planted_prod):
    text = markdown.render(diff.diff_snapshots(planted_prod.base, planted_prod.head))
    assert not [value for value in planted_prod.values if value in text]
    assert "`shop-prod-[redacted]`" in text or "[redacted]" in text
