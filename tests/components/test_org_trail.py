"""The organization trail: every account and region, global events, validated, under a key only CloudTrail may use
for this trail, delivered after the archive's policy exists (components/org_trail.py)."""

from __future__ import annotations

import json

import pytest

TRAIL = "aws:cloudtrail/trail:Trail"


@pytest.fixture(scope="module")
def org(shipped_preview):
    return shipped_preview("org")


def test_one_organization_trail_records_every_region_and_global_events_with_validation(org):
    (trail,) = org.resources(TRAIL)
    inputs = trail["inputs"]
    assert inputs["isOrganizationTrail"] and inputs["isMultiRegionTrail"] and inputs["includeGlobalServiceEvents"]
    assert inputs["enableLogFileValidation"]
    assert inputs["s3BucketName"] == org.one("aws:s3/bucket:Bucket", "log-archive")["inputs"]["bucket"]
    assert trail["protect"]


def test_data_events_are_only_the_state_buckets_object_writes(org):
    (trail,) = org.resources(TRAIL)
    selectors = trail["inputs"]["advancedEventSelectors"]
    data = [s for s in selectors if {"field": "eventCategory", "equals": ["Data"]} in s["fieldSelectors"]]
    (state,) = data
    prefixes = next(f["startsWiths"] for f in state["fieldSelectors"] if f["field"] == "resources.ARN")
    assert prefixes == [f"arn:aws:s3:::{org.snapshot['outputs']['management']['stateBucket']}/"]
    assert {"field": "readOnly", "equals": ["false"]} in state["fieldSelectors"]


def test_the_key_lets_cloudtrail_encrypt_for_this_trail_only(org):
    (trail,) = org.resources(TRAIL)
    key = org.one("aws:kms/key:Key", "org-trail")
    assert trail["inputs"]["kmsKeyId"] == key["arn"]
    policy = json.loads(key["inputs"]["policy"])
    (encrypts,) = [s for s in policy["Statement"] if s.get("Sid") == "CloudTrailEncrypts"]
    assert encrypts["Condition"]["StringEquals"]["aws:SourceArn"] == trail["arn"]
    assert encrypts["Principal"] == {"Service": "cloudtrail.amazonaws.com"}


def test_the_trail_waits_for_the_archive_bucket_policy_and_trusted_access(org):
    (trail,) = org.resources(TRAIL)
    policy = org.one("aws:s3/bucketPolicy:BucketPolicy", "log-archive")
    organization = org.one("aws:organizations/organization:Organization", "organization")
    assert {policy["urn"], organization["urn"]} <= set(trail["dependencies"])
    assert "cloudtrail.amazonaws.com" in organization["inputs"]["awsServiceAccessPrincipals"]
