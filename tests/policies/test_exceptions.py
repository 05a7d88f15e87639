"""policies/exceptions.yaml: refused when malformed, an expiry that counts from an injected day, and no entry
that the shipped stacks do not need."""

from __future__ import annotations

import datetime
import pathlib
import textwrap

import pytest
import yaml

from policies import exceptions
from preview import policy_client
from tests.conftest import SHIPPED_STACKS

TODAY = datetime.date(2026, 12, 1)
DROP = object()  # a key the entry leaves out
GOOD = {
    "check": "CKV_AWS_21",
    "resource": "*cache*",
    "reason": "The prerender cache bucket is unversioned: every object is regenerated.",
    "owner": "platform-team",
    "expires": datetime.date(2027, 3, 1),
}


def write(tmp_path, *entries: dict) -> pathlib.Path:
    path = tmp_path / "exceptions.yaml"
    path.write_text(yaml.safe_dump({"exceptions": list(entries)}, sort_keys=False))
    return path


def problems(tmp_path, *entries: dict, on: datetime.date = TODAY, policies=None) -> str:
    with pytest.raises(exceptions.ExceptionsError) as err:
        exceptions.load(write(tmp_path, *entries), on=on, policies=policies)
    return str(err.value)


def test_a_complete_entry_loads_with_its_terms(tmp_path) -> None:
    (entry,) = exceptions.load(write(tmp_path, GOOD), on=TODAY)
    assert (entry.rule, entry.owner, entry.number) == ("CKV_AWS_21", "platform-team", 1)
    assert entry.expires == datetime.date(2027, 3, 1) and not entry.false_positive
    assert entry.terms == "owner platform-team, expires 2027-03-01"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"reason": "ok"}, "entry 1: reason: 'ok' must say what is true of the code, in 20+ characters"),
        ({"owner": DROP}, "entry 1: owner: None must be the team that answers for it"),
        ({"owner": "alice"}, "entry 1: owner: 'alice' must be the team"),
        ({"expires": DROP}, "entry 1: expires: None must be a date (YYYY-MM-DD), at most 180 days ahead"),
        (
            {"expires": datetime.date(2027, 5, 31)},
            "entry 1: expires: 2027-05-31 is more than 180 days ahead (latest 2027-05-30)",
        ),
        ({"check": "CKV_AWS_1x"}, "entry 1: check: 'CKV_AWS_1x' is not a checkov AWS check id"),
        ({"resource": DROP}, "entry 1: resource: None must be a glob"),
        ({"stacks": "prod"}, "entry 1: stacks: 'prod' must be a non-empty list of stack names"),
        ({"reasn": "x"}, "entry 1: reasn: unknown key (allowed: policy, check"),
        ({"policy": "log-retention"}, "entry 1: give exactly one of 'policy'"),
        ({"falsePositive": True}, "entry 1: expires: datetime.date(2027, 3, 1) - a false positive does not expire"),
    ],
)
def test_a_malformed_entry_is_refused_by_entry_key_and_value(tmp_path, change: dict, expected: str) -> None:
    entry = {k: v for k, v in {**GOOD, **change}.items() if v is not DROP}
    assert expected in problems(tmp_path, entry)


def test_every_problem_of_every_entry_is_listed_at_once(tmp_path) -> None:
    text = problems(tmp_path, {"check": "CKV_AWS_1x", "reasn": "because"}, {**GOOD, "reason": "ok"})
    assert "invalid exceptions.yaml (" in text
    assert "entry 1: check: 'CKV_AWS_1x'" in text and "did you mean 'reason'" in text
    assert "entry 1: owner: None" in text and "entry 1: expires: None" in text
    assert "entry 2: reason: 'ok'" in text


def test_the_180_day_limit_counts_from_the_injected_day(tmp_path) -> None:
    entry = {**GOOD, "expires": datetime.date(2027, 5, 30)}  # exactly 180 days after TODAY
    assert exceptions.load(write(tmp_path, entry), on=TODAY)
    assert "more than 180 days ahead" in problems(tmp_path, entry, on=TODAY - datetime.timedelta(days=1))


def test_a_policy_entry_names_a_policy_of_the_pack(tmp_path) -> None:
    entry = {k: v for k, v in GOOD.items() if k != "check"} | {"policy": "log-retension"}
    text = problems(tmp_path, entry, policies={"log-retention", "required-tags"})
    assert "entry 1: policy: 'log-retension' is not a policy of the pack; did you mean 'log-retention'?" in text


