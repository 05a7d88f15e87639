"""Secure defaults in every member account: what a new account lets anyone do until someone switches it off.

Issue 29, item 6 (Control Tower's and LZA's account baseline). A freshly vended account:
- lets any bucket be made public by one policy or ACL (S3 account-level Block Public Access is off): the
  classic leaked-bucket incident, and the ``s3-buckets-private`` policy only sees the buckets our stacks create;
- writes unencrypted EBS volumes and snapshots in every region unless each launch asks (FSBP EC2.7);
- launches instances that answer IMDSv1, so one SSRF in a web app hands out the instance role's credentials
  (the Capital One breach; FSBP EC2.8);
- sends AWS's abuse, security and operational notices only to the root e-mail of an account nobody signs in to.

Set here, through per-account providers (``foundation/account_providers.py``, assuming
``OrganizationAccountAccessRole``) rather than the bootstrap StackSet: CloudFormation has no resource type for
any of the three account settings, and a StackSet instance cannot set another account's alternate contacts.
The contacts are written from the management account with ``account_id`` (Account Management's trusted access,
``account.amazonaws.com``, in ``trustedServices``). The ``protect-baseline`` SCP denies members undoing them
(``components/baseline_guardrail.py``); the access simulation's tamper attempts prove it (``access/tamper.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from stack_config.baseline import ContactConfig

# IMDSv2 only: a metadata request without a session token is refused. Hop limit 2 (what AWS sets with an IMDSv2
# account default) lets a container on the instance reach it; both are per region
# (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html).
HTTP_TOKENS = "required"
HOP_LIMIT = 2


@dataclass(frozen=True)
class AccountDefaultsArgs:
    accounts: Sequence[str]  # every member account the organization vends, by name
    account_ids: Mapping[str, pulumi.Output[str]]
    regions: Sequence[str]  # every allowed region: EBS encryption and the IMDS default are regional settings
    provider: Callable[[str, str], aws.Provider]  # (account, region) -> a provider into that account
    security_contact: ContactConfig
    operations_contact: ContactConfig
    management: aws.Provider  # alternate contacts are written from the management account
    trusted_access: pulumi.Resource  # the organization, with account.amazonaws.com trusted


class AccountDefaults(pulumi.ComponentResource):
    """S3 account Block Public Access, EBS encryption by default, IMDSv2 by default and alternate contacts."""

    def __init__(self, name: str, args: AccountDefaultsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:AccountDefaults", name, None, opts)
        missing = [a for a in args.accounts if a not in args.account_ids]
        if missing or not args.regions:
            raise ValueError(
                f"AccountDefaults: accounts {missing} are not vended by the organization (allowed: "
                f"{sorted(args.account_ids)}), or regions {list(args.regions)} is empty (allowed: the allowed regions)"
            )
        contacts = {"SECURITY": args.security_contact, "OPERATIONS": args.operations_contact}
        for account in args.accounts:
            home = args.provider(account, args.regions[0])
            # One per account: S3's account-level Block Public Access covers the account's buckets in every region.
            aws.s3.AccountPublicAccessBlock(
                f"{account}-public-access-block",
                account_id=args.account_ids[account],
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                opts=pulumi.ResourceOptions(parent=self, provider=home),
            )
            for region in args.regions:
                in_region = pulumi.ResourceOptions(parent=self, provider=args.provider(account, region))
                aws.ebs.EncryptionByDefault(f"{account}-ebs-encryption-{region}", enabled=True, opts=in_region)
                aws.ec2.InstanceMetadataDefaults(
                    f"{account}-imds-defaults-{region}",
                    http_tokens=HTTP_TOKENS,
                    http_put_response_hop_limit=HOP_LIMIT,
                    opts=in_region,
                )
            for kind, contact in contacts.items():
                aws.account.AlternativeContact(
                    f"{account}-contact-{kind.lower()}",
                    account_id=args.account_ids[account],
                    alternate_contact_type=kind,
                    name=contact.name,
                    email_address=contact.email,
                    phone_number=contact.phone,
                    title=contact.title,
                    opts=pulumi.ResourceOptions(
                        parent=self, provider=args.management, depends_on=[args.trusted_access]
                    ),
                )
        self.register_outputs({})
