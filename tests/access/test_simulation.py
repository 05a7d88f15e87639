"""The access simulation can fail: for each kind of access, one change to the policy that decides it turns the
simulator's verdict to denied, and the shipped documents allow it. Each verdict is @cloud-copilot/iam-simulate's,
on the shipped stack's own snapshot and the documents the stacks it references recorded."""

from __future__ import annotations

import pytest

from access import accesses
from tests.access.conftest import denied_by, statements, without
from tests.conftest import SHIPPED_STACKS, load_stack_yaml, run_preview

STAGING_API = "arn:aws:ecr:eu-west-1:267721532588:repository/shop-staging-api"
PROD_API = "arn:aws:ecr:eu-west-1:190910285287:repository/shop-prod-api"


def _scp(evidence, name: str) -> dict:
    (found,) = [s for s in evidence.documents.scps if s["name"].endswith(name)]
    return found


def test_the_dr_region_creates_only_while_the_region_guardrail_allows_it(evidence):
    shipped = evidence("prod-dr")
    assert all(v.allowed for v in shipped.simulate(kind="create", action="ecs:CreateCluster"))
    before = shipped.mutated()
    (statement,) = statements(_scp(before, "region-allow-list")["policy"])
    allowed = statement["Condition"]["StringNotEquals"]["aws:RequestedRegion"]
    statement["Condition"]["StringNotEquals"]["aws:RequestedRegion"] = [r for r in allowed if r != "eu-central-1"]
    verdicts = before.simulate(kind="create", action="ecs:CreateCluster")
    assert [v.result for v in verdicts] == ["ExplicitlyDenied"]
    assert "DenyOutsideAllowedRegions" in denied_by(verdicts)[0]


def test_a_create_without_its_tags_in_the_request_is_denied_by_the_tag_guardrail(evidence):
    untagged = evidence("prod").mutated()
    for r in untagged.snapshot["resources"]:
        if r["type"] == "pulumi:providers:aws":
            r["inputs"].pop("defaultTags", None)
    verdicts = [  # the repositories, not ecr:CreateRepositoryCreationTemplate (a template is not tagged itself)
        v
        for v in untagged.simulate(kind="create", action="ecr:CreateRepository")
        if v.access.action == "ecr:CreateRepository"
    ]
    assert verdicts and all(v.result == "ExplicitlyDenied" for v in verdicts)
    assert all("org-prod-require-tags" in d for d in denied_by(verdicts))
    assert all(v.allowed for v in evidence("prod").simulate(kind="create", action="ecr:CreateRepository"))


def test_rds_creates_the_documentdb_master_secret_under_the_tag_guardrail_only_as_a_service_request(evidence):
    """RDS calls CreateSecret with the deployer's credentials and its own tags: the guardrail of before issue 22
    (no aws:ViaAWSService condition) denied it, so the DocumentDB cluster could not be created."""
    shipped = evidence("prod")
    assert [v.result for v in shipped.simulate(kind="via-service")] == ["Allowed"]
    before = shipped.mutated()
    for statement in statements(_scp(before, "require-tags")["policy"]):
        statement["Condition"].pop("Bool")
    verdicts = before.simulate(kind="via-service")
    assert [v.result for v in verdicts] == ["ExplicitlyDenied"]


def test_a_push_role_that_trusts_another_account_cannot_be_assumed_by_the_deployer(evidence):
    shipped = evidence("prod")
    role = "arn:aws:iam::190910285287:role/shop-prod-api-ecr-push"
    assert all(v.allowed for v in shipped.simulate(kind="assume", resource=role))
    wrong = shipped.mutated()
    for statement in statements(wrong.documents.roles[role]["trust"]):
        statement["Principal"]["AWS"] = "arn:aws:iam::267721532588:role/org-prod-pulumi-deploy"
    assert {v.result for v in wrong.simulate(kind="assume", resource=role)} == {"ImplicitlyDenied"}


def test_a_pull_request_preview_cannot_configure_a_provider_that_assumes_the_push_role(evidence):
    """The wiring before issue 22: every push provider assumed the push role, also as the read-only role of a
    pull-request preview, which the push role does not trust. The program now assumes nothing as that caller."""
    deploy_world = evidence("prod")
    verdicts = deploy_world.simulate(caller=accesses.READ_ONLY, kind="assume")
    assert verdicts and all(v.result == "ImplicitlyDenied" for v in verdicts)
    assert all(v.access.principal.endswith("role/org-prod-pulumi-read-only") for v in verdicts)


