"""A private bucket: the only kind this platform makes (the s3-buckets-private policy checks it)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def private_bucket(
    name: str,
    bucket_name: str,
    parent: pulumi.Resource | None,
    *,
    protect: bool = False,
    force_destroy: bool = False,
    versioned: bool = False,
) -> aws.s3.Bucket:
    """Bucket + full public access block + owner-enforced objects (no ACLs) + AES256 by default.

    ``name`` is the logical name of every resource made here, children of ``parent``.
    """
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(
        name,
        bucket=bucket_name,
        force_destroy=force_destroy or None,
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
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        ],
        opts=child,
    )
    if versioned:
        aws.s3.BucketVersioning(
            name,
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
    return bucket
