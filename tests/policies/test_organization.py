"""Organization policies, through the analyzer: SCP documents, account e-mails, Identity Center readiness."""

from __future__ import annotations

import json

from components import guardrails
from tests.conftest import messages as raw_messages
from tests.conftest import resource

POLICY = "aws:organizations/policy:Policy"
ACCOUNT = "aws:organizations/account:Account"
ORG = "aws:organizations/organization:Organization"
ORG_CONFIG = {"all": "mandatory", "account-email-domain": {"domain": "aws.example.com"}}
INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-72230123456789ab"


def messages(violations, policy: str, name: str | None = None) -> list[str]:
    """The violation details, without the policy description the analyzer puts on the first line."""
    return [m.split("\n", 1)[-1] for m in raw_messages(violations, policy, name)]


def scp(name: str, content: str, type_: str = "SERVICE_CONTROL_POLICY") -> dict:
    return resource("org", POLICY, name, {"name": f"org-prod-{name}", "type": type_, "content": content})


# --- organization-policy-document ------------------------------------------------


def test_generated_guardrails_are_valid_documents(analyze):
    found = analyze(
        "org",
        [
            scp("require-tags", guardrails.render("t", guardrails.require_tags_document(), "SERVICE_CONTROL_POLICY")),
            scp(
                "stage-tag-policy",
                guardrails.render("s", guardrails.stage_tag_policy_document(), "TAG_POLICY"),
                "TAG_POLICY",
            ),
        ],
        config=ORG_CONFIG,
    )
    assert messages(found, "organization-policy-document") == []


def test_scp_over_the_size_limit_fails_and_says_whether_minifying_helps(analyze):
    padded = json.dumps(guardrails.require_tags_document(), indent=4)  # whitespace counts against the limit
    huge = guardrails.region_allow_list_document([f"region-{i:04d}" for i in range(600)])
    found = analyze(
        "org", [scp("padded", padded), scp("huge", json.dumps(huge, separators=(",", ":")))], config=ORG_CONFIG
    )
    (padded_message,) = messages(found, "organization-policy-document", "padded")
    assert f"is {len(padded)} characters; AWS allows 5120" in padded_message and "send it minified" in padded_message
    (huge_message,) = messages(found, "organization-policy-document", "huge")
    assert "AWS allows 5120" in huge_message and "send it minified" not in huge_message
    assert {v.level for v in found if v.policy == "organization-policy-document"} == {"mandatory"}


# --- scp-tag-deny-spares-services --------------------------------------------------


def test_a_tag_deny_that_also_denies_service_requests_fails_naming_the_statement(analyze):
    """The require-tags guardrail of before issue 22: RDS's managed DocumentDB secret was denied by it."""
    shipped = guardrails.require_tags_document()
    before = json.loads(json.dumps(shipped))
    for statement in before["Statement"]:
        statement["Condition"].pop("Bool")
    found = analyze(
        "org",
        [scp("shipped", json.dumps(shipped)), scp("before", json.dumps(before))],
        config=ORG_CONFIG,
    )
    assert messages(found, "scp-tag-deny-spares-services", "shipped") == []
    failing = messages(found, "scp-tag-deny-spares-services", "before")
    assert len(failing) == len(before["Statement"])
    first = before["Statement"][0]
    tag = next(iter(first["Condition"]["Null"]))
    assert any(m.startswith(f"{first['Sid']} denies requests without {tag} also when") for m in failing), failing
    assert all('"Bool": {"aws:ViaAWSService": "false"}' in m for m in failing)


def test_invalid_scp_documents_fail(analyze):
    found = analyze(
        "org",
        [
            scp("not-json", "{'Version': '2012-10-17'"),
            scp("no-statement", json.dumps({"Version": "2012-10-17"})),
            scp(
                "bad-effect",
                json.dumps(
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Block", "Action": "*", "Resource": "*"}]}
                ),
            ),
            scp("tagless", json.dumps({"stage": {}}), "TAG_POLICY"),
        ],
        config=ORG_CONFIG,
    )
    assert "policy content is not JSON" in messages(found, "organization-policy-document", "not-json")[0]
    assert messages(found, "organization-policy-document", "no-statement") == [
        "SERVICE_CONTROL_POLICY has no Statement"
    ]
    assert messages(found, "organization-policy-document", "bad-effect") == [
        "Statement[0] has Effect 'Block' (allowed: 'Allow', 'Deny')"
    ]
    assert messages(found, "organization-policy-document", "tagless") == ["TAG_POLICY has no 'tags' object"]


