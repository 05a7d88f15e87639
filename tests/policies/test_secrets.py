"""no-plaintext-secrets (issue 34): a secret planted in any input class fails with a mandatory violation naming
the resource, the input path and the detector, never the value; what Pulumi marks secret passes.

Planted values are made at test time (random, never in the repository), in the shapes detect-secrets' plugins
know: a password next to its name, an AWS access key id, a connection string with a password, a JWT.
"""

from __future__ import annotations

import base64
import json
import secrets
import string

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from policies import secret_scan
from tests.conftest import resource

POLICY = secret_scan.POLICY
PASSWORD = "Zq" + secrets.token_urlsafe(18)
ACCESS_KEY = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
SEGMENT = base64.urlsafe_b64encode(json.dumps({"sub": secrets.token_hex(8)}).encode()).decode().rstrip("=")
JWT = f"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{SEGMENT}.{secrets.token_urlsafe(32)}"
PLANTED = (PASSWORD, ACCESS_KEY, JWT)


def task_definition(stack: str, environment: list[dict]) -> dict:
    containers = [{"name": "api", "image": "repo@sha256:" + "a" * 64, "environment": environment}]
    return resource(
        stack, "aws:ecs/taskDefinition:TaskDefinition", "api", {"containerDefinitions": json.dumps(containers)}
    )


# One planted secret per input class the issue names: (resource, the path the finding must name, its detector).
INPUT_CLASSES = {
    "container environment": (
        lambda s: task_definition(s, [{"name": "STAGE", "value": "prod"}, {"name": "DB_PASSWORD", "value": PASSWORD}]),
        "containerDefinitions[0].environment[1].value",
        "Secret Keyword",
    ),
    "Lambda environment": (
        lambda s: resource(
            s, "aws:lambda/function:Function", "worker", {"environment": {"variables": {"DB_PASSWORD": PASSWORD}}}
        ),
        "environment.variables.DB_PASSWORD",
        "Secret Keyword",
    ),
    "SSM String parameter": (
        lambda s: resource(
            s,
            "aws:ssm/parameter:Parameter",
            "api-key",
            {"name": f"/{s}/shop/api", "type": "String", "value": ACCESS_KEY},
        ),
        "value",
        "AWS Access Key",
    ),
    "launch template user data": (
        lambda s: resource(
            s,
            "aws:ec2/launchTemplate:LaunchTemplate",
            "ecs-hosts",
            {"userData": base64.b64encode(f"#!/bin/bash\nexport DB_PASSWORD={PASSWORD}\n".encode()).decode()},
        ),
        "userData(base64) (line 2)",
        "Secret Keyword",
    ),
    "EC2 user data": (
        lambda s: resource(
            s, "aws:ec2/instance:Instance", "bastion", {"userData": f"#!/bin/bash\nexport DB_PASSWORD='{PASSWORD}'\n"}
        ),
        "userData (line 2)",
        "Secret Keyword",
    ),
    "tag": (
        lambda s: resource(s, "aws:s3/bucket:Bucket", "assets", {"tags": {"note": ACCESS_KEY}}),
        "tags.note",
        "AWS Access Key",
    ),
    "CloudFormation template body": (
        lambda s: resource(
            s,
            "aws:cloudformation/stack:Stack",
            "bootstrap",
            {"templateBody": json.dumps({"Parameters": {"DbPassword": {"Type": "String", "Default": PASSWORD}}})},
        ),
        "templateBody.Parameters.DbPassword.Default",
        "Secret Keyword",
    ),
    "CloudFormation YAML template body": (
        lambda s: resource(
            s,
            "aws:cloudformation/stackSet:StackSet",
            "bootstrap",
            {
                "templateBody": "Parameters:\n  DbPassword:\n    Type: String\n"
                f"    Default: {PASSWORD}\n"
                "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"
                "    Properties:\n      QueueName: !Sub '${AWS::StackName}-queue'\n"
            },
        ),
        "templateBody.Parameters.DbPassword.Default",
        "Secret Keyword",
    ),
    "Step Functions definition": (
        lambda s: resource(
            s,
            "aws:sfn/stateMachine:StateMachine",
            "sync",
            {"definition": json.dumps({"States": {"Call": {"Parameters": {"Headers": {"Authorization": JWT}}}}})},
        ),
        "definition.States.Call.Parameters.Headers.Authorization",
        "JSON Web Token",
    ),
    "connection string": (
        lambda s: resource(
            s,
            "aws:cloudformation/stack:Stack",
            "sync",
            {"parameters": {"SourceUri": f"mongodb://app:{PASSWORD}@docs.example.com:27017/shop"}},
        ),
        "parameters.SourceUri",
        "Basic Auth Credentials",
    ),
}


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("input_class", sorted(INPUT_CLASSES))
def test_a_planted_secret_fails_mandatory_naming_resource_path_and_detector(
    analyze, policy_pack, stack, input_class
) -> None:
    make, path, detector = INPUT_CLASSES[input_class]
    planted = make(stack)
    config = policy_pack_config(stack)
    found = [v for v in analyze(stack, [planted], config=config) if v.policy == POLICY]
    assert len(found) == 1, found
    (violation,) = found
    assert violation.failing and violation.level == "mandatory" and violation.severity == "critical"
    assert violation.urn == planted["urn"]
    assert f"'{planted['name']}' input {path}:" in violation.detail
    assert detector in violation.detail
    assert "Secrets Manager" in violation.detail and "pulumi config set --secret" in violation.detail
    assert not any(value in violation.message for value in PLANTED)


