"""Day zero, in order: what AWS requires to exist before a resource is created, checked on the snapshot's graph.

A first ``pulumi up`` creates everything it can at once; only a dependency (``depends_on`` or an input read from
another resource) makes one resource wait for another. Where AWS refuses a call until something else exists, the
program must say so, or the first ``up`` fails halfway and only a second one completes (issue 29): the mocks
answer every call at once, so this is where the day-zero world asks, for each resource, whether what AWS requires
first is among what it waits for.

Each rule names AWS's refusal. ``problems`` is empty when every requirement is an ancestor in the graph.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ORGANIZATION = "aws:organizations/organization:Organization"
ACCOUNT = "aws:organizations/account:Account"
PROVIDER = "pulumi:providers:aws"
CONTACT = "aws:account/alternativeContact:AlternativeContact"
# A member account's secure defaults (components/account_defaults.py), made through a provider into the account.
ACCOUNT_SETTINGS = (
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
    "aws:ebs/encryptionByDefault:EncryptionByDefault",
    "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults",
)
# Organizations runs at most five CreateAccount requests at once (components/organization.py cites the quota).
CONCURRENT_ACCOUNT_CREATIONS = 5

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    type: str
    needs: str  # what AWS requires first, in words
    refusal: str  # what AWS answers otherwise
    requirement: Callable[[Resource, Mapping[str, list[Resource]]], list[Resource] | None]
    # None: the rule does not apply to this resource; []: nothing in the stack satisfies it (also a problem)


def _trusting(principal: str) -> Callable[[Resource, Mapping[str, list[Resource]]], list[Resource] | None]:
    def find(_: Resource, by_type: Mapping[str, list[Resource]]) -> list[Resource]:
        return [
            o
            for o in by_type.get(ORGANIZATION, [])
            if principal in (o["inputs"].get("awsServiceAccessPrincipals") or [])
        ]

    return find


def _same_region(type_: str, **match: str) -> Callable[[Resource, Mapping[str, list[Resource]]], list[Resource] | None]:
    def find(r: Resource, by_type: Mapping[str, list[Resource]]) -> list[Resource]:
        region = r["inputs"].get("region")
        return [
            o
            for o in by_type.get(type_, [])
            if o["inputs"].get("region") == region and all(o["inputs"].get(k) == v for k, v in match.items())
        ]

    return find


def _admin_detector(r: Resource, by_type: Mapping[str, list[Resource]]) -> list[Resource]:
    """The delegated administrator's own detector in that region (its provider is the admin account's)."""
    return [
        o
        for o in by_type.get("aws:guardduty/detector:Detector", [])
        if o["inputs"].get("region") == r["inputs"].get("region") and o.get("provider") != r.get("provider")
    ]


def _bucket_policy(r: Resource, by_type: Mapping[str, list[Resource]]) -> list[Resource] | None:
    if r["type"] == "aws:cloudtrail/trail:Trail" and not r["inputs"].get("isOrganizationTrail"):
        return None
    bucket = r["inputs"].get("s3BucketName")
    return [o for o in by_type.get("aws:s3/bucketPolicy:BucketPolicy", []) if o["inputs"].get("bucket") == bucket]


def _delegated(service: str) -> Callable[[Resource, Mapping[str, list[Resource]]], list[Resource] | None]:
    def find(r: Resource, by_type: Mapping[str, list[Resource]]) -> list[Resource] | None:
        if r["type"] == "aws:accessanalyzer/analyzer:Analyzer" and r["inputs"].get("type") != "ORGANIZATION":
            return None
        if r["type"].startswith("aws:cfg/") and not r["inputs"].get("organizationAggregationSource"):
            return None
        return [
            o
            for o in by_type.get("aws:organizations/delegatedAdministrator:DelegatedAdministrator", [])
            if o["inputs"].get("servicePrincipal") == service
        ]

    return find


def _provider_urn(r: Resource) -> str:
    """The provider's URN; a state file's reference appends '::<id>' to it (a URN has three '::')."""
    ref = str(r.get("provider") or "")
    return ref.rsplit("::", 1)[0] if ref.count("::") > 3 else ref


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = json.loads(value) if value else []
    return list(value or [])


def _member_account(r: Resource, by_type: Mapping[str, list[Resource]]) -> list[Resource]:
    """The account a setting is made in, vended with the role its provider assumes: CreateAccount creates that
    role (``roleName``), and until it exists the provider's AssumeRole, or the contact's account, is unknown."""
    provider = next((p for p in by_type.get(PROVIDER, []) if p["urn"] == _provider_urn(r)), None)
    inputs = (provider or {}).get("inputs", {})
    account_id = r["inputs"].get("accountId") or next(iter(_json_list(inputs.get("allowedAccountIds"))), None)
    roles = {str(a.get("roleArn", "")).rsplit("/", 1)[-1] for a in _json_list(inputs.get("assumeRoles"))}
    return [
        a
        for a in by_type.get(ACCOUNT, [])
        if str(a.get("arn", "")).rsplit("/", 1)[-1] == account_id
        and (r["type"] == CONTACT or a["inputs"].get("roleName") in roles)
    ]


def _service_principal(r: Resource, by_type: Mapping[str, list[Resource]]) -> list[Resource]:
    return _trusting(str(r["inputs"].get("servicePrincipal")))(r, by_type) or []


RULES: tuple[Rule, ...] = (
    Rule(
        "aws:cloudtrail/trail:Trail",
        "the bucket policy that admits CloudTrail",
        "InsufficientS3BucketPolicyException",
        _bucket_policy,
    ),
    Rule(
        "aws:cfg/deliveryChannel:DeliveryChannel",
        "the bucket policy that admits Config",
        "InsufficientDeliveryPolicyException",
        _bucket_policy,
    ),
    Rule(
        "aws:cloudtrail/trail:Trail",
        "trusted access for cloudtrail.amazonaws.com",
        "CloudTrailAccessNotEnabledException",
        lambda r, t: _trusting("cloudtrail.amazonaws.com")(r, t) if r["inputs"].get("isOrganizationTrail") else None,
    ),
    Rule(
        "aws:organizations/delegatedAdministrator:DelegatedAdministrator",
        "trusted access for the service it delegates",
        "AccessDeniedException: the service does not have trusted access",
        _service_principal,
    ),
    Rule(
        "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount",
        "trusted access for guardduty.amazonaws.com",
        "BadRequestException: trusted access is not enabled",
        _trusting("guardduty.amazonaws.com"),
    ),
    Rule(
        "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount",
        "the administrator's own detector in that region (else GuardDuty makes one, and the next up collides)",
        "BadRequestException: The request is rejected because a detector already exists for the current account",
        _admin_detector,
    ),
    Rule(
        "aws:securityhub/organizationAdminAccount:OrganizationAdminAccount",
        "trusted access for securityhub.amazonaws.com",
        "AccessDeniedException: trusted access is not enabled",
        _trusting("securityhub.amazonaws.com"),
    ),
    Rule(
        "aws:guardduty/organizationConfiguration:OrganizationConfiguration",
        "the delegation to the administrator in that region",
        "BadRequestException: The request is rejected because the current account is not the administrator",
        _same_region("aws:guardduty/organizationAdminAccount:OrganizationAdminAccount"),
    ),
    Rule(
        "aws:guardduty/organizationConfigurationFeature:OrganizationConfigurationFeature",
        "the delegation to the administrator in that region",
        "BadRequestException: The request is rejected because the current account is not the administrator",
        _same_region("aws:guardduty/organizationAdminAccount:OrganizationAdminAccount"),
    ),
    Rule(
        "aws:securityhub/organizationConfiguration:OrganizationConfiguration",
        "the delegation to the administrator in the home region",
        "AccessDeniedException: account is not the delegated administrator",
        _same_region("aws:securityhub/organizationAdminAccount:OrganizationAdminAccount"),
    ),
    Rule(
        "aws:securityhub/organizationConfiguration:OrganizationConfiguration",
        "a finding aggregator (central configuration needs one)",
        "ValidationException: central configuration requires a finding aggregator",
        _same_region("aws:securityhub/findingAggregator:FindingAggregator"),
    ),
    Rule(
        "aws:securityhub/configurationPolicy:ConfigurationPolicy",
        "central configuration switched on",
        "AccessDeniedException: central configuration is not enabled",
        _same_region("aws:securityhub/organizationConfiguration:OrganizationConfiguration"),
    ),
    Rule(
        "aws:cfg/configurationAggregator:ConfigurationAggregator",
        "the delegation of config.amazonaws.com",
        "OrganizationAccessDeniedException",
        _delegated("config.amazonaws.com"),
    ),
    Rule(
        "aws:accessanalyzer/analyzer:Analyzer",
        "the delegation of access-analyzer.amazonaws.com",
        "ValidationException: the account is not the delegated administrator",
        _delegated("access-analyzer.amazonaws.com"),
    ),
    Rule(
        "aws:iam/organizationsFeatures:OrganizationsFeatures",
        "trusted access for iam.amazonaws.com",
        "ServiceAccessNotEnabledException",
        _trusting("iam.amazonaws.com"),
    ),
    *(
        Rule(
            type_,
            "the member account, vended with the access role its provider assumes",
            "AccessDenied: not authorized to perform sts:AssumeRole (the account or its role does not exist yet)",
            _member_account,
        )
        for type_ in ACCOUNT_SETTINGS
    ),
    Rule(
        CONTACT,
        "the member account whose contact it sets",
        "ResourceNotFoundException: the account is not a member of the organization",
        _member_account,
    ),
    Rule(
        CONTACT,
        "trusted access for account.amazonaws.com",
        "AccessDeniedException: trusted access is not enabled for Account Management",
        _trusting("account.amazonaws.com"),
    ),
)


def _ancestors(resources: Iterable[Resource]) -> Callable[[str], frozenset[str]]:
    edges: dict[str, set[str]] = {}
    for r in resources:
        deps = set(r.get("dependencies") or [])
        if r.get("provider"):  # a resource waits for its provider, and the provider for what its inputs read
            deps.add(_provider_urn(r))
        for urns in (r.get("propertyDependencies") or {}).values():
            deps.update(urns)
        edges[r["urn"]] = deps

    @functools.cache
    def ancestors(urn: str) -> frozenset[str]:
        found: set[str] = set()
        for dep in edges.get(urn, ()):
            found.add(dep)
            found |= ancestors(dep)
        return frozenset(found)

    return ancestors


def concurrent_accounts(resources: list[Resource], ancestors: Callable[[str], frozenset[str]]) -> int:
    """The most accounts a first ``up`` may create at once: the largest set none of which waits for another
    (Dilworth: accounts minus a maximum matching of the 'waits for' order)."""
    accounts = [r["urn"] for r in resources if r["type"] == ACCOUNT]
    later = {a: [b for b in accounts if a in ancestors(b)] for a in accounts}
    match: dict[str, str] = {}

    def augment(a: str, seen: set[str]) -> bool:
        for b in later[a]:
            if b in seen:
                continue
            seen.add(b)
            if b not in match or augment(match[b], seen):
                match[b] = a
                return True
        return False

    return len(accounts) - sum(augment(a, set()) for a in accounts)


def problems(snapshot: Mapping[str, Any]) -> list[str]:
    """What a first ``up`` of this snapshot would be refused, one line each (empty: it is in order)."""
    resources = [r for r in snapshot.get("resources") or [] if r.get("custom")]
    by_type: dict[str, list[Resource]] = {}
    for r in resources:
        by_type.setdefault(r["type"], []).append(r)
    ancestors = _ancestors(resources)
    found: list[str] = []
    for rule in RULES:
        for r in by_type.get(rule.type, []):
            required = rule.requirement(r, by_type)
            if required is None:
                continue
            if not any(o["urn"] in ancestors(r["urn"]) for o in required):
                where = "nothing in the stack provides it" if not required else "it does not wait for it"
                found.append(f"{r['urn']}: needs {rule.needs} first, and {where}; AWS answers {rule.refusal}")
    at_once = concurrent_accounts(resources, ancestors)
    if at_once > CONCURRENT_ACCOUNT_CREATIONS:
        found.append(
            f"{at_once} accounts may be created at once; Organizations allows {CONCURRENT_ACCOUNT_CREATIONS} "
            "CreateAccount requests in progress (TooManyRequestsException / ConcurrentModificationException)"
        )
    return found
