"""The org stack: the organization, OUs and accounts that survive a destroy, and what environments read from it."""

from __future__ import annotations

import json

import stack_config
from preview import ordering
from preview.world import stack_references_path
from tests.conftest import load_stack_yaml, run_preview

ORG = "aws:organizations/organization:Organization"
OU = "aws:organizations/organizationalUnit:OrganizationalUnit"
ACCOUNT = "aws:organizations/account:Account"
PARAMETER = "aws:ssm/parameter:Parameter"
ORG_REFERENCE = "organization/aws-platform/org"


def test_org_preview_passes_with_zero_mandatory_violations(shipped_preview):
    org = shipped_preview("org")
    assert org.exit_code == 0, org.stdout + org.stderr
    assert "policy pack: no violations" in org.stdout


def test_org_stack_builds_the_organization_not_a_workload(shipped_preview):
    types = {r["type"] for r in shipped_preview("org").resources()}
    assert ORG in types
    # Members' account-wide EC2 settings (IMDS defaults; components/account_defaults.py) are no workload.
    workload = {t for t in types if t.startswith(("aws:ec2/", "aws:ecs/", "aws:lb/"))}
    assert workload <= set(ordering.ACCOUNT_SETTINGS), workload


def test_organization_has_all_features_its_policy_types_and_native_trusted_access(shipped_preview):
    config = stack_config.load_file("org").organization
    org = shipped_preview("org").one(ORG, "organization")
    assert org["protect"] and org["inputs"]["featureSet"] == "ALL"
    assert org["inputs"]["enabledPolicyTypes"] == ["SERVICE_CONTROL_POLICY", "TAG_POLICY"]
    assert org["inputs"]["awsServiceAccessPrincipals"] == sorted(config.trusted_services)


def test_ous_come_from_config_under_the_root(shipped_preview):
    config = stack_config.load_file("org").organization
    preview = shipped_preview("org")
    units = preview.resources(OU)
    assert sorted(u["inputs"]["name"] for u in units) == sorted(o.name for o in config.organizational_units)
    assert {u["inputs"]["parentId"] for u in units} == {preview.snapshot["outputs"]["root_id"]}


def test_accounts_are_never_closed_by_pulumi_and_live_in_their_ou(shipped_preview):
    config = stack_config.load_file("org").organization
    preview = shipped_preview("org")
    ou_ids = preview.snapshot["outputs"]["organizational_unit_ids"]
    for spec in config.accounts:
        account = preview.one(ACCOUNT, spec.name)
        assert account["protect"] and account["retainOnDelete"], spec.name
        assert account["inputs"]["closeOnDeletion"] is False
        assert account["inputs"]["email"] == f"aws+{spec.name}@{config.mail_domain}"
        assert account["inputs"]["parentId"] == ou_ids[spec.ou]


def test_each_account_id_is_published_under_the_conventions_path(shipped_preview):
    config = stack_config.load_file("org").organization
    preview = shipped_preview("org")
    accounts = preview.snapshot["outputs"]["accounts"]
    for spec in config.accounts:
        parameter = preview.one(PARAMETER, f"account-{spec.name}")
        assert parameter["inputs"]["name"] == f"/prod/org/accounts/{spec.name}"
        assert parameter["inputs"]["insecureValue"] == accounts[spec.name]["id"]
        assert len(accounts[spec.name]["id"]) == 12 and accounts[spec.name]["id"].isdigit()


def test_offline_stack_reference_matches_what_the_org_stack_exports(shipped_preview):
    """Environments preview against preview/stack_references.json: it must be the org stack's real outputs."""
    exported = shipped_preview("org").snapshot["outputs"]
    assert json.loads(stack_references_path().read_text())[ORG_REFERENCE] == exported


def test_environment_pins_its_providers_to_the_account_the_org_stack_made(stack_yaml, tmp_path, shipped_preview):
    config = stack_yaml("prod", {"aws-platform:orgStack": ORG_REFERENCE})
    result = run_preview("prod", tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stderr
    shop_prod = json.loads(stack_references_path().read_text())[ORG_REFERENCE]["accounts"]["shop-prod"]["id"]
    providers = result.resources("pulumi:providers:aws")
    regional = [p for p in providers if p["name"] in ("aws-regional", "aws-us-east-1")]
    assert regional and all(json.loads(p["inputs"]["allowedAccountIds"]) == [shop_prod] for p in regional)


def test_environment_without_an_account_in_the_org_stack_fails(stack_yaml, tmp_path):
    containers = load_stack_yaml("dev")["config"]["aws-platform:containers"]
    for service in containers["services"]:  # a blog's services read the blog's own data-tier secrets
        service["secrets"] = {k: v.replace("shop-dev-", "blog-dev-") for k, v in service.get("secrets", {}).items()}
    config = stack_yaml(
        "dev",
        {"aws-platform:orgStack": ORG_REFERENCE, "aws-platform:context": "blog", "aws-platform:containers": containers},
    )
    result = run_preview("dev", tmp_path, "--config", str(config))
    assert result.exit_code == 3
    assert f"aws-platform:orgStack '{ORG_REFERENCE}' has no account 'blog-dev'" in result.stderr


def test_inbound_mail_is_received_by_ses_and_stored_privately(shipped_preview):
    config = stack_config.load_file("org")
    preview = shipped_preview("org")
    domain = config.organization.mail_domain
    mx = preview.one("aws:route53/record:Record", "mail-mx")
    assert mx["inputs"]["name"] == domain and mx["inputs"]["type"] == "MX"
    assert mx["inputs"]["records"] == [f"10 inbound-smtp.{config.region}.amazonaws.com"]
    assert mx["inputs"]["allowOverwrite"] is False
    rule_set = preview.one("aws:ses/receiptRuleSet:ReceiptRuleSet", "mail")["inputs"]["ruleSetName"]
    active = preview.one("aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet", "mail")
    assert active["inputs"]["ruleSetName"] == rule_set
    rule = preview.one("aws:ses/receiptRule:ReceiptRule", "store-in-s3")
    assert rule["urn"] in active["dependencies"] and rule["inputs"]["recipients"] == [domain]
    policy = json.loads(preview.one("aws:s3/bucketPolicy:BucketPolicy", "mail")["inputs"]["policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == config.account_id


def test_no_mail_section_no_ses(stack_yaml, tmp_path):
    config = stack_config.load_file("org")
    raw = json.loads(
        stack_config.engine_values_from_yaml(stack_config.loader.stack_file("org"))["aws-platform:organization"]
    )
    raw.pop("mail")  # the shipped section, minus mail
    # Its zone declaration goes with it: a declared zone nobody writes is refused.
    changed = stack_yaml("org", {"aws-platform:organization": raw}, drop=("aws-platform:externals",))
    result = run_preview("org", tmp_path, "--config", str(changed))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert not [r for r in result.resources() if r["type"].startswith("aws:ses/")]
    assert len(result.resources(ACCOUNT)) == len(config.organization.accounts)
