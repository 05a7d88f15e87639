"""The accesses a stack depends on, derived from its snapshot: who does what to which resource, with which context.

Nothing here is a hand list of grants. Each kind reads what the snapshot already shows and asks the question
AWS will ask at ``up`` or at run time:

- ``create``: the deploy role creates every resource, in its provider's region, with the request's tags
  (``policies.conventions.request_tags``), against the account's SCPs and the role's permissions boundary;
- ``assume``: each provider that assumes a role is configured by the stack's caller (the deploy role at ``up``,
  the read-only role in a pull-request preview), against that role's trust policy;
- ``pull`` / ``secret``: each task definition's execution role pulls its images and reads its secrets (and the
  secret's key); a Lambda image function's service pulls its image;
- ``push`` / ``promote``: the push role writes the images the stack builds or copies, and reads the promoted
  image in the earlier stage's repository, whose policy comes from that stack's own recorded snapshot;
- ``origin``: CloudFront reads the S3 origins and invokes the function-URL origins it signs for;
- ``log-delivery``: the load balancer's log-delivery principal writes into the access-log bucket;
- ``publish``: alarms and event rules publish to the topics they name, with the topic's key;
- ``encrypt``: the services that encrypt with a customer key (CloudWatch Logs) may use it;
- ``dns``: each Route 53 record is written into its hosted zone by the role its provider acts as, in the account
  config declares the zone lives in (``externals``, ``route53:<zone id>``). Route 53 has no resource policies, so a
  zone of another account is denied unless the provider assumes a role in that account.

A resource owned by another account is judged by its owner's policy when a recorded snapshot holds it; when none
does, the access is listed as *on trust*, with the owner, never counted as allowed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from access import iam_data, managed_policies, tamper
from access.create_actions import CREATE_ACTIONS
from access.documents import FULL_AWS_ACCESS, Documents, bootstrap_roles, rendering_key
from policies import conventions
from stack_config.aws_values import ELB_LOG_DELIVERY_ACCOUNTS, ecr_repository

DEPLOY, READ_ONLY = "deploy", "read-only"
TAMPER = "tamper"  # an access that must be denied: an allowed one fails the preview
NAMED_CREATES = frozenset({"aws:iam/role:Role", "aws:s3/bucket:Bucket", "aws:ecr/repository:Repository"})


@dataclass(frozen=True)
class Access:
    kind: str
    principal: str
    action: str
    resource: str
    resource_account: str
    origin: str  # the resource in the snapshot the access is for (a URN), or what implies it
    context: Mapping[str, str | list[str]] = field(default_factory=dict, hash=False)
    identity: tuple[tuple[str, Any], ...] = field(default=(), hash=False)
    boundary: Any = field(default=None, hash=False)
    scps: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = field(default=(), hash=False)
    resource_policy: Any = field(default=None, hash=False)
    resource_policy_source: str = ""

    @property
    def key(self) -> str:
        """Stable across runs: what the review comment compares between base and head."""
        return f"{self.kind} {self.principal} {self.action} {self.resource} for {self.origin.rsplit('::', 1)[-1]}"

    def simulation(self) -> dict[str, Any]:
        """The request in @cloud-copilot/iam-simulate's ``Simulation`` shape."""
        simulation: dict[str, Any] = {
            "request": {
                "principal": self.principal,
                "action": self.action,
                "resource": {"resource": self.resource, "accountId": self.resource_account},
                "contextVariables": dict(self.context),
            },
            "identityPolicies": [{"name": name, "policy": policy} for name, policy in self.identity],
            "serviceControlPolicies": [
                {"orgIdentifier": level, "policies": [{"name": n, "policy": p} for n, p in policies]}
                for level, policies in self.scps
            ],
            "resourceControlPolicies": [],
        }
        if self.boundary is not None:
            simulation["permissionBoundaryPolicies"] = [{"name": "permissions-boundary", "policy": self.boundary}]
        if self.resource_policy is not None:
            simulation["resourcePolicy"] = self.resource_policy
        return simulation


@dataclass(frozen=True)
class OnTrust:
    """An access whose deciding policy is another owner's, and no recorded snapshot holds it."""

    kind: str
    principal: str
    action: str
    resource: str
    owner: str
    origin: str