def test_a_false_positive_is_for_checks_only_and_never_expires(tmp_path) -> None:
    fp = {k: v for k, v in GOOD.items() if k != "expires"} | {"falsePositive": True}
    (entry,) = exceptions.load(write(tmp_path, fp), on=TODAY)
    assert entry.false_positive and not entry.expired(datetime.date(2099, 1, 1))
    policy_fp = {k: v for k, v in fp.items() if k != "check"} | {"policy": "log-retention"}
    assert "only a checkov check can misread a resource" in problems(tmp_path, policy_fp)


def test_an_expired_entry_loads_matches_nothing_and_is_named_with_its_owner(tmp_path) -> None:
    (entry,) = exceptions.load(write(tmp_path, GOOD), on=TODAY)
    names = ("aws_s3_bucket.cache", "cache")
    assert exceptions.match([entry], "CKV_AWS_21", "prod", names, datetime.date(2027, 3, 1)) == entry  # last day
    assert exceptions.match([entry], "CKV_AWS_21", "prod", names, datetime.date(2027, 3, 2)) is None
    assert exceptions.expired([entry], datetime.date(2027, 3, 2)) == [entry]
    line = exceptions.expiry_line(entry)
    assert "exceptions.yaml entry 1 (CKV_AWS_21 on *cache*) expired on 2027-03-01 (owner platform-team)" in line


def test_an_entry_expiring_within_30_days_is_expiring() -> None:
    entry = exceptions.Exception_(1, "a reason of twenty characters", "platform-team", "*", check="CKV_AWS_1")
    soon = exceptions.Exception_(
        2,
        "a reason of twenty characters",
        "platform-team",
        "*",
        check="CKV_AWS_2",
        expires=TODAY + datetime.timedelta(days=30),
    )
    later = exceptions.Exception_(
        3,
        "a reason of twenty characters",
        "platform-team",
        "*",
        check="CKV_AWS_3",
        expires=TODAY + datetime.timedelta(days=31),
    )
    assert exceptions.expiring([entry, soon, later], TODAY) == [soon]


def test_stacks_and_the_resource_glob_narrow_an_entry() -> None:
    entry = exceptions.Exception_(
        1,
        "a reason of twenty characters",
        "platform-team",
        "*alb-80*",
        check="CKV_AWS_260",
        stacks=("dev",),
        expires=TODAY,
    )
    urn = "urn:pulumi:dev::aws-platform::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::alb-80"
    assert exceptions.match([entry], "CKV_AWS_260", "dev", ("", urn), TODAY) == entry  # by URN alone
    assert exceptions.match([entry], "CKV_AWS_260", "prod", ("alb-80",), TODAY) is None
    assert exceptions.match([entry], "CKV_AWS_260", "dev", ("alb-443",), TODAY) is None
    assert exceptions.match([entry], "CKV_AWS_261", "dev", ("alb-80",), TODAY) is None


def test_the_file_is_a_mapping_of_entries(tmp_path) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text(textwrap.dedent("- check: CKV_AWS_1\n"))
    with pytest.raises(exceptions.ExceptionsError, match="expected a mapping with 'exceptions'"):
        exceptions.load(path, on=TODAY)


# --- the shipped file, on the real date -------------------------------------------------------------------------


def test_the_shipped_file_is_valid_today_and_nothing_in_it_has_expired(policy_pack) -> None:
    """Fails on the day an entry expires: renew or remove it (docs/policies.md#exceptions)."""
    today = exceptions.today()
    entries = exceptions.load(on=today, policies={p.name for p in policy_pack.info.policies})
    assert entries
    assert [exceptions.expiry_line(e) for e in exceptions.expired(entries, today)] == []


def test_every_shipped_exception_matches_a_finding_or_violation_in_a_shipped_stack(
    policy_pack,
    shipped_preview,
    shipped_scan,
) -> None:
    """An entry nothing needs any more is "unused": the finding was fixed, so the entry must go."""
    entries = exceptions.load()
    used: set[int] = set()
    for stack in [*SHIPPED_STACKS, "org"]:
        used |= {f.accepted_by.number for f in shipped_scan(stack).accepted if f.accepted_by}
        snapshot = shipped_preview(stack).snapshot
        for v in policy_pack.check(snapshot, policy_client.policy_config_for(stack)):
            names = (v.urn.rsplit("::", 1)[-1], v.urn)
            used |= {e.number for e in entries if e.policy and e.covers(v.policy, stack, names)}
    unused = [f"unused exception: {e.label} (owner {e.owner})" for e in entries if e.number not in used]
    assert unused == []


def test_a_stack_wide_violation_is_covered_only_by_an_entry_for_every_resource() -> None:
    every = exceptions.Exception_(1, "a reason of twenty characters", "platform-team", "*", policy="p", expires=TODAY)
    some = exceptions.Exception_(2, "a reason of twenty characters", "platform-team", "api*", policy="p", expires=TODAY)
    assert every.covers("p", "prod", ("",)) and not some.covers("p", "prod", ("",))
