"""The organization: all features, OUs, member accounts; and the ``org`` stack that wires it all.

aws-organizations-as-code.md needed custom resources for trusted access and for activating the SES rule
set; pulumi-aws does both natively (``aws_service_access_principals``, ``ActiveReceiptRuleSet``). The
report's other lessons are kept: one mail domain gives every account a unique e-mail; account ids are
published under ``/{stage}/{context}/accounts/<name>``; SSO waits for the console step; member accounts
are bootstrapped by a service-managed StackSet.

Accounts are never closed by a ``pulumi destroy`` or a removed config line (``close_on_deletion=False``,
protected, retained): a closed account is unrecoverable after 90 days and is charged meanwhile.
Environment stacks read the org stack's outputs through a ``StackReference`` (``read_org_account``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.account_bootstrap import AccountBootstrap, AccountBootstrapArgs
from components.account_mail import AccountMail, AccountMailArgs
from components.guardrails import Guardrails, GuardrailsArgs, policy_types_used
from components.identity_center import IdentityCenter, IdentityCenterArgs
from components.quota_requests import QuotaRequests, QuotaRequestsArgs
from components.security_baseline import build_security_baseline
from foundation.account_providers import ACCOUNT_ACCESS_ROLE
from foundation.identity import StackIdentity
from foundation.providers import AwsProviders
from stack_config import quota_needs
from stack_config.accounts import foreign_account_problems, organization_accounts
from stack_config.organization import AccountConfig, OrganizationConfig

# Organizations runs at most five CreateAccount requests at once; a sixth fails with TooManyRequestsException
# ("Number of concurrent account creations", https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html).
CONCURRENT_ACCOUNT_CREATIONS = 5


@dataclass(frozen=True)
class OrganizationArgs:
    identity: StackIdentity
    config: OrganizationConfig
    # What must exist before any account is created, given the organization (the quota request template).
    before_accounts: Callable[[aws.organizations.Organization], Sequence[pulumi.Resource]] | None = None


class Organization(pulumi.ComponentResource):
    """The organization (feature set ALL), its OUs and member accounts, each account id in SSM."""

    organization: aws.organizations.Organization
    organization_id: pulumi.Output[str]
    root_id: pulumi.Output[str]
    management_account_id: pulumi.Output[str]
    ou_ids: dict[str, pulumi.Output[str]]
    account_ids: dict[str, pulumi.Output[str]]
    accounts: dict[str, aws.organizations.Account]
    accounts_by_ou: dict[str, list[aws.organizations.Account]]

    def __init__(self, name: str, args: OrganizationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:Organization", name, None, opts)
        ident, cfg = args.identity, args.config
        org = aws.organizations.Organization(
            "organization",
            feature_set="ALL",
            enabled_policy_types=policy_types_used(cfg.guardrails),
            # Trusted access, natively: the report's enableAWSServiceAccess custom resources are not needed.
            aws_service_access_principals=sorted(cfg.trusted_services),
            # Deleting the organization would orphan every account and guardrail.
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.organization = org
        self.organization_id = org.id
        self.root_id = org.roots.apply(_root_id)
        self.management_account_id = org.master_account_id

        self.ou_ids = {}
        for ou in cfg.organizational_units:
            unit = aws.organizations.OrganizationalUnit(
                ou.name,
                name=ou.name,
                parent_id=self.root_id,
                opts=pulumi.ResourceOptions(parent=org, protect=ident.protected),
            )
            self.ou_ids[ou.name] = unit.id

        self.accounts, self.account_ids, self.accounts_by_ou = {}, {}, {}
        waits = list(args.before_accounts(org)) if args.before_accounts else []
        created: list[aws.organizations.Account] = []
        for spec in cfg.accounts:
            # The sixth account waits for the first, and so on: never more creations in flight than AWS allows.
            n = CONCURRENT_ACCOUNT_CREATIONS
            waits_for = [created[-n]] if len(created) >= n else []
            account = aws.organizations.Account(
                spec.name,
                name=spec.name,
                email=cfg.email_for(spec.name),
                parent_id=self.ou_ids[spec.ou],
                role_name=ACCOUNT_ACCESS_ROLE,
                iam_user_access_to_billing="DENY",
                close_on_deletion=False,  # removing it from config leaves the organization's books, not AWS
                opts=pulumi.ResourceOptions(
                    parent=org,
                    protect=True,
                    retain_on_delete=True,
                    depends_on=[*waits, *waits_for],
                    # Create-only settings AWS never reads back: a diff on them would mean a replacement.
                    ignore_changes=["roleName", "iamUserAccessToBilling"],
                ),
            )
            aws.ssm.Parameter(
                f"account-{spec.name}",
                name=ident.path("accounts", spec.name),
                type="String",
                # An account id is no secret: insecure_value keeps it readable in diffs and reviews.
                insecure_value=account.id,
                description=f"Account id of {spec.name} ({cfg.email_for(spec.name)})",
                opts=pulumi.ResourceOptions(parent=account),
            )
            self.accounts[spec.name] = account
            created.append(account)
            self.account_ids[spec.name] = account.id
            self.accounts_by_ou.setdefault(spec.ou, []).append(account)
        self.register_outputs(
            {
                "organization_id": self.organization_id,
                "root_id": self.root_id,
                "ou_ids": self.ou_ids,
                "account_ids": self.account_ids,
            }
        )


def build_org_stack(identity: StackIdentity, config: OrganizationConfig, providers: AwsProviders) -> dict[str, Any]:
    """The management account's stack: organization, guardrails, SSO when ready, bootstrap, mail.

    Returns the stack outputs environment stacks read (``read_org_account``).
    """

    def quota_requests(organization: aws.organizations.Organization) -> Sequence[pulumi.Resource]:
        return QuotaRequests(
            "quota-requests",
            QuotaRequestsArgs(template=quota_needs.template(), organization=organization),
            opts=providers.regional_opts(),
        ).requests

    org = Organization(
        "organization",
        OrganizationArgs(identity=identity, config=config, before_accounts=quota_requests),
        opts=providers.regional_opts(),
    )
    # Policies and StackSets need the organization's policy types and trusted access enabled first (and only
    # that: guardrails must not wait minutes for account creation).
    after_org = providers.regional_opts(depends_on=[org.organization])
    Guardrails(
        "guardrails", GuardrailsArgs(identity=identity, config=config.guardrails, ou_ids=org.ou_ids), opts=after_org
    )
    if config.identity_center is not None:
        IdentityCenter(
            "identity-center",
            IdentityCenterArgs(
                identity=identity,
                instance=config.identity_center,
                permission_sets=tuple(config.permission_sets),
                groups=tuple(config.groups),
                account_ids=org.account_ids,
            ),
            opts=after_org,
        )
    names = bootstrap = None
    if config.bootstrap is not None:
        bootstrap = AccountBootstrap(
            "account-bootstrap",
            AccountBootstrapArgs(
                identity=identity,
                config=config.bootstrap,
                ou_ids=org.ou_ids,
                accounts_by_ou=org.accounts_by_ou,
                account_ids=org.account_ids,
                deploy_environments={a.name: a.deploy_environment for a in config.accounts if a.deploy_environment},
                account_ous={a.name: a.ou for a in config.accounts},
                management_account_id=org.management_account_id,
                organization_id=org.organization_id,
            ),
            opts=after_org,
        )
        names = bootstrap.names
    baseline = (
        build_security_baseline(identity, config, org, providers.regional) if config.baseline is not None else None
    )
    if config.mail is not None:
        AccountMail(
            "account-mail",
            AccountMailArgs(identity=identity, domain=config.mail_domain, config=config.mail),
            opts=providers.regional_opts(),
        )

    def account_output(spec: AccountConfig) -> pulumi.Output[dict[str, Any]]:
        def describe(account_id: str, management_id: str) -> dict[str, Any]:
            entry: dict[str, Any] = {"id": account_id, "email": config.email_for(spec.name), "ou": spec.ou}
            if names is not None and config.bootstrap is not None:  # names exist only with a bootstrap
                # Set these as AWS_DEPLOY_ROLE_ARN on the GitHub environment, AWS_PREVIEW_ROLE_ARN_<STACK> on the repo.
                if spec.deploy_environment:
                    entry["deployEnvironment"] = spec.deploy_environment
                    entry["deployRoleArn"] = names.deploy_role_arn(account_id)
                entry["readOnlyRoleArn"] = names.read_only_role_arn(account_id)
                # One state bucket for every stack (the management account's): references need one backend.
                entry["stateBucket"] = names.state_bucket(management_id, config.bootstrap.regions[0])
            return entry

        return pulumi.Output.all(org.account_ids[spec.name], org.management_account_id).apply(
            lambda parts: describe(parts[0], parts[1])
        )

    outputs: dict[str, Any] = {}
    if names is not None:
        assert config.bootstrap is not None and bootstrap is not None
        bootstrap_config, bootstrap_names = config.bootstrap, names
        outputs["management"] = org.management_account_id.apply(
            lambda acct: {
                "deployEnvironment": bootstrap_config.management_environment,
                "deployRoleArn": bootstrap_names.deploy_role_arn(acct),
                "readOnlyRoleArn": bootstrap_names.read_only_role_arn(acct),
                "stateBucket": bootstrap_names.state_bucket(acct, bootstrap_config.regions[0]),
            }
        )
        if bootstrap.backup_bucket is not None:
            outputs["state_backup_bucket"] = bootstrap.backup_bucket
    if baseline is not None:
        outputs["baseline"] = baseline
    return {
        **outputs,
        "organization_id": org.organization_id,
        "root_id": org.root_id,
        "management_account_id": org.management_account_id,
        "organizational_unit_ids": org.ou_ids,
        "accounts": {spec.name: account_output(spec) for spec in config.accounts},
    }


def _root_id(roots: Sequence[aws.organizations.outputs.OrganizationRoot]) -> str:
    """The organization's one root; AWS always reports it, so a missing id stops the run instead of an empty parent."""
    if not roots or not roots[0].id:
        raise ValueError("the organization reports no root id")
    return roots[0].id


