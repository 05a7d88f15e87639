"""The cache user's password rotates: one function for one secret and one user, set up without a day-one rotation."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from components.cache_user_rotation import CODE_FILES, HANDLER, CacheUserRotation, CacheUserRotationArgs
from tests.conftest import ROOT, run_preview

SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
FUNCTION = "aws:lambda/function:Function"


def credentials_arn(preview) -> str:
    """The ARN the mocks gave the credentials secret (Secret outputs are not in the snapshot; its users say it)."""
    return preview.one(ROTATION, "cache-credentials")["inputs"]["secretId"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_credentials_secret_rotates_on_the_configured_schedule_without_a_day_one_rotation(shipped_preview, stack):
    preview = shipped_preview(stack)
    rotation = preview.one(ROTATION, "cache-credentials")["inputs"]
    assert preview.one(SECRET, "cache-credentials")["inputs"]["name"] == f"shop-{stack}-cache-credentials"
    assert rotation["secretId"].split(":secret:")[1].startswith(f"shop-{stack}-cache-credentials")
    assert rotation["rotationRules"] == {"automaticallyAfterDays": 30}
    assert rotation["rotateImmediately"] is False, "set-up tests the function; it must not change a password in use"
    function = preview.one(FUNCTION, "cache-rotation")
    assert rotation["rotationLambdaArn"].endswith(f":function:{function['inputs']['name']}")


def test_the_rotation_days_come_from_the_stack_config(stack_yaml, tmp_path):
    result = run_preview(
        "dev", tmp_path, "--config", str(stack_yaml("dev", {"aws-platform:cache": {"passwordRotationDays": 7}}))
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.one(ROTATION, "cache-credentials")["inputs"]["rotationRules"] == {"automaticallyAfterDays": 7}


def test_the_function_may_rotate_one_secret_for_one_user_and_nothing_else(shipped_preview):
    prod = shipped_preview("prod")
    secret, user = credentials_arn(prod), prod.one("aws:elasticache/user:User", "cache-app")
    function = prod.one(FUNCTION, "cache-rotation")["inputs"]
    user_arn = function["environment"]["variables"]["USER_ARN"]
    assert function["environment"]["variables"] == {"SECRET_ARN": secret, "USER_ARN": user_arn}
    assert user_arn.endswith(f":user:{user['inputs']['userId']}")
    permission = prod.one("aws:lambda/permission:Permission", "cache-credentials-rotation")["inputs"]
    assert (permission["principal"], permission["sourceArn"]) == ("secretsmanager.amazonaws.com", secret)

    statements = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "cache-rotation")["inputs"]["policy"])[
        "Statement"
    ]
    by_resource: dict[str, set[str]] = {}
    for statement in statements:
        for resource in statement["Resource"]:
            by_resource.setdefault(resource, set()).update(statement["Action"])
    assert {a for a in by_resource[secret] if a.startswith("secretsmanager:")} == {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    }
    assert by_resource[user_arn] == {"elasticache:DescribeUsers", "elasticache:ModifyUser"}
    # "*" only where IAM has no resource to name: the password generator and X-Ray.
    assert by_resource["*"] == {"secretsmanager:GetRandomPassword", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_rotation_is_set_up_after_the_function_may_run_and_the_first_value_exists(shipped_preview):
    dev = shipped_preview("dev")
    rotation = dev.one(ROTATION, "cache-credentials")
    needed = {
        dev.one(VERSION, "cache-credentials")["urn"],
        dev.one("aws:lambda/permission:Permission", "cache-credentials-rotation")["urn"],
        dev.one("aws:iam/rolePolicy:RolePolicy", "cache-rotation")["urn"],
    }
    assert needed <= set(rotation["dependencies"]), "set-up runs testSecret at once"


def test_a_failed_rotation_alarms_the_alerts_topic(shipped_preview):
    prod = shipped_preview("prod")
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "cache-rotation-errors")["inputs"]
    topic = prod.snapshot["outputs"]["alerts_topic_arn"]
    function = prod.one(FUNCTION, "cache-rotation")["inputs"]["name"]
    assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (
        "AWS/Lambda",
        "Errors",
        {"FunctionName": function},
    )
    assert alarm["threshold"] == 0 and alarm["comparisonOperator"] == "GreaterThanThreshold"
    assert alarm["alarmActions"] == [topic] and alarm["okActions"] == [topic]


def test_services_start_after_their_credentials_are_readable(shipped_preview):
    dev = shipped_preview("dev")
    grant = dev.one("aws:secretsmanager/secretPolicy:SecretPolicy", "cache-credentials")
    assert "shop-dev-api-task" in grant["inputs"]["policy"]
    services = dev.resources("aws:ecs/service:Service")
    assert services and all(grant["urn"] in s["dependencies"] for s in services)


def test_the_function_archive_holds_every_module_its_handler_imports():
    module = HANDLER.rsplit(".", 1)[0].replace(".", "/") + ".py"
    assert module in CODE_FILES
    archived = set(CODE_FILES)
    for path in CODE_FILES:
        assert (ROOT / path).is_file(), path
        for node in ast.walk(ast.parse(Path(ROOT / path).read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lambda_src"):
                assert node.module.replace(".", "/") + ".py" in archived, f"{path} imports {node.module}"


@pytest.mark.parametrize("days", [0, 366])
def test_the_component_refuses_a_rotation_period_out_of_range(days):
    from foundation.identity import StackIdentity

    identity = StackIdentity.__new__(StackIdentity)  # refused before the identity is used
    with pytest.raises(ValueError, match=rf"passwordRotationDays {days} \(allowed: 1\.\.365"):
        CacheUserRotation("cache-rotation", CacheUserRotationArgs(identity, "arn:s", "arn:u", rotation_days=days))
