"""The log archive: the organization's records, in an account of their own, kept whatever anyone does.

``you-are-not-saved-by-iac.md``: what you cannot reconstruct must outlive the account that made it. The trail's
and Config's deliveries land in a bucket of the log-archive account (a member of the security OU), where:

- Object Lock (``COMPLIANCE`` by default) keeps every object for ``retentionDays``: nobody, the archive account's
  root included, deletes or overwrites a log before its time; versioning comes with it;
- the bucket policy admits only the delivering services, and only for this organization (CloudTrail for the
  organization trail by its ARN, Config for accounts of this organization by ``aws:SourceOrgID``), refuses plain
  HTTP, and refuses changes to the bucket's protections to every principal but the one the baseline runs as;
- SSE-KMS with the archive's own key, public access blocked, logs moved to Glacier after ``glacierAfterDays``,
  and every request logged to an access-log bucket beside it.

The trail must not be created before this policy exists: CloudTrail refuses a bucket it cannot write
(``InsufficientS3BucketPolicyException``), so ``bucket_policy`` is what the trail depends on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.account_providers import ACCOUNT_ACCESS_ROLE
from foundation.buckets import abort_incomplete_uploads, private_bucket
from foundation.identity import StackIdentity
from stack_config.baseline import BaselineConfig

ACCESS_LOG_DAYS = 365  # requests to the archive are evidence too: kept as long as the default retention
BUCKET_PROTECTIONS = (
    "s3:BypassGovernanceRetention",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketLogging",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
)


@dataclass(frozen=True)
class LogArchiveArgs:
    identity: StackIdentity
    config: BaselineConfig
    account_id: pulumi.Input[str]  # the log-archive account
    audit_account_id: pulumi.Input[str]  # reads the logs (investigations), never writes them
    organization_id: pulumi.Input[str]
    management_account_id: pulumi.Input[str]
    trail_name: str  # the organization trail that writes here (its ARN is in the policy)
    region: str  # the trail's home region: CloudTrail's key and this bucket must share it


def archive_key_policy(account: str, audit_account: str, organization_id: str) -> str:
    return iam.document(
        iam.account_administers_key(account),
        # Config's deliveries are encrypted by the bucket's default key on its behalf.
        {
            "Sid": "DeliveringServicesEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": ["cloudtrail.amazonaws.com", "config.amazonaws.com"]},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceOrgID": organization_id}},
        },
        {
            "Sid": "AuditReads",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{audit_account}:root"},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
        },
    )


def archive_bucket_policy(
    bucket_arn: str, account: str, organization_id: str, management_account: str, trail_arn: str
) -> str:
    """Only the delivering services, for this organization; HTTPS only; protections changed by nobody but the
    baseline's own role (``OrganizationAccountAccessRole``, assumed from the management account)."""
    acl = {"s3:x-amz-acl": "bucket-owner-full-control"}
    trail_source = {"aws:SourceArn": trail_arn}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": trail_source},
        },
        {
            # The management account's own events, and every member's under the organization id.
            "Sid": "CloudTrailWrites",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": [
                f"{bucket_arn}/AWSLogs/{management_account}/*",
                f"{bucket_arn}/AWSLogs/{organization_id}/*",
            ],
            "Condition": {"StringEquals": {**acl, **trail_source}},
        },
        {
            "Sid": "ConfigAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "config.amazonaws.com"},
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceOrgID": organization_id}},
        },
        {
            "Sid": "ConfigWrites",
            "Effect": "Allow",
            "Principal": {"Service": "config.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/AWSLogs/*/Config/*",
            "Condition": {"StringEquals": {**acl, "aws:SourceOrgID": organization_id}},
        },
        iam.tls_only(bucket_arn),
        {
            "Sid": "ProtectionsStay",
            "Effect": "Deny",
            "Principal": "*",
            "Action": list(BUCKET_PROTECTIONS),
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{account}:role/{ACCOUNT_ACCESS_ROLE}"}},
        },
    ]
    return iam.document(*statements)


def access_log_policy(bucket_arn: str, account: str, archive_arn: str) -> str:
    return iam.document(
        {
            "Sid": "ServerAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}, "ArnLike": {"aws:SourceArn": archive_arn}},
        },
        iam.tls_only(bucket_arn),
    )


def trail_arn(region: str, management_account: str, trail_name: str) -> str:
    return f"arn:aws:cloudtrail:{region}:{management_account}:trail/{trail_name}"


class LogArchive(pulumi.ComponentResource):
    """The archive bucket and its access logs in the log-archive account (the provider in ``opts``)."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    bucket_policy: aws.s3.BucketPolicy  # what the trail and Config's delivery channels wait for

    def __init__(self, name: str, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:LogArchive", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)
        account = pulumi.Output.from_input(args.account_id)
        key = aws.kms.Key(
            "log-archive",
            description=f"{ident.label('log-archive')}: the organization's trail and Config deliveries",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(account, args.audit_account_id, args.organization_id).apply(
                lambda parts: archive_key_policy(*parts)
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        # Names carry the account id: S3 names are global, and the archive account's is unique.
        access_logs = private_bucket(
            "log-archive-access",
            account.apply(lambda a: f"{ident.name('aws:s3/bucket:Bucket', 'log-access')}-{a}"),
            self,
            protect=True,
            versioned=True,
            lifecycle_rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=ACCESS_LOG_DAYS),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=30
                    ),
                    abort_incomplete_multipart_upload=abort_incomplete_uploads(),
                )
            ],
        )
        bucket = private_bucket(
            "log-archive",
            account.apply(lambda a: f"{ident.name('aws:s3/bucket:Bucket', 'log-archive')}-{a}"),
            self,
            protect=True,
            object_lock=True,
            kms_key_arn=key.arn,
            lifecycle_rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="colder-with-age",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    transitions=[
                        aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                            days=cfg.glacier_after_days, storage_class="GLACIER"
                        )
                    ],
                    # Object Lock decides when a log may go; expiry only after its retention has passed.
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=cfg.retention_days + 1),
                    abort_incomplete_multipart_upload=abort_incomplete_uploads(),
                )
            ],
        )
        aws.s3.BucketObjectLockConfiguration(
            "log-archive",
            bucket=bucket.id,
            object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode=cfg.retention_mode, days=cfg.retention_days
                )
            ),
            opts=child,
        )
        aws.s3.BucketLogging(
            "log-archive",
            bucket=bucket.id,
            target_bucket=access_logs.id,
            target_prefix="log-archive/",
            opts=child,
        )
        aws.s3.BucketPolicy(
            "log-archive-access",
            bucket=access_logs.id,
            policy=pulumi.Output.all(access_logs.arn, account, bucket.arn).apply(
                lambda parts: access_log_policy(*parts)
            ),
            opts=child,
        )
        self.bucket_policy = aws.s3.BucketPolicy(
            "log-archive",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, account, args.organization_id, args.management_account_id).apply(
                lambda p: archive_bucket_policy(p[0], p[1], p[2], p[3], trail_arn(args.region, p[3], args.trail_name))
            ),
            opts=child,
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.key_arn = key.arn
        self.register_outputs({"bucket_name": self.bucket_name, "key_arn": self.key_arn})