@dataclass(frozen=True)
class OrgAccount:
    """What an environment stack learns about its own account from the org stack."""

    id: pulumi.Output[str]
    deploy_role_arn: pulumi.Output[str | None]
    # Every account of the organization by name: what config names another account by (promotionAccounts).
    account_ids: pulumi.Output[dict[str, str]]
    # The role pull-request previews and drift checks run as, in each account by name.
    read_only_role_arns: pulumi.Output[dict[str, str]] = dataclasses.field(
        default_factory=lambda: pulumi.Output.from_input({})
    )

    def read_only_roles_of(self, names: Sequence[str], key: str) -> pulumi.Output[list[str]]:
        """The read-only roles of the org's accounts ``names`` (checked as ``ids_of`` checks them)."""
        return pulumi.Output.all(self.ids_of(names, key), self.read_only_role_arns).apply(
            lambda parts: [parts[1][n] for n in names if parts[1].get(n)]
        )

    def ids_of(self, names: Sequence[str], key: str) -> pulumi.Output[list[str]]:
        """The ids of the org's accounts ``names``; an unknown name stops the run naming ``key`` and the known ones."""

        def resolve(known: dict[str, str]) -> list[str]:
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ValueError(
                    f"{key}: {', '.join(unknown)} is not an account of the organization "
                    f"(allowed: {', '.join(sorted(known)) or 'none'})"
                )
            return [known[n] for n in names]

        return self.account_ids.apply(resolve)


