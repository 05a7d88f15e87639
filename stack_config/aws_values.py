"""The shapes of AWS values a stack's configuration names: regions, hostnames, hosted zones.

One definition each, used by every section and by the loader's ``aws:region`` check.
"""

from __future__ import annotations

import difflib
import re

HOSTNAME = r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
HOSTED_ZONE_ID = r"Z[A-Z0-9]{5,31}"
# Every AWS region (aws and aws-us-gov partitions) as of pulumi-aws 7.51: an allow-list SCP naming a region that
# does not exist silently allows nothing there, and a typo ("eu-west1") would lock the workloads out.
AWS_REGIONS: tuple[str, ...] = (
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
)


def region_problem(value: str) -> str | None:
    """Why ``value`` is not an AWS region (with the closest one for a typo), or None."""
    if value in AWS_REGIONS:
        return None
    close = difflib.get_close_matches(value, AWS_REGIONS, n=1)
    return "is not an AWS region" + (f"; did you mean '{close[0]}'?" if close else " like 'eu-west-1'")


REGION_RULES = {"check": region_problem}


# An image in ECR by digest: "<registry>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<64 hex>".
ECR_DIGEST_REF = re.compile(
    r"^(?P<registry>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repository>[^@]+)@(?P<digest>sha256:[0-9a-f]{64})$"
)


def ecr_repository(ref: str) -> tuple[str, str, str] | None:
    """``(registry, region, repository)`` of an ECR image reference by digest, or None for any other image."""
    match = ECR_DIGEST_REF.match(ref)
    return (match["registry"], match["region"], match["repository"]) if match else None


# The Elastic Load Balancing account of each region that has one, as AWS documents it ("Enable access logs for
# your Application Load Balancer"): it writes ALB access logs. Regions opened since August 2022 deliver as the
# service principal logdelivery.elasticloadbalancing.amazonaws.com instead, so they have no entry.
ELB_LOG_DELIVERY_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
}