@dataclass
class Organization:
    """What the org stack's outputs say: accounts, their OUs, the CI roles the bootstrap made in each."""

    outputs: Mapping[str, Any]

    @property
    def management_account(self) -> str:
        return str(self.outputs.get("management_account_id", ""))

    @property
    def organization_id(self) -> str:
        return str(self.outputs.get("organization_id", ""))

    def account(self, account_id: str) -> Mapping[str, Any]:
        if account_id == self.management_account:
            return {"id": account_id, **(self.outputs.get("management") or {})}
        for entry in (self.outputs.get("accounts") or {}).values():
            if str(entry.get("id")) == account_id:
                return entry
        return {}

    def role(self, account_id: str, caller: str) -> str:
        entry = self.account(account_id)
        return str(entry.get("deployRoleArn" if caller == DEPLOY else "readOnlyRoleArn") or "")

    def scp_levels(self, account_id: str, documents: Documents) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
        """Root, OU, account: FullAWSAccess at each (AWS attaches it by default) plus what the org attaches there.
        The management account is outside every SCP."""
        if not account_id or account_id == self.management_account or not self.outputs:
            return ()
        ou_name = str(self.account(account_id).get("ou") or "")
        ou_id = str((self.outputs.get("organizational_unit_ids") or {}).get(ou_name, ""))
        levels = [str(self.outputs.get("root_id", "root")), *([ou_id] if ou_id else []), account_id]
        return tuple(
            (
                level,
                (
                    ("FullAWSAccess", FULL_AWS_ACCESS),
                    *((scp["name"], scp["policy"]) for scp in documents.scps if level in scp["targets"]),
                ),
            )
            for level in levels
        )


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


