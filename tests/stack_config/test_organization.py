"""The organization section: only in the org stack, and every reference in it points at something that exists."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import stack_config
from stack_config.loader import engine_values_from_yaml, stack_file
from stack_config.organization import OrganizationConfig
from tests.conftest import ROOT, load_stack_yaml

KEY = "aws-platform:organization"


def org_values(change=None, **top: str) -> dict[str, str]:
    """The shipped org stack's engine values, with ``change(section)`` applied to the organization section."""
    values = engine_values_from_yaml(stack_file("org"))
    section: dict[str, Any] = copy.deepcopy(json.loads(values[KEY]))
    if change is not None:
        change(section)
    values[KEY] = json.dumps(section)
    values.update(top)
    return values


def problems(stack: str, values: dict[str, str]) -> str:
    with pytest.raises(stack_config.ConfigError) as err:
        stack_config.load(stack, values)
    return str(err.value)


def test_shipped_org_stack_is_prod_and_derives_every_email_from_one_domain():
    config = stack_config.load_file("org")
    org = config.organization
    assert (config.stage, config.usage) == ("prod", "PRODUCTION")
    emails = [org.email_for(a.name) for a in org.accounts]
    assert len(set(emails)) == len(emails) == len(org.accounts)
    assert all(e.endswith(f"@{org.mail_domain}") and e.startswith(f"{org.mail_local_part}+") for e in emails)


def test_email_is_local_plus_account_at_domain():
    org = OrganizationConfig(mail_domain="aws.example.com", mail_local_part="cloud")
    assert org.email_for("shop-dev") == "cloud+shop-dev@aws.example.com"


def test_organization_is_refused_outside_the_org_stack():
    values = engine_values_from_yaml(stack_file("dev"))
    values[KEY] = json.dumps({"mailDomain": "aws.example.com"})
    text = problems("dev", values)
    assert f"{KEY}: is only allowed in the 'org' stack" in text and "'dev'" in text


def test_org_stack_requires_the_section():
    values = org_values()
    del values[KEY]
    assert f"{KEY}: is required in the 'org' stack" in problems("org", values)


def test_account_in_an_unknown_ou_names_the_key_the_value_and_the_choices():
    text = problems("org", org_values(lambda s: s["accounts"].append({"name": "blog-dev", "ou": "workload"})))
    assert f"{KEY}.accounts[6].ou: 'workload' is not an OU (allowed: sandbox, security, workloads)" in text


def test_duplicate_names_are_refused():
    def duplicate(section):
        section["organizationalUnits"].append({"name": "sandbox"})
        section["accounts"].append({"name": "shop-dev", "ou": "workloads"})

    text = problems("org", org_values(duplicate))
    assert f"{KEY}.organizationalUnits[3].name: 'sandbox' appears twice" in text
    assert f"{KEY}.accounts[6].name: 'shop-dev' appears twice" in text


def test_guardrails_attach_only_to_existing_ous_once():
    def attach(section):
        section["guardrails"]["denyLeave"] = ["workloads", "platform", "workloads"]

    text = problems("org", org_values(attach))
    assert f"{KEY}.guardrails.denyLeave[1]: 'platform' is not an OU" in text
    assert f"{KEY}.guardrails.denyLeave[2]: 'workloads' is listed twice" in text


def test_unknown_guardrail_gets_a_hint():
    text = problems("org", org_values(lambda s: s["guardrails"].update({"denyLeaving": ["workloads"]})))
    assert "did you mean 'denyLeave'?" in text


def test_allowed_regions_are_real_regions_and_keep_us_east_1():
    text = problems("org", org_values(lambda s: s["guardrails"].update({"allowedRegions": ["eu-west1"]})))
    assert f"{KEY}.guardrails.allowedRegions[0]: 'eu-west1' is not an AWS region; did you mean 'eu-west-1'?" in text
    text = problems("org", org_values(lambda s: s["guardrails"].update({"allowedRegions": ["eu-west-1"]})))
    assert "must include 'us-east-1'" in text
    assert f"{KEY}.bootstrap.regions[0]" not in text


def test_bootstrap_regions_must_be_allowed():
    text = problems("org", org_values(lambda s: s["bootstrap"].update({"regions": ["ap-southeast-2"]})))
    assert f"{KEY}.bootstrap.regions[0]: 'ap-southeast-2' is outside guardrails.allowedRegions" in text


def test_service_principals_look_like_service_principals():
    text = problems("org", org_values(lambda s: s.update({"trustedServices": ["sso", "sso.amazonaws.com"]})))
    assert f"{KEY}.trustedServices[0]: 'sso' is not a service principal like 'sso.amazonaws.com'" in text


def test_identity_center_and_bootstrap_need_their_trusted_access():
    def ready_without_sso(section):
        section["trustedServices"] = ["tagpolicies.tag.amazonaws.com"]
        section["identityCenter"] = {
            "instanceArn": "arn:aws:sso:::instance/ssoins-0123456789abcdef",
            "identityStoreId": "d-0123456789",
            "region": "us-east-1",
        }

    text = problems("org", org_values(ready_without_sso))
    assert "lacks 'sso.amazonaws.com', which identityCenter needs" in text
    assert "lacks 'member.org.stacksets.cloudformation.amazonaws.com', which bootstrap needs" in text
    assert "lacks 'servicequotas.amazonaws.com', which accounts (the quota request template) needs" in text


