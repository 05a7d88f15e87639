"""The organization stack: the lessons of aws-organizations-as-code.md and scp-request-time-tags.md.

- ``organization-policy-document``: an SCP or tag policy AWS would refuse (not JSON, no statements, a bad
  Effect, over the Organizations size limit) fails the preview instead of half-way through ``pulumi up``,
  after some OUs already got their guardrails and others did not.
- ``scp-tag-deny-spares-services``: an SCP that denies creates lacking a request tag also denies what a service
  creates with the caller's credentials and its own tags (RDS creating a DocumentDB cluster's managed master
  secret, issue 22), so it must deny only requests the caller makes itself (``aws:ViaAWSService`` false).
- ``account-email-domain``: every account's root e-mail is in the one configured mail domain and unique
  (the report's problem: each account needs its own address, and a typo'd domain hands an account's
  password reset to whoever owns that domain).
- ``identity-center-readiness``: Identity Center resources only against an instance that exists (the
  report's "SSO ready" flag: enabling it is a console step), and never while the organization would
  switch Identity Center's trusted access off.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError
from rules.docs import url

POLICY = "aws:organizations/policy:Policy"
ACCOUNT = "aws:organizations/account:Account"
ORGANIZATION = "aws:organizations/organization:Organization"
# Organizations quotas (characters of the document as sent; whitespace counts).
MAX_CHARACTERS = {
    "SERVICE_CONTROL_POLICY": 5120,
    "RESOURCE_CONTROL_POLICY": 5120,
    "TAG_POLICY": 10000,
    "BACKUP_POLICY": 10000,
    "AISERVICES_OPT_OUT_POLICY": 2500,
}
STATEMENT_POLICIES = {"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"}
UNKNOWN = object()  # a value not known at preview
SSO_INSTANCE_ARN = re.compile(r"^arn:aws[a-z-]*:sso:::instance/(sso)?ins-[0-9a-f]{16}$")
IDENTITY_STORE_ID = re.compile(r"^d-[0-9a-f]{10}$")
SSO_PRINCIPAL = "sso.amazonaws.com"


def _get(props: Any, key: str) -> Any:
    """``props[key]``, or ``UNKNOWN`` during a preview that cannot know it yet.

    The pack's proxy raises on an unknown value, which would abort the whole stack policy with an
    advisory "can't run" note; catching it per property keeps every other resource checked.
    """
    try:
        value = props.get(key)
        return list(value) if isinstance(value, (list, tuple)) else value  # reads every element now
    except UnknownValueError:
        return UNKNOWN


def _unknown(value: Any) -> bool:
    return value is UNKNOWN


get_prop, is_unknown = _get, _unknown  # for the baseline's policies (rules/baseline.py)


# --- organization-policy-document ----------------------------------------------


def document_problems(content: Any, policy_type: str) -> list[str]:
    """Why AWS Organizations would refuse ``content`` as a ``policy_type`` document (empty: it would not)."""
    if not isinstance(content, str) or not content.strip():
        return ["policy content is empty"]
    problems = []
    limit = MAX_CHARACTERS.get(policy_type)
    if limit is not None and len(content) > limit:
        hint = ""
        try:
            minified = len(json.dumps(json.loads(content), separators=(",", ":")))
            hint = f" (minified: {minified}{', which fits: send it minified' if minified <= limit else ''})"
        except ValueError:
            pass
        problems.append(f"{policy_type} document is {len(content)} characters; AWS allows {limit}{hint}")
    try:
        document = json.loads(content)
    except ValueError as err:
        return [*problems, f"policy content is not JSON: {err}"]
    if not isinstance(document, dict):
        return [*problems, "policy content is not a JSON object"]
    if policy_type in STATEMENT_POLICIES:
        statements = document.get("Statement")
        if isinstance(statements, dict):
            statements = [statements]
        if not statements or not isinstance(statements, list):
            return [*problems, f"{policy_type} has no Statement"]
        for index, statement in enumerate(statements):
            effect = statement.get("Effect") if isinstance(statement, dict) else None
            if effect not in ("Allow", "Deny"):
                problems.append(f"Statement[{index}] has Effect {effect!r} (allowed: 'Allow', 'Deny')")
            elif isinstance(statement, dict) and not ({"Action", "NotAction"} & set(statement)):
                problems.append(f"Statement[{index}] has no Action or NotAction")
    elif policy_type == "TAG_POLICY" and not isinstance(document.get("tags"), dict):
        problems.append("TAG_POLICY has no 'tags' object")
    return problems


def _validate_document(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != POLICY:
        return
    content = _get(args.props, "content")
    if _unknown(content):
        return  # computed content is checked on the update that knows it
    policy_type = _get(args.props, "type")
    if _unknown(policy_type):
        return
    for problem in document_problems(content, policy_type or "SERVICE_CONTROL_POLICY"):
        report(problem, None)


organization_policy_document = ResourceValidationPolicy(
    name="organization-policy-document",
    description=(
        "Organization policies are valid JSON, SCPs have statements with Effect Allow or Deny, and every "
        "document fits the Organizations size limit (SCP 5,120 characters): AWS refuses the rest "
        "mid-deploy, leaving some OUs guarded and others not (aws-organizations-as-code.md)."
    ),
    validate=_validate_document,
    severity=Severity.HIGH,
    remediation_steps=(
        "Make the document valid JSON whose statements have Effect Allow or Deny, and shorten it below the "
        "Organizations size limit (split an SCP in two)."
    ),
    url=url("organization-policy-document"),
)


# --- scp-tag-deny-spares-services ------------------------------------------------


def _conditions(statement: dict[str, Any]) -> dict[str, dict[str, Any]]:
    condition = statement.get("Condition")
    return condition if isinstance(condition, dict) else {}


def tag_deny_problems(content: str) -> list[str]:
    """The Deny statements of an SCP that refuse a missing request tag without sparing service requests."""
    try:
        document = json.loads(content)
    except ValueError:
        return []  # organization-policy-document reports it
    statements = document.get("Statement") if isinstance(document, dict) else None
    statements = [statements] if isinstance(statements, dict) else statements or []
    problems = []
    for index, statement in enumerate(s for s in statements if isinstance(s, dict)):
        conditions = _conditions(statement)
        tags = [k for k in (conditions.get("Null") or {}) if k.lower().startswith("aws:requesttag/")]
        if statement.get("Effect") != "Deny" or not tags:
            continue
        spared = any(
            str((conditions.get(op) or {}).get("aws:ViaAWSService", "")).lower() == "false"
            for op in ("Bool", "BoolIfExists")
        )
        if not spared:
            name = statement.get("Sid") or f"Statement[{index}]"
            problems.append(
                f"{name} denies requests without {', '.join(tags)} also when a service makes them for the caller "
                f"(RDS creating a DocumentDB cluster's managed secret sends its own tags): add "
                f'"Bool": {{"aws:ViaAWSService": "false"}} to its Condition'
            )
    return problems


def _validate_tag_deny(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != POLICY:
        return
    content, policy_type = _get(args.props, "content"), _get(args.props, "type")
    if (
        _unknown(content)
        or _unknown(policy_type)
        or (policy_type or "SERVICE_CONTROL_POLICY") != "SERVICE_CONTROL_POLICY"
    ):
        return
    for problem in tag_deny_problems(content if isinstance(content, str) else ""):
        report(problem, None)


scp_tag_deny_spares_services = ResourceValidationPolicy(
    name="scp-tag-deny-spares-services",
    description=(
        "An SCP that denies creates without a request tag denies only the caller's own requests "
        "(aws:ViaAWSService false): a service acting with the caller's credentials sends its own tags, and RDS's "
        "managed DocumentDB master secret was denied, stopping the cluster's create (issue 22)."
    ),
    validate=_validate_tag_deny,
    severity=Severity.HIGH,
    remediation_steps=(
        'Add "Bool": {"aws:ViaAWSService": "false"} to the Condition of each Deny statement that tests '
        "aws:RequestTag with Null."
    ),
    url=url("scp-tag-deny-spares-services"),
)


# --- account-email-domain --------------------------------------------------------


def _validate_account_emails(args: StackValidationArgs, report: ReportViolation) -> None:
    accounts = [r for r in args.resources if r.resource_type == ACCOUNT]
    if not accounts:
        return
    domain = str(args.get_config().get("domain") or "").lower().strip()
    seen: dict[str, str] = {}
    for account in accounts:
        email = _get(account.props, "email")
        if _unknown(email):
            continue
        if not isinstance(email, str) or email.count("@") != 1:
            report(f"account e-mail {email!r} is not an e-mail address", account.urn)
            continue
        address = email.lower()
        if not domain:
            report(
                'no mail domain configured: set {"account-email-domain": {"domain": ...}} in '
                "policies/config/<stack>.json",
                account.urn,
            )
        elif address.split("@", 1)[1] != domain:
            report(f"account e-mail '{email}' is outside the organization's mail domain '{domain}'", account.urn)
        if address in seen:
            report(
                f"account e-mail '{email}' is already used by account '{seen[address]}'; AWS requires one "
                f"address per account",
                account.urn,
            )
        seen.setdefault(address, account.name)


account_email_domain = StackValidationPolicy(
    name="account-email-domain",
    description=(
        "Every member account's root e-mail is in the organization's one mail domain and unique: a "
        "reused address fails CreateAccount, and an address elsewhere hands the root password reset "
        "to whoever owns that mailbox (aws-organizations-as-code.md)."
    ),
    validate=_validate_account_emails,
    config_schema=PolicyConfigSchema(
        properties={
            "domain": {
                "type": "string",
                "description": "the mail domain every account e-mail must use, e.g. aws.example.com",
            }
        }
    ),
    severity=Severity.HIGH,
    remediation_steps=(
        "Give the account a root e-mail of its own in the organization's mail domain (the account-email-domain policy"
        " config)."
    ),
    url=url("account-email-domain"),
)


# --- identity-center-readiness ----------------------------------------------------


def _sso_problem(resource: Any) -> str | None:
    """Why ``resource`` is an Identity Center resource deployed before its instance exists (None: it is not)."""
    module = resource.resource_type.split(":")[1].split("/")[0]
    if module == "ssoadmin":
        value, pattern, what = _get(resource.props, "instanceArn"), SSO_INSTANCE_ARN, "instance ARN"
    elif module == "identitystore":
        value, pattern, what = _get(resource.props, "identityStoreId"), IDENTITY_STORE_ID, "identity store id"
    else:
        return None
    if _unknown(value):
        return (
            f"Identity Center {what} is not known at preview: the instance must exist before the stack runs "
            f"(enable IAM Identity Center in the console, then configure organization.identityCenter)"
        )
    if not isinstance(value, str) or not pattern.match(value):
        return (
            f"Identity Center {what} {value!r} is not a real instance's; enable IAM Identity Center in the "
            f"console first (the API cannot for a management account), then configure it"
        )
    return None


def _validate_identity_center(args: StackValidationArgs, report: ReportViolation) -> None:
    sso = [r for r in args.resources if r.resource_type.split(":")[1].split("/")[0] in ("ssoadmin", "identitystore")]
    for resource in sso:
        problem = _sso_problem(resource)
        if problem:
            report(problem, resource.urn)
    if not sso:
        return
    for org in (r for r in args.resources if r.resource_type == ORGANIZATION):
        principals = _get(org.props, "awsServiceAccessPrincipals")
        if not _unknown(principals) and SSO_PRINCIPAL not in (principals or []):
            report(
                f"the organization's trusted access lacks '{SSO_PRINCIPAL}': this update would switch it off "
                f"and Identity Center with it",
                org.urn,
            )


identity_center_readiness = StackValidationPolicy(
    name="identity-center-readiness",
    description=(
        "IAM Identity Center groups, permission sets and assignments are deployed only against an "
        "instance that exists (a well-formed ssoins- ARN and d- identity store id, known at preview), and "
        "only while the organization keeps sso.amazonaws.com trusted: enabling Identity Center is a "
        "console step for a management account (aws-organizations-as-code.md)."
    ),
    validate=_validate_identity_center,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Enable IAM Identity Center in the management account's console, then give the org stack its instance ARN "
        "(ssoins-) and identity store id (d-), and keep sso.amazonaws.com among the organization's trusted services."
    ),
    url=url("identity-center-readiness"),
)
