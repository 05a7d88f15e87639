"""The quotas a newly created AWS account has, in one place: each with its source and the date it was read.

AWS documents that new accounts start below the published defaults for some services ("New AWS accounts have
reduced concurrency and memory quotas. AWS raises these quotas automatically based on your usage": Lambda) and
raises them later, so a fresh account vended by our own org stack fails its first ``pulumi up`` where an old
account would not. Where AWS publishes no number for a new account, ``documented`` is False and ``assumed`` says
what was taken instead and why: the preview's refusal then says "assumed" too, never passes a made-up value off
as AWS's.

``rule`` says how a need becomes a failure: most quotas fail when the need exceeds the value, some settings are
refused unless a margin stays free (Lambda's unreserved concurrency).

Read on 2026-12-06 with the documentation search of this repository's tooling (the URLs below).
"""

from __future__ import annotations

from dataclasses import dataclass

READ_ON = "2026-12-06"

LAMBDA_LIMITS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
LAMBDA_CONCURRENCY = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"
ECS_QUOTAS = "https://docs.aws.amazon.com/general/latest/gr/ecs-service.html"
FARGATE_VCPU_MIGRATION = (
    "https://aws.amazon.com/blogs/containers/migrating-fargate-service-quotas-to-vcpu-based-quotas/"
)
VPC_QUOTAS = "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html"
QUOTA_TEMPLATE = (
    "https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_AssociateServiceQuotaTemplate.html"
)


@dataclass(frozen=True)
class Quota:
    key: str  # our name for it, used in messages and the template's resource names
    service_code: str  # Service Quotas' codes: what a request template and a per-account request name
    quota_code: str
    name: str  # AWS's name for it in the Service Quotas console
    published_default: int
    new_account: int  # what a newly created account has (documented or assumed: see ``documented``)
    documented: bool  # True: AWS publishes new_account; False: AWS says only "reduced", and ``assumed`` says why
    source: str
    assumed: str = ""
    # A need fails when need + margin > value: the part AWS insists stays free (Lambda's unreserved minimum).
    margin: int = 0
    rule: str = "the need at maximum scale, during a deployment, exceeds the value"
    read_on: str = READ_ON

    @property
    def value_note(self) -> str:
        return "documented" if self.documented else f"assumed: {self.assumed}"


LAMBDA_CONCURRENT_EXECUTIONS = Quota(
    key="lambda-concurrent-executions",
    service_code="lambda",
    quota_code="L-B99A9384",
    name="Concurrent executions",
    published_default=1000,
    new_account=10,
    documented=False,
    source=LAMBDA_LIMITS,
    assumed=(
        "AWS documents only that new accounts have reduced concurrency; 10 is what accounts created since 2023 "
        "report in GetAccountSettings, the lowest value in use, so a stack green here is green in any new account"
    ),
    # "You can reserve up to the Unreserved account concurrency value that is shown, minus 100 for functions
    # that don't have reserved concurrency" (LAMBDA_CONCURRENCY): PutFunctionConcurrency is refused otherwise.
    margin=100,
    rule=(
        "the functions' reserved concurrency plus the 100 AWS keeps unreserved exceeds the account's concurrency "
        f"(PutFunctionConcurrency is refused: {LAMBDA_CONCURRENCY})"
    ),
)
FARGATE_ON_DEMAND_VCPU = Quota(
    key="fargate-on-demand-vcpu",
    service_code="fargate",
    quota_code="L-3032A538",
    name="Fargate On-Demand vCPU resource count",
    published_default=6,
    new_account=6,
    documented=False,
    source=ECS_QUOTAS,
    assumed=(
        "the ECS quota table could not be read in full; 6 vCPU is the value new accounts show in the Service "
        f"Quotas console since the vCPU-based quotas ({FARGATE_VCPU_MIGRATION}); requests above it go to AWS"
    ),
    rule=(
        "the vCPUs of every Fargate task at the services' maximum count, times deployment maximumPercent "
        "(old and new tasks run side by side during a rolling deployment), exceed the value: tasks stay PENDING"
    ),
)
ELASTIC_IPS = Quota(
    key="ec2-elastic-ips",
    service_code="ec2",
    quota_code="L-0263D0A3",
    name="EC2-VPC Elastic IPs",
    published_default=5,
    new_account=5,
    documented=True,
    source=VPC_QUOTAS,
    rule="the NAT gateways' Elastic IPs exceed the value: AllocateAddress fails with AddressLimitExceeded",
)
VPCS_PER_REGION = Quota(
    key="vpcs-per-region",
    service_code="vpc",
    quota_code="L-F678F1CE",
    name="VPCs per Region",
    published_default=5,
    new_account=5,
    documented=True,
    source=VPC_QUOTAS,
    rule="the stack's VPCs (and the default VPC every new account has in each Region) exceed the value",
)

# Every quota the preview checks, by key. A new quota is one entry here and one way to count it (preview/quotas.py).
QUOTAS: dict[str, Quota] = {
    q.key: q for q in (LAMBDA_CONCURRENT_EXECUTIONS, FARGATE_ON_DEMAND_VCPU, ELASTIC_IPS, VPCS_PER_REGION)
}

# Facts only AWS Support can change: no quota request and no API call moves them, so the preview lists them with
# what to do, like the other facts it takes on trust.
SUPPORT_ONLY = {
    "cloudfront-verification": (
        "a new account may be refused CloudFront distributions until AWS verifies it ('Your account must be "
        "verified before you can add new CloudFront resources'): open a case with AWS Support before the first up"
    ),
    "ses-sandbox": (
        "SES starts every account in the sandbox: it may send only to verified identities (receiving is "
        "unaffected); request production access in the SES console or by a Support case before sending mail"
    ),
}
