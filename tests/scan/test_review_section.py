"""The review comment's security lines: figures per stack and only the failures the change introduces."""

from __future__ import annotations

import datetime

from policies import exceptions
from scan import findings, review_section


def finding(check: str, address: str) -> findings.Finding:
    return findings.Finding(check, "a title", address, address.split(".")[1], f"urn:pulumi:prod::p::t::{address}")


def result(stack: str, *failed: findings.Finding) -> findings.ScanResult:
    return findings.ScanResult(stack, passed=10, failed=list(failed), checkov_version="3.3.30")


def test_only_failures_absent_from_the_base_are_new() -> None:
    old, new = finding("CKV_AWS_91", "aws_lb.alb"), finding("CKV_AWS_68", "aws_cloudfront_distribution.spa")
    assert review_section.new_failures(result("prod", old), result("prod", old, new)) == [new]


def test_the_line_gives_passed_failed_accepted_and_lists_what_is_new() -> None:
    new = finding("CKV_AWS_68", "aws_cloudfront_distribution.spa")
    text = review_section.render(result("prod", new), result("prod"))
    assert "**prod**: 10 passed, 1 failed, 0 accepted" in text
    assert "New failures this change introduces:\n- `CKV_AWS_68` `aws_cloudfront_distribution.spa`" in text
    assert text.splitlines()[1].startswith("### ❌")  # prod fails on it


def test_dev_reports_without_failing_and_an_unchanged_stack_says_so() -> None:
    old = finding("CKV_AWS_91", "aws_lb.alb")
    text = review_section.render(result("dev", old), result("dev", old))
    assert "(reported only in this stage)" in text and "introduces no new failure" in text
    assert text.splitlines()[1].startswith("### ⚠️")


TODAY = datetime.date(2026, 12, 1)


def entry(number: int, days: int) -> exceptions.Exception_:
    expires = TODAY + datetime.timedelta(days=days)
    return exceptions.Exception_(
        number, "a reason of twenty characters", "product-team", "*", check="CKV_AWS_1", expires=expires
    )


def test_exceptions_expiring_within_30_days_are_warned_and_expired_ones_fail() -> None:
    text = review_section.render(result("prod"), None, [entry(1, 30), entry(2, 31), entry(3, -1)], TODAY, env={})
    assert "⏳ `exceptions.yaml entry 1 (CKV_AWS_1 on *)` expires on 2026-12-31 (30 days; owner product-team)" in text
    assert "entry 2" not in text
    assert "❌ exceptions.yaml entry 3 (CKV_AWS_1 on *) expired on 2026-11-30 (owner product-team)" in text


def test_no_exception_line_when_none_is_near_its_expiry() -> None:
    assert "Exceptions (" not in review_section.render(result("prod"), None, [entry(1, 31)], TODAY, env={})


def test_the_comment_links_both_reports_in_code_scanning() -> None:
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/p", "GITHUB_REF": "refs/pull/7/merge"}
    text = review_section.render(result("prod"), None, [], TODAY, env=env)
    alerts = "https://github.com/acme/p/security/code-scanning?query=is%3Aopen+pr%3A7"
    assert f"[checkov]({alerts}+tool%3Acheckov)" in text and f"[policy pack]({alerts}+tool%3Aaws-platform)" in text
    local = review_section.render(result("prod"), None, [], TODAY, env={})
    assert "`build/scan/prod/results_sarif.sarif` (checkov), `build/prod-policy.sarif` (policy pack)" in local


def test_without_checkov_the_comment_still_warns_of_expiring_exceptions(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CHECKOV", str(tmp_path / "no-checkov"))
    monkeypatch.setattr(exceptions, "today", lambda: TODAY)
    monkeypatch.setattr(exceptions, "load", lambda **_: [entry(4, 5)])
    text = review_section.section("prod", None, {"stack": "prod", "resources": []})
    assert "### Security scan skipped" in text and "no-checkov" in text
    assert "⏳ `exceptions.yaml entry 4 (CKV_AWS_1 on *)` expires on 2026-12-06 (5 days; owner product-team)" in text
