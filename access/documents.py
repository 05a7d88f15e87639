"""Every policy document a snapshot holds, by the ARN of what it governs: the simulation's evidence.

Roles (trust, inline and managed policies, permissions boundary), resource policies (repositories, buckets,
secrets, keys, topics, function permissions), and for the org stack its SCPs with the OUs they attach to and
the bootstrap template every account runs. The bootstrap template is rendered per account and region with
cloud-radar (CloudFormation's conditions, ``Fn::Sub`` and ``Fn::If`` as CloudFormation resolves them), so the
deploy role the simulation evaluates is the one that account really gets.

``extract`` gives plain JSON: ``tools/record_stack_references.py`` stores it for the stacks other stacks
reference (``access/recorded_documents.json``), so prod's simulation reads staging's repository policy from
staging's own snapshot, not from a copy written by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
RECORDED = HERE / "recorded_documents.json"
FULL_AWS_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
OIDC_PROVIDER = "token.actions.githubusercontent.com"


def _doc(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str) and value.strip():
        return json.loads(value)
    return value if isinstance(value, dict) else None


def default_key_policy(account: str) -> dict[str, Any]:
    """KMS's default key policy (a key created without one): the account's IAM policies decide."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def _permission_statement(inputs: Mapping[str, Any], function_arn: str) -> dict[str, Any]:
    """A ``lambda:AddPermission`` as the function's resource policy shows it (Lambda's GetPolicy)."""
    principal = str(inputs.get("principal", ""))
    statement: dict[str, Any] = {
        "Sid": str(inputs.get("statementId") or ""),
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": inputs.get("action"),
        "Resource": function_arn,
    }
    condition: dict[str, dict[str, str]] = {}
    if inputs.get("sourceArn"):
        condition.setdefault("ArnLike", {})["AWS:SourceArn"] = str(inputs["sourceArn"])
    if inputs.get("sourceAccount"):
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = str(inputs["sourceAccount"])
    if inputs.get("functionUrlAuthType"):
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = str(inputs["functionUrlAuthType"])
    if condition:
        statement["Condition"] = condition
    if not statement["Sid"]:
        del statement["Sid"]
    return statement