def test_the_promotion_check_passes_as_the_push_role_and_not_as_the_deployer(evidence):
    """Before issue 22 prod checked staging's image as its deploy role, which staging's repository admits no more
    than anyone else; the check is now the push role's (its push provider)."""
    shipped = evidence("prod")
    checks = shipped.simulate(kind="lookup", action="ecr:DescribeImages", resource=STAGING_API)
    assert [v.access.principal for v in checks] == ["arn:aws:iam::190910285287:role/shop-prod-api-ecr-push"]
    assert all(v.allowed for v in checks)
    as_deployer = shipped.mutated()
    for invoke in as_deployer.snapshot["invokes"]:
        if invoke["token"] == "aws:ecr/getImage:getImage":
            invoke["provider"] = "urn:pulumi:prod::aws-platform::pulumi:providers:aws::aws-regional"
    verdicts = as_deployer.simulate(kind="lookup", resource=STAGING_API)
    assert [v.result for v in verdicts] == ["ImplicitlyDenied"]
    assert "api-images-access" in denied_by(verdicts)[0]


def test_promotion_reads_the_earlier_stage_image_only_while_its_repository_names_the_later_stages(evidence):
    shipped = evidence("prod")
    assert all(v.allowed for v in shipped.simulate(kind="promote", resource=STAGING_API))
    closed = shipped.mutated()
    entry = closed.documents.resource_policies[STAGING_API]
    entry["policy"] = without(entry["policy"], "LaterStagesPromote")
    verdicts = closed.simulate(kind="promote", resource=STAGING_API)
    assert {v.result for v in verdicts} == {"ImplicitlyDenied", "ExplicitlyDenied"} or all(
        not v.allowed for v in verdicts
    )


def test_a_task_pulls_its_image_only_while_the_repository_names_its_execution_role(evidence):
    shipped = evidence("prod")
    assert all(v.allowed for v in shipped.simulate(kind="pull", action="ecr:BatchGetImage", resource=PROD_API))
    closed = shipped.mutated()
    entry = closed.documents.resource_policies[PROD_API]
    for statement in statements(entry["policy"]):
        if statement.get("Sid") in ("ExecutionRolesPull", "NobodyElsePulls"):
            principal = statement.get("Principal")
            principals = principal.get("AWS") if isinstance(principal, dict) else None
            if isinstance(principals, list):
                statement["Principal"]["AWS"] = [p for p in principals if not p.endswith("api-execution")]
            condition = statement.get("Condition", {}).get("ArnNotEquals", {})
            if "aws:PrincipalArn" in condition:
                condition["aws:PrincipalArn"] = [
                    p for p in condition["aws:PrincipalArn"] if not p.endswith("api-execution")
                ]
    verdicts = closed.simulate(kind="pull", action="ecr:BatchGetImage", resource=PROD_API)
    assert [v.result for v in verdicts] == ["ExplicitlyDenied"]
    assert "NobodyElsePulls" in denied_by(verdicts)[0]


def test_a_task_reads_its_secrets_only_while_its_execution_role_may(evidence):
    shipped = evidence("prod")
    role = "arn:aws:iam::190910285287:role/shop-prod-api-execution"
    assert all(v.allowed for v in shipped.simulate(kind="secret", principal=role))
    closed = shipped.mutated()
    for policy in closed.documents.roles[role]["inline"]:
        policy["policy"] = {
            **policy["policy"],
            "Statement": [
                s for s in statements(policy["policy"]) if "secretsmanager:GetSecretValue" not in s["Action"]
            ],
        }
    verdicts = closed.simulate(kind="secret", principal=role, action="secretsmanager:GetSecretValue")
    assert verdicts and all(v.result == "ImplicitlyDenied" for v in verdicts)


def test_cloudfront_reads_the_site_bucket_only_as_the_distribution_the_policy_names(evidence):
    shipped = evidence("prod")
    assert all(v.allowed for v in shipped.simulate(kind="origin", action="s3:GetObject"))
    other = shipped.mutated()
    entry = other.documents.resource_policies["arn:aws:s3:::shop-prod-spa"]
    for statement in statements(entry["policy"]):
        statement["Condition"]["StringEquals"]["AWS:SourceArn"] = "arn:aws:cloudfront::190910285287:distribution/E0THER"
    assert [v.result for v in other.simulate(kind="origin", action="s3:GetObject")] == ["ImplicitlyDenied"]


def test_cloudfront_invokes_the_renderer_only_while_the_function_permits_it(evidence):
    shipped = evidence("prod")
    assert all(v.allowed for v in shipped.simulate(kind="origin", action="lambda:InvokeFunctionUrl"))
    closed = shipped.mutated()
    (function,) = [arn for arn in closed.documents.resource_policies if arn.endswith(":function:shop-prod-prerender")]
    closed.documents.resource_policies[function]["policy"]["Statement"] = [
        s
        for s in statements(closed.documents.resource_policies[function]["policy"])
        if s["Principal"] != {"Service": "cloudfront.amazonaws.com"}
    ]
    assert [v.result for v in closed.simulate(kind="origin", action="lambda:InvokeFunctionUrl")] == ["ImplicitlyDenied"]


def test_the_load_balancer_delivers_its_logs_only_while_the_bucket_admits_the_delivery_account(evidence):
    shipped = evidence("prod")
    assert [v.result for v in shipped.simulate(kind="log-delivery")] == ["Allowed"]
    closed = shipped.mutated()
    entry = closed.documents.resource_policies["arn:aws:s3:::shop-prod-access-logs"]
    entry["policy"] = without(entry["policy"], "AlbLogDeliveryLegacyRegions")
    assert [v.result for v in closed.simulate(kind="log-delivery")] == ["ImplicitlyDenied"]


