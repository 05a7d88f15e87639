"""The org's Service Quotas request template: what every account it vends gets raised before its first deploy.

A newly created account starts below the published quotas (``stack_config/quotas.py``): prod's first ``pulumi up``
needs 16 Fargate vCPUs where a new account has 6, and its renderer's reserved concurrency is refused while Lambda
keeps 100 of a new account's 10 unreserved. AWS applies a request template associated with the organization to
every account created after the association ("When a new AWS account is created in your organization, the quota
increase requests in the template are automatically applied to the account":
https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_AssociateServiceQuotaTemplate.html), so the template
and its association are created after the organization (trusted access for ``servicequotas.amazonaws.com``) and
before any account (``Organization`` waits for ``requests``). The values are the stacks' recorded needs
(``stack_config/quota_needs.json``, ``make quota-needs``), one request per quota and Region a stack uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from stack_config.quotas import QUOTAS


@dataclass(frozen=True)
class QuotaRequestsArgs:
    # Region -> quota key -> value: what new accounts must have (stack_config.quota_needs.template()).
    template: Mapping[str, Mapping[str, int]]
    organization: pulumi.Resource  # the template needs the organization and its trusted access first


class QuotaRequests(pulumi.ComponentResource):
    """One template entry per quota and Region, then the association: what accounts created later receive."""

    requests: list[pulumi.Resource]

    def __init__(self, name: str, args: QuotaRequestsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:QuotaRequests", name, None, opts)
        after_org = pulumi.ResourceOptions(parent=self, depends_on=[args.organization])
        entries: list[pulumi.Resource] = []
        for region, quotas in sorted(args.template.items()):
            for key, value in sorted(quotas.items()):
                quota = QUOTAS[key]
                entries.append(
                    aws.servicequotas.Template(
                        f"{key}-{region}",
                        aws_region=region,
                        service_code=quota.service_code,
                        quota_code=quota.quota_code,
                        value=float(value),
                        opts=after_org,
                    )
                )
        association = aws.servicequotas.TemplateAssociation(
            "association", opts=pulumi.ResourceOptions(parent=self, depends_on=[args.organization, *entries])
        )
        # An account waits for the association and every entry: the template is read when the account is created.
        self.requests = [*entries, association]
        self.register_outputs({"requests": len(entries)})
