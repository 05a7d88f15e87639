"""Explicit AWS providers whose ``default_tags`` put the required tags in every create request.

SCPs conditioned on ``aws:RequestTag`` judge the API call itself
(``scp-request-time-tags.md``): tags added after creation arrive too late. The
provider merges ``default_tags`` into the request of every resource that has
``tags_all``; ``foundation.tagging`` covers the few that default tags miss.
Two providers: the stack's region, and us-east-1 for what AWS only accepts
there (Lambda@Edge, CloudFront certificates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from foundation.identity import StackIdentity

EDGE_REGION = "us-east-1"


@dataclass(frozen=True)
class AwsProviders:
    regional: aws.Provider
    us_east_1: aws.Provider

    def regional_opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.regional, **kwargs)

    def edge_opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.us_east_1, **kwargs)


def create_providers(identity: StackIdentity, account_id: pulumi.Input[str] | None = None) -> AwsProviders:
    """The stack's providers. ``account_id`` pins them so a dev config can never deploy into prod."""

    def provider(name: str, region: str) -> aws.Provider:
        return aws.Provider(
            name,
            region=region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=identity.tags),
            allowed_account_ids=[account_id] if account_id else None,
        )

    regional = provider("aws-regional", identity.region)
    edge = regional if identity.region == EDGE_REGION else provider("aws-us-east-1", EDGE_REGION)
    return AwsProviders(regional=regional, us_east_1=edge)
