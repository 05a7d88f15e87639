"""deleteBeforeReplace is chosen per type in one table and applied to every resource the program registers."""

from __future__ import annotations

import pulumi
import pytest

from foundation import replacement
from review.names import STATEFUL_TYPES


def test_the_program_applies_the_table_to_every_registered_resource(shipped_preview):
    for resource in shipped_preview("prod").snapshot["resources"]:
        rule = replacement.rule_for(resource["type"])
        expected = bool(rule and rule.delete_first)
        assert resource["deleteBeforeReplace"] is expected, (resource["type"], resource["name"])


def test_only_upsert_types_are_deleted_first():
    for type_, rule in replacement.REPLACEMENT_RULES.items():
        assert rule.delete_first == rule.upsert or type_ == "aws:iam/rolePolicy:RolePolicy", type_


def test_nothing_that_holds_data_is_ever_deleted_first():
    assert not [t for t in STATEFUL_TYPES if (rule := replacement.rule_for(t)) and rule.delete_first]


def _args(type_: str, opts: pulumi.ResourceOptions) -> pulumi.ResourceTransformationArgs:
    return pulumi.ResourceTransformationArgs(None, type_, "x", {}, opts)  # type: ignore[arg-type]


def test_a_component_that_chooses_for_itself_keeps_its_choice():
    alarm = "aws:cloudwatch/metricAlarm:MetricAlarm"
    assert replacement._apply(_args(alarm, pulumi.ResourceOptions(delete_before_replace=False))) is None
    result = replacement._apply(_args(alarm, pulumi.ResourceOptions()))
    assert result is not None and result.opts.delete_before_replace is True


@pytest.mark.parametrize("type_", ["aws:s3/bucket:Bucket", "aws:kms/key:Key"])
def test_other_types_are_left_alone(type_):
    assert replacement._apply(_args(type_, pulumi.ResourceOptions())) is None