def test_lambda_pulls_the_renderer_image_only_while_the_repository_admits_the_service(evidence):
    shipped = evidence("prod")
    assert all(v.allowed for v in shipped.simulate(kind="pull", principal="lambda.amazonaws.com"))
    closed = shipped.mutated()
    for arn, entry in closed.documents.resource_policies.items():
        if arn.startswith("arn:aws:ecr:eu-west-1:190910285287:") and "LambdaPulls" in str(entry["policy"]):
            entry["policy"] = without(entry["policy"], "LambdaPulls")
    verdicts = closed.simulate(kind="pull", principal="lambda.amazonaws.com")
    assert verdicts and all(not v.allowed for v in verdicts)


def test_alarms_publish_to_their_encrypted_topic_only_while_its_key_admits_cloudwatch(evidence):
    shipped = evidence("prod")
    key = "arn:aws:kms:eu-west-1:190910285287:key/alerts"
    assert all(v.allowed for v in shipped.simulate(kind="publish", principal="cloudwatch", resource=key))
    closed = shipped.mutated()
    entry = closed.documents.resource_policies[key]
    entry["policy"] = without(entry["policy"], "AlertSourcesEncrypt")
    verdicts = closed.simulate(kind="publish", principal="cloudwatch", resource=key)
    assert verdicts and all(v.result == "ImplicitlyDenied" for v in verdicts)
    # The topic policy still admits them: only the key's statement decided.
    assert all(v.allowed for v in closed.simulate(kind="publish", principal="cloudwatch", action="sns:Publish"))


@pytest.mark.parametrize("admits_logs", [True, False])
def test_a_log_group_key_must_admit_cloudwatch_logs(evidence, admits_logs):
    """No shipped log group uses a customer key; this one does, with and without the service in its key policy.
    (The simulator's dataset drops ``kms:EncryptionContext:aws:logs:arn``, so a statement conditioned on it
    evaluates as not matching: the simulation fails closed there, docs/access.md.)"""
    stack = evidence("prod").mutated()
    key = "arn:aws:kms:eu-west-1:190910285287:key/logs"
    provider = "urn:pulumi:prod::aws-platform::pulumi:providers:aws::aws-regional"
    stack.snapshot["resources"].append(
        {
            "type": "aws:cloudwatch/logGroup:LogGroup",
            "name": "encrypted",
            "urn": "urn:pulumi:prod::aws-platform::aws:cloudwatch/logGroup:LogGroup::encrypted",
            "arn": "arn:aws:logs:eu-west-1:190910285287:log-group:/prod/shop/encrypted",
            "parent": "",
            "custom": True,
            "provider": provider,
            "inputs": {"name": "/prod/shop/encrypted", "kmsKeyId": key},
        }
    )
    account = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::190910285287:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    logs = {
        "Effect": "Allow",
        "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "190910285287"}},
    }
    stack.documents.resource_policies[key] = {
        "policy": {"Version": "2012-10-17", "Statement": [account, *([logs] if admits_logs else [])]},
        "source": "test key",
    }
    verdicts = stack.simulate(kind="encrypt")
    assert len(verdicts) == 2
    assert all(v.allowed == admits_logs for v in verdicts)


def test_a_record_written_into_a_zone_of_another_account_is_denied_route53_has_no_resource_policy(stack_yaml, tmp_path):
    """The shipped configs wrote one zone from four accounts; a declaration naming the owner shows the failure."""
    externals = load_stack_yaml("dev")["config"]["aws-platform:externals"]
    zone = next(e for e in externals if e["ref"].startswith("route53:"))
    zone["account"] = "shop-prod"  # dev.shop's records written into a zone that lives in prod's account
    config = stack_yaml("dev", {"aws-platform:externals": externals})
    result = run_preview("dev", tmp_path, "--config", str(config), "--no-policy", "--quiet")
    assert result.exit_code == 1, result.stdout[-2000:]
    denied = [line for line in result.stdout.splitlines() if "DENIED  dns" in line]
    assert denied and all("route53:ChangeResourceRecordSets" in line for line in denied)
    assert all(f"hostedzone/{zone['ref'].split(':', 1)[1]}" in line for line in denied)


def test_no_hosted_zone_is_written_from_more_than_one_account(shipped_preview):
    """A zone lives in one account: every shipped stack that writes records in it runs in that account."""
    writers: dict[str, set[str]] = {}
    for stack in (*SHIPPED_STACKS, "org"):
        snapshot = shipped_preview(stack).snapshot
        for record in (r for r in snapshot["resources"] if r["type"] == "aws:route53/record:Record"):
            writers.setdefault(record["inputs"]["zoneId"], set()).add(snapshot["world"]["account"])
    assert writers and all(len(accounts) == 1 for accounts in writers.values()), writers
