"""The organization trail: every API call in every account and region, recorded where no account can undo it.

Without it an incident in a member account leaves no record of who did what (issue 29; Control Tower's
mandatory "Enable CloudTrail in all accounts"). One trail, created in the management account as an organization
trail, covers every member account (CloudTrail creates and guards the member copies itself): all regions, global
service events, log-file validation (a digest file each hour proves no log was altered), encrypted with a
customer-managed key whose policy lets CloudTrail encrypt for this trail only (``aws:SourceArn`` and the
encryption context), delivered to the log archive (``components/log_archive.py``).

Management events for every account. Data events only where their cost is written down: the state bucket's
object writes (``stateDataEvents``): a few hundred per deploy, at $0.10 per 100,000 data events
(https://aws.amazon.com/cloudtrail/pricing/), the record of who changed the organization's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.identity import StackIdentity


@dataclass(frozen=True)
class OrgTrailArgs:
    identity: StackIdentity
    trail_name: str
    bucket_name: pulumi.Input[str]  # the log archive's bucket
    reader_accounts: Sequence[pulumi.Input[str]]  # who may decrypt the logs: the log archive and audit accounts
    organization_id: pulumi.Input[str]
    management_account_id: pulumi.Input[str]
    region: str
    delivery_ready: Sequence[pulumi.Resource]  # the archive's bucket policy: CloudTrail checks it on create
    data_event_buckets: Sequence[
        pulumi.Input[str]
    ] = ()  # buckets whose object writes are recorded (cost: module docstring)


def trail_key_policy(account: str, trail_arn: str, organization_id: str, readers: Sequence[str]) -> str:
    """CloudTrail encrypts for this trail only; the archive and audit accounts decrypt what it wrote."""
    context = {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"}
    return iam.document(
        iam.account_administers_key(account),
        {
            "Sid": "CloudTrailEncrypts",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}, "StringLike": context},
        },
        {
            "Sid": "CloudTrailDescribes",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
        },
        {
            "Sid": "ArchiveAndAuditDecrypt",
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{r}:root" for r in sorted(readers)]},
            "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization_id}, "StringLike": context},
        },
    )


class OrgTrail(pulumi.ComponentResource):
    """The organization trail and its key, in the management account (the provider in ``opts``)."""

    trail_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: OrgTrailArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:OrgTrail", name, None, opts)
        ident = args.identity
        arn = pulumi.Output.from_input(args.management_account_id).apply(
            lambda acct: f"arn:aws:cloudtrail:{args.region}:{acct}:trail/{args.trail_name}"
        )
        key = aws.kms.Key(
            "org-trail",
            description=f"{ident.label('org-trail')}: the organization trail's log files",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(
                args.management_account_id, arn, args.organization_id, *args.reader_accounts
            ).apply(lambda parts: trail_key_policy(parts[0], parts[1], parts[2], parts[3:])),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        selectors = [
            aws.cloudtrail.TrailAdvancedEventSelectorArgs(
                name="Management events, every account",
                field_selectors=[
                    aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                        field="eventCategory", equals=["Management"]
                    )
                ],
            )
        ]
        if args.data_event_buckets:
            selectors.append(
                aws.cloudtrail.TrailAdvancedEventSelectorArgs(
                    name="State bucket object writes",
                    field_selectors=[
                        aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                            field="eventCategory", equals=["Data"]
                        ),
                        aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                            field="resources.type", equals=["AWS::S3::Object"]
                        ),
                        aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(field="readOnly", equals=["false"]),
                        aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                            field="resources.ARN",
                            starts_withs=[
                                pulumi.Output.concat("arn:aws:s3:::", b, "/") for b in args.data_event_buckets
                            ],
                        ),
                    ],
                )
            )
        trail = aws.cloudtrail.Trail(
            "org-trail",
            name=args.trail_name,
            s3_bucket_name=args.bucket_name,
            is_organization_trail=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=key.arn,
            advanced_event_selectors=selectors,
            # CloudTrail checks the bucket policy and the key on create: both exist first.
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=[*args.delivery_ready, key]),
        )
        self.trail_arn = trail.arn
        self.key_arn = key.arn
        self.register_outputs({"trail_arn": self.trail_arn})
