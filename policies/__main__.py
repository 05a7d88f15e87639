"""The platform's CrossGuard pack: conventions and the operational lessons of ../shared/seeds.

Self-contained for ``pulumi policy publish``: it imports only the standard
library, pulumi-policy, PyYAML (pulumi's own dependency, pinned in requirements.txt)
and the files in this folder, exceptions.yaml included.
"""

import exceptions
import once_per_request
import waiving
import wire_inputs
from pulumi_policy import EnforcementLevel, PolicyPack
from rules import baseline, data_stores, security
from rules.accounts import provider_pinned_account
from rules.ecr import ecr_lifecycle, ecr_repository
from rules.ecs import (
    ecs_after_capacity_providers,
    ecs_circuit_breaker,
    ecs_health_check_port,
    ecs_image_by_digest,
    ecs_prod_task_count,
    ecs_secrets_by_arn,
    ecs_service_ingress,
)
from rules.edge import (
    cloudfront_functions,
    cloudfront_tls,
    lambda_edge_placement,
    prod_response_headers,
    renderer_origin_access,
    s3_private,
)
from rules.logs import log_retention
from rules.naming import naming_convention
from rules.observability import POLICIES as OBSERVABILITY
from rules.organization import (
    account_email_domain,
    identity_center_readiness,
    organization_policy_document,
    scp_tag_deny_spares_services,
)
from rules.secrets import no_plaintext_secrets
from rules.tagging import required_tags

POLICIES = [
    required_tags,
    naming_convention,
    # Edge prerendering (issue 4)
    lambda_edge_placement,
    cloudfront_tls,
    renderer_origin_access,
    cloudfront_functions,
    prod_response_headers,
    s3_private,
    # Container delivery (issue 3)
    ecs_circuit_breaker,
    ecs_image_by_digest,
    ecs_secrets_by_arn,
    ecs_prod_task_count,
    ecs_health_check_port,
    ecs_after_capacity_providers,
    ecs_service_ingress,
    ecr_repository,
    ecr_lifecycle,
    log_retention,
    # Data tier (issue 5)
    *data_stores.POLICIES,
    # Alarms, alerts and dashboards (issue 14)
    *OBSERVABILITY,
    # The organization (issue 6)
    organization_policy_document,
    scp_tag_deny_spares_services,  # issue 22
    account_email_domain,
    identity_center_readiness,
    # Day one (issue 12)
    provider_pinned_account,
    # Security review (issue 13)
    *security.POLICIES,
    # No secret in plain sight (issue 34): mandatory in every stack, dev included
    no_plaintext_secrets,
    # The organization's security baseline (issue 29)
    *baseline.POLICIES,
]

# policies/exceptions.yaml ships with the pack: a bad entry stops the pack with every problem listed.
TODAY = exceptions.today()
EXCEPTIONS = exceptions.load(on=TODAY, policies={p.name for p in POLICIES})
waiving.install()
waiving.apply(POLICIES, EXCEPTIONS, TODAY)
POLICIES.append(waiving.expiry_policy(EXCEPTIONS, TODAY))

wire_inputs.install()  # no-plaintext-secrets reads inputs as sent, where Pulumi's secret marking survives
once_per_request.install()  # measured: the pack's time was pulumi-policy re-converting properties per policy

PolicyPack(
    name="aws-platform",
    # Mandatory unless a stack's policies/config/<stack>.json relaxes a policy (dev is advisory for most).
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
