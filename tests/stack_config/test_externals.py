"""Declared externals: every value a service reads is created by its stack or declared with its owner (issue 12 item 4)."""

from __future__ import annotations

import pytest

import stack_config
from stack_config import externals
from stack_config.parsing import ConfigError
from tests.conftest import load_stack_yaml

NS = "aws-platform"


def problems(stack_yaml, changes, stack="dev") -> list[str]:
    with pytest.raises(ConfigError) as err:
        stack_config.load_file(stack, stack_yaml(stack, changes))
    return [str(p) for p in err.value.problems]


def test_a_secret_created_by_no_stack_and_not_declared_is_refused_by_key(stack_yaml):
    """Today's hidden prerequisite: ssm:/dev/shop/api/greeting, set by hand and written down nowhere."""
    zones = [e for e in load_stack_yaml("dev")["config"][f"{NS}:externals"] if e["ref"].startswith("route53:")]
    found = problems(stack_yaml, {f"{NS}:externals": zones})  # the shipped file declares it: drop the declaration
    assert found == [
        f"{NS}:containers.services[0].secrets.GREETING: 'ssm:/dev/shop/api/greeting' is created by no stack and "
        f"not declared (allowed: a secret this stack creates: shop-dev-cache-connection, "
        f"shop-dev-documents-connection; or declare it in {NS}:externals with its owner and how it is set)"
    ]


def test_the_data_tiers_own_secrets_need_no_declaration_but_vanish_with_the_section(stack_yaml):
    assert externals.produced_secrets(stack_config.load_file("dev")) == {
        "shop-dev-cache-connection",
        "shop-dev-documents-connection",
    }
    found = problems_without_cache(stack_yaml)
    assert any(
        p.startswith(f"{NS}:containers.services[0].secrets.CACHE_CONNECTION: 'shop-dev-cache-connection'")
        for p in found
    )


def problems_without_cache(stack_yaml) -> list[str]:
    with pytest.raises(ConfigError) as err:
        stack_config.load_file("dev", stack_yaml("dev", drop=(f"{NS}:cache",)))
    return [str(p) for p in err.value.problems]


def test_a_declaration_nobody_reads_is_refused(stack_yaml):
    declared = load_stack_yaml("dev")["config"][f"{NS}:externals"]
    extra = {"ref": "ssm:/dev/shop/api/unused", "owner": "product-team", "how": "left over from an old release"}
    found = problems(stack_yaml, {f"{NS}:externals": [*declared, extra]})
    assert found == [
        f"{NS}:externals[{len(declared)}].ref: 'ssm:/dev/shop/api/unused' is read by no service (allowed: a value a "
        "service's secrets name, an image config pins, or a hosted zone the stack writes records in)"
    ]


def test_a_hosted_zone_the_stack_writes_must_be_declared_with_the_account_it_lives_in(stack_yaml):
    """One zone id was written from four accounts: a zone is declared, with its owner and account, or refused."""
    declared = load_stack_yaml("dev")["config"][f"{NS}:externals"]
    found = problems(stack_yaml, {f"{NS}:externals": [e for e in declared if not e["ref"].startswith("route53:")]})
    zone = stack_config.load_file("dev").edge.hosted_zone_id
    assert found == [
        f"{NS}:edge.hostedZoneId: hosted zone '{zone}' is not declared (allowed: declare it in {NS}:externals as "
        f"'route53:{zone}' with its owner, how it is delegated, and the account it lives in: a zone lives in one "
        "account and Route 53 has no resource policy, so only that account writes it)"
    ]
    prod_dr = stack_config.load_file("prod-dr")
    assert externals.zone_accounts(prod_dr) == {prod_dr.edge.hosted_zone_id: "shop-prod"}


def test_a_declaration_names_its_owner_and_how_it_is_set(stack_yaml):
    found = problems(stack_yaml, {f"{NS}:externals": [{"ref": "ssm:/dev/shop/api/greeting"}]})
    assert any(p.startswith(f"{NS}:externals[0].owner") for p in found)
    assert any(p.startswith(f"{NS}:externals[0].how") for p in found)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_shipped_stack_lists_what_it_expects(stack):
    found = externals.expectations(stack_config.load_file(stack))
    kinds = {e.kind for e in found}
    # Pinned images (dev, staging) or the earlier stage's outputs they are promoted from (prod).
    assert {"parameter", "hosted-zone"} <= kinds and ({"image", "stack-outputs"} & kinds)
    text = externals.render(found)
    assert text.startswith("this stack expects:") and f"ssm:/{stack}/shop/api/greeting" in text


def test_the_preview_names_the_facts_it_takes_on_trust_so_placeholders_are_replaced():
    """Certificates, zones, snapshots and vendor keys only AWS or the vendor can confirm: listed as such."""
    config = stack_config.load_file("prod")
    text = externals.render(externals.expectations(config))
    (line,) = [line for line in text.splitlines() if line.startswith("facts the offline world takes on trust")]
    assert f"certificate {config.containers.load_balancer.certificate_arn}" in line
    assert f"hosted-zone {config.edge.hosted_zone_id}" in line
    assert "ssm:" not in line  # a declared parameter is checked by lookup, not taken on trust


def test_a_parameter_declared_in_another_account_is_refused_and_an_image_must_be_where_its_reference_says(
    stack_yaml,
):
    declared = load_stack_yaml("staging")["config"][f"{NS}:externals"]
    declared[0]["account"] = "shop-prod"  # the greeting, said to live in prod's account
    image = next(e for e in declared if "@sha256:" in e["ref"])
    image["account"] = "190910285287"  # the image reference names staging's registry
    found = problems(stack_yaml, {f"{NS}:externals": declared}, stack="staging")
    assert any(
        p.startswith(f"{NS}:externals[0].account: 'shop-prod': a parameter is read by name in the stack's own account")
        for p in found
    )
    assert f"{NS}:externals[1].account: '190910285287' but" in "\n".join(found)
