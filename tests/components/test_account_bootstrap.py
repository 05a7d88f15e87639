"""Account bootstrap: a service-managed StackSet per organization, an instance per OU and region, data-built."""

from __future__ import annotations

import json

import pytest

import stack_config
from components.account_bootstrap import BootstrapNames, bootstrap_names, bootstrap_template
from foundation.identity import StackIdentity
from stack_config.organization import BootstrapConfig
from tests.cloudformation import AccountView

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
    instances = [
        i
        for i in preview.resources(INSTANCE)
        if i["name"].startswith("bootstrap-") and not i["name"].startswith("bootstrap-backup-")
    ]
    assert len(instances) == len(config.organizational_units) * len(config.bootstrap.regions)
    for spec in config.accounts:
        account_urn = preview.one(ACCOUNT, spec.name)["urn"]
        covering = [
            i for i in instances if i["inputs"]["deploymentTargets"]["organizationalUnitIds"] == [ou_ids[spec.ou]]
        ]
        assert sorted(i["inputs"]["stackSetInstanceRegion"] for i in covering) == sorted(config.bootstrap.regions)
        assert all(account_urn in i["dependencies"] and i["inputs"]["retainStack"] for i in covering), spec.name
        assert preview.one(PARAMETER, f"account-{spec.name}")["inputs"]["name"] == f"/prod/org/accounts/{spec.name}"


def trust_of(role: dict) -> dict:
    """The role's GitHub OIDC trust (the first statement; a read-only role also admits the management account's)."""
    statement = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": {"Ref": "GitHubOidcProvider"}}
    return statement["Condition"]


def test_each_accounts_deploy_role_trusts_only_its_own_environments_jobs(shipped_preview):
    """A dev job's token cannot assume prod's role: each account's role names one environment's subject."""
    org = stack_config.load_file("org").organization
    preview = shipped_preview("org")
    body, outputs = template(preview), preview.snapshot["outputs"]
    region = org.bootstrap.regions[0]
    for spec in org.accounts:
        resources = AccountView(body, outputs["accounts"][spec.name]["id"], region).resources()
        if spec.deploy_environment is None:
            assert "DeployRole" not in resources, spec.name  # CI cannot deploy where config names no environment
            continue
        role = resources["DeployRole"]
        assert trust_of(role) == {
            "StringEquals": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": f"repo:{org.bootstrap.github_repository}:environment:"
                f"{spec.deploy_environment}",
            }
        }
        assert role["Properties"]["PermissionsBoundary"] == {"Ref": "DeployBoundary"}
        assert outputs["accounts"][spec.name]["deployEnvironment"] == spec.deploy_environment


