"""docs/policies.md lists exactly what the pack answers to GetAnalyzerInfo, with each stack's effective level."""

from __future__ import annotations

import pytest

from preview import policy_client
from tools import policy_table

DRIFT = "docs/policies.md is out of date with the policy pack or policies/config/: run `make docs`"


@pytest.fixture(scope="module")
def page_table() -> str:
    return policy_table.section(policy_table.PAGE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pack_table(policy_pack) -> str:
    configs = {s: policy_client.policy_config_for(s) for s in policy_table.configured_stacks()}
    return policy_table.render(policy_pack.info, configs)


def test_the_page_shows_the_packs_own_table(page_table, pack_table):
    assert page_table == pack_table, DRIFT


def test_every_policy_has_one_row_with_its_description(policy_pack, page_table):
    rows = [line for line in page_table.splitlines() if line.startswith('| <a id="')]
    assert [row.split("`")[1] for row in rows] == [p.name for p in policy_pack.info.policies]
    for row, policy in zip(rows, policy_pack.info.policies, strict=True):
        cells = row.replace("\\|", "|")
        assert " ".join(policy.description.split()) in cells
        assert " ".join(policy.remediation_steps.split()) in cells
        assert f" | {policy_client.SEVERITIES[policy.severity]} | " in cells
    assert f"The pack has **{len(policy_pack.info.policies)}** policies." in page_table


def test_levels_are_the_configs_reconciled_like_the_cli(policy_pack):
    info = policy_pack.info
    table = policy_table.render(info, {"dev": {"all": "advisory", "required-tags": "mandatory"}, "prod": {}})
    rows = {line.split("`")[1]: line.rstrip(" |").split(" | ")[-2:] for line in table.splitlines() if "<a id=" in line}
    assert rows["required-tags"] == ["mandatory", "mandatory"]
    default = policy_client.LEVELS[next(p for p in info.policies if p.name == "naming-convention").enforcementLevel]
    assert rows["naming-convention"] == ["advisory", default]


def test_a_changed_table_is_spliced_in_and_the_rest_of_the_page_kept():
    page = f"intro\n{policy_table.BEGIN}\n| old |\n{policy_table.END}\noutro\n"
    updated = policy_table.splice(page, "| new |\n")
    assert updated == f"intro\n{policy_table.BEGIN}\n| new |\n{policy_table.END}\noutro\n"
    assert policy_table.section(updated) == "| new |\n"


def test_a_page_without_the_markers_is_refused_by_name():
    with pytest.raises(ValueError, match=r"docs/policies\.md lacks the markers"):
        policy_table.splice("no markers here\n", "| t |\n")


def test_stacks_are_in_deploy_order():
    assert policy_table.configured_stacks()[:4] == ["dev", "staging", "prod", "org"]
