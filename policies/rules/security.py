"""Security lessons from issue 13's review (checkov on the preview): who may assume a role, and what stands in
front of and records traffic at prod's entry points.

- A role trusting ``arn:aws:iam::<account>:root`` with no condition lets every principal of the account whose
  own policy allows sts:AssumeRole take it: the image push roles did, so anyone in prod could push images.
- Prod's CloudFront distributions and internet-facing load balancers had no WAF and kept no access logs: a
  probe or a flood reached the app unfiltered and left no record.
- The cache user's password sat unchanged in a secret from the first deploy on, as did DocumentDB's app user's:
  a generated password outlived every task and person that had read it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from rules.docs import url
from rules.resource import stage_of

ROLE = "aws:iam/role:Role"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
GENERATED_PASSWORD = "random:index/randomPassword:RandomPassword"
ACCOUNT_ROOT = re.compile(r"^(arn:aws[a-z-]*:iam::\d{12}:root|\d{12})$")


def _principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    aws = principal.get("AWS") if isinstance(principal, dict) else None
    return [aws] if isinstance(aws, str) else list(aws or [])


def _role_trust(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ROLE:
        return
    document = args.props.get("assumeRolePolicy")
    try:
        policy = json.loads(document) if isinstance(document, str) else document
    except json.JSONDecodeError:
        return  # not yet known at preview; the real document is judged at deploy
    statements = (policy or {}).get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        for principal in _principals(statement):
            if principal == "*" or ACCOUNT_ROOT.match(principal):
                report(
                    f"trust policy allows '{principal}' with no condition: every principal of that account "
                    f"whose own policy allows sts:AssumeRole can take this role; trust the role that needs it "
                    f"(CI's deploy role) or add a condition such as aws:PrincipalArn",
                    None,
                )


def _is_public_alb(props: Mapping[str, Any]) -> bool:
    return (props.get("loadBalancerType") or "application") == "application" and not props.get("internal")


def _waf(args: StackValidationArgs, report: ReportViolation) -> None:
    protected = {
        dep.urn for r in args.resources if r.resource_type == WAF_ASSOCIATION for dep in (r.dependencies or [])
    }
    associated_arns = {r.props.get("resourceArn") for r in args.resources if r.resource_type == WAF_ASSOCIATION}
    for r in args.resources:
        if stage_of(r) != "prod":
            continue
        if r.resource_type == DISTRIBUTION and not r.props.get("webAclId"):
            report("prod CloudFront distribution without a WAF web ACL (webAclId)", r.urn)
        if (
            r.resource_type == LOAD_BALANCER
            and _is_public_alb(r.props)
            and r.urn not in protected
            and (r.props.get("arn") not in associated_arns or r.props.get("arn") is None)
        ):
            report("prod internet-facing load balancer without a WAF web ACL association", r.urn)


def _access_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if stage_of(args) != "prod":
        return
    if args.resource_type == DISTRIBUTION and not (args.props.get("loggingConfig") or {}).get("bucket"):
        report("prod CloudFront distribution keeps no access logs (loggingConfig.bucket)", None)
    if args.resource_type == LOAD_BALANCER and _is_public_alb(args.props):
        logs = args.props.get("accessLogs") or {}
        if not (logs.get("enabled") and logs.get("bucket")):
            report("prod load balancer keeps no access logs (accessLogs.enabled with a bucket)", None)


def _generated_passwords_rotate(args: StackValidationArgs, report: ReportViolation) -> None:
    # Dependencies, not values: secret values are redacted at preview, and a secret's ARN is unknown until it exists.
    rotated = {dep.urn for r in args.resources if r.resource_type == SECRET_ROTATION for dep in (r.dependencies or [])}
    for version in args.resources:
        if version.resource_type != SECRET_VERSION:
            continue
        deps = version.dependencies or []
        if not any(dep.resource_type == GENERATED_PASSWORD for dep in deps):
            continue
        for secret in (dep for dep in deps if dep.resource_type == SECRET):
            if secret.urn not in rotated:
                report(
                    f"secret '{secret.name}' holds a generated password (its version depends on a RandomPassword) "
                    f"and has no SecretRotation: rotate it (foundation/rotation.py), or keep the password out of "
                    f"it and name the rotated secret instead",
                    secret.urn,
                )


role_trust_root = ResourceValidationPolicy(
    name="role-trust-no-bare-root",
    description=(
        "No IAM role trusts an account root (or '*') without a condition: the image push roles did, so any "
        "principal in a prod account could push images (issue 13's security review)."
    ),
    validate=_role_trust,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Trust the role that needs it (e.g. CI's deploy role) instead of the account root, or add a condition such as"
        " aws:PrincipalArn."
    ),
    url=url("role-trust-no-bare-root"),
)

waf_on_prod_entry_points = StackValidationPolicy(
    name="waf-on-prod-entry-points",
    description=(
        "Prod CloudFront distributions and internet-facing load balancers have a WAF web ACL: managed rules "
        "and a rate limit stand between the internet and the app (issue 13's security review)."
    ),
    validate=_waf,
    severity=Severity.HIGH,
    remediation_steps=(
        "Associate the stack's web ACL (components/web_acl.py) with the distribution (web_acl_id) or the load "
        "balancer (WebAclAssociation)."
    ),
    url=url("waf-on-prod-entry-points"),
)

access_logs_in_prod = ResourceValidationPolicy(
    name="access-logs-in-prod",
    description=(
        "Prod CloudFront distributions and internet-facing load balancers write access logs: an incident "
        "without a record of requests cannot be investigated (issue 13's security review)."
    ),
    validate=_access_logs,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Turn on the distribution's logging_config or the load balancer's access_logs, to the stack's access-log "
        "bucket (components/access_logs.py)."
    ),
    url=url("access-logs-in-prod"),
)

generated_passwords_rotate = StackValidationPolicy(
    name="generated-passwords-rotate",
    description=(
        "A secret holding a password the stack generated is rotated by Secrets Manager: the cache user's and "
        "DocumentDB's app password never changed after the first deploy (issue 13's security review)."
    ),
    validate=_generated_passwords_rotate,
    severity=Severity.HIGH,
    remediation_steps=(
        "Give the secret a SecretRotation (foundation/rotation.py), or keep the generated password out of it and "
        "reference the rotated secret."
    ),
    url=url("generated-passwords-rotate"),
)

POLICIES = [role_trust_root, waf_on_prod_entry_points, access_logs_in_prod, generated_passwords_rotate]
