"""The review comment's security lines: figures per stack and only the failures the change introduces."""

from __future__ import annotations

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