def test_identity_center_values_are_checked():
    text = problems(
        "org",
        org_values(
            lambda s: s.update(
                {"identityCenter": {"instanceArn": "TODO", "identityStoreId": "d-0123456789", "region": "us-east-1"}}
            )
        ),
    )
    assert f"{KEY}.identityCenter.instanceArn: 'TODO' is not an Identity Center instance ARN" in text


def test_groups_reference_permission_sets_and_accounts():
    def bad_group(section):
        section["groups"].append({"name": "ops", "permissionSet": "root", "accounts": ["shop-qa"]})

    text = problems("org", org_values(bad_group))
    assert (
        f"{KEY}.groups[3].permissionSet: 'root' is not a permission set (allowed: admin, developer, read-only)" in text
    )
    assert f"{KEY}.groups[3].accounts[0]: 'shop-qa' is not an account" in text


def test_account_email_must_fit_awss_64_characters():
    long_name = "a" + "-long" * 10
    email = f"aws+{long_name}@aws.example.com"
    assert len(email) > 64
    text = problems("org", org_values(lambda s: s["accounts"].append({"name": long_name, "ou": "sandbox"})))
    assert f"{KEY}.accounts[6].name: e-mail '{email}' is {len(email)} characters; AWS allows 64" in text


def test_inbound_mail_needs_an_ses_receiving_region():
    assert "cannot receive mail with SES" in problems("org", org_values(**{"aws:region": "eu-south-1"}))


def test_org_stack_cannot_reference_itself():
    text = problems("org", org_values(**{"aws-platform:orgStack": "organization/aws-platform/org"}))
    assert "aws-platform:orgStack: the org stack cannot reference itself" in text


def test_environment_takes_its_account_from_one_source():
    values = engine_values_from_yaml(stack_file("prod"))
    values["aws-platform:orgStack"] = "organization/aws-platform/org"
    assert stack_config.load("prod", values).org_stack == "organization/aws-platform/org"
    values["aws-platform:accountId"] = "123456789012"
    assert "set accountId or orgStack, not both" in problems("prod", values)


def test_quoted_account_id_stays_a_string():
    """A YAML-quoted accountId reaches the program as a string (it was parsed as a number before)."""
    assert stack_config.load_file("org").account_id == "111122223333"


def test_one_account_per_deploy_environment():
    def twice(section):
        section["accounts"][1]["deployEnvironment"] = "dev"

    text = problems("org", org_values(twice))
    assert f"{KEY}.accounts[1].deployEnvironment: 'dev' already deploys account 'shop-dev'" in text
    text = problems("org", org_values(lambda s: s["accounts"][0].update({"deployEnvironment": "org"})))
    assert f"{KEY}.accounts[0].deployEnvironment: 'org' already deploys the management account" in text


def test_state_backup_lives_in_another_account_and_region():
    def same_region(section):
        section["bootstrap"]["stateBackup"] = {"account": "shop-prod", "region": "eu-west-1"}

    text = problems("org", org_values(same_region))
    assert f"{KEY}.bootstrap.stateBackup.account: 'shop-prod' has a deployEnvironment" in text
    assert f"{KEY}.bootstrap.stateBackup.region: 'eu-west-1' is a bootstrap region ['eu-west-1']" in text
    text = problems("org", org_values(lambda s: s["bootstrap"]["stateBackup"].update({"account": "vault"})))
    assert f"{KEY}.bootstrap.stateBackup.account: 'vault' is not an account" in text


def test_removed_github_ref_key_is_refused_with_its_replacements():
    text = problems("org", org_values(lambda s: s["bootstrap"].update({"githubRef": "ref:refs/heads/main"})))
    assert f"{KEY}.bootstrap.githubRef: unknown key" in text


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "prod-dr"])
def test_every_shipped_stack_deploys_inside_the_region_guardrail_the_org_stack_attaches(shipped_preview, stack):
    """prod-dr (eu-central-1) was outside the workloads OU's allow-list: every create denied, on the worst day."""
    documents = [
        json.loads(p["inputs"]["content"])
        for p in shipped_preview("org").resources("aws:organizations/policy:Policy")
        if "DenyOutsideAllowedRegions" in p["inputs"]["content"]
    ]
    (document,) = documents
    (deny,) = document["Statement"]
    allowed = deny["Condition"]["StringNotEquals"]["aws:RequestedRegion"]
    config = stack_config.load_file(stack)
    assert config.region in allowed and (config.edge is None or "us-east-1" in allowed), allowed


def test_a_stack_outside_its_ous_region_guardrail_is_refused_naming_where_to_allow_it(stack_yaml, monkeypatch):
    organization = copy.deepcopy(load_stack_yaml("org")["config"][KEY])
    organization["guardrails"]["allowedRegions"] = ["eu-west-1", "us-east-1"]
    org = stack_yaml("org", {KEY: organization})
    monkeypatch.setattr(
        stack_config.loader, "ENVIRONMENTS", org.parent
    )  # the org stack's config as the loader reads it
    with pytest.raises(stack_config.ConfigError) as err:
        stack_config.load_file("prod-dr", ROOT / "environments" / "Pulumi.prod-dr.yaml")
    (problem,) = [str(p) for p in err.value.problems if p.key == "aws:region"]
    assert problem.startswith("aws:region: 'eu-central-1' is outside the region guardrail of account shop-prod's OU")
    assert "(allowed: eu-west-1, us-east-1)" in problem and "organization.guardrails.allowedRegions" in problem
