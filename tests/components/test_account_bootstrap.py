"""Account bootstrap: a service-managed StackSet per organization, an instance per OU and region, data-built."""

from __future__ import annotations

import json

import pytest

import stack_config
from components.account_bootstrap import BootstrapNames, bootstrap_names, bootstrap_template
from foundation.identity import StackIdentity
from stack_config.organization import BootstrapConfig

STACK_SET = "aws:cloudformation/stackSet:StackSet"
INSTANCE = "aws:cloudformation/stackSetInstance:StackSetInstance"
ACCOUNT = "aws:organizations/account:Account"
PARAMETER = "aws:ssm/parameter:Parameter"
NAMES = BootstrapNames(
    deploy_role="org-prod-pulumi-deploy",
    boundary_policy="org-prod-pulumi-deploy-boundary",
    state_bucket_prefix="org-prod-pulumi-state",
)


def template(preview) -> dict:
    return json.loads(preview.one(STACK_SET, "bootstrap")["inputs"]["templateBody"])


def test_stack_set_is_service_managed_and_auto_deploys(shipped_preview):
    stack_set = shipped_preview("org").one(STACK_SET, "bootstrap")
    inputs = stack_set["inputs"]
    assert inputs["permissionModel"] == "SERVICE_MANAGED"
    assert inputs["autoDeployment"] == {"enabled": True, "retainStacksOnAccountRemoval": True}
    assert inputs["capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert stack_set["ignoreChanges"] == ["administrationRoleArn"] and stack_set["protect"]
    assert inputs["tags"]["stack"] == "org"  # stack-level tags: in every CreateStack request


def test_each_account_gets_its_stack_set_instance_and_parameter(shipped_preview):
    """Every configured account is covered by its OU's instance, in every bootstrap region, registered after it."""
    config = stack_config.load_file("org").organization
    preview = shipped_preview("org")
    ou_ids = preview.snapshot["outputs"]["organizational_unit_ids"]
    instances = preview.resources(INSTANCE)
    assert len(instances) == len(config.organizational_units) * len(config.bootstrap.regions)
    for spec in config.accounts:
        account_urn = preview.one(ACCOUNT, spec.name)["urn"]
        covering = [
            i for i in instances if i["inputs"]["deploymentTargets"]["organizationalUnitIds"] == [ou_ids[spec.ou]]
        ]
        assert sorted(i["inputs"]["stackSetInstanceRegion"] for i in covering) == sorted(config.bootstrap.regions)
        assert all(account_urn in i["dependencies"] and i["inputs"]["retainStack"] for i in covering), spec.name
        assert preview.one(PARAMETER, f"account-{spec.name}")["inputs"]["name"] == f"/prod/org/accounts/{spec.name}"


def test_deploy_role_is_trusted_only_by_the_repositorys_oidc_tokens(shipped_preview):
    bootstrap = stack_config.load_file("org").organization.bootstrap
    role = template(shipped_preview("org"))["Resources"]["DeployRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"] == {"Federated": {"Ref": "GitHubOidcProvider"}}
    assert trust["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:{bootstrap.github_repository}:{bootstrap.github_ref}",
        }
    }
    assert role["PermissionsBoundary"] == {"Ref": "DeployBoundary"}


def test_boundary_keeps_pulumi_away_from_the_organization_credentials_and_state(shipped_preview):
    resources = template(shipped_preview("org"))["Resources"]
    statements = {s["Sid"]: s for s in resources["DeployBoundary"]["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["NoOrganizationChanges"]["Effect"] == "Deny"
    assert "organizations:*" in statements["NoOrganizationChanges"]["Action"]
    assert "iam:CreateAccessKey" in statements["NoLongLivedCredentials"]["Action"]
    assert "iam:DeleteRolePermissionsBoundary" in statements["BootstrapIsImmutable"]["Action"]
    assert "s3:DeleteBucket" in statements["StateSurvives"]["Action"]


def test_state_bucket_is_versioned_encrypted_private_and_retained(shipped_preview):
    bucket = template(shipped_preview("org"))["Resources"]["StateBucket"]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    assert {t["Key"] for t in props["Tags"]} >= {"stage", "context", "owner", "usage", "managed-by", "stack"}


def test_org_outputs_name_each_accounts_deploy_role_and_state_bucket(shipped_preview):
    preview = shipped_preview("org")
    names = bootstrap_names(StackIdentity("prod", "org", "platform-team", "PRODUCTION", "org", "us-east-1"))
    region = stack_config.load_file("org").organization.bootstrap.regions[0]
    for _name, account in preview.snapshot["outputs"]["accounts"].items():
        assert account["deployRoleArn"] == f"arn:aws:iam::{account['id']}:role/{names.deploy_role}"
        assert account["stateBucket"] == f"{names.state_bucket_prefix}-{account['id']}-{region}"
    role_name = template(preview)["Resources"]["DeployRole"]["Properties"]["RoleName"]
    assert role_name == names.deploy_role


def test_iam_is_created_once_and_buckets_in_every_region():
    body = bootstrap_template(
        NAMES, BootstrapConfig(github_repository="acme/app", regions=["eu-west-1", "us-east-1"]), {"stage": "prod"}
    )
    assert body["Conditions"]["IamRegion"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}
    for name in ("GitHubOidcProvider", "DeployBoundary", "DeployRole"):
        assert body["Resources"][name]["Condition"] == "IamRegion"
    assert "Condition" not in body["Resources"]["StateBucket"]


def test_wildcard_ref_uses_string_like():
    body = bootstrap_template(NAMES, BootstrapConfig(github_repository="acme/app", github_ref="environment:*"), {})
    (trust,) = body["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringLike"] == {
        "token.actions.githubusercontent.com:sub": "repo:acme/app:environment:*"
    }
    assert "token.actions.githubusercontent.com:sub" not in trust["Condition"]["StringEquals"]


def test_state_bucket_name_must_fit_s3s_limit():
    identity = StackIdentity("prod", "a-very-long-context-name-for-buckets", "team", "PRODUCTION", "org", "us-east-1")
    with pytest.raises(ValueError, match="leaves no room for '-<account>-<region>'"):
        bootstrap_names(identity)
