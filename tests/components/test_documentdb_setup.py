"""The DocumentDB user and change streams are set up during `pulumi up`, before anything uses them (issue 12 item 4);
the same function rotates the app user's secret (issue 13)."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from components.documentdb_setup import SETUP_BUILD

INVOCATION = "aws:lambda/invocation:Invocation"
FUNCTION = "aws:lambda/function:Function"
SERVICE = "aws:ecs/service:Service"
INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
IMAGE = "docker-build:index:Image"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
PERMISSION = "aws:lambda/permission:Permission"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROOT = pathlib.Path(__file__).resolve().parents[2]
ROTATION_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
]


def app_secret_arn(preview, stack):
    arn = preview.one(ROTATION, "documentdb-app-user")["inputs"]["secretId"]
    assert re.fullmatch(rf"arn:aws:secretsmanager:[a-z0-9-]+:\d{{12}}:secret:shop-{stack}-documentdb-app-user-\w+", arn)
    return arn


@pytest.mark.parametrize("stack,change_streams", [("staging", True), ("prod", False), ("dev", False)])
def test_setup_runs_after_the_instances_and_before_every_service(shipped_preview, stack, change_streams):
    preview = shipped_preview(stack)
    run = preview.one(INVOCATION, "documentdb-setup")
    event = json.loads(run["inputs"]["input"])
    assert event["database"] == "shop" and event["changeStreams"] is change_streams
    assert {"masterSecretArn", "appSecretArn"} <= set(event) and "password" not in run["inputs"]["input"]
    instances = [r["urn"] for r in preview.resources(INSTANCE)]
    assert instances and set(instances) <= set(run["dependencies"])
    for service in preview.resources(SERVICE):
        if service["name"] in ("api-service", "web-service", "docsync"):
            assert run["urn"] in service["dependencies"], service["name"]


def test_setup_function_reaches_documentdb_from_its_own_security_group_only(shipped_preview):
    staging = shipped_preview("staging")
    function = staging.one(FUNCTION, "documentdb-setup")
    assert (
        function["inputs"]["packageType"] == "Image" and function["inputs"]["name"] == "shop-staging-documentdb-setup"
    )
    sg = staging.one("aws:ec2/securityGroup:SecurityGroup", "documentdb-setup")
    (attached,) = function["inputs"]["vpcConfig"]["securityGroupIds"]
    assert attached.startswith("sg-") and sg["urn"] in function["dependencies"]
    admitted = [
        r for r in staging.resources(INGRESS) if r["name"].startswith("documentdb") and sg["urn"] in r["dependencies"]
    ]
    assert [(r["inputs"]["fromPort"], r["inputs"]["toPort"]) for r in admitted] == [(27017, 27017)]


# --- the app secret's rotation (issue 13) ------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_app_secret_rotates_every_30_days_through_the_setup_function(shipped_preview, stack):
    preview = shipped_preview(stack)
    arn = app_secret_arn(preview, stack)
    rotation = preview.one(ROTATION, "documentdb-app-user")
    inputs = rotation["inputs"]
    assert inputs["rotateImmediately"] is False, "set-up runs testSecret only; the first rotation is on schedule"
    assert inputs["rotationRules"] == {"automaticallyAfterDays": 30}
    assert inputs["rotationLambdaArn"].endswith(f":function:shop-{stack}-documentdb-setup")
    # Set-up's testSecret needs the invoke grant, the role's permissions and the user the invocation made.
    needed = [preview.one(PERMISSION, "documentdb-app-user-rotation"), preview.one(ROLE_POLICY, "documentdb-setup")]
    needed.append(preview.one(INVOCATION, "documentdb-setup"))
    assert {r["urn"] for r in needed} <= set(rotation["dependencies"])
    permission = preview.one(PERMISSION, "documentdb-app-user-rotation")["inputs"]
    assert permission["principal"] == "secretsmanager.amazonaws.com" and permission["sourceArn"] == arn
    assert permission["function"] == f"shop-{stack}-documentdb-setup"
    variables = preview.one(FUNCTION, "documentdb-setup")["inputs"]["environment"]["variables"]
    assert variables["APP_SECRET_ARN"] == arn and variables["DATABASE"] == "shop"
    assert variables["DOCUMENTDB_ENDPOINT"].endswith(".docdb.amazonaws.com") and variables["DOCUMENTDB_PORT"] == "27017"
    assert variables["MASTER_SECRET_ARN"] != arn and "password" not in json.dumps(variables).lower()


def test_the_role_rotates_the_app_secret_only_and_reads_the_master_secret_only(shipped_preview):
    staging = shipped_preview("staging")
    arn = app_secret_arn(staging, "staging")
    master = staging.one(FUNCTION, "documentdb-setup")["inputs"]["environment"]["variables"]["MASTER_SECRET_ARN"]
    policy = json.loads(staging.one(ROLE_POLICY, "documentdb-setup")["inputs"]["policy"])
    grants = {tuple(s["Action"]): s["Resource"] for s in policy["Statement"]}
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in policy["Statement"])
    assert grants == {
        ("secretsmanager:GetSecretValue",): [master],
        tuple(ROTATION_ACTIONS): [arn],
        # Neither reads a secret nor supports resource-level permissions.
        ("secretsmanager:GetRandomPassword",): ["*"],
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"): ["*"],
    }


def test_the_function_reaches_secrets_manager_over_https(shipped_preview):
    staging = shipped_preview("staging")
    sg = staging.one("aws:ec2/securityGroup:SecurityGroup", "documentdb-setup")["urn"]
    egress = [
        r["inputs"]
        for r in staging.resources("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if sg in r["dependencies"]
    ]
    assert {(e["fromPort"], e["toPort"], e.get("cidrIpv4")) for e in egress} >= {(443, 443, "0.0.0.0/0")}


def test_the_image_holds_the_rotation_protocol_at_its_package_path(shipped_preview):
    """The handler imports lambda_src.secret_rotation.protocol: the context is lambda_src/ and the COPY lines keep
    the package path; the CMD names a module the image has."""
    (image,) = [i for i in shipped_preview("staging").resources(IMAGE) if i["name"].startswith("documentdb-setup")]
    assert image["inputs"]["context"] == {"location": SETUP_BUILD.context} == {"location": "lambda_src"}
    assert image["inputs"]["dockerfile"] == {"location": "lambda_src/documentdb_setup/Dockerfile"}
    dockerfile = (ROOT / SETUP_BUILD.context / SETUP_BUILD.dockerfile).read_text()
    copied: set[str] = set()
    for sources, destination in re.findall(r"^COPY ((?:\S+ )+)\$\{LAMBDA_TASK_ROOT\}/(\S*)$", dockerfile, re.M):
        for source in sources.split():
            assert (ROOT / SETUP_BUILD.context / source).is_file(), source
            copied.add(destination + pathlib.Path(source).name if destination.endswith("/") else destination)
    handler = (ROOT / "lambda_src/documentdb_setup/handler.py").read_text()
    imported = {m.replace(".", "/") + ".py" for m in re.findall(r"^from (lambda_src\.[\w.]+) import", handler, re.M)}
    assert imported == {"lambda_src/secret_rotation/protocol.py"}
    packages = {"lambda_src/__init__.py", "lambda_src/secret_rotation/__init__.py"}
    assert imported | packages | {"lambda_src/documentdb_setup/handler.py"} <= copied
    (cmd,) = re.findall(r'^CMD \["([\w.]+)"\]$', dockerfile, re.M)
    assert cmd.rsplit(".", 1)[0].replace(".", "/") + ".py" in copied
    # The CA bundle lands beside handler.py, where the handler looks for it.
    assert "${LAMBDA_TASK_ROOT}/lambda_src/documentdb_setup/global-bundle.pem" in dockerfile


def test_a_failed_setup_or_rotation_alarms_the_alerts_topic(shipped_preview):
    prod = shipped_preview("prod")
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "documentdb-setup-errors")["inputs"]
    function = prod.one(FUNCTION, "documentdb-setup")["inputs"]["name"]
    assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (
        "AWS/Lambda",
        "Errors",
        {"FunctionName": function},
    )
    assert alarm["threshold"] == 0 and alarm["alarmActions"] == [prod.snapshot["outputs"]["alerts_topic_arn"]]
