"""The shapes of AWS values a stack's configuration names: regions, hostnames, hosted zones.

One definition each, used by every section and by the loader's ``aws:region`` check.
"""

from __future__ import annotations

import difflib

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
