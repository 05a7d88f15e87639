"""What a stack expects from outside is checked by invoke before anything is registered (issue 12 items 4 and 6).

Offline the invokes are answered by ``preview/mocks.py`` from the world of ``preview/world.py``: an external exists
where config declares it with its owner, unless ``preview/external_inventory.json`` says its owner has not provided
it yet. Each test points a shipped config at something missing.
"""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import load_stack_yaml, run_preview

NS = "aws-platform"
# A release registry the web team owns in another account of the organization: declared, with its owner.
WEB = "267721532588.dkr.ecr.eu-west-1.amazonaws.com/shop-web-releases@sha256:"


def preview_with(tmp_path, stack: str, mutate) -> object:
    document = load_stack_yaml(stack)
    mutate(document["config"])
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return run_preview(stack, tmp_path, "--config", str(path), "--no-policy")


def set_web_digest(digest: str):
    def mutate(config: dict) -> None:
        config[f"{NS}:containers"]["services"][1]["image"] = {"digest": WEB + digest}
        config[f"{NS}:externals"].append(
            {"ref": WEB + digest, "owner": "web-team", "how": "the web team's pipeline pushes it with a release tag"}
        )

    return mutate


def test_shipped_preview_lists_what_the_stack_expects(shipped_preview):
    out = shipped_preview("dev").stdout
    assert "this stack expects:" in out
    assert "parameter ssm:/dev/shop/api/greeting (aws-platform:externals[0]" in out


def test_a_declared_pinned_image_is_listed_with_its_owner_and_found(tmp_path):
    result = preview_with(tmp_path, "dev", set_web_digest("3" * 64))
    assert result.exit_code == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if f"image {WEB}{'3' * 64}" in line)
    assert "aws-platform:containers.services[1].image.digest" in line and "pushed by web-team" in line


def test_a_pinned_digest_missing_from_its_repository_is_refused_before_anything_is_registered(tmp_path):
    result = preview_with(tmp_path, "dev", set_web_digest("1" * 64))
    assert result.exit_code == 3
    assert (
        f"{NS}:containers.services[1].image.digest: image {WEB}{'1' * 64} is not in repository shop-web-releases"
        in (result.stderr)
    )
    assert "ImageNotFoundException" in result.stderr and "Traceback" not in result.stderr
    assert not result.snapshot_path.exists()


def test_an_untagged_pinned_digest_is_refused_because_the_lifecycle_would_expire_it(tmp_path):
    result = preview_with(tmp_path, "dev", set_web_digest("2" * 64))
    assert result.exit_code == 3
    assert "is untagged in shop-web-releases: the untagged-image expiry rule would delete it" in result.stderr


@pytest.mark.parametrize("ref", ["ssm:/dev/shop/api/farewell", "shop-dev-partner-api-key"])
def test_a_declared_value_that_does_not_exist_is_refused(tmp_path, ref):
    def mutate(config: dict) -> None:
        config[f"{NS}:containers"]["services"][0]["secrets"]["GREETING"] = ref
        config[f"{NS}:externals"][0]["ref"] = ref

    result = preview_with(tmp_path, "dev", mutate)
    assert result.exit_code == 3
    assert f"{NS}:externals[0]: " in result.stderr and f"{ref} does not exist or cannot be read" in result.stderr
