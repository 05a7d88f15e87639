"""The org's Service Quotas request template: derived from the stacks' needs, in place before any account."""

from __future__ import annotations

from stack_config import quota_needs
from stack_config.quotas import QUOTAS


def test_the_template_asks_for_each_recorded_need_above_a_new_accounts_value_per_region(shipped_preview):
    org = shipped_preview("org")
    entries = {
        (r["inputs"]["awsRegion"], r["inputs"]["serviceCode"], r["inputs"]["quotaCode"]): r["inputs"]["value"]
        for r in org.resources("aws:servicequotas/template:Template")
    }
    expected = {
        (region, QUOTAS[key].service_code, QUOTAS[key].quota_code): value
        for region, asked in quota_needs.template().items()
        for key, value in asked.items()
    }
    assert entries == expected and entries
    regions = {region for _, regions in quota_needs.recorded().items() for region in regions}
    assert {region for region, _, _ in entries} == regions  # the DR region too: asked for before the disaster


def test_every_account_is_created_after_the_template_is_associated_with_the_organization(shipped_preview):
    org = shipped_preview("org")
    (association,) = org.resources("aws:servicequotas/templateAssociation:TemplateAssociation")
    entries = {r["urn"] for r in org.resources("aws:servicequotas/template:Template")}
    assert entries <= set(association["dependencies"])
    (organization,) = org.resources("aws:organizations/organization:Organization")
    assert "servicequotas.amazonaws.com" in organization["inputs"]["awsServiceAccessPrincipals"]
    for account in org.resources("aws:organizations/account:Account"):
        assert association["urn"] in account["dependencies"], account["name"]


def test_a_need_a_new_account_already_meets_is_not_requested():
    needs = {"acct": {"eu-west-1": {key: q.new_account for key, q in QUOTAS.items()}}}
    assert quota_needs.template(needs) == {}
    needs["other"] = {"eu-west-1": {"ec2-elastic-ips": 9}}
    assert quota_needs.template(needs) == {"eu-west-1": {"ec2-elastic-ips": 9}}
