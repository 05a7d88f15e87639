"""The organization's security baseline, wired: log archive, trail, detection, root access (issue 29).

What depends on what is the order AWS requires on a first ``pulumi up`` from a bare organization:
organization (trusted access) -> accounts -> their secure defaults and contacts; accounts -> log archive bucket policy -> organization trail; organization ->
the administrator's own detectors and hubs -> delegation from the management account -> the administrator's
organization settings. ``preview/ordering.py`` checks each of these in the day-zero world.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components.account_bootstrap import bootstrap_names
from components.account_defaults import AccountDefaults, AccountDefaultsArgs
from components.config_recording import ConfigRecording, ConfigRecordingArgs
from components.identity_center import managed_policy_arn
from components.log_archive import LogArchive, LogArchiveArgs
from components.org_trail import OrgTrail, OrgTrailArgs
from components.root_access import RootAccess, RootAccessArgs
from components.security_services import SecurityServices, SecurityServicesArgs
from foundation.account_providers import AccountProviders
from foundation.identity import StackIdentity
from stack_config.organization import OrganizationConfig

if TYPE_CHECKING:
    from components.organization import Organization


def build_security_baseline(
    identity: StackIdentity, config: OrganizationConfig, org: Organization, management: aws.Provider
) -> dict[str, Any]:
    """The baseline's components; returns the outputs the org stack exports under ``baseline``."""
    base = config.baseline
    assert base is not None  # the caller builds it only when config has it
    home = identity.region
    members = AccountProviders(identity, org.account_ids)
    trail_name = identity.name("aws:cloudtrail/trail:Trail", "organization")
    archive = LogArchive(
        "log-archive",
        LogArchiveArgs(
            identity=identity,
            config=base,
            account_id=org.account_ids[base.log_archive_account],
            audit_account_id=org.account_ids[base.audit_account],
            organization_id=org.organization_id,
            management_account_id=org.management_account_id,
            trail_name=trail_name,
            region=home,
        ),
        opts=members.opts(base.log_archive_account, home),
    )
    state_buckets: list[pulumi.Output[str]] = []
    if base.state_data_events and config.bootstrap is not None:
        # The one state bucket (the management account's, docs/day-one.md): who wrote which stack's state, when.
        names, region = bootstrap_names(identity), config.bootstrap.regions[0]
        state_buckets = [org.management_account_id.apply(lambda acct: names.state_bucket(acct, region))]
    trail = OrgTrail(
        "org-trail",
        OrgTrailArgs(
            identity=identity,
            trail_name=trail_name,
            bucket_name=archive.bucket_name,
            reader_accounts=[org.account_ids[base.log_archive_account], org.account_ids[base.audit_account]],
            organization_id=org.organization_id,
            management_account_id=org.management_account_id,
            region=home,
            delivery_ready=[archive.bucket_policy, org.organization],
            data_event_buckets=state_buckets,
        ),
        opts=pulumi.ResourceOptions(provider=management),
    )
    ConfigRecording(
        "config-recording",
        ConfigRecordingArgs(
            identity=identity,
            home_region=home,
            regions=list(config.guardrails.allowed_regions),
            ou_ids=org.ou_ids,
            accounts_by_ou=org.accounts_by_ou,
            bucket_name=archive.bucket_name,
            key_arn=archive.key_arn,
            delivery_ready=[archive.bucket_policy],
            management=management,
        ),
        opts=pulumi.ResourceOptions(depends_on=[org.organization]),
    )
    detection = SecurityServices(
        "security-services",
        SecurityServicesArgs(
            identity=identity,
            config=base,
            regions=list(config.guardrails.allowed_regions),
            home_region=home,
            audit_account_id=org.account_ids[base.audit_account],
            root_id=org.root_id,
            trusted_access=org.organization,
            management=management,
            audit=members.provider(base.audit_account, home),
        ),
    )
    assert base.security_contact is not None and base.operations_contact is not None  # the loader requires them
    AccountDefaults(
        "account-defaults",
        AccountDefaultsArgs(
            accounts=[account.name for account in config.accounts],
            account_ids=org.account_ids,
            # The home region first: the account-wide S3 setting is made through its provider.
            regions=[home, *(r for r in config.guardrails.allowed_regions if r != home)],
            provider=members.provider,
            security_contact=base.security_contact,
            operations_contact=base.operations_contact,
            management=management,
            trusted_access=org.organization,
        ),
    )
    RootAccess(
        "root-access", RootAccessArgs(trusted_access=org.organization), opts=pulumi.ResourceOptions(provider=management)
    )
    names = bootstrap_names(identity)
    permission_sets = {p.name: p.managed_policy for p in config.permission_sets}
    return {
        # What the access simulation's tamper attempts aim at (access/tamper.py), and as whom.
        "trail_arn": trail.trail_arn,
        "analyzer_name": detection.analyzer_name,
        "home_region": home,
        "deploy_role": names.deploy_role,
        "read_only_role": names.read_only_role,
        "sso": {
            account.name: {
                group.permission_set: managed_policy_arn(permission_sets[group.permission_set])
                for group in config.groups
                if account.name in group.accounts and group.permission_set in permission_sets
            }
            for account in config.accounts
        },
        "log_archive_bucket": archive.bucket_name,
        "findings_topic_arn": detection.alerts_topic_arn,
        "audit_account": base.audit_account,
        "log_archive_account": base.log_archive_account,
    }
