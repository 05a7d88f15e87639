"""Image repositories: dedicated, immutable, scanned, retained in prod; images referenced by digest."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable

import pytest
import yaml

from components.image_repository import PUSH_ACTIONS, context_tag, copy_script, lifecycle_policy, repository_policy
from policies import conventions
from stack_config.services import BuildSource, ImageRepositoriesConfig
from tests.conftest import ROOT, PreviewResult, load_stack_yaml, run_preview, stack_account

PROD_ACCOUNT, STAGING_ACCOUNT = stack_account("prod"), stack_account("staging")

REPO = "aws:ecr/repository:Repository"
IMAGE = "docker-build:index:Image"


def test_one_repository_per_application_protected_in_prod_only(shipped_preview):
    for stack, protected in (("prod", True), ("dev", False)):
        preview = shipped_preview(stack)
        repos = {r["inputs"]["name"]: r for r in preview.resources(REPO)}
        # One per application: the two services, the edge renderer and the DocumentDB setup function.
        assert set(repos) == {f"shop-{stack}-{app}" for app in ("api", "web", "prerender", "documentdb-setup")}
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


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_no_lifecycle_rule_can_expire_an_image_a_stack_pins(shipped_preview, stack):
    """Only untagged images (a pinned one must be tagged) and the stack's own builds expire (issue 12 item 6)."""
    preview = shipped_preview(stack)
    for policy in preview.resources("aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        for rule in json.loads(policy["inputs"]["policy"])["rules"]:
            selection = rule["selection"]
            assert selection["tagStatus"] == "untagged" or (
                selection["tagStatus"] == "tagged" and selection["tagPrefixList"] == [conventions.BUILD_TAG_PREFIX]
            ), f"{policy['name']}: {rule}"
    built = [r for r in preview.resources() if r["type"].startswith("docker-build:index:Image")]
    assert built and all(
        tag.split(":")[-1].startswith(conventions.BUILD_TAG_PREFIX) for r in built for tag in r["inputs"]["tags"]
    )


def test_each_repository_has_its_lifecycle_policy(shipped_preview):
    prod = shipped_preview("prod")
    policies = {r["name"]: r for r in prod.resources("aws:ecr/lifecyclePolicy:LifecyclePolicy")}
    assert policies["api-images-lifecycle"]["inputs"]["repository"] == "shop-prod-api"
    assert (
        json.loads(policies["api-images-lifecycle"]["inputs"]["policy"])["rules"][1]["selection"]["countNumber"] == 100
    )


def test_image_build_waits_for_its_repository(shipped_preview):
    staging = shipped_preview("staging")  # prod builds nothing: it promotes what staging built
    repo = staging.one(REPO, "api-images-repository")
    (image,) = [i for i in staging.resources(IMAGE) if i["name"].startswith("api-")]
    assert repo["urn"] in image["dependencies"]
    (tag,) = image["inputs"]["tags"]
    assert tag.startswith(f"{STAGING_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/shop-staging-api:ctx-")
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
        f"{PROD_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/shop-prod-api@sha256:"
    )


def test_push_role_has_exactly_the_push_actions(shipped_preview):
    staging = shipped_preview("staging")
    policy = json.loads(staging.one("aws:iam/rolePolicy:RolePolicy", "api-images-push")["inputs"]["policy"])
    push, login = policy["Statement"]
    assert set(push["Action"]) == set(PUSH_ACTIONS) and push["Resource"].endswith(":repository/shop-staging-api")
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
        f"arn:aws:iam::{PROD_ACCOUNT}:role/shop-prod-api-ecr-push",
        f"arn:aws:iam::{PROD_ACCOUNT}:role/shop-prod-api-execution",
    ]


