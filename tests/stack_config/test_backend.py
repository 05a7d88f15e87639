"""Every stack reference is readable from the stack's own state backend, named the way that backend names stacks."""

from __future__ import annotations

import pytest

import stack_config
from preview import region_loss
from stack_config import ConfigError, backend

SHARED = {"url": "s3://org-prod-pulumi-state-111122223333-eu-west-1"}


def problems(stack_yaml, base: str, changes: dict, name: str | None = None) -> list[str]:
    with pytest.raises(ConfigError) as err:
        stack_config.load_file(name or base, stack_yaml(base, changes, name=name))
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize("stack", ["org", "dev", "staging", "prod"])
def test_every_shipped_stack_lives_on_the_one_shared_backend(stack):
    config = stack_config.load_file(stack)
    assert config.state_backend == backend.StateBackend(**SHARED)
    for _, ref in backend.references(config, "aws-platform"):
        assert ref.startswith("organization/aws-platform/"), ref


def test_the_recovery_stack_lives_on_the_shared_buckets_replica_in_its_own_region():
    """docs/recovery.md: prod-dr's state, and the replicas of the states it reads, are where eu-west-1 is not."""
    config = stack_config.load_file("prod-dr")
    assert config.state_backend is not None and config.state_backend.replica_of == SHARED["url"]
    assert config.state_backend.url == SHARED["url"].replace("-eu-west-1", f"-{config.region}")
    assert region_loss.backend_region(config.state_backend.url) == config.region
    assert {ref for _, ref in backend.references(config, "aws-platform")} == {
        "organization/aws-platform/org",
        "organization/aws-platform/prod",
    }


def test_a_replica_reads_only_the_stacks_of_the_backend_it_replicates(stack_yaml):
    found = problems(
        stack_yaml,
        "prod-dr",
        {"aws-platform:stateBackend": {"url": "s3://org-prod-pulumi-state-111122223333-eu-central-1"}},
    )
    assert any(
        p.startswith("aws-platform:orgStack: 'organization/aws-platform/org' lives on") and "not on this stack's" in p
        for p in found
    ), found


def test_a_reference_named_as_on_another_backend_is_refused_with_the_name_that_works(stack_yaml):
    (problem,) = problems(stack_yaml, "dev", {"aws-platform:orgStack": "acme/aws-platform/org"})
    assert problem.startswith("aws-platform:orgStack: 'acme/aws-platform/org' cannot be read from s3://")
    assert "'organization/aws-platform/org'" in problem and "DIY backend" in problem


def test_a_stack_that_reads_others_must_say_where_it_lives(stack_yaml):
    with pytest.raises(ConfigError) as err:
        stack_config.load_file("prod", stack_yaml("prod", drop=("aws-platform:stateBackend",)))
    (problem,) = [str(p) for p in err.value.problems]
    assert problem.startswith("aws-platform:stateBackend: unset, but this stack reads organization/aws-platform/org")
    assert "organization/aws-platform/staging" in problem


def test_a_referenced_stack_on_another_backend_is_refused(stack_yaml):
    # staging moved to a bucket of its own: prod, still on the shared one, could no longer read its digests.
    staging = stack_yaml("staging", {"aws-platform:stateBackend": {"url": "s3://shop-staging-state"}})
    found = backend.reference_problems(stack_config.load_file("prod"), "aws-platform", staging.parent)
    assert all("lives on 's3://shop-staging-state', not on this stack's" in p.message for p in found)
    assert {p.key for p in found} == {
        "aws-platform:containers.services[0].image.promoteFrom",
        "aws-platform:containers.services[1].image.promoteFrom",
        "aws-platform:documentStore.rehearsedIn",
    }


def test_pulumi_cloud_needs_its_organization_and_names_references_by_it(stack_yaml):
    (problem,) = problems(stack_yaml, "dev", {"aws-platform:stateBackend": {"url": "https://api.pulumi.com"}})
    # (its references are not judged until the backend itself is whole: they would all be noise)
    assert problem.startswith("aws-platform:stateBackend.organization: is required for 'https://api.pulumi.com'")
    cloud = backend.StateBackend(url="https://api.pulumi.com", organization="acme")
    assert cloud.reference_prefix == "acme/aws-platform/" and not cloud.is_diy


def test_a_diy_backend_has_no_organization(stack_yaml):
    found = problems(stack_yaml, "dev", {"aws-platform:stateBackend": {**SHARED, "organization": "acme"}})
    assert "aws-platform:stateBackend.organization: 'acme' is set for a DIY backend (allowed: unset)" in found


def test_a_referenced_stack_is_read_once_however_many_references_name_it(monkeypatch):
    """prod's services all promote from staging: its file is parsed once, not once a service (at 200 generated
    services the loader spent 15 s re-reading it, issue 33)."""
    read = []
    declared = backend._declared_backend
    monkeypatch.setattr(backend, "_declared_backend", lambda path, ns: read.append(path) or declared(path, ns))
    prod = stack_config.load_file("prod")
    references = [ref for _, ref in backend.references(prod, "aws-platform")]
    assert len(references) > len(set(references))  # staging is named by more than one reference
    read.clear()  # loading read them too
    assert not backend.reference_problems(prod, "aws-platform", stack_config.loader.ENVIRONMENTS)
    assert len(read) == len(set(read)) == len(set(references))
