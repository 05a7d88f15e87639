"""The log archive: Object Lock, versioning, KMS, no public access, colder storage, access logs, and a bucket policy
that admits only the delivering services of this organization (components/log_archive.py)."""

from __future__ import annotations

import json

import pytest

import stack_config
from access import accesses, simulator
from components.log_archive import archive_bucket_policy

BUCKET = "aws:s3/bucket:Bucket"


@pytest.fixture(scope="module")
def org(shipped_preview):
    return shipped_preview("org")


def _for_bucket(org, type_: str, name: str) -> dict:
    return org.one(type_, name)["inputs"]


def test_the_archive_lives_in_the_log_archive_account(org):
    archive_id = org.snapshot["outputs"]["accounts"]["log-archive"]["id"]
    bucket = org.one(BUCKET, "log-archive")
    assert bucket["inputs"]["bucket"].endswith(f"-{archive_id}")
    provider = next(r for r in org.resources("pulumi:providers:aws") if r["urn"] == bucket["provider"])
    assert json.loads(provider["inputs"]["allowedAccountIds"]) == [archive_id]


def test_objects_are_locked_for_the_configured_retention_in_compliance_mode(org):
    baseline = stack_config.load_file("org").organization.baseline
    assert org.one(BUCKET, "log-archive")["inputs"]["objectLockEnabled"] is True
    rule = _for_bucket(org, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "log-archive")["rule"]
    assert rule["defaultRetention"] == {"mode": baseline.retention_mode, "days": baseline.retention_days}
    assert baseline.retention_mode == "COMPLIANCE"
    versioning = _for_bucket(org, "aws:s3/bucketVersioning:BucketVersioning", "log-archive")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"


def test_the_archive_is_encrypted_with_its_own_key_private_logged_and_moves_to_glacier(org):
    key = org.one("aws:kms/key:Key", "log-archive")
    sse = _for_bucket(
        org, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "log-archive"
    )
    default = sse["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"] == key["arn"]
    block = _for_bucket(org, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "log-archive")
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    logging = _for_bucket(org, "aws:s3/bucketLogging:BucketLogging", "log-archive")
    assert logging["targetBucket"] == org.one(BUCKET, "log-archive-access")["inputs"]["bucket"]
    (rule,) = _for_bucket(org, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "log-archive")[
        "rules"
    ]
    assert rule["transitions"][0]["storageClass"] == "GLACIER"
    assert rule["expiration"]["days"] > stack_config.load_file("org").organization.baseline.retention_days


def test_the_policy_admits_the_delivering_services_only_for_this_organization(org):
    policy = json.loads(org.one("aws:s3/bucketPolicy:BucketPolicy", "log-archive")["inputs"]["policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert {s["Principal"]["Service"] for s in allows} == {"cloudtrail.amazonaws.com", "config.amazonaws.com"}
    organization_id = org.snapshot["outputs"]["organization_id"]
    trail_arn = org.snapshot["outputs"]["baseline"]["trail_arn"]
    for statement in allows:
        scope = statement["Condition"]["StringEquals"]
        assert scope.get("aws:SourceArn") == trail_arn or scope.get("aws:SourceOrgID") == organization_id


def _put(policy: str, service: str, context: dict) -> simulator.Verdict:
    access = accesses.Access(
        kind="log-delivery",
        principal=service,
        action="s3:PutObject",
        resource="arn:aws:s3:::archive/AWSLogs/o-aaaaaaaaaa/111122223333/CloudTrail/x.json.gz",
        resource_account="222233334444",
        origin="test",
        context={"aws:PrincipalIsAWSService": "true", "aws:PrincipalServiceName": service, **context},
        resource_policy=json.loads(policy),
    )
    (verdict,) = simulator.simulate([access])
    return verdict


def test_cloudtrail_writes_for_our_trail_and_not_for_another_organizations():
    trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-prod-organization"
    policy = archive_bucket_policy("arn:aws:s3:::archive", "222233334444", "o-aaaaaaaaaa", "111122223333", trail)
    ours = {"aws:SourceArn": trail, "s3:x-amz-acl": "bucket-owner-full-control", "aws:SecureTransport": "true"}
    assert _put(policy, "cloudtrail.amazonaws.com", ours).allowed
    theirs = {**ours, "aws:SourceArn": "arn:aws:cloudtrail:us-east-1:999988887777:trail/theirs"}
    assert not _put(policy, "cloudtrail.amazonaws.com", theirs).allowed
