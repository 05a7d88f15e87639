"""Image repositories: dedicated, immutable, scanned, retained in prod; images referenced by digest."""

from __future__ import annotations

import copy
import json

from components.image_repository import PUSH_ACTIONS, context_tag, lifecycle_policy, repository_policy
from stack_config.services import BuildSource, ImageRepositoriesConfig
from tests.conftest import load_stack_yaml, run_preview

REPO = "aws:ecr/repository:Repository"
IMAGE = "docker-build:index:Image"


def test_one_repository_per_application_protected_in_prod_only(shipped_preview):
    for stack, protected in (("prod", True), ("dev", False)):
        preview = shipped_preview(stack)
        repos = {r["inputs"]["name"]: r for r in preview.resources(REPO)}
        # One per application: the two services and the edge renderer.
        assert set(repos) == {f"shop-{stack}-api", f"shop-{stack}-web", f"shop-{stack}-prerender"}
        for repo in repos.values():
            assert repo["protect"] is protected and repo["retainOnDelete"] is protected
            assert repo["inputs"]["imageTagMutability"] == "IMMUTABLE"
            assert "imageTagMutabilityExclusionFilters" not in repo["inputs"]
            assert repo["inputs"]["imageScanningConfiguration"] == {"scanOnPush": True}
            assert repo["inputs"]["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
            assert repo["inputs"]["forceDelete"] is (not protected)


def test_lifecycle_keeps_newest_100_and_expires_untagged():
    rules = json.loads(lifecycle_policy(ImageRepositoriesConfig()))["rules"]
    untagged, tagged = rules
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 7,
    }
    assert tagged["selection"]["countType"] == "imageCountMoreThan" and tagged["selection"]["countNumber"] == 100


def test_each_repository_has_its_lifecycle_policy(shipped_preview):
    prod = shipped_preview("prod")
    policies = {r["name"]: r for r in prod.resources("aws:ecr/lifecyclePolicy:LifecyclePolicy")}
    assert policies["api-images-lifecycle"]["inputs"]["repository"] == "shop-prod-api"
    assert (
        json.loads(policies["api-images-lifecycle"]["inputs"]["policy"])["rules"][1]["selection"]["countNumber"] == 100
    )


def test_image_build_waits_for_its_repository(shipped_preview):
    prod = shipped_preview("prod")
    repo = prod.one(REPO, "api-images-repository")
    (image,) = [i for i in prod.resources(IMAGE) if i["name"].startswith("api-")]
    assert repo["urn"] in image["dependencies"]
    (tag,) = image["inputs"]["tags"]
    assert tag.startswith("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-prod-api:ctx-")
    assert image["inputs"]["push"] is True and image["inputs"]["platforms"] == ["linux/amd64"]
    assert image["inputs"]["context"] == {"location": "apps/api"}


def test_task_definitions_reference_images_by_digest(shipped_preview):
    prod = shipped_preview("prod")
    for name, expected in (("api-task", "shop-prod-api@sha256:"), ("web-task", "shop-prod-web@sha256:")):
        (container,) = json.loads(
            prod.one("aws:ecs/taskDefinition:TaskDefinition", name)["inputs"]["containerDefinitions"]
        )
        repository, digest = container["image"].split("@")
        assert container["image"].endswith(digest) and expected.split("@")[0] in repository
        assert len(digest) == len("sha256:") + 64
    assert prod.snapshot["outputs"]["services"]["api"]["image"].startswith(
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-prod-api@sha256:"
    )


def test_push_role_has_exactly_the_push_actions(shipped_preview):
    prod = shipped_preview("prod")
    policy = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "api-images-push")["inputs"]["policy"])
    push, login = policy["Statement"]
    assert set(push["Action"]) == set(PUSH_ACTIONS) and push["Resource"].endswith(":repository/shop-prod-api")
    assert login == {
        "Sid": "RegistryLogin",
        "Effect": "Allow",
        "Action": ["ecr:GetAuthorizationToken"],
        "Resource": "*",
    }