def test_the_management_account_gets_the_same_template_for_the_org_stacks_own_ci(shipped_preview):
    org = stack_config.load_file("org").organization
    preview = shipped_preview("org")
    stacks = preview.resources("aws:cloudformation/stack:Stack")
    assert len(stacks) == 1 + (org.bootstrap.state_replica_region is not None)  # the replica's region too
    for stack in stacks:
        assert stack["inputs"]["templateBody"] == preview.one(STACK_SET, "bootstrap")["inputs"]["templateBody"]
        assert stack["protect"] and stack["inputs"]["capabilities"] == ["CAPABILITY_NAMED_IAM"]
    management = preview.snapshot["outputs"]["management_account_id"]
    resources = AccountView(template(preview), management, org.bootstrap.regions[0]).resources()
    sub = trust_of(resources["DeployRole"])["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert sub == f"repo:{org.bootstrap.github_repository}:environment:{org.bootstrap.management_environment}"
    sids = {s["Sid"] for s in resources["DeployBoundary"]["Properties"]["PolicyDocument"]["Statement"]}
    assert "NoOrganizationChanges" not in sids  # the org stack's job is changing the organization
    member = preview.snapshot["outputs"]["accounts"]["shop-prod"]["id"]
    member_boundary = AccountView(template(preview), member, org.bootstrap.regions[0]).resources()["DeployBoundary"]
    assert "NoOrganizationChanges" in {s["Sid"] for s in member_boundary["Properties"]["PolicyDocument"]["Statement"]}


def test_read_only_role_serves_previews_and_drift_checks_in_every_account(shipped_preview):
    org = stack_config.load_file("org").organization
    preview = shipped_preview("org")
    for account in preview.snapshot["outputs"]["accounts"].values():
        role = AccountView(template(preview), account["id"], org.bootstrap.regions[0]).resources()["ReadOnlyRole"]
        assert trust_of(role)["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
            f"repo:{org.bootstrap.github_repository}:{subject}" for subject in org.bootstrap.read_only_subjects
        ]
        assert role["Properties"]["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        # Its one write: the locks of the one shared state bucket (the bucket's policy narrows it to its stacks).
        (locks,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        management = preview.snapshot["outputs"]["management"]["stateBucket"]
        assert locks["Resource"] == f"arn:aws:s3:::{management}/.pulumi/locks/*"
        assert account["readOnlyRoleArn"].endswith(f":role/{role['Properties']['RoleName']}")
        # The org stack's pull-request preview reads member accounts as this role: only the management account's
        # read-only role may assume it besides CI (by condition: a role principal must exist when the trust is set).
        management_id = preview.snapshot["outputs"]["management_account_id"]
        (from_management,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][1:]
        assert from_management["Principal"] == {"AWS": f"arn:aws:iam::{management_id}:root"}
        assert from_management["Condition"]["ArnEquals"]["aws:PrincipalArn"] == (
            f"arn:aws:iam::{management_id}:role/{role['Properties']['RoleName']}"
        )


def test_boundary_keeps_pulumi_away_from_the_organization_credentials_and_state(shipped_preview):
    preview = shipped_preview("org")
    member = preview.snapshot["outputs"]["accounts"]["shop-prod"]["id"]
    resources = AccountView(template(preview), member, "eu-west-1").resources()
    statements = {s["Sid"]: s for s in resources["DeployBoundary"]["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["NoOrganizationChanges"]["Effect"] == "Deny"
    assert "organizations:*" in statements["NoOrganizationChanges"]["Action"]
    assert "iam:CreateAccessKey" in statements["NoLongLivedCredentials"]["Action"]
    assert "iam:DeleteRolePermissionsBoundary" in statements["BootstrapIsImmutable"]["Action"]
    assert {"s3:DeleteBucket", "s3:PutReplicationConfiguration"} <= set(statements["StateSurvives"]["Action"])


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
    for name, account in preview.snapshot["outputs"]["accounts"].items():
        if "deployEnvironment" in account:
            assert account["deployRoleArn"] == f"arn:aws:iam::{account['id']}:role/{names.deploy_role}"
        else:
            assert "deployRoleArn" not in account, name
        # One bucket for every stack: the management account's, which every stack reference can read.
        management = preview.snapshot["outputs"]["management_account_id"]
        assert account["stateBucket"] == f"{names.state_bucket_prefix}-{management}-{region}"
    role_name = template(preview)["Resources"]["DeployRole"]["Properties"]["RoleName"]
    assert role_name == names.deploy_role


def test_iam_is_created_in_every_account_and_the_state_bucket_in_the_management_account_only():
    body = bootstrap_template(
        NAMES,
        BootstrapConfig(github_repository="acme/app", regions=["eu-west-1"]),
        {"stage": "prod"},
        deploy_environments={"210987654321": "dev", "111122223333": "org"},
        management_account_id="111122223333",
    )
    assert body["Conditions"]["IamRegion"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}
    member = AccountView(body, "210987654321", "eu-west-1").resources()
    assert {"GitHubOidcProvider", "DeployRole", "ReadOnlyRole"} <= member.keys()
    assert not {"StateBucket", "StateBucketPolicy"} & member.keys()
    management = AccountView(body, "111122223333", "eu-west-1").resources()
    assert management["StateBucket"]["Properties"]["BucketName"] == "org-prod-pulumi-state-111122223333-eu-west-1"
    assert "StateBucket" not in AccountView(body, "111122223333", "us-east-1").resources()


def test_the_shared_state_is_read_by_the_organizations_ci_and_written_by_each_account_for_its_own_stacks():
    """A stack reference reads another stack's state: one backend; but staging's role never writes prod's state."""
    body = bootstrap_template(
        NAMES,
        BootstrapConfig(github_repository="acme/app"),
        {},
        deploy_environments={"210987654321": "staging", "190910285287": "prod", "111122223333": "org"},
        management_account_id="111122223333",
        organization_id="o-abc123",
    )
    home = AccountView(body, "111122223333", "eu-west-1")
    policy = home.resources()["StateBucketPolicy"]["Properties"]["PolicyDocument"]
    by_sid = {s.get("Sid"): s for s in policy["Statement"]}
    read = by_sid["OrganizationCiReadsState"]
    assert read["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": "o-abc123"}
    assert read["Condition"]["ArnLike"]["aws:PrincipalArn"] == ["arn:aws:iam::*:role/org-prod-pulumi-deploy"]
    assert not any(a.startswith(("s3:Put", "s3:Delete")) for a in read["Action"])
    bucket = "arn:aws:s3:::org-prod-pulumi-state-111122223333-eu-west-1"
    writes = home.resolve(by_sid["Account190910285287WritesItsStacks"])
    assert writes["Principal"] == {"AWS": "arn:aws:iam::190910285287:role/org-prod-pulumi-deploy"}
    assert f"{bucket}/.pulumi/stacks/aws-platform/prod.json*" in writes["Resource"]
    assert f"{bucket}/.pulumi/stacks/aws-platform/prod-*.json*" in writes["Resource"]  # prod-dr's state too
    assert f"{bucket}/.pulumi/locks/organization/aws-platform/prod/*" in writes["Resource"]
    assert not any("/aws-platform/staging" in r or "/aws-platform/org" in r for r in writes["Resource"])
    staging = home.resolve(by_sid["Account210987654321WritesItsStacks"])
    assert all("/staging" in r for r in staging["Resource"])


def test_wildcard_subject_uses_string_like():
    config = BootstrapConfig(github_repository="acme/app", read_only_subjects=["ref:refs/heads/release/*"])
    body = bootstrap_template(NAMES, config, {})
    (trust,) = body["Resources"]["ReadOnlyRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringLike"] == {
        "token.actions.githubusercontent.com:sub": "repo:acme/app:ref:refs/heads/release/*"
    }
    assert "token.actions.githubusercontent.com:sub" not in trust["Condition"]["StringEquals"]


def test_without_deploy_environments_no_account_gets_a_deploy_role():
    body = bootstrap_template(NAMES, BootstrapConfig(github_repository="acme/app"), {})
    assert "DeployRole" not in body["Resources"] and "DeployRoleArn" not in body["Outputs"]


def test_state_bucket_name_must_fit_s3s_limit():
    identity = StackIdentity("prod", "a-very-long-context-name-for-buckets", "team", "PRODUCTION", "org", "us-east-1")
    with pytest.raises(ValueError, match="leaves no room for '-<account>-<region>'"):
        bootstrap_names(identity)


def test_the_state_bucket_replicates_to_the_backup_account_in_another_region(shipped_preview):
    """you-are-not-saved-by-iac.md: the state (and the generated secrets in it) must survive losing the account."""
    org = stack_config.load_file("org").organization
    preview = shipped_preview("org")
    outputs = preview.snapshot["outputs"]
    backup_account = outputs["accounts"][org.bootstrap.state_backup.account]["id"]
    (region,) = org.bootstrap.regions
    view = AccountView(template(preview), outputs["management_account_id"], region)
    bucket = view.resources()["StateBucket"]["Properties"]
    assert bucket["BucketName"] == outputs["management"]["stateBucket"]
    (rule,) = [r for r in bucket["ReplicationConfiguration"]["Rules"] if r["Id"] == "state-to-backup-account"]
    destination = rule["Destination"]
    assert destination["Account"] == backup_account != outputs["management_account_id"]
    assert destination["Bucket"] == f"arn:aws:s3:::{outputs['state_backup_bucket']}"
    assert (
        destination["Bucket"].endswith(f"-{org.bootstrap.state_backup.region}") and region not in destination["Bucket"]
    )
    assert rule["DeleteMarkerReplication"] == {"Status": "Disabled"}  # deleting state never deletes the copy
    assert rule["Status"] == "Enabled" and rule["Filter"] == {"Prefix": ""}
    assert "ReplicationRole" in view.resources()
    for account in outputs["accounts"].values():  # no member account keeps state of its own
        assert (
            not {"StateBucket", "ReplicationRole"}
            & AccountView(template(preview), account["id"], region).resources().keys()
        )


def test_the_state_bucket_replicates_within_15_minutes_to_a_twin_in_the_recovery_region(shipped_preview):
    """docs/recovery.md: prod-dr keeps its state, and reads org's and prod's, where the lost region is not. The twin
    is created first (S3 refuses a rule whose destination does not exist), in the management account, with the same
    writers per stack as the shared bucket."""
    org = stack_config.load_file("org").organization
    replica_region = org.bootstrap.state_replica_region
    assert replica_region and replica_region not in org.bootstrap.regions
    preview = shipped_preview("org")
    outputs = preview.snapshot["outputs"]
    management = outputs["management_account_id"]
    (region,) = org.bootstrap.regions
    twin = AccountView(template(preview), management, replica_region).resources()
    assert set(twin) == {"StateReplicaBucket", "StateReplicaBucketPolicy"}
    name = outputs["management"]["stateBucket"].replace(f"-{region}", f"-{replica_region}")
    assert twin["StateReplicaBucket"]["Properties"]["BucketName"] == name
    home = AccountView(template(preview), management, region).resources()
    (rule,) = [
        r
        for r in home["StateBucket"]["Properties"]["ReplicationConfiguration"]["Rules"]
        if r["Destination"]["Bucket"] == f"arn:aws:s3:::{name}"
    ]
    assert rule["Destination"]["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
    assert rule["DeleteMarkerReplication"] == {"Status": "Disabled"} and rule["Filter"] == {"Prefix": ""}
    shared = home["StateBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    replica = twin["StateReplicaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert json.dumps(replica) == json.dumps(shared).replace(outputs["management"]["stateBucket"], name)
    role = home["ReplicationRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert f"arn:aws:s3:::{name}/*" in role[-1]["Resource"]
    first, then = (
        preview.one("aws:cloudformation/stack:Stack", f"bootstrap-management-{r}") for r in (replica_region, region)
    )
    assert first["urn"] in then["dependencies"]
    for account in outputs["accounts"].values():  # only the management account keeps the twin
        assert "StateReplicaBucket" not in AccountView(template(preview), account["id"], replica_region).resources()


def test_the_backup_bucket_is_the_backup_accounts_own_instance_versioned_and_written_only_by_replication(
    shipped_preview,
):
    """No provider in the backup account: the org stack's read-only preview and drift check can read everything."""
    org = stack_config.load_file("org").organization
    preview = shipped_preview("org")
    outputs = preview.snapshot["outputs"]
    backup = org.bootstrap.state_backup
    backup_id = outputs["accounts"][backup.account]["id"]
    home = AccountView(template(preview), backup_id, backup.region).resources()
    assert set(home) == {"BackupBucket", "BackupBucketPolicy"}  # and no state bucket of its own there
    bucket = home["BackupBucket"]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert bucket["Properties"]["BucketName"] == outputs["state_backup_bucket"]
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": backup.noncurrent_days}
    policy = home["BackupBucketPolicy"]["Properties"]["PolicyDocument"]
    allowed = {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    assert not any(a.startswith("s3:Delete") or a == "s3:PutObject" for a in allowed)
    assert all(
        s["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == outputs["organization_id"]
        for s in policy["Statement"]
        if s["Effect"] == "Allow"
    )
    for account in outputs["accounts"].values():  # nowhere else
        assert "BackupBucket" not in AccountView(template(preview), account["id"], org.bootstrap.regions[0]).resources()
    instance = preview.one(INSTANCE, f"bootstrap-backup-{backup.region}")
    targets = instance["inputs"]["deploymentTargets"]
    assert (targets["accounts"], targets["accountFilterType"]) == ([backup_id], "INTERSECTION")
    assert instance["inputs"]["stackSetInstanceRegion"] == backup.region and instance["inputs"]["retainStack"]
    others = [
        i for i in preview.resources(INSTANCE) if i["urn"] != instance["urn"] and i["name"].startswith("bootstrap-")
    ]
    assert others and all(instance["urn"] in i["dependencies"] for i in others)  # the copy exists first
    assert not [p for p in preview.resources("pulumi:providers:aws") if p["name"].startswith("state-backup")]