def policy_pack_config(stack: str) -> dict:
    """The stack's shipped levels (dev is advisory for most policies, never for this one)."""
    from preview import policy_client

    return policy_client.policy_config_for(stack)


def test_references_names_and_digests_pass(analyze) -> None:
    """What the platform passes where a secret might go: ARNs, secret ids, image digests, UUIDs, KMS key ids."""
    env = [
        {"name": "DB_SECRET_ARN", "value": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-prod-db-AbCdEf"},
        {"name": "KMS_KEY_ID", "value": "1234abcd-12ab-34cd-56ef-1234567890ab"},
        {"name": "REQUEST_ID", "value": secrets.token_hex(16)},
        {"name": "PASSWORD_PARAMETER_NAME", "value": "/prod/shop/db-password"},
    ]
    inputs = [
        task_definition("prod", env),
        resource("prod", "aws:secretsmanager/secretVersion:SecretVersion", "db", {"secretId": secrets.token_hex(9)}),
        resource(
            "prod",
            "aws:lambda/function:Function",
            "worker",
            {
                "imageUri": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:{secrets.token_hex(32)}",
                "kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "environment": {"variables": {"SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:x"}},
            },
        ),
        # CloudWatch's load balancer dimensions are ARN suffixes whose ids are random hex: this id scores 4.6 bits, over
        # Base64HighEntropyString's 4.5 (found on a generated stack of 50 services).
        resource(
            "prod",
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "api-target-5xx",
            {
                "dimensions": {
                    "LoadBalancer": f"app/shop-prod-alb/{secrets.token_hex(8)}",
                    "TargetGroup": "targetgroup/shop-prod-svc-025-tg/63192d8bbef71406",
                }
            },
        ),
    ]
    assert [v for v in analyze("prod", inputs) if v.policy == POLICY] == []


def test_an_input_pulumi_marks_secret_passes_through_the_real_interface(policy_pack) -> None:
    """The engine sends a secret as its envelope with the plaintext inside (KeepSecrets): pulumi-policy unwraps it
    for policies, so the pack must read the wire form to pass it. The same value unmarked fails."""
    policy_pack.configure("prod", {"all": "mandatory"})

    def analyzed(variable: object) -> list:
        props = struct_pb2.Struct()
        props.update({"environment": {"variables": {"DB_PASSWORD": variable}}})
        request = analyzer_pb2.AnalyzeRequest(
            type="aws:lambda/function:Function",
            urn="urn:pulumi:prod::aws-platform::aws:lambda/function:Function::worker",
            name="worker",
            properties=props,
        )
        return [v for v in policy_pack.analyze([request]) if v.policy == POLICY]

    assert analyzed({secret_scan.SIG_KEY: secret_scan.SECRET_SIG, "value": PASSWORD}) == []
    assert len(analyzed(PASSWORD)) == 1


def test_every_shipped_stack_has_no_finding_so_no_false_positive(shipped_preview) -> None:
    """The false-positive rate on the shipped stacks (which hold no secret in plain sight): 0, none accepted."""
    from tests.conftest import SHIPPED_STACKS

    for stack in (*SHIPPED_STACKS, "org"):
        result = shipped_preview(stack)
        scanned = [(r["urn"], f) for r in result.resources() for f in secret_scan.findings(r["inputs"])]
        assert scanned == [], stack
        assert POLICY not in result.stdout, stack