def extract(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The snapshot's documents as plain JSON: ``roles``, ``resourcePolicies``, and the org's ``scps``/``bootstrap``."""
    resources = list(snapshot.get("resources") or [])
    account = str((snapshot.get("world") or {}).get("account") or "")
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r["type"], []).append(r)

    def of(type_: str) -> list[Mapping[str, Any]]:
        return by_type.get(type_, [])

    roles: dict[str, dict[str, Any]] = {}
    role_arn_by_name: dict[str, str] = {}
    for r in of("aws:iam/role:Role"):
        inputs = r["inputs"]
        arn = r.get("arn") or f"arn:aws:iam::{account}:role/{inputs.get('name', r['name'])}"
        role_arn_by_name[str(inputs.get("name", r["name"]))] = arn
        roles[arn] = {
            "trust": _doc(inputs.get("assumeRolePolicy")),
            "inline": [
                {"name": p.get("name", f"inline-{i}"), "policy": _doc(p.get("policy"))}
                for i, p in enumerate(inputs.get("inlinePolicies") or [])
                if _doc(p.get("policy"))
            ],
            "managed": list(inputs.get("managedPolicyArns") or []),
            "boundary": None,
            "source": r["urn"],
        }
    for r in of("aws:iam/rolePolicy:RolePolicy"):
        arn = role_arn_by_name.get(str(r["inputs"].get("role", "")))
        if arn:
            roles[arn]["inline"].append({"name": r["name"], "policy": _doc(r["inputs"].get("policy"))})
    for r in of("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        arn = role_arn_by_name.get(str(r["inputs"].get("role", "")))
        if arn:
            roles[arn]["managed"].append(str(r["inputs"].get("policyArn")))

    # The role Organizations creates in each account it vends (``roleName``): trusted by the management account,
    # AdministratorAccess attached (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html).
    for r in of("aws:organizations/account:Account"):
        role, member = r["inputs"].get("roleName"), str(r.get("arn", "")).rsplit("/", 1)[-1]
        if role and member.isdigit():
            roles[f"arn:aws:iam::{member}:role/{role}"] = {
                "trust": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "inline": [],
                "managed": ["arn:aws:iam::aws:policy/AdministratorAccess"],
                "boundary": None,
                "source": r["urn"],
            }

    policies: dict[str, dict[str, Any]] = {}
    repository_arns = {
        str(r["inputs"].get("name", r["name"])): r.get("arn", "") for r in of("aws:ecr/repository:Repository")
    }
    for r in of("aws:ecr/repositoryPolicy:RepositoryPolicy"):
        arn = repository_arns.get(str(r["inputs"].get("repository", "")))
        if arn:
            policies[arn] = {"policy": _doc(r["inputs"].get("policy")), "source": r["urn"]}
    for r in of("aws:s3/bucketPolicy:BucketPolicy"):
        policies[f"arn:aws:s3:::{r['inputs'].get('bucket')}"] = {
            "policy": _doc(r["inputs"].get("policy")),
            "source": r["urn"],
        }
    for r in of("aws:secretsmanager/secretPolicy:SecretPolicy"):
        policies[str(r["inputs"].get("secretArn"))] = {"policy": _doc(r["inputs"].get("policy")), "source": r["urn"]}
    for r in of("aws:kms/key:Key"):
        policies[r.get("arn", "")] = {
            "policy": _doc(r["inputs"].get("policy")) or default_key_policy(account),
            "source": r["urn"],
        }
    for r in of("aws:sns/topicPolicy:TopicPolicy"):
        policies[str(r["inputs"].get("arn"))] = {"policy": _doc(r["inputs"].get("policy")), "source": r["urn"]}
    functions = {str(r["inputs"].get("name", r["name"])): r.get("arn", "") for r in of("aws:lambda/function:Function")}
    for r in of("aws:lambda/permission:Permission"):
        target = str(r["inputs"].get("function", ""))
        arn = target if target.startswith("arn:") else functions.get(target, "")
        if not arn:
            continue
        entry = policies.setdefault(arn, {"policy": {"Version": "2012-10-17", "Statement": []}, "source": r["urn"]})
        entry["policy"]["Statement"].append(_permission_statement(r["inputs"], arn))

    extracted: dict[str, Any] = {"account": account, "roles": roles, "resourcePolicies": policies}
    scps = _service_control_policies(
        of("aws:organizations/policy:Policy"), of("aws:organizations/policyAttachment:PolicyAttachment")
    )
    if scps:
        extracted["scps"] = scps
    stack_sets = of("aws:cloudformation/stackSet:StackSet")
    if stack_sets:
        extracted["bootstrap"] = _doc(stack_sets[0]["inputs"].get("templateBody"))
    return extracted


def _service_control_policies(
    policies: list[Mapping[str, Any]], attachments: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each SCP with the ids of the targets it is attached to (attachments are children of their policy)."""
    found = []
    for policy in policies:
        if policy["inputs"].get("type") != "SERVICE_CONTROL_POLICY":
            continue
        targets = sorted(str(a["inputs"].get("targetId")) for a in attachments if a["parent"] == policy["urn"])
        found.append(
            {
                "name": str(policy["inputs"].get("name", policy["name"])),
                "policy": _doc(policy["inputs"].get("content")),
                "targets": targets,
            }
        )
    return sorted(found, key=lambda p: p["name"])


# --- the bootstrap template, rendered as CloudFormation would for one account ---------------------------------


def _physical(value: Any, refs: Mapping[str, str]) -> Any:
    """cloud-radar leaves a ``Ref`` to a resource as its logical id; CloudFormation gives the ARN."""
    if isinstance(value, dict):
        if isinstance(value.get("Statement"), list):  # cloud-radar leaves AWS::NoValue as "" in the list
            value = {**value, "Statement": [s for s in value["Statement"] if s != ""]}
        return {k: _physical(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [_physical(v, refs) for v in value]
    return refs.get(value, value) if isinstance(value, str) else value


def rendering_key(template: Mapping[str, Any], account: str) -> str:
    """What a rendering of the bootstrap template's roles depends on: the template (by digest) and the account."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"{digest}:{account}"


def bootstrap_roles(template: Mapping[str, Any], account: str, region: str = "") -> dict[str, dict[str, Any]]:
    """The roles the bootstrap template creates in ``account`` (in its IAM region, by default), by ARN."""
    from cloud_radar.cf.unit import Template

    region = region or template["Conditions"]["IamRegion"]["Fn::Equals"][1]  # where the template creates IAM
    Template.AccountId = account
    with contextlib.redirect_stdout(io.StringIO()):  # cloud-radar prints the template object it renders
        rendered = Template(json.loads(json.dumps(template))).create_stack(region=region).data["Resources"]
    refs = {
        logical: (
            f"arn:aws:iam::{account}:oidc-provider/{OIDC_PROVIDER}"
            if body["Type"] == "AWS::IAM::OIDCProvider"
            else f"arn:aws:iam::{account}:policy/{body['Properties'].get('ManagedPolicyName', logical)}"
            if body["Type"] == "AWS::IAM::ManagedPolicy"
            else f"arn:aws:iam::{account}:role/{body['Properties'].get('RoleName', logical)}"
            if body["Type"] == "AWS::IAM::Role"
            else logical
        )
        for logical, body in rendered.items()
    }
    rendered = _physical(rendered, refs)
    boundaries = {
        refs[logical]: body["Properties"]["PolicyDocument"]
        for logical, body in rendered.items()
        if body["Type"] == "AWS::IAM::ManagedPolicy"
    }
    roles: dict[str, dict[str, Any]] = {}
    for logical, body in rendered.items():
        if body["Type"] != "AWS::IAM::Role":
            continue
        props = body["Properties"]
        roles[refs[logical]] = {
            "trust": props.get("AssumeRolePolicyDocument"),
            # A policy under a false Fn::If renders as AWS::NoValue: not there.
            "inline": [
                {"name": p["PolicyName"], "policy": p["PolicyDocument"]}
                for p in props.get("Policies") or []
                if isinstance(p, dict)
            ],
            "managed": list(props.get("ManagedPolicyArns") or []),
            "boundary": boundaries.get(str(props.get("PermissionsBoundary") or "")),
            "source": f"bootstrap template: {logical}",
        }
    return roles


@dataclass
class Documents:
    """The documents one simulation may consult: its own stack's, and those recorded for the stacks it references."""

    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    resource_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    scps: list[dict[str, Any]] = field(default_factory=list)
    bootstrap: dict[str, Any] | None = None

    def add(self, extracted: Mapping[str, Any]) -> None:
        self.roles.update(extracted.get("roles") or {})
        self.resource_policies.update(extracted.get("resourcePolicies") or {})
        self.scps = list(extracted.get("scps") or self.scps)
        self.bootstrap = extracted.get("bootstrap") or self.bootstrap

    def resource_policy(self, arn: str) -> tuple[dict[str, Any] | None, str]:
        """The policy governing ``arn`` (an S3 object's is its bucket's) and where it came from."""
        if arn.startswith("arn:aws:s3:::"):
            arn = "arn:aws:s3:::" + arn.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        if arn.startswith("arn:aws:ecr:") and ":repository/" in arn:
            arn = arn.split("@", 1)[0]
        entry = self.resource_policies.get(arn)
        return (entry["policy"], entry["source"]) if entry else (None, "")


def recorded_path() -> pathlib.Path:
    """Where the referenced stacks' documents are; ACCESS_RECORDED_DOCUMENTS swaps in another file (tests)."""
    return pathlib.Path(os.environ.get("ACCESS_RECORDED_DOCUMENTS") or RECORDED).resolve()


def recorded() -> dict[str, Any]:
    """The referenced stacks' documents (``recorded_path``)."""
    path = recorded_path()
    return json.loads(path.read_text()) if path.exists() else {}
