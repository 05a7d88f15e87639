"""The pack itself honours policies/exceptions.yaml: a covered violation is advisory and says "waived" with its
owner and expiry, an expired entry waives nothing and fails every stack, a bad file stops the pack.

Each test runs a copy of the pack with its own exceptions file over the analyzer interface, as the Pulumi CLI would.
"""

from __future__ import annotations

import datetime
import shutil

import pytest
import yaml

from policies import exceptions
from preview import policy_client
from tests.conftest import PROVIDERS, messages, provider_resource, resource, stack_tags

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
SOON = exceptions.today() + datetime.timedelta(days=10)  # the pack judges on the real date: stay relative to it
LONG_AGO = datetime.date(2020, 1, 1)


def entry(policy: str, resource_glob: str, expires: datetime.date, **extra) -> dict:
    return {
        "policy": policy,
        "resource": resource_glob,
        "reason": "The test's log group is kept forever on purpose.",
        "owner": "product-team",
        "expires": expires,
        **extra,
    }


@pytest.fixture
def pack_with(tmp_path_factory):
    """Start a copy of the pack whose exceptions.yaml holds ``entries``; every pack started is stopped after."""
    started: list[policy_client.PolicyPack] = []

    def start(*entries: dict) -> policy_client.PolicyPack:
        pack_dir = tmp_path_factory.mktemp("pack") / "policies"
        shutil.copytree(policy_client.PACK, pack_dir, ignore=shutil.ignore_patterns("__pycache__"))
        (pack_dir / "exceptions.yaml").write_text(yaml.safe_dump({"exceptions": list(entries)}, sort_keys=False))
        pack = policy_client.PolicyPack(pack_dir)
        started.append(pack)
        return pack

    yield start
    for pack in started:
        pack.close()


def check(pack: policy_client.PolicyPack, stack: str, resources: list[dict], config: dict | None = None):
    providers = [provider_resource(stack, stack_tags(stack), region) for region in PROVIDERS]
    snapshot = {"stack": stack, "resources": [*providers, *resources]}
    return pack.check(snapshot, {"all": "mandatory"} if config is None else config)


def log_groups(stack: str) -> list[dict]:
    return [
        resource(stack, LOG_GROUP, name, {"name": f"/{stack}/shop/ecs/{name}"}) for name in ("api-logs", "web-logs")
    ]


def test_a_covered_violation_is_reported_waived_and_advisory_with_owner_and_expiry(pack_with) -> None:
    pack = pack_with(entry("log-retention", "api-*", SOON))
    found = [v for v in check(pack, "prod", log_groups("prod")) if v.policy == "log-retention"]
    by_name = {v.urn.rsplit("::", 1)[-1]: v for v in found}
    waived, other = by_name["api-logs"], by_name["web-logs"]
    assert waived.waived and waived.level == "advisory" and not waived.failing
    assert waived.detail.startswith(f"waived (owner product-team, expires {SOON}; exceptions.yaml entry 1")
    assert waived.detail.endswith(
        "log group keeps logs forever: set retentionInDays (14 days outside prod, 90 in prod by default)"
    )
    assert not other.waived and other.failing  # the glob names api-* only
    assert all(v.severity == "low" for v in found)


def test_an_exception_for_other_stacks_waives_nothing_here(pack_with) -> None:
    pack = pack_with(entry("log-retention", "*", SOON, stacks=["staging"]))
    found = [v for v in check(pack, "prod", log_groups("prod")) if v.policy == "log-retention"]
    assert len(found) == 2 and all(v.failing for v in found)
    staging = [v for v in check(pack, "staging", log_groups("staging")) if v.policy == "log-retention"]
    assert len(staging) == 2 and all(v.waived for v in staging)


def test_a_stack_policy_violation_is_waived_by_the_urn_it_names(pack_with) -> None:
    pack = pack_with(entry("waf-on-prod-entry-points", "spa", SOON))
    spa = resource("prod", DISTRIBUTION, "spa", {"enabled": True})
    (waf,) = [v for v in check(pack, "prod", [spa]) if v.policy == "waf-on-prod-entry-points"]
    assert waf.waived and waf.level == "advisory" and "without a WAF web ACL" in waf.detail


def test_an_expired_exception_waives_nothing_and_fails_every_stack_naming_it_and_its_owner(pack_with) -> None:
    pack = pack_with(entry("log-retention", "api-*", LONG_AGO, stacks=["prod"]))
    for stack in ("prod", "dev", "org"):
        found = check(pack, stack, log_groups(stack), policy_client.policy_config_for(stack))
        (expiry,) = [v for v in found if v.policy == "exceptions-not-expired"]
        assert expiry.level == "mandatory", stack  # dev too, where everything else is advisory
        assert "entry 1 (log-retention on api-*) expired on 2020-01-01 (owner product-team)" in expiry.detail
        assert not any(v.waived for v in found)
    assert any(v.failing and v.urn.endswith("::api-logs") for v in check(pack, "prod", log_groups("prod")))


def test_without_exceptions_the_stack_has_no_expiry_violation(pack_with) -> None:
    pack = pack_with()
    assert messages(check(pack, "prod", log_groups("prod")), "exceptions-not-expired") == []


def test_a_bad_exceptions_file_stops_the_pack_with_every_problem(pack_with) -> None:
    with pytest.raises(policy_client.PackError) as err:
        pack_with(entry("log-retension", "*", SOON, owner="nobody"))
    text = str(err.value)
    assert "policy: 'log-retension' is not a policy of the pack; did you mean 'log-retention'?" in text
    assert "owner: 'nobody' must be the team" in text


def test_the_preview_lists_waived_violations_apart_with_every_severity_and_does_not_fail_on_them(pack_with) -> None:
    from preview.__main__ import render_violations

    pack = pack_with(entry("log-retention", "api-*", SOON))
    found = [v for v in check(pack, "prod", log_groups("prod")) if v.policy == "log-retention"]
    text = render_violations(found)
    assert text.splitlines()[0] == "policy pack: 1 violation(s), 1 waived by policies/exceptions.yaml"
    assert (
        "  log-retention [mandatory] severity low (1)\n    aws:cloudwatch/logGroup:LogGroup web-logs: log group keeps"
        in text
    )
    assert (
        "  log-retention [waived] severity low (1)\n    aws:cloudwatch/logGroup:LogGroup api-logs: waived (owner product-team"
        in text
    )
    assert text.index("[mandatory]") < text.index("[waived]")
    assert [v.failing for v in sorted(found, key=lambda v: v.urn)] == [False, True]  # api-logs waived, web-logs not
