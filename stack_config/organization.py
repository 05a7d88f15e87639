"""The ``organization`` section: the management account's ``org`` stack and nothing else.

OUs, member accounts (each e-mail derived from ONE mail domain, so every
account gets a unique address without a mailbox per account:
``aws-organizations-as-code.md``), the guardrails attached per OU, the
permission sets and groups of IAM Identity Center (deployed only once the
console step has produced an instance), the account bootstrap and optional
inbound mail. Cross-field rules (references between OUs, accounts, groups and
guardrails) live in ``stack_config/loader.py`` (``_organization_checks``).
"""

from __future__ import annotations

from dataclasses import dataclass

from policies import conventions
from stack_config.aws_values import HOSTED_ZONE_ID, HOSTNAME, REGION_RULES, region_problem
from stack_config.baseline import BaselineConfig
from stack_config.parsing import setting

LABEL = conventions.DNS_LABEL.pattern.strip("^$")
SERVICE_PRINCIPAL = r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com"
SSO_INSTANCE_ARN = r"arn:aws:sso:::instance/(sso)?ins-[0-9a-f]{16}"
IDENTITY_STORE_ID = r"d-[0-9a-f]{10}"
GITHUB_REPOSITORY = r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"
MANAGED_POLICY = r"([a-z0-9-]+/)?[A-Za-z0-9+=,.@_-]{1,128}"
GITHUB_ENVIRONMENT = r"[A-Za-z0-9_.-]{1,255}"
# The OIDC subject's suffix after 'repo:<owner>/<repo>:' (GitHub's token claims; '*' only as StringLike wildcard).
GITHUB_SUBJECT = r"(pull_request|ref:refs/(heads|tags)/[A-Za-z0-9_.*/-]+|environment:[A-Za-z0-9_.*-]+)"
# Where SES receives mail (https://docs.aws.amazon.com/ses/latest/dg/regions.html#region-receive-email).
SES_RECEIVING_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ca-central-1",
    "ap-northeast-1",
    "ap-southeast-1",
    "ap-southeast-2",
)


@dataclass(frozen=True)
class OrganizationalUnitConfig:
    name: str = setting(pattern=LABEL, what="a lowercase DNS label like 'workloads'")


@dataclass(frozen=True)
class AccountConfig:
    name: str = setting(pattern=LABEL, what="a lowercase DNS label like 'shop-prod'")
    ou: str = setting(pattern=LABEL, what="the name of an OU in organizationalUnits")
    deploy_environment: str | None = setting(
        None,
        pattern=GITHUB_ENVIRONMENT,
        what="a GitHub environment name like 'prod'",
        doc="none: the account gets no deploy role; only jobs in this environment may deploy into it",
    )


@dataclass(frozen=True)
class GuardrailsConfig:
    """Which OUs each guardrail is attached to (OU names); an empty list attaches it nowhere."""

    require_tags: list[str] = setting(
        default_factory=list,
        each={"pattern": LABEL, "what": "an OU name"},
        doc="deny creates whose request lacks the required tags",
    )
    deny_leave: list[str] = setting(
        default_factory=list,
        each={"pattern": LABEL, "what": "an OU name"},
        doc="an account that leaves takes its bill and guardrails with it",
    )
    region_allow_list: list[str] = setting(
        default_factory=list,
        each={"pattern": LABEL, "what": "an OU name"},
        doc="deny regional APIs outside allowedRegions",
    )
    stage_tag_policy: list[str] = setting(
        default_factory=list,
        each={"pattern": LABEL, "what": "an OU name"},
        doc="the tag policy that fixes the allowed 'stage' values",
    )
    protect_baseline: list[str] = setting(
        default_factory=list,
        each={"pattern": LABEL, "what": "an OU name"},
        doc="deny tampering with the security baseline, and root, in these OUs (components/baseline_guardrail.py)",
    )
    allowed_regions: list[str] = setting(
        default_factory=lambda: ["eu-west-1", "us-east-1"],
        min=1,
        each=REGION_RULES,
        doc="the workload region plus us-east-1, where CloudFront's certificates and Lambda@Edge must live",
    )


@dataclass(frozen=True)
class PermissionSetConfig:
    name: str = setting(pattern=LABEL, what="a lowercase DNS label like 'admin'")
    managed_policy: str = setting(
        pattern=MANAGED_POLICY, what="an AWS managed policy name like 'ReadOnlyAccess' or 'job-function/ViewOnlyAccess'"
    )
    session_hours: int = setting(1, min=1, max=12, doc="one hour: a leaked session is worth little")


@dataclass(frozen=True)
class GroupConfig:
    name: str = setting(pattern=LABEL, what="a lowercase DNS label like 'platform-admins'")
    permission_set: str = setting(pattern=LABEL, what="the name of a permission set in permissionSets")
    accounts: list[str] = setting(default_factory=list, each={"pattern": LABEL, "what": "an account name"})


