"""Access logs of the ALB and CloudFront: one private, expiring bucket that admits exactly the delivery services."""

from __future__ import annotations

import json

from components.access_logs import ALB_PREFIX, ELB_LOG_DELIVERY


def test_alb_and_cloudfront_write_to_the_log_bucket_after_it_is_ready(shipped_preview):
    prod = shipped_preview("prod")
    bucket = prod.one("aws:s3/bucket:Bucket", "access-logs")["inputs"]["bucket"]
    alb = prod.one("aws:lb/loadBalancer:LoadBalancer", "alb")
    assert alb["inputs"]["accessLogs"] == {"bucket": bucket, "enabled": True, "prefix": ALB_PREFIX}
    distribution = prod.one("aws:cloudfront/distribution:Distribution", "spa")
    assert distribution["inputs"]["loggingConfig"]["bucket"] == f"{bucket}.s3.amazonaws.com"
    policy = prod.one("aws:s3/bucketPolicy:BucketPolicy", "access-logs")
    ownership = prod.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "access-logs")
    # Day one: the writers wait for the policy and the ACL-enabled ownership, or their first update fails.
    for writer in (alb, distribution):
        assert {policy["urn"], ownership["urn"]} <= set(writer["dependencies"])


def test_the_bucket_is_private_expiring_and_admits_only_log_delivery(shipped_preview):
    prod = shipped_preview("prod")
    block = prod.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "access-logs")["inputs"]
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    ownership = prod.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "access-logs")["inputs"]
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerPreferred"  # CloudFront's ACL grant needs ACLs on
    (rule,) = prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "access-logs")["inputs"][
        "rules"
    ]
    assert rule["expiration"]["days"] == 90 and rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7
    statements = json.loads(prod.one("aws:s3/bucketPolicy:BucketPolicy", "access-logs")["inputs"]["policy"])[
        "Statement"
    ]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert {json.dumps(s["Principal"]) for s in allows} >= {json.dumps({"Service": ELB_LOG_DELIVERY})}
    assert all(
        s["Action"] == "s3:PutObject"
        and f"/{ALB_PREFIX}/AWSLogs/{prod.snapshot['world']['account']}/*" in s["Resource"]
        for s in allows
    )


def test_every_bucket_lifecycle_aborts_incomplete_uploads(shipped_preview):
    for stack in ("dev", "prod", "org"):
        snapshot = shipped_preview(stack)
        buckets = snapshot.resources("aws:s3/bucket:Bucket")
        configs = snapshot.resources("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        assert len(configs) == len(buckets), stack
        for config in configs:
            assert any(r.get("abortIncompleteMultipartUpload") for r in config["inputs"]["rules"]), config["urn"]