class Derivation:
    """One stack's snapshot with the documents and organization it is judged against."""

    def __init__(
        self,
        snapshot: Mapping[str, Any],
        documents: Documents,
        organization: Organization,
        caller: str = DEPLOY,
        rendered: Mapping[str, dict[str, dict[str, Any]]] | None = None,
    ):
        """``rendered``: bootstrap roles already rendered (``access/rehearsal.py``), by ``documents.rendering_key``;
        a template or account they were not rendered from is rendered here."""
        self.snapshot = snapshot
        self.documents = documents
        self.org = organization
        self.caller = caller
        self.account = str((snapshot.get("world") or {}).get("account") or "")
        self.resources = list(snapshot.get("resources") or [])
        self.by_urn = {r["urn"]: r for r in self.resources}
        self.on_trust: list[OnTrust] = []
        self.unmapped: list[str] = []
        self._bootstrap_roles: dict[str, dict[str, dict[str, Any]]] = {}  # by account, rendered once
        self._rendered = rendered or {}

    # --- who: a principal's own policies ------------------------------------------------------------------

    def _role(self, arn: str) -> dict[str, Any] | None:
        """The role's documents: from a snapshot, or from the bootstrap template rendered for its account."""
        if arn in self.documents.roles:
            return self.documents.roles[arn]
        template, account = self.documents.bootstrap, _account(arn)
        if template is None or not account:
            return None
        if account not in self._bootstrap_roles:
            key = rendering_key(template, account)
            self._bootstrap_roles[account] = (
                self._rendered[key] if key in self._rendered else bootstrap_roles(template, account)
            )
        return self._bootstrap_roles[account].get(arn)

    def rendered(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The bootstrap roles rendered so far, by ``documents.rendering_key`` (what the rehearsal hands over)."""
        template = self.documents.bootstrap
        if template is None:
            return {}
        return {rendering_key(template, account): roles for account, roles in self._bootstrap_roles.items()}

    def _as_role(
        self,
        kind: str,
        role_arn: str,
        action: str,
        resource: str,
        resource_account: str,
        origin: str,
        region: str,
        context: Mapping[str, str | list[str]] | None = None,
        resource_policy: Any = None,
        source: str = "",
    ) -> Access | None:
        role = self._role(role_arn)
        if role is None:
            self.on_trust.append(OnTrust(kind, role_arn, action, resource, f"account {_account(role_arn)}", origin))
            return None
        identity: list[tuple[str, Any]] = [(p["name"], p["policy"]) for p in role["inline"] if p["policy"]]
        for arn in role["managed"]:
            document = managed_policies.document(arn, action)
            if document is not None:
                identity.append((arn.rsplit("/", 1)[-1], document))
        principal_account = _account(role_arn)
        return Access(
            kind=kind,
            principal=role_arn,
            action=action,
            resource=resource,
            resource_account=resource_account,
            origin=origin,
            context={
                "aws:PrincipalArn": role_arn,
                "aws:PrincipalAccount": principal_account,
                **({"aws:PrincipalOrgID": self.org.organization_id} if self.org.organization_id else {}),
                "aws:RequestedRegion": region,
                "aws:SecureTransport": "true",
                "aws:PrincipalIsAWSService": "false",
                "aws:ViaAWSService": "false",
                **(context or {}),
            },
            identity=tuple(identity),
            boundary=role.get("boundary"),
            scps=self.org.scp_levels(principal_account, self.documents),
            resource_policy=resource_policy,
            resource_policy_source=source,
        )

    def _as_service(
        self,
        kind: str,
        service: str,
        action: str,
        resource: str,
        resource_account: str,
        origin: str,
        region: str,
        context: Mapping[str, str | list[str]],
    ) -> Access:
        policy, source = self.documents.resource_policy(resource)
        return Access(
            kind=kind,
            principal=service,
            action=action,
            resource=resource,
            resource_account=resource_account,
            origin=origin,
            context={
                "aws:PrincipalIsAWSService": "true",
                "aws:PrincipalServiceName": service,
                "aws:RequestedRegion": region,
                "aws:SecureTransport": "true",
                **context,
            },
            resource_policy=policy,
            resource_policy_source=source,
        )

    def _on_resource(
        self,
        kind: str,
        role_arn: str,
        action: str,
        resource: str,
        origin: str,
        region: str,
        owner_account: str,
        context: Mapping[str, str | list[str]] | None = None,
    ) -> Access | None:
        """An access to a resource whose policy decides: its own stack's or a recorded one; otherwise on trust."""
        policy, source = self.documents.resource_policy(resource)
        foreign = owner_account and owner_account != _account(role_arn)
        if policy is None and foreign:
            self.on_trust.append(OnTrust(kind, role_arn, action, resource, f"account {owner_account}", origin))
            return None
        return self._as_role(kind, role_arn, action, resource, owner_account, origin, region, context, policy, source)

    # --- where ---------------------------------------------------------------------------------------------

    def region_of(self, resource: Mapping[str, Any]) -> str:
        if resource.get("inputs", {}).get("region"):  # pulumi-aws 7: a resource may name its own region
            return str(resource["inputs"]["region"])
        provider = self.by_urn.get(resource.get("provider") or "")
        return str((provider or {}).get("inputs", {}).get("region") or "") or self._stack_region()

    def _stack_region(self) -> str:
        regions = [r["inputs"].get("region") for r in self.resources if r["type"] == "pulumi:providers:aws"]
        return str(next((r for r in regions if r and r != "us-east-1"), "us-east-1"))

    def arn_of(self, resource: Mapping[str, Any]) -> str:
        """The ARN the offline world gave it; for a snapshot from before ARNs were recorded, the one AWS would."""
        if resource.get("arn"):
            return str(resource["arn"])
        name, region = resource["inputs"].get("name", resource["name"]), self.region_of(resource)
        service, kind = {
            "aws:ecr/repository:Repository": ("ecr", "repository/"),
            "aws:lambda/function:Function": ("lambda", "function:"),
        }.get(resource["type"], ("", ""))
        return f"arn:aws:{service}:{region}:{self.account}:{kind}{name}" if service else ""

    def caller_role(self) -> str:
        return self.org.role(self.account, self.caller)

    # --- the kinds -----------------------------------------------------------------------------------------

    def all(self) -> list[Access]:
        return list(self.each())

    def each(self) -> Iterator[Access]:
        """The accesses as they are derived (the preview streams them to the simulator: it starts on the first
        while the rest are derived); ``on_trust`` and ``unmapped`` are complete once this is exhausted."""
        for kind in (
            self.creates,
            self.service_creates,
            self.assumptions,
            self.lookups,
            self.task_accesses,
            self.image_writes,
            self.promotions,
            self.lambda_image_pulls,
            self.origins,
            self.log_deliveries,
            self.publications,
            self.encryption,
            self.record_writes,
            self.tampers,
        ):
            yield from (a for a in kind() if a is not None)

    def creates(self) -> Iterator[Access | None]:
        deployer = self.org.role(self.account, DEPLOY)
        if not deployer or self.caller != DEPLOY:
            return
        for r in self.resources:
            if not r["custom"] or not r["type"].startswith("aws:"):
                continue
            action = CREATE_ACTIONS.get(r["type"])
            if action is None:
                self.unmapped.append(r["type"])
                continue
            provider = self.by_urn.get(r.get("provider") or "")
            # A provider that assumes a role (the org stack's into member accounts) creates as that role.
            assumed = _json((provider or {}).get("inputs", {}).get("assumeRoles")) or []
            creator = str(assumed[0].get("roleArn") or deployer) if assumed else deployer
            tags = conventions.request_tags(r["type"], r["inputs"], (provider or {}).get("inputs"))
            context: dict[str, str | list[str]] = {}
            if tags:
                context.update({f"aws:RequestTag/{k}": str(v) for k, v in tags.items()})
                context["aws:TagKeys"] = sorted(str(k) for k in tags)
            # The ARN matters where a boundary names one (its own roles, the state buckets); elsewhere the offline
            # world's ARN is no real one, and SCPs and the boundary judge creates on "*".
            resource = r.get("arn", "*") if r["type"] in NAMED_CREATES and not iam_data.wildcard_only(action) else "*"
            yield self._as_role(
                "create", creator, action, resource, _account(creator), r["urn"], self.region_of(r), context
            )

    def service_creates(self) -> Iterator[Access | None]:
        """What a service creates for us with the deploy role's credentials (forward access sessions): the
        request carries the service's tags, not ours, and ``aws:ViaAWSService`` is true (AWS, "AWS global
        condition context keys"). RDS (DocumentDB's control plane) creates the managed master password's secret,
        tagged ``aws:rds:primaryDBClusterArn`` only."""
        deployer = self.org.role(self.account, DEPLOY)
        if not deployer or self.caller != DEPLOY:
            return
        for r in self.resources:
            if r["type"] != "aws:docdb/cluster:Cluster" or not r["inputs"].get("manageMasterUserPassword"):
                continue
            context: dict[str, str | list[str]] = {
                "aws:ViaAWSService": "true",
                "aws:CalledVia": ["rds.amazonaws.com"],
                "aws:CalledViaFirst": "rds.amazonaws.com",
                "aws:RequestTag/aws:rds:primaryDBClusterArn": r.get("arn", ""),
                "aws:TagKeys": ["aws:rds:primaryDBClusterArn"],
            }
            yield self._as_role(
                "via-service",
                deployer,
                "secretsmanager:CreateSecret",
                "*",
                self.account,
                r["urn"],
                self.region_of(r),
                context,
            )

    def assumptions(self) -> Iterator[Access | None]:
        caller = self.caller_role()
        if not caller:
            return
        for r in self.resources:
            if r["type"] != "pulumi:providers:aws":
                continue
            for role in _json(r["inputs"].get("assumeRoles")) or []:
                arn = str(role.get("roleArn") or "")
                trust = (self._role(arn) or {}).get("trust")
                if trust is None:
                    self.on_trust.append(
                        OnTrust("assume", caller, "sts:AssumeRole", arn, f"account {_account(arn)}", r["urn"])
                    )
                    continue
                context = {"sts:RoleSessionName": str(role["sessionName"])} if role.get("sessionName") else {}
                if self.org.organization_id and self.org.account(_account(arn)):  # a role of one of the org's accounts
                    context["aws:ResourceOrgID"] = self.org.organization_id
                yield self._as_role(
                    "assume",
                    caller,
                    "sts:AssumeRole",
                    arn,
                    _account(arn),
                    r["urn"],
                    str(r["inputs"].get("region") or "us-east-1"),
                    context,
                    trust,
                    f"trust policy of {arn}",
                )

    def record_writes(self) -> Iterator[Access | None]:
        """Every record into its zone, as its provider's role, judged with no resource policy (Route 53 has none),
        with the record-set condition keys a scoped record-writer role would be checked against."""
        if self.caller != DEPLOY:
            return
        zones: Mapping[str, str] = (self.snapshot.get("world") or {}).get("zones") or {}
        for r in self.resources:
            if r["type"] != "aws:route53/record:Record":
                continue
            zone = str(r["inputs"].get("zoneId") or "")
            provider = self.by_urn.get(r.get("provider") or "") or {}
            assumed = _json(provider.get("inputs", {}).get("assumeRoles")) or []
            principal = str(assumed[0].get("roleArn")) if assumed else self.org.role(self.account, DEPLOY)
            if not principal or not zone:
                continue
            name, record_type = str(r["inputs"].get("name") or "").rstrip(".").lower(), str(r["inputs"].get("type"))
            context: dict[str, str | list[str]] = {
                "route53:ChangeResourceRecordSetsRecordTypes": [record_type],
                "route53:ChangeResourceRecordSetsActions": [
                    "UPSERT" if r["inputs"].get("allowOverwrite") else "CREATE"
                ],
            }
            if name and "[" not in name:  # a name only the apply knows is not in the snapshot
                context["route53:ChangeResourceRecordSetsNormalizedRecordNames"] = [name]
            yield self._as_role(
                "dns",
                principal,
                "route53:ChangeResourceRecordSets",
                f"arn:aws:route53:::hostedzone/{zone}",
                zones.get(zone, self.account),
                r["urn"],
                "us-east-1",  # Route 53's control plane
                context,
                None,
                "Route 53 hosted zones have no resource policy",
            )

    def lookups(self) -> Iterator[Access | None]:
        """Each lookup the program made (the snapshot's ``invokes``), as the provider that made it: its assumed role,
        or the caller. They run in every preview, so a pull-request preview makes them as the read-only role. The same
        call made twice (a parameter checked, then read with decryption) is one access."""
        seen: set[tuple[str, str, str, str]] = set()
        for invoke in self.snapshot.get("invokes") or []:
            request = LOOKUPS.get(invoke["token"])
            if request is None:
                continue
            provider = self.by_urn.get(invoke["provider"]) or {}
            # A lookup's own ``region`` argument overrides its provider's (pulumi-aws 7).
            region = str(
                invoke["args"].get("region") or provider.get("inputs", {}).get("region") or self._stack_region()
            )
            assumed = _json(provider.get("inputs", {}).get("assumeRoles")) or []
            principal = str(assumed[0].get("roleArn")) if assumed else self.caller_role()
            if not principal:
                continue
            action, resource = request(invoke["args"], region, self.account)
            origin = f"lookup {invoke['token'].rsplit(':', 1)[-1]} via {invoke['provider'].rsplit('::', 1)[-1] or 'default provider'}"
            if (principal, action, resource, origin) in seen:
                continue
            seen.add((principal, action, resource, origin))
            yield self._on_resource(
                "lookup", principal, action, resource, origin, region, _account(resource) or self.account
            )

    def task_accesses(self) -> Iterator[Access | None]:
        for r in self.resources:
            if r["type"] != "aws:ecs/taskDefinition:TaskDefinition":
                continue
            role = str(r["inputs"].get("executionRoleArn") or "")
            region = self.region_of(r)
            for container in _json(r["inputs"].get("containerDefinitions")) or []:
                image = ecr_image(str(container.get("image") or ""))
                if image:
                    repo_arn, owner = image
                    yield self._on_resource("pull", role, "ecr:BatchGetImage", repo_arn, r["urn"], region, owner)
                    yield self._as_role("pull", role, "ecr:GetAuthorizationToken", "*", self.account, r["urn"], region)
                for secret in container.get("secrets") or []:
                    yield from self._secret_read(role, str(secret.get("valueFrom") or ""), r["urn"], region)

    def _secret_read(self, role: str, value_from: str, origin: str, region: str) -> Iterator[Access | None]:
        if value_from.startswith("arn:aws:ssm:"):
            yield self._on_resource(
                "secret", role, "ssm:GetParameters", value_from, origin, region, _account(value_from)
            )
            return
        arn = ":".join(value_from.split(":")[:7])  # "<secret arn>:<json key>::" reads the secret itself
        yield self._on_resource("secret", role, "secretsmanager:GetSecretValue", arn, origin, region, _account(arn))
        secret = next(
            (s for s in self.resources if s["type"] == "aws:secretsmanager/secret:Secret" and s.get("arn") == arn), None
        )
        key = str((secret or {}).get("inputs", {}).get("kmsKeyId") or "")
        if key.startswith("arn:aws:kms:"):
            context = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
            yield self._on_resource("secret", role, "kms:Decrypt", key, origin, region, _account(key), context)

    def _push_roles(self) -> dict[str, str]:
        """Each image repository component's push role: the role its ``ecr-push`` provider assumes."""
        roles = {}
        for r in self.resources:
            if r["type"] == "pulumi:providers:aws" and r["name"].endswith("-ecr-push"):
                assumed = _json(r["inputs"].get("assumeRoles")) or []
                if assumed:
                    roles[r["parent"]] = str(assumed[0].get("roleArn"))
        return roles

    def _repository_of(self, parent: str) -> Mapping[str, Any] | None:
        return next(
            (r for r in self.resources if r["type"] == "aws:ecr/repository:Repository" and r["parent"] == parent), None
        )

    def image_writes(self) -> Iterator[Access | None]:
        """The push role writes what the stack builds (docker-build pushes) or copies (the promotion) into its repository."""
        if self.caller != DEPLOY:
            return
        for parent, role in sorted(self._push_roles().items()):
            repo = self._repository_of(parent)
            writes = [
                r
                for r in self.resources
                if r["parent"] == parent
                and (
                    (r["type"] == "docker-build:index:Image")
                    or (r["type"] == "command:local:Command" and r["name"].endswith("-promote"))
                )
            ]
            if repo is None or not writes:
                continue
            for action in ("ecr:InitiateLayerUpload", "ecr:PutImage"):
                yield self._on_resource(
                    "push", role, action, self.arn_of(repo), writes[0]["urn"], self.region_of(repo), self.account
                )

    def promotions(self) -> Iterator[Access | None]:
        """The push role reads the earlier stage's image: DescribeImages to check it, BatchGetImage to copy it."""
        if self.caller != DEPLOY:
            return
        roles = self._push_roles()
        for r in self.resources:
            if r["type"] != "command:local:Command" or not r["name"].endswith("-promote"):
                continue
            role = roles.get(r["parent"], "")
            for source in r["inputs"].get("triggers") or []:
                image = ecr_image(str(source))
                if image is None or not role:
                    continue
                repo_arn, owner = image
                region = repo_arn.split(":")[3]
                for action in ("ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
                    yield self._on_resource("promote", role, action, repo_arn, r["urn"], region, owner)

    def lambda_image_pulls(self) -> Iterator[Access | None]:
        for r in self.resources:
            uri = str(r["inputs"].get("imageUri") or "") if r["type"] == "aws:lambda/function:Function" else ""
            image = ecr_image(uri)
            if image is None:
                continue
            repo_arn, owner = image
            context = {"aws:SourceAccount": self.account, "aws:SourceArn": r.get("arn", "")}
            yield self._as_service(
                "pull",
                "lambda.amazonaws.com",
                "ecr:BatchGetImage",
                repo_arn,
                owner,
                r["urn"],
                self.region_of(r),
                context,
            )

    def origins(self) -> Iterator[Access | None]:
        for r in self.resources:
            if r["type"] != "aws:cloudfront/distribution:Distribution":
                continue
            context = {"aws:SourceArn": r.get("arn", ""), "aws:SourceAccount": self.account}
            urls = [
                self.by_urn[u]
                for u in r.get("propertyDependencies", {}).get("origins", [])
                if self.by_urn.get(u, {}).get("type") == "aws:lambda/functionUrl:FunctionUrl"
            ]
            for origin in r["inputs"].get("origins") or []:
                domain = str(origin.get("domainName") or "")
                if not origin.get("originAccessControlId"):
                    continue
                if ".s3." in domain:
                    bucket = domain.split(".s3.", 1)[0]
                    region = domain.split(".s3.", 1)[1].split(".")[0]
                    yield self._as_service(
                        "origin",
                        "cloudfront.amazonaws.com",
                        "s3:GetObject",
                        f"arn:aws:s3:::{bucket}/index.html",
                        self.account,
                        r["urn"],
                        region,
                        context,
                    )
                elif ".lambda-url." in domain:
                    for url in urls:
                        name = str(url["inputs"].get("functionName"))
                        function = next(
                            (
                                f
                                for f in self.resources
                                if f["type"] == "aws:lambda/function:Function" and f["inputs"].get("name") == name
                            ),
                            None,
                        )
                        if function is None:
                            continue
                        url_context = {
                            **context,
                            "lambda:FunctionUrlAuthType": str(url["inputs"].get("authorizationType")),
                        }
                        yield self._as_service(
                            "origin",
                            "cloudfront.amazonaws.com",
                            "lambda:InvokeFunctionUrl",
                            self.arn_of(function),
                            self.account,
                            r["urn"],
                            self.region_of(function),
                            url_context,
                        )

    def log_deliveries(self) -> Iterator[Access | None]:
        for r in self.resources:
            if r["type"] != "aws:lb/loadBalancer:LoadBalancer":
                continue
            logs = r["inputs"].get("accessLogs") or {}
            if not logs.get("enabled"):
                continue
            region = self.region_of(r)
            prefix = f"{logs['prefix']}/" if logs.get("prefix") else ""
            obj = f"arn:aws:s3:::{logs['bucket']}/{prefix}AWSLogs/{self.account}/elasticloadbalancing/log.gz"
            delivery = ELB_LOG_DELIVERY_ACCOUNTS.get(region)
            if delivery:
                principal = f"arn:aws:iam::{delivery}:root"
                policy, source = self.documents.resource_policy(obj)
                # AWS's own account: its side of the cross-account request is AWS's to grant; the bucket policy decides.
                own_side = {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{logs['bucket']}/*"}
                    ],
                }
                yield Access(
                    "log-delivery",
                    principal,
                    "s3:PutObject",
                    obj,
                    self.account,
                    r["urn"],
                    {
                        "aws:PrincipalArn": principal,
                        "aws:PrincipalAccount": delivery,
                        "aws:RequestedRegion": region,
                        "aws:SecureTransport": "true",
                    },
                    identity=(("elb-log-delivery", own_side),),
                    resource_policy=policy,
                    resource_policy_source=source,
                )
            else:
                yield self._as_service(
                    "log-delivery",
                    "logdelivery.elasticloadbalancing.amazonaws.com",
                    "s3:PutObject",
                    obj,
                    self.account,
                    r["urn"],
                    region,
                    {"aws:SourceAccount": self.account, "aws:SourceArn": r.get("arn", "")},
                )

    def publications(self) -> Iterator[Access | None]:
        """CloudWatch alarms and EventBridge rules publish to the topics their actions and targets name; an encrypted
        topic also needs its key to admit the publishing service (SNS encrypts with the publisher's request)."""
        rules = {
            str(r["inputs"].get("name")): r for r in self.resources if r["type"] == "aws:cloudwatch/eventRule:EventRule"
        }
        topics = {self.arn_of(r) or r.get("arn", ""): r for r in self.resources if r["type"] == "aws:sns/topic:Topic"}
        for r in self.resources:
            if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm":
                service, source = "cloudwatch.amazonaws.com", r.get("arn", "")
                targets = {*(r["inputs"].get("alarmActions") or []), *(r["inputs"].get("okActions") or [])}
            elif r["type"] == "aws:cloudwatch/eventTarget:EventTarget":
                rule = rules.get(str(r["inputs"].get("rule")), {})
                service, source, targets = "events.amazonaws.com", rule.get("arn", ""), {r["inputs"].get("arn")}
            else:
                continue
            for topic_arn in sorted(str(t) for t in targets if str(t).startswith("arn:aws:sns:")):
                region = topic_arn.split(":")[3]
                context = {"aws:SourceArn": source, "aws:SourceAccount": _account(source) or self.account}
                yield self._as_service(
                    "publish", service, "sns:Publish", topic_arn, _account(topic_arn), r["urn"], region, context
                )
                key = str((topics.get(topic_arn) or {}).get("inputs", {}).get("kmsMasterKeyId") or "")
                if key.startswith("arn:aws:kms:"):
                    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                        yield self._as_service(
                            "publish", service, action, key, _account(key), r["urn"], region, context
                        )

    def encryption(self) -> Iterator[Access | None]:
        """CloudWatch Logs encrypts a log group with its customer key only if the key policy admits the service."""
        for r in self.resources:
            key = str(r["inputs"].get("kmsKeyId") or "") if r["type"] == "aws:cloudwatch/logGroup:LogGroup" else ""
            if not key.startswith("arn:aws:kms:"):
                continue
            region = self.region_of(r)
            context = {
                "kms:EncryptionContext:aws:logs:arn": r.get("arn", "").removesuffix(":*"),
                "aws:SourceAccount": self.account,
            }
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                yield self._as_service(
                    "encrypt", f"logs.{region}.amazonaws.com", action, key, _account(key), r["urn"], region, context
                )

    def tampers(self) -> Iterator[Access | None]:
        """The org stack only: each tamper attempt (``access/tamper.py``) by representative principals of every member
        account, against that account's SCPs. These must all be DENIED (``TAMPER`` verdicts invert)."""
        baseline = (self.snapshot.get("outputs") or {}).get("baseline") if self.org.outputs else None
        if not isinstance(baseline, Mapping):
            return
        management = self.org.management_account
        for name, entry in sorted((self.org.outputs.get("accounts") or {}).items()):
            account = str(entry.get("id") or "")
            if not account or account == management:
                continue
            principals: list[tuple[str, tuple[tuple[str, Any], ...] | None]] = [(f"arn:aws:iam::{account}:root", ())]
            if entry.get("deployRoleArn"):
                principals.append((str(entry["deployRoleArn"]), None))  # the bootstrap's documents, rendered
            for permission_set, policy in sorted(((baseline.get("sso") or {}).get(name) or {}).items()):
                session = f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_{permission_set}"
                principals.append((session, ((policy.rsplit("/", 1)[-1], policy),)))
            for attempt, region, resource in tamper.attempts_for(baseline, account, name, management):
                for arn, identity in principals:
                    yield self._tamper(arn, identity, attempt.action, resource, region, account)

    def _tamper(
        self,
        principal: str,
        identity: tuple[tuple[str, Any], ...] | None,
        action: str,
        resource: str,
        region: str,
        account: str,
    ) -> Access | None:
        origin = f"tamper attempt from account {account}"
        if identity is None:  # a bootstrap role: its own policies and boundary
            return self._as_role(TAMPER, principal, action, resource, _account(resource) or account, origin, region)
        documents: list[tuple[str, Any]] = []
        for name, arn in identity:
            document = managed_policies.document(arn, action)
            if document is not None:
                documents.append((name, document))
        if principal.endswith(":root"):  # root holds every permission its account has; only SCPs bound it
            documents = [("root", managed_policies.document("arn:aws:iam::aws:policy/AdministratorAccess", action))]
        return Access(
            kind=TAMPER,
            principal=principal,
            action=action,
            resource=resource,
            resource_account=_account(resource) or account,
            origin=origin,
            context={
                "aws:PrincipalArn": principal,
                "aws:PrincipalAccount": account,
                "aws:RequestedRegion": region,
                "aws:SecureTransport": "true",
                "aws:PrincipalIsAWSService": "false",
                "aws:ViaAWSService": "false",
                **({"aws:PrincipalOrgID": self.org.organization_id} if self.org.organization_id else {}),
            },
            identity=tuple(documents),
            scps=self.org.scp_levels(account, self.documents),
        )


# A lookup's token -> the API call it makes and the resource it names (args, provider region, stack account).
LOOKUPS: Mapping[str, Any] = {
    "aws:ecr/getImage:getImage": lambda a, region, account: (
        "ecr:DescribeImages",
        f"arn:aws:ecr:{a.get('region') or region}:{a.get('registryId') or account}:repository/{a.get('repositoryName')}",
    ),
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda a, region, account: (
        "ecr:GetAuthorizationToken",
        "*",
    ),
    "aws:ssm/getParameter:getParameter": lambda a, region, account: (
        "ssm:GetParameter",
        str(a.get("name"))
        if str(a.get("name")).startswith("arn:")
        else f"arn:aws:ssm:{region}:{account}:parameter{a.get('name')}",
    ),
    "aws:secretsmanager/getSecret:getSecret": lambda a, region, account: (
        "secretsmanager:DescribeSecret",
        str(a.get("arn") or f"arn:aws:secretsmanager:{region}:{account}:secret:{a.get('name')}"),
    ),
    "aws:rds/getClusterSnapshot:getClusterSnapshot": lambda a, region, account: (
        "rds:DescribeDBClusterSnapshots",
        f"arn:aws:rds:{region}:{account}:cluster:{a.get('dbClusterIdentifier')}",
    ),
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a, region, account: (
        "ec2:DescribeAvailabilityZones",
        "*",
    ),
}


def ecr_image(ref: str) -> tuple[str, str] | None:
    """An ECR image by digest -> (its repository's ARN, the account that owns it)."""
    parsed = ecr_repository(ref)
    if parsed is None:
        return None
    registry, region, repository = parsed
    return f"arn:aws:ecr:{region}:{registry}:repository/{repository}", registry
