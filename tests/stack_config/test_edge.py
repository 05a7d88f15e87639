"""The edge section across stacks: an alternate domain name is on one CloudFront distribution only.

A second stack listing a name another stack serves fails its `up` with CNAMEAlreadyExists; a stack that stands
in for another (prod-dr for prod) lists those names under failoverDomainNames, and the runbook moves them
(docs/recovery.md). The loader refuses the combinations that cannot work, naming the other stack.
"""

from __future__ import annotations

import collections
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

import stack_config
from stack_config import ConfigError
from tests.conftest import ENVIRONMENTS, load_stack_yaml

EDGE = "aws-platform:edge"
StackYaml = Callable[..., pathlib.Path]


def edge_problems(stack_yaml: StackYaml, stack: str, **changes: Any) -> list[str]:
    edge = {**load_stack_yaml(stack)["config"][EDGE], **changes}
    path = stack_yaml(stack, {EDGE: edge}, name=stack)
    with pytest.raises(ConfigError) as err:
        stack_config.load_file(stack, path)
    return [str(p) for p in err.value.problems]


def test_no_two_shipped_stacks_list_one_domain_name() -> None:
    stacks = [p.name[len("Pulumi.") : -len(".yaml")] for p in ENVIRONMENTS.glob("Pulumi.*.yaml")]
    owners: dict[str, list[str]] = collections.defaultdict(list)
    for stack in stacks:
        edge = stack_config.load_file(stack).edge
        for name in edge.domain_names if edge else []:
            owners[name].append(stack)
    assert owners and {name: s for name, s in owners.items() if len(s) > 1} == {}


def test_a_name_another_stack_serves_is_refused_with_the_owner_and_the_way_to_stand_in(stack_yaml: StackYaml) -> None:
    names = ["dr.shop.example.com", "shop.example.com"]
    (problem,) = edge_problems(stack_yaml, "prod-dr", domainNames=names, failoverDomainNames=[])
    assert problem.startswith(
        "aws-platform:edge.domainNames[1]: 'shop.example.com' is already an alias of stack 'prod': "
        "a CloudFront alternate domain name is on one distribution only"
    )
    assert "list it under failoverDomainNames" in problem


def test_a_failover_name_no_other_stack_serves_is_refused_with_the_names_it_could_take_over(
    stack_yaml: StackYaml,
) -> None:
    (problem,) = edge_problems(stack_yaml, "prod-dr", failoverDomainNames=["shop.example.org"])
    assert problem.startswith(
        "aws-platform:edge.failoverDomainNames[0]: 'shop.example.org' is no other stack's alias, so there is "
        "nothing to take over (allowed: "
    )
    assert "shop.example.com" in problem and "dr.shop.example.com" not in problem.split("allowed:")[1]


def test_a_stacks_own_alias_is_no_failover_name(stack_yaml: StackYaml) -> None:
    (problem,) = edge_problems(stack_yaml, "prod-dr", failoverDomainNames=["dr.shop.example.com"])
    assert problem == (
        "aws-platform:edge.failoverDomainNames[0]: 'dr.shop.example.com' is this stack's own alias "
        "(allowed: another stack's)"
    )


def test_an_active_failover_needs_names_to_have_moved(stack_yaml: StackYaml) -> None:
    (problem,) = edge_problems(stack_yaml, "prod", failoverActive=True)
    assert problem == "aws-platform:edge.failoverActive: is true with no failoverDomainNames (allowed: false)"


def test_failover_names_need_the_certificate_the_stack_issues(stack_yaml: StackYaml) -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/5d2e8c1a-7b3f-4e9d-8a6c-1f0e2d3c4b5a"
    (problem,) = edge_problems(stack_yaml, "prod-dr", certificateArn=arn)
    assert problem.startswith("aws-platform:edge.certificateArn: is set with failoverDomainNames")
