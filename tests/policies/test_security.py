"""Security policies from issue 13's review: role trust, WAF and access logs at prod's entry points, rotation."""

from __future__ import annotations

import json

import pytest

from tests.conftest import messages, resource

ROLE = "aws:iam/role:Role"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
ALB = "aws:lb/loadBalancer:LoadBalancer"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"


def role(stack: str, principal: object, condition: dict | None = None) -> dict:
    statement: dict = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return resource(stack, ROLE, "push", {"assumeRolePolicy": json.dumps({"Statement": [statement]})})


@pytest.mark.parametrize(
    "principal",
    [{"AWS": "arn:aws:iam::123456789012:root"}, {"AWS": ["arn:aws:iam::123456789012:role/x", "123456789012"]}, "*"],
)
def test_a_role_trusting_an_account_root_without_condition_is_refused(analyze, principal) -> None:
    found = messages(analyze("prod", [role("prod", principal)]), "role-trust-no-bare-root")
    assert len(found) == 1 and "no condition" in found[0]


@pytest.mark.parametrize(
    "principal, condition",
    [
        ({"AWS": "arn:aws:iam::123456789012:role/org-prod-pulumi-deploy"}, None),
        ({"AWS": "arn:aws:iam::123456789012:root"}, {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ci-*"}}),
        ({"Service": "ecs-tasks.amazonaws.com"}, None),
    ],
)
def test_a_role_trusting_a_named_principal_or_with_a_condition_passes(analyze, principal, condition) -> None:
    assert messages(analyze("prod", [role("prod", principal, condition)]), "role-trust-no-bare-root") == []


def distribution(stack: str, **inputs: object) -> dict:
    return resource(stack, DISTRIBUTION, "spa", {"enabled": True, **inputs}, provider=False)


def alb(stack: str, **inputs: object) -> dict:
    return resource(stack, ALB, "alb", {"loadBalancerType": "application", "internal": False, **inputs})


def association(stack: str, target: dict) -> dict:
    found = resource(stack, ASSOCIATION, "alb-waf", {"webAclArn": "arn:aws:wafv2:eu-west-1:1:regional/webacl/x"})
    found["dependencies"] = [target["urn"]]
    return found


def test_prod_entry_points_without_waf_are_refused(analyze) -> None:
    found = messages(analyze("prod", [distribution("prod"), alb("prod")]), "waf-on-prod-entry-points")
    assert len(found) == 2
    assert any("CloudFront" in m for m in found) and any("load balancer" in m for m in found)


def test_prod_entry_points_behind_waf_pass_and_dev_is_not_judged(analyze) -> None:
    balancer = alb("prod")
    protected = [distribution("prod", webAclId="arn:aws:wafv2:us-east-1:1:global/webacl/x"), balancer]
    assert messages(analyze("prod", [*protected, association("prod", balancer)]), "waf-on-prod-entry-points") == []
    assert messages(analyze("dev", [distribution("dev"), alb("dev")]), "waf-on-prod-entry-points") == []


def test_internal_load_balancers_need_no_waf(analyze) -> None:
    assert messages(analyze("prod", [alb("prod", internal=True)]), "waf-on-prod-entry-points") == []


def test_prod_entry_points_without_access_logs_are_refused(analyze) -> None:
    found = messages(
        analyze("prod", [distribution("prod"), alb("prod", accessLogs={"enabled": False, "bucket": "logs"})]),
        "access-logs-in-prod",
    )
    assert len(found) == 2


def test_prod_entry_points_with_access_logs_pass(analyze) -> None:
    logged = [
        distribution("prod", loggingConfig={"bucket": "logs.s3.amazonaws.com", "prefix": "cloudfront/"}),
        alb("prod", accessLogs={"enabled": True, "bucket": "logs", "prefix": "alb"}),
    ]
    assert messages(analyze("prod", logged), "access-logs-in-prod") == []
    assert messages(analyze("staging", [distribution("staging")]), "access-logs-in-prod") == []


def secret_with_version(stack: str, name: str, *value_deps: dict) -> tuple[dict, dict]:
    secret = resource(stack, "aws:secretsmanager/secret:Secret", name, {"name": f"shop-{stack}-{name}"})
    version = resource(stack, "aws:secretsmanager/secretVersion:SecretVersion", name, {"secretString": "[secret]"})
    version["dependencies"] = [secret["urn"], *(d["urn"] for d in value_deps)]
    return secret, version


def generated_password(stack: str) -> dict:
    return resource(stack, "random:index/randomPassword:RandomPassword", "cache-app", {"length": 40}, provider=False)


def rotation_of(stack: str, secret: dict) -> dict:
    found = resource(stack, "aws:secretsmanager/secretRotation:SecretRotation", secret["name"], {})
    found["dependencies"] = [secret["urn"]]
    return found


def test_a_secret_holding_a_generated_password_without_rotation_is_refused(analyze) -> None:
    password = generated_password("prod")
    secret, version = secret_with_version("prod", "cache-credentials", password)
    found = messages(analyze("prod", [password, secret, version]), "generated-passwords-rotate")
    assert len(found) == 1 and "'cache-credentials' holds a generated password" in found[0]


def test_a_rotated_password_and_a_contract_without_one_pass(analyze) -> None:
    password = generated_password("prod")
    secret, version = secret_with_version("prod", "cache-credentials", password)
    contract, contract_version = secret_with_version("prod", "cache-connection", secret)  # names the secret only
    judged = [password, secret, version, rotation_of("prod", secret), contract, contract_version]
    assert messages(analyze("prod", judged), "generated-passwords-rotate") == []


def test_the_shipped_stacks_rotate_every_generated_password(shipped_preview, policy_pack) -> None:
    for stack in ("dev", "prod"):
        snapshot = shipped_preview(stack).snapshot
        passwords = {
            r["urn"] for r in snapshot["resources"] if r["type"] == "random:index/randomPassword:RandomPassword"
        }
        holders = [
            r["name"]
            for r in snapshot["resources"]
            if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion" and passwords & set(r["dependencies"])
        ]
        assert sorted(holders) == ["cache-credentials", "documentdb-app-user"], "what the policy judges here"
        found = policy_pack.check(snapshot, {"all": "mandatory"})
        assert messages(found, "generated-passwords-rotate") == [], stack
