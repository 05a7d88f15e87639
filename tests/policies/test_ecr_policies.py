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


def lifecycle(repository_name: str = "shop-prod-api") -> dict:
    return resource(
        "prod", LIFECYCLE, "api-images-lifecycle", {"repository": repository_name, "policy": json.dumps({"rules": []})}
    )


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