@dataclass(frozen=True)
class IdentityCenterConfig:
    """Given only after IAM Identity Center was enabled in the console (no API does it for a management account)."""

    instance_arn: str = setting(
        pattern=SSO_INSTANCE_ARN,
        what="an Identity Center instance ARN like 'arn:aws:sso:::instance/ssoins-0123456789abcdef'",
    )
    identity_store_id: str = setting(pattern=IDENTITY_STORE_ID, what="an identity store id like 'd-0123456789'")
    region: str = setting(check=region_problem, doc="Identity Center's home region: its API answers nowhere else")


@dataclass(frozen=True)
class StateBackupConfig:
    """Where every bootstrapped state bucket replicates to: another account AND another region."""

    account: str = setting(pattern=LABEL, what="the name of an account in accounts, like 'security-audit'")
    region: str = setting(check=region_problem, doc="not a bootstrap region: the copy must survive losing that region")
    noncurrent_days: int = setting(
        365, min=30, max=3650, doc="a year of old state versions: the point to restore to is rarely the latest"
    )


@dataclass(frozen=True)
class BootstrapConfig:
    github_repository: str = setting(pattern=GITHUB_REPOSITORY, what="'<owner>/<repo>' of the CI repository")
    management_environment: str = setting(
        "org",
        pattern=GITHUB_ENVIRONMENT,
        what="a GitHub environment name like 'org'",
        doc="the deploy job of the org stack runs in this (protected) environment",
    )
    read_only_subjects: list[str] = setting(
        default_factory=lambda: ["pull_request", "ref:refs/heads/main"],
        each={"pattern": GITHUB_SUBJECT, "what": "a token subject suffix like 'pull_request' or 'ref:refs/heads/main'"},
        doc="pull-request previews and the scheduled drift check on main; never an environment's deploy job",
    )
    state_backup: StateBackupConfig | None = setting(
        None, doc="absent: state lives only in its own account (you-are-not-saved-by-iac.md)"
    )
    state_replica_region: str | None = setting(
        None,
        check=region_problem,
        doc="absent: no replica. A second state bucket there, in the management account, that the shared one "
        "replicates to within 15 minutes: a recovery stack keeps its state there (docs/recovery.md)",
    )
    regions: list[str] = setting(
        default_factory=lambda: ["eu-west-1"],
        min=1,
        max=1,
        each=REGION_RULES,
        doc="where the one shared state bucket lives; IAM is global: one region, the copy is stateBackup's",
    )


@dataclass(frozen=True)
class MailConfig:
    hosted_zone_id: str = setting(pattern=HOSTED_ZONE_ID, what="a Route 53 hosted zone id like 'Z0AWSEXAMPLECOMMAIL1'")
    retention_days: int = setting(
        90, min=1, max=3650, doc="long enough to find a verification mail; mail is not an archive"
    )


@dataclass(frozen=True)
class OrganizationConfig:
    mail_domain: str = setting(pattern=HOSTNAME, what="a lowercase domain like 'example.com'")
    mail_local_part: str = setting(
        "aws",
        pattern=r"[a-z0-9][a-z0-9.-]{0,30}",
        what="a lowercase mailbox name like 'aws'",
        doc="every account mails '<local>+<account>@<domain>': one real mailbox",
    )
    trusted_services: list[str] = setting(
        default_factory=lambda: [
            "member.org.stacksets.cloudformation.amazonaws.com",
            "servicequotas.amazonaws.com",
            "sso.amazonaws.com",
        ],
        each={"pattern": SERVICE_PRINCIPAL, "what": "a service principal like 'sso.amazonaws.com'"},
        doc="StackSets bootstrap accounts, Service Quotas applies the request template to new ones; Identity "
        "Center, once enabled, needs it to stay enabled",
    )
    organizational_units: list[OrganizationalUnitConfig] = setting(default_factory=list)
    accounts: list[AccountConfig] = setting(default_factory=list)
    guardrails: GuardrailsConfig = setting(default_factory=GuardrailsConfig)
    permission_sets: list[PermissionSetConfig] = setting(default_factory=list)
    groups: list[GroupConfig] = setting(default_factory=list)
    identity_center: IdentityCenterConfig | None = setting(
        None, doc="absent until the console step: SSO resources wait for a real instance"
    )
    bootstrap: BootstrapConfig | None = setting(None, doc="absent: member accounts are not bootstrapped")
    mail: MailConfig | None = setting(None, doc="absent: account mail goes wherever the domain's MX already points")
    baseline: BaselineConfig | None = setting(
        None, doc="absent: no trail, no detection (the pack's security-baseline-present refuses that on org)"
    )

    def email_for(self, account: str) -> str:
        """The one rule for account e-mails: unique per account, all delivered to one mailbox."""
        return f"{self.mail_local_part}+{account}@{self.mail_domain}"