def read_org_account(
    org_stack: str, identity: StackIdentity, named_accounts: Sequence[tuple[str, str, str]] = ()
) -> OrgAccount:
    """The account ``{context}-{stage}`` (the predictable name the org config gives it) from the org stack.

    A predictable account name instead of one more config key: ``you-are-not-saved-by-iac.md``'s advice
    against hard dependencies between stacks. Fails the preview when the org stack has no such account, or
    when config names an account (``named_accounts``: key, value, id) that is not the organization's.
    """
    name = f"{identity.context}-{identity.stage}"
    reference = pulumi.StackReference("org", stack_name=org_stack)

    def entry(parts: list[Any]) -> dict[str, Any]:
        accounts, management = parts
        if name not in (accounts or {}):
            raise ValueError(
                f"aws-platform:orgStack '{org_stack}' has no account '{name}' "
                f"(it has: {', '.join(sorted(accounts or {})) or 'none'})"
            )
        known = organization_accounts({"accounts": accounts, "management_account_id": management})
        problems = foreign_account_problems(list(named_accounts), known)
        if problems:
            raise ValueError("\n".join(str(p) for p in problems))
        return accounts[name]

    accounts = reference.require_output("accounts")
    account = pulumi.Output.all(accounts, reference.get_output("management_account_id")).apply(entry)
    return OrgAccount(
        id=account.apply(lambda a: a["id"]),
        deploy_role_arn=account.apply(lambda a: a.get("deployRoleArn")),
        account_ids=accounts.apply(lambda found: {name: a["id"] for name, a in (found or {}).items()}),
        read_only_role_arns=accounts.apply(
            lambda found: {name: a["readOnlyRoleArn"] for name, a in (found or {}).items() if a.get("readOnlyRoleArn")}
        ),
    )
