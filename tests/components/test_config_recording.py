"""AWS Config records every account and allowed region into the log archive (components/config_recording.py)."""

from __future__ import annotations

import json

import pytest

import stack_config

INSTANCE = "aws:cloudformation/stackSetInstance:StackSetInstance"


@pytest.fixture(scope="module")
def org(shipped_preview):
    return shipped_preview("org")


def test_every_ou_gets_a_recorder_in_every_allowed_region_home_region_first(org):
    config = stack_config.load_file("org").organization
    home = stack_config.load_file("org").region
    instances = [i for i in org.resources(INSTANCE) if i["name"].startswith("config-recording-")]
    ou_ids = org.snapshot["outputs"]["organizational_unit_ids"]
    for ou, ou_id in ou_ids.items():
        mine = {
            i["inputs"]["stackSetInstanceRegion"]: i
            for i in instances
            if i["inputs"]["deploymentTargets"]["organizationalUnitIds"] == [ou_id]
        }
        assert set(mine) == set(config.guardrails.allowed_regions), ou
        for region, instance in mine.items():
            if region != home:
                assert mine[home]["urn"] in instance["dependencies"], (ou, region)


def test_the_template_records_everything_and_delivers_to_the_archive_under_its_key(org):
    (stack_set,) = [s for s in org.resources("aws:cloudformation/stackSet:StackSet") if s["name"] == "config-recording"]
    template = json.loads(stack_set["inputs"]["templateBody"])
    recorder = template["Resources"]["Recorder"]["Properties"]
    assert recorder["RecordingGroup"]["AllSupported"] is True
    channel = template["Resources"]["DeliveryChannel"]["Properties"]
    assert channel["S3BucketName"] == org.one("aws:s3/bucket:Bucket", "log-archive")["inputs"]["bucket"]
    assert channel["S3KmsKeyArn"] == org.one("aws:kms/key:Key", "log-archive")["arn"]
    policy = org.one("aws:s3/bucketPolicy:BucketPolicy", "log-archive")["urn"]
    assert policy in stack_set["dependencies"]


def test_the_management_account_records_natively_in_every_allowed_region(org):
    config = stack_config.load_file("org").organization
    statuses = org.resources("aws:cfg/recorderStatus:RecorderStatus")
    assert {s["inputs"]["region"] for s in statuses} == set(config.guardrails.allowed_regions)
    assert all(s["inputs"]["isEnabled"] for s in statuses)
    globals_ = {
        r["inputs"]["region"]
        for r in org.resources("aws:cfg/recorder:Recorder")
        if r["inputs"]["recordingGroup"]["includeGlobalResourceTypes"]
    }
    assert globals_ == {stack_config.load_file("org").region}  # global types once, in the home region