# --- account-email-domain ------------------------------------------------------------


def account(name: str, email: str) -> dict:
    return resource("org", ACCOUNT, name, {"name": name, "email": email, "closeOnDeletion": False})


def test_account_emails_in_the_domain_pass(analyze):
    found = analyze(
        "org",
        [account("shop-dev", "aws+shop-dev@aws.example.com"), account("shop-prod", "aws+shop-prod@AWS.example.com")],
        config=ORG_CONFIG,
    )
    assert messages(found, "account-email-domain") == []


def test_account_email_outside_the_domain_or_reused_fails(analyze):
    found = analyze(
        "org",
        [
            account("shop-dev", "aws+shop-dev@aws.example.com"),
            account("shop-qa", "aws+shop-dev@aws.example.com"),
            account("blog", "root@gmail.com"),
        ],
        config=ORG_CONFIG,
    )
    assert messages(found, "account-email-domain", "blog") == [
        "account e-mail 'root@gmail.com' is outside the organization's mail domain 'aws.example.com'"
    ]
    assert "already used by account 'shop-dev'" in messages(found, "account-email-domain", "shop-qa")[0]
    assert messages(found, "account-email-domain", "shop-dev") == []


def test_account_email_policy_needs_its_domain(analyze):
    found = analyze("org", [account("shop-dev", "aws+shop-dev@aws.example.com")], config={"all": "mandatory"})
    assert "no mail domain configured" in messages(found, "account-email-domain", "shop-dev")[0]


def test_org_policy_config_sets_the_domain_the_org_stack_uses():
    import stack_config
    from preview.policy_client import policy_config_for

    domain = stack_config.load_file("org").organization.mail_domain
    assert policy_config_for("org")["account-email-domain"] == {"domain": domain}


def test_pack_declares_the_domain_property(policy_pack):
    (info,) = [p for p in policy_pack.info.policies if p.name == "account-email-domain"]
    assert "domain" in info.configSchema.properties


# --- identity-center-readiness -------------------------------------------------------


def permission_set(name: str, instance_arn: str) -> dict:
    return resource(
        "org",
        "aws:ssoadmin/permissionSet:PermissionSet",
        name,
        {"name": f"org-prod-{name}", "instanceArn": instance_arn, "sessionDuration": "PT1H"},
    )


def group(name: str, store: str) -> dict:
    return resource(
        "org", "aws:identitystore/group:Group", name, {"displayName": f"org-prod-{name}", "identityStoreId": store}
    )


def organization(principals: list[str]) -> dict:
    return resource("org", ORG, "organization", {"featureSet": "ALL", "awsServiceAccessPrincipals": principals})


def test_sso_resources_against_a_real_instance_pass(analyze):
    found = analyze(
        "org",
        [organization(["sso.amazonaws.com"]), permission_set("admin", INSTANCE_ARN), group("admins", "d-9067a1b2c3")],
        config=ORG_CONFIG,
    )
    assert messages(found, "identity-center-readiness") == []


def test_sso_resources_before_the_console_step_fail(analyze):
    found = analyze(
        "org",
        [permission_set("empty", ""), permission_set("later", "[unknown]"), group("placeholder", "d-TODO")],
        config=ORG_CONFIG,
    )
    assert (
        "is not a real instance's; enable IAM Identity Center in the console first"
        in messages(found, "identity-center-readiness", "empty")[0]
    )
    assert "not known at preview" in messages(found, "identity-center-readiness", "later")[0]
    assert "identity store id 'd-TODO'" in messages(found, "identity-center-readiness", "placeholder")[0]


def test_sso_resources_while_trusted_access_would_be_switched_off_fail(analyze):
    found = analyze(
        "org",
        [organization(["member.org.stacksets.cloudformation.amazonaws.com"]), permission_set("admin", INSTANCE_ARN)],
        config=ORG_CONFIG,
    )
    assert "lacks 'sso.amazonaws.com'" in messages(found, "identity-center-readiness", "organization")[0]
    # Without SSO resources the organization may list what it likes.
    found = analyze("org", [organization([])], config=ORG_CONFIG)
    assert messages(found, "identity-center-readiness") == []
