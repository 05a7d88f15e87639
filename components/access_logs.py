"""The stack's access-log bucket: where the ALB and CloudFront write one line per request.

Issue 13's security review: neither entry point kept access logs, so an
incident (a scraper, a probe, a 5xx burst) left no record of who asked for
what. The bucket is private, AES256 (ALB log delivery supports SSE-S3 only, not
KMS), expires logs after ``retention_days``, and admits exactly the two
delivery services:

- ALB: the region's Elastic Load Balancing account (regions before August 2022)
  and the ``logdelivery.elasticloadbalancing.amazonaws.com`` service (newer
  regions) may PutObject under ``alb/AWSLogs/<account>/`` only;
- CloudFront standard logs are written by the awslogsdelivery account through
  an ACL grant CloudFront adds itself when the distribution is updated, so the
  bucket keeps ACLs enabled (``BucketOwnerPreferred``: objects still belong to
  the bucket owner) while blocking every public ACL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.buckets import abort_incomplete_uploads, private_bucket
from foundation.identity import StackIdentity

ALB_PREFIX = "alb"
CLOUDFRONT_PREFIX = "cloudfront/"
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"


@dataclass(frozen=True)
class AccessLogsArgs:
    identity: StackIdentity
    retention_days: int = 90  # a quarter: long enough to investigate an incident reported weeks later


def bucket_policy(bucket_arn: str, account: str, elb_account_arn: str) -> str:
    alb_objects = f"{bucket_arn}/{ALB_PREFIX}/AWSLogs/{account}/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AlbLogDeliveryLegacyRegions",
                    "Effect": "Allow",
                    "Principal": {"AWS": elb_account_arn},
                    "Action": "s3:PutObject",
                    "Resource": alb_objects,
                },
                {
                    "Sid": "AlbLogDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": ELB_LOG_DELIVERY},
                    "Action": "s3:PutObject",
                    "Resource": alb_objects,
                },
                iam.tls_only(bucket_arn),
            ],
        },
        sort_keys=True,
    )


class AccessLogs(pulumi.ComponentResource):
    """A private, expiring bucket the ALB and CloudFront deliver their access logs to.

    Writers depend on this component (``depends_on=[access_logs]``), so the bucket policy and the ACL-enabled
    ownership exist before the ALB or CloudFront first tries to deliver: both refuse a bucket they cannot write.
    """

    bucket_name: pulumi.Output[str]
    bucket_domain_name: pulumi.Output[str]  # what CloudFront's logging_config takes

    def __init__(self, name: str, args: AccessLogsArgs, opts: pulumi.ResourceOptions | None = None):
        if args.retention_days < 1:
            raise ValueError(f"access logs: retention_days {args.retention_days} must be at least 1")
        super().__init__("platform:security:AccessLogs", name, None, opts)
        ident = args.identity
        bucket = private_bucket(
            "access-logs",
            ident.name("aws:s3/bucket:Bucket", "access-logs"),
            self,
            force_destroy=not ident.protected,
            object_ownership="BucketOwnerPreferred",
            lifecycle_rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.retention_days),
                    abort_incomplete_multipart_upload=abort_incomplete_uploads(),
                )
            ],
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        elb_account = aws.elb.get_service_account_output(opts=pulumi.InvokeOptions(parent=self)).arn
        aws.s3.BucketPolicy(
            "access-logs",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, account, elb_account).apply(lambda a: bucket_policy(*a)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.bucket_name = bucket.bucket
        self.bucket_domain_name = bucket.bucket_domain_name
        self.register_outputs({"bucket_name": self.bucket_name})
