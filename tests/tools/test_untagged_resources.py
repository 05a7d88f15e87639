"""The unclaimed-resource finder against moto's Tagging API on loopback, with tags from the conventions."""

from __future__ import annotations

import json

import boto3
import pytest

from policies import conventions
from tools.untagged_resources import main, unclaimed

REGION = "eu-west-1"


def stack_tags(stack: str = "dev") -> dict[str, str]:
    return conventions.required_tags(
        stage="dev", context="shop", owner="platform-team", usage="PRODUCTION", stack=stack
    )


@pytest.fixture
def account(fresh_aws, monkeypatch):
    """A region holding what a stack made and what people made by hand."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    made = {}

    def bucket(name: str, tags: dict[str, str]) -> None:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
        made[name] = f"arn:aws:s3:::{name}"

    bucket("shop-dev-assets", stack_tags())
    bucket("hotfix-exports", {"owner": "alice"})  # made by hand during an incident
    partial = {k: v for k, v in stack_tags().items() if k != "stack"}
    made["legacy-queue"] = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="legacy-queue", tags=partial)["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": k, "Value": v} for k, v in stack_tags().items()])
    return made


def test_lists_exactly_the_resources_without_the_ownership_tags(account):
    client = boto3.client("resourcegroupstaggingapi", region_name=REGION)
    found = {u.arn: u.missing for u in unclaimed(client)}
    assert found == {account["hotfix-exports"]: ("managed-by", "stack"), account["legacy-queue"]: ("stack",)}


def test_the_tag_keys_are_the_conventions(account):
    client = boto3.client("resourcegroupstaggingapi", region_name=REGION)
    assert conventions.OWNERSHIP_TAGS == ("managed-by", "stack")
    assert set(conventions.OWNERSHIP_TAGS) <= set(conventions.REQUIRED_TAGS)
    found = {u.arn for u in unclaimed(client, keys=("owner",))}  # the finder asks for whatever keys it is given
    assert account["legacy-queue"] not in found and account["hotfix-exports"] not in found


def test_command_prints_json_and_can_fail_a_scheduled_job(account, capsys):
    assert main(["--region", REGION, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(item["arn"] for item in listed) == sorted([account["hotfix-exports"], account["legacy-queue"]])
    assert main(["--region", REGION, "--fail-on-found"]) == 1
    assert "2 resource(s) in eu-west-1 without managed-by and stack tags" in capsys.readouterr().out
