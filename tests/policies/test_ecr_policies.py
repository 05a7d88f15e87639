"""ECR policies: immutable tags, scan on push, a lifecycle policy per repository (ecr-dedicated-image-repos.md)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import messages as all_messages
from tests.conftest import resource


def messages(violations, policy: str) -> list[str]:
    """The violation's own text, without the policy description the pack puts before it."""
    return [m.split("\n", 1)[-1] for m in all_messages(violations, policy)]


REPO = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


def repository(**inputs) -> dict:
    return resource(
        "prod",
        REPO,
        "api-images-repository",
        {
            "name": "shop-prod-api",
            "imageTagMutability": "IMMUTABLE",
            "imageScanningConfiguration": {"scanOnPush": True},
            **inputs,
        },
    )


def lifecycle(repository_name: str = "shop-prod-api", rules: list | None = None) -> dict:
    return resource(
        "prod",
        LIFECYCLE,
        "api-images-lifecycle",
        {"repository": repository_name, "policy": json.dumps({"rules": rules or []})},
    )


def rule(priority: int, **selection) -> dict:
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


@pytest.mark.parametrize(
    "inputs,expected",
    [
        ({"imageTagMutability": "MUTABLE"}, "image tags are MUTABLE"),
        ({"imageTagMutability": None}, "image tags are MUTABLE"),
        ({"imageScanningConfiguration": {"scanOnPush": False}}, "images are not scanned on push"),
    ],
)
def test_mutable_or_unscanned_repository_fires(analyze, inputs, expected):
    (message,) = messages(analyze("prod", [repository(**inputs), lifecycle()]), "ecr-immutable-scanned")
    assert message.startswith(expected)


@pytest.mark.parametrize("mutability", ["IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"])
def test_immutable_scanned_repository_passes(analyze, mutability):
    found = analyze("prod", [repository(imageTagMutability=mutability), lifecycle()])
    assert messages(found, "ecr-immutable-scanned") == []


def test_repository_without_lifecycle_policy_fires(analyze):
    found = analyze("prod", [repository(), lifecycle("shop-prod-other")])
    (message,) = messages(found, "ecr-lifecycle-policy")
    assert message.startswith("repository 'shop-prod-api' has no lifecycle policy")


def test_repository_with_lifecycle_policy_passes(analyze):
    assert messages(analyze("prod", [repository(), lifecycle()]), "ecr-lifecycle-policy") == []


# --- images a deployment pins are never expired (issue 12 item 6) ----------------------------------------


@pytest.mark.parametrize(
    "unsafe",
    [
        rule(2, tagStatus="any", countType="imageCountMoreThan", countNumber=100),  # today's main: pins vanish too
        rule(2, tagStatus="tagged", tagPrefixList=["release-"], countType="imageCountMoreThan", countNumber=10),
        rule(
            2, tagStatus="tagged", tagPatternList=["*"], countType="sinceImagePushed", countUnit="days", countNumber=30
        ),
    ],
)
def test_lifecycle_rule_that_can_expire_a_pinned_image_fires(analyze, unsafe):
    found = analyze("prod", [repository(), lifecycle(rules=[unsafe])])
    (message,) = messages(found, "ecr-lifecycle-policy")
    assert message.startswith("lifecycle rule 2") and "can expire an image a deployment pins" in message


def test_lifecycle_that_expires_only_untagged_and_own_builds_passes(analyze):
    safe = [
        rule(1, tagStatus="untagged", countType="sinceImagePushed", countUnit="days", countNumber=7),
        rule(2, tagStatus="tagged", tagPrefixList=["ctx-"], countType="imageCountMoreThan", countNumber=100),
    ]
    assert messages(analyze("prod", [repository(), lifecycle(rules=safe)]), "ecr-lifecycle-policy") == []