def test_repository_policy_lets_only_the_push_role_push_and_execution_roles_pull():
    policy = json.loads(repository_policy("arn:push", ["arn:exec"]))
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["NobodyElseWrites"]["Effect"] == "Deny"
    assert by_sid["NobodyElseWrites"]["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": "arn:push"}
    assert by_sid["NobodyElsePulls"]["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": ["arn:exec", "arn:push"]}
    assert "ecr:PutImage" not in by_sid["ExecutionRolesPull"]["Action"]


def test_shipped_repository_policy_names_the_service_execution_role(shipped_preview):
    prod = shipped_preview("prod")
    policy = json.loads(prod.one("aws:ecr/repositoryPolicy:RepositoryPolicy", "api-images-access")["inputs"]["policy"])
    readers = next(s for s in policy["Statement"] if s["Sid"] == "ExecutionRolesPull")["Principal"]["AWS"]
    assert readers == [
        "arn:aws:iam::123456789012:role/shop-prod-api-ecr-push",
        "arn:aws:iam::123456789012:role/shop-prod-api-execution",
    ]


def test_push_uses_the_push_roles_login(shipped_preview):
    prod = shipped_preview("prod")
    provider = prod.one("pulumi:providers:aws", "api-images-ecr-push")
    assert (
        json.loads(provider["inputs"]["assumeRoles"])[0]["roleArn"]
        == "arn:aws:iam::123456789012:role/shop-prod-api-ecr-push"
    )


def test_tag_exclusions_only_where_config_asks(stack_yaml, tmp_path):
    document = copy.deepcopy(load_stack_yaml("dev")["config"]["aws-platform:containers"])
    document["imageRepositories"] = {"immutableTagExclusions": ["cache*"]}
    result = run_preview(
        "dev", tmp_path, "--config", str(stack_yaml("dev", {"aws-platform:containers": document})), "--no-policy"
    )
    assert result.exit_code == 0, result.stderr
    for repo in result.resources(REPO):
        assert repo["inputs"]["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
        assert repo["inputs"]["imageTagMutabilityExclusionFilters"] == [{"filter": "cache*", "filterType": "WILDCARD"}]


def test_context_tag_changes_with_content_only(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    build = BuildSource(context="app")
    first = context_tag(build, "linux/amd64", root=tmp_path)
    assert first == context_tag(build, "linux/amd64", root=tmp_path)
    assert first != context_tag(build, "linux/arm64", root=tmp_path)
    (tmp_path / "app" / "main.py").write_text("print('v2')\n")
    assert context_tag(build, "linux/amd64", root=tmp_path) != first


def test_no_two_resources_share_a_urn(shipped_preview):
    for stack in ("dev", "staging", "prod"):
        urns = [r["urn"] for r in shipped_preview(stack).resources()]
        assert len(urns) == len(set(urns)), stack


def test_lambda_image_is_single_platform_without_an_index(shipped_preview):
    """Lambda rejects manifest lists: the renderer's image is one platform, Docker media types."""
    (image,) = [i for i in shipped_preview("prod").resources(IMAGE) if i["name"].startswith("prerender-")]
    assert image["inputs"]["platforms"] == ["linux/amd64"]
    (export,) = image["inputs"]["exports"]
    assert export["registry"]["ociMediaTypes"] is False and export["registry"]["push"] is True
    assert image["inputs"]["context"] == {"location": "lambda_src"}
    assert image["inputs"]["dockerfile"] == {"location": "lambda_src/renderer/Dockerfile"}


def test_push_roles_trust_only_cis_deploy_role_never_the_account(shipped_preview):
    from foundation.ci_identity import deploy_role_name

    for stack in ("dev", "prod"):
        for role in shipped_preview(stack).resources("aws:iam/role:Role"):
            if not role["name"].endswith("-push"):
                continue
            (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
            assert statement["Principal"] == {"AWS": f"arn:aws:iam::123456789012:role/{deploy_role_name()}"}
            assert ":root" not in role["inputs"]["assumeRolePolicy"]