def test_push_uses_the_push_roles_login(shipped_preview):
    prod = shipped_preview("prod")
    provider = prod.one("pulumi:providers:aws", "api-images-ecr-push")
    assert (
        json.loads(provider["inputs"]["assumeRoles"])[0]["roleArn"]
        == f"arn:aws:iam::{PROD_ACCOUNT}:role/shop-prod-api-ecr-push"
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


# --- build once, promote the digest (issue 12 item 7) -----------------------------------------------------

COMMAND = "command:local:Command"
TASK = "aws:ecs/taskDefinition:TaskDefinition"


def staging_outputs() -> dict:
    """What the offline preview's stack reference answers for staging: the digests staging ran."""
    references = json.loads((ROOT / "preview" / "stack_references.json").read_text())
    return references["organization/aws-platform/staging"]["services"]


@pytest.mark.parametrize("service", ["api", "web"])
def test_prod_runs_the_digest_staging_ran_from_its_own_repository(shipped_preview, service):
    prod = shipped_preview("prod")
    task = prod.one(TASK, f"{service}-task")
    (container,) = json.loads(task["inputs"]["containerDefinitions"])
    staged = staging_outputs()[service]["image"]
    assert container["image"].split("@")[1] == staged.split("@")[1]  # the same digest, byte for byte
    assert container["image"].startswith(f"{PROD_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/shop-prod-{service}@")
    assert not [r for r in prod.resources() if r["type"].startswith("docker-build:") and service in r["name"]]


def test_the_copy_keeps_the_digest_and_runs_before_the_service_in_one_up(shipped_preview):
    """A fresh prod is no dead end: repository, then copy, then task definition, all in the first `up`."""
    prod = shipped_preview("prod")
    copy = prod.one(COMMAND, "api-images-promote")
    script = copy["inputs"]["create"]
    staged = staging_outputs()["api"]["image"]
    digest_hex = staged.split(":")[-1]
    assert f'skopeo copy --preserve-digests --authfile "$AUTH" docker://{staged} ' in script
    assert f"/shop-prod-api:{conventions.promoted_tag('sha256:' + digest_hex)}" in script
    assert copy["inputs"]["environment"]["ECR_PASSWORD"] == "[secret]" and "ECR_PASSWORD" not in script.split("|")[1]
    assert prod.one(REPO, "api-images-repository")["urn"] in copy["dependencies"]
    assert copy["urn"] in prod.one(TASK, "api-task")["dependencies"]


def test_staging_lets_later_stages_push_roles_copy_and_nobody_else(shipped_preview):
    staging = shipped_preview("staging")
    policy = json.loads(
        staging.one("aws:ecr/repositoryPolicy:RepositoryPolicy", "api-images-access")["inputs"]["policy"]
    )
    statements = {s["Sid"]: s for s in policy["Statement"]}
    pattern = f"arn:aws:iam::{PROD_ACCOUNT}:role/shop-*-api-ecr-push"
    assert statements["LaterStagesPromote"]["Condition"] == {"ArnLike": {"aws:PrincipalArn": [pattern]}}
    assert "ecr:PutImage" not in statements["LaterStagesPromote"]["Action"]
    assert statements["NobodyElsePulls"]["Condition"]["ArnNotLike"] == {"aws:PrincipalArn": [pattern]}
    prod_push = json.loads(
        shipped_preview("prod").one("aws:iam/rolePolicy:RolePolicy", "api-images-push")["inputs"]["policy"]
    )
    (pull,) = [s for s in prod_push["Statement"] if s.get("Sid") == "PullPromoted"]
    assert pull["Resource"] == f"arn:aws:ecr:eu-west-1:{STAGING_ACCOUNT}:repository/shop-staging-api"


def test_staging_lets_later_stages_read_only_roles_check_an_image_but_not_pull_it(shipped_preview):
    """A later stage's pull-request preview checks the image it would promote as its read-only role (issue 22)."""
    policy = json.loads(
        shipped_preview("staging").one("aws:ecr/repositoryPolicy:RepositoryPolicy", "api-images-access")["inputs"][
            "policy"
        ]
    )
    statements = {s["Sid"]: s for s in policy["Statement"]}
    read_only = f"arn:aws:iam::{PROD_ACCOUNT}:role/org-prod-pulumi-read-only"
    assert statements["LaterStagesCheck"]["Principal"] == {"AWS": [read_only]}
    assert statements["LaterStagesCheck"]["Action"] == ["ecr:DescribeImages"]
    assert read_only not in json.dumps(statements["NobodyElsePulls"]["Condition"])


@pytest.mark.parametrize("stack", ["prod", "prod-dr"])
def test_the_promotion_check_is_made_by_the_push_role_in_the_source_region(shipped_preview, stack):
    """The earlier stage's repository admits the push role, not the deployer (issue 22): every image lookup of a
    promoted image goes through the ImageRepository's push provider, which assumes the push role, asked in the
    image's region (its one provider serves both logins and the check: issue 33)."""
    snapshot = shipped_preview(stack).snapshot
    lookups = [i for i in snapshot["invokes"] if i["token"] == "aws:ecr/getImage:getImage"]
    promoted = [i for i in lookups if i["args"]["registryId"] != snapshot["world"]["account"] or stack == "prod-dr"]
    assert promoted
    providers = {r["urn"]: r for r in snapshot["resources"] if r["type"] == "pulumi:providers:aws"}
    for lookup in promoted:
        provider = providers[lookup["provider"]]
        assert provider["name"].endswith("-ecr-push"), lookup
        (role,) = json.loads(provider["inputs"]["assumeRoles"])
        assert role["roleArn"].endswith(f"-{lookup['args']['repositoryName'].rsplit('-', 1)[-1]}-ecr-push")
        # The source registry's login is minted by the same provider in the image's region (ECR tokens are per region).
        tokens = [i for i in snapshot["invokes"] if i["token"].endswith("getAuthorizationToken")]
        assert lookup["args"]["region"] in {
            i["args"].get("region") for i in tokens if i["provider"] == lookup["provider"]
        }


@pytest.mark.parametrize("stack", ["prod-dr", "prod"])
def test_the_copy_logs_in_to_each_registry_with_a_token_of_that_registrys_region(
    shipped_preview: Callable[[str], PreviewResult], stack: str
) -> None:
    """ECR tokens are per region: prod (eu-west-1) copies staging's image with a token of staging's region; prod-dr
    copies prod's replica in its own region (docs/recovery.md), so both its tokens are eu-central-1's."""
    preview = shipped_preview(stack)
    copy = preview.one(COMMAND, "api-images-promote")
    script = copy["inputs"]["create"]
    (copy_line,) = [line for line in script.splitlines() if line.startswith("skopeo copy")]
    hosts = {ref.split("/", 1)[0] for ref in re.findall(r"docker://(\S+)", copy_line)}
    login_variable = {
        host: variable
        for variable, host in re.findall(r'printf %s "\$(\w+)" \| skopeo login .* (\S+) >/dev/null', script)
    }
    assert set(login_variable) == hosts, "a login for every registry the copy reads or writes"
    assert len({login_variable[h] for h in hosts}) == len(hosts), "one token per registry, not one for both"
    assert set(login_variable.values()) <= set(copy["inputs"]["environment"])
    providers = {r["urn"]: r for r in preview.resources("pulumi:providers:aws")}
    push_role = preview.one("aws:iam/role:Role", "api-images-push")["inputs"]["name"]
    minted_in = {
        providers[urn]["inputs"]["region"]
        for urn in copy["dependencies"]
        if urn in providers
        and json.loads(providers[urn]["inputs"]["assumeRoles"])[0]["roleArn"].endswith(f":role/{push_role}")
    }
    assert minted_in == {host.split(".")[3] for host in hosts}
    if stack == "prod-dr":
        assert minted_in == {"eu-central-1"}


def test_a_token_of_another_region_is_refused_before_the_copy():
    source = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-prod-api@sha256:" + "a" * 64
    target = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop-prod-dr-api"
    own_region = "https://123456789012.dkr.ecr.eu-central-1.amazonaws.com"
    with pytest.raises(ValueError, match=r"ECR tokens are per region.*provider in eu-west-1"):
        copy_script(source, target, own_region, own_region)
    script = copy_script(source, target, "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", own_region)
    assert "ECR_SOURCE_PASSWORD" in script


def test_promoting_what_the_earlier_stage_never_ran_is_refused_with_the_key(tmp_path):
    document = copy.deepcopy(load_stack_yaml("prod"))
    document["config"]["aws-platform:containers"]["services"][0]["image"] = {
        "promoteFrom": "organization/aws-platform/org"
    }
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = run_preview("prod", tmp_path, "--config", str(path), "--no-policy")
    assert result.exit_code == 3
    assert (
        "aws-platform:containers.services[0].image.promoteFrom: organization/aws-platform/org exports no services.api.image"
        in result.stderr
    )


def test_a_promoted_image_gone_from_the_earlier_stage_is_refused_with_the_key(tmp_path, monkeypatch):
    """Checked by the push role before the copy (issue 22); gone means the earlier stage's cleanup removed it."""
    staged = staging_outputs()["api"]["image"]
    inventory = tmp_path / "external_inventory.json"
    inventory.write_text(json.dumps({"absent": {"images": [staged]}}))
    monkeypatch.setenv("PREVIEW_EXTERNAL_INVENTORY", str(inventory))
    result = run_preview("prod", tmp_path, "--no-policy", "--quiet")
    assert result.exit_code == 3, result.stdout[-2000:]
    assert (
        f"aws-platform:containers.services[0].image.promoteFrom: image {staged} is not in repository" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_push_roles_trust_only_cis_deploy_role_never_the_account(shipped_preview):
    from foundation.ci_identity import deploy_role_name

    # The stacks are pinned through the org stack: CI's identity is the deploy role it publishes for that account.
    accounts = json.loads((ROOT / "preview" / "stack_references.json").read_text())["organization/aws-platform/org"][
        "accounts"
    ]
    for stack in ("dev", "prod"):
        deploy_role = accounts[f"shop-{stack}"]["deployRoleArn"]
        assert deploy_role.endswith(f":role/{deploy_role_name()}")
        for role in shipped_preview(stack).resources("aws:iam/role:Role"):
            if not role["name"].endswith("-push"):
                continue
            (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
            assert statement["Principal"] == {"AWS": deploy_role}
            assert ":root" not in role["inputs"]["assumeRolePolicy"]
