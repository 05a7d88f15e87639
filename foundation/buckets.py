"""A private bucket: the only kind this platform makes (the s3-buckets-private policy checks it)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

INCOMPLETE_UPLOAD_DAYS = 7  # an upload not finished in a week never will be; its parts are billed until removed


def abort_incomplete_uploads() -> aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs:
    """Every lifecycle rule carries this: parts of abandoned multipart uploads are invisible and billed forever."""
    return aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
        days_after_initiation=INCOMPLETE_UPLOAD_DAYS
    )


def private_bucket(
    name: str,
    bucket_name: pulumi.Input[str],
    parent: pulumi.Resource | None,
    *,
    protect: bool = False,
    force_destroy: bool = False,
    versioned: bool = False,
    object_ownership: str = "BucketOwnerEnforced",
    lifecycle_rules: Sequence[aws.s3.BucketLifecycleConfigurationRuleArgs] = (),
    kms_key_arn: pulumi.Input[str] | None = None,
    object_lock: bool = False,
) -> aws.s3.Bucket:
    """Bucket + full public access block + owner-enforced objects (no ACLs) + AES256 by default.

    ``name`` is the logical name of every resource made here, children of ``parent``. ``object_ownership``
    "BucketOwnerPreferred" only where an AWS service delivers with ACLs (CloudFront's standard logs).
    ``lifecycle_rules``: the bucket's lifecycle, if this helper owns it (one configuration per bucket).
    ``kms_key_arn``: SSE-KMS with that key (and an S3 bucket key) instead of AES256. ``object_lock``: Object Lock
    can only be switched on when the bucket is created; its retention is the caller's
    ``BucketObjectLockConfiguration``.
    """
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(
        name,
        bucket=bucket_name,
        force_destroy=force_destroy or None,
        object_lock_enabled=object_lock or None,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        name,
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership=object_ownership),
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms" if kms_key_arn is not None else "AES256", kms_master_key_id=kms_key_arn
                ),
                bucket_key_enabled=True if kms_key_arn is not None else None,
            )
        ],
        opts=child,
    )
    if versioned or object_lock:  # Object Lock requires versioning
        aws.s3.BucketVersioning(
            name,
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
    if lifecycle_rules:
        aws.s3.BucketLifecycleConfiguration(name, bucket=bucket.id, rules=list(lifecycle_rules), opts=child)
    return bucket
