"""The pack's list of taggable types is the one the pinned pulumi-aws SDK defines."""

from __future__ import annotations

import json
import pathlib

import pulumi_aws

from tools.generate_taggable_types import OUTPUT, render, scan


def test_taggable_types_match_the_pinned_sdk():
    expected = render(scan(pathlib.Path(pulumi_aws.__file__).parent))
    assert OUTPUT.read_text() == expected, "run `make taggable-types` after upgrading pulumi-aws"


def test_sample_of_types_and_kinds():
    types = json.loads(OUTPUT.read_text())
    assert types["aws:s3/bucket:Bucket"] == "default"
    assert types["aws:ecr/repository:Repository"] == "default"
    assert types["aws:autoscaling/group:Group"] == "blocks"
    assert "aws:ec2/route:Route" not in types  # routes take no tags
    assert len(types) > 800
