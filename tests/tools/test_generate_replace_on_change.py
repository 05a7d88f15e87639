"""The replace-on-change data: extracted from provider Go schemas, checked against the pinned SDK, kept current."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHIPPED_STACKS
from tools import generate_replace_on_change as gen

# Written for this test in the two styles the providers use (plugin SDK v2 and plugin framework).
SDK_V2 = """
func resourceThing() *schema.Resource {
	return &schema.Resource{
		Schema: map[string]*schema.Schema{
			names.AttrVPCID: {
				Type:     schema.TypeString,
				Required: true,
				ForceNew: true,
			},
			"description": {
				Type:     schema.TypeString,
				Optional: true,
			},
			"restore": {
				Type:     schema.TypeList,
				Optional: true,
				Elem: &schema.Resource{
					Schema: map[string]*schema.Schema{
						"source_id": {
							Type:     schema.TypeString,
							Required: true,
							ForceNew: true,
						},
						"label": {Type: schema.TypeString, Optional: true},
					},
				},
			},
			names.AttrKMSKeyID: {Type: schema.TypeString, Optional: true, ForceNew: true},
		},
	}
}
"""

FRAMEWORK = """
func (r *thing) Schema(ctx context.Context, request resource.SchemaRequest, response *resource.SchemaResponse) {
	response.Schema = schema.Schema{
		Attributes: map[string]schema.Attribute{
			names.AttrSubnetIDs: schema.SetAttribute{
				Optional: true,
				PlanModifiers: []planmodifier.Set{
					setplanmodifier.UseStateForUnknown(),
					setplanmodifier.RequiresReplace(),
				},
			},
			"user_group_id": schema.StringAttribute{
				Optional: true,
			},
		},
	}
}
"""


def test_force_new_attributes_are_found_at_every_depth_in_sdk_v2_schemas():
    assert gen.force_new_attributes(SDK_V2) == ["kms_key_id", "restore.source_id", "vpc_id"]


def test_requires_replace_plan_modifiers_are_found_in_framework_schemas():
    assert gen.force_new_attributes(FRAMEWORK) == ["subnet_ids"]


@pytest.mark.parametrize(
    ("constant", "name"),
    [
        ("VPCID", "vpc_id"),
        ("CIDRBlock", "cidr_block"),
        ("KMSKeyID", "kms_key_id"),
        ("SubnetIDs", "subnet_ids"),
        ("OutpostARN", "outpost_arn"),
        ("AvailabilityZone", "availability_zone"),
        ("ARN", "arn"),
    ],
)
def test_provider_name_constants_become_attribute_names(constant, name):
    assert gen.attr_constant_to_name(constant) == name


def test_an_attribute_the_pinned_sdk_does_not_have_stops_the_generator():
    with pytest.raises(SystemExit, match="cidrBlok"):
        gen.pulumi_paths("aws:ec2/vpc:Vpc", ["cidr_blok"])


def test_list_attributes_take_the_bridges_plural_name():
    assert gen.pulumi_paths("aws:elasticache/serverlessCache:ServerlessCache", ["snapshot_arns_to_restore"]) == [
        "snapshotArnsToRestores"
    ]


def test_the_checked_in_file_is_what_the_generator_makes_from_the_shipped_stacks(shipped_preview):
    types = {
        r["type"]
        for stack in (*SHIPPED_STACKS, "org")
        for r in shipped_preview(stack).snapshot["resources"]
        if r["custom"]
    }
    expected = gen.render(gen.generate(types, json.loads(gen.UPSTREAM.read_text())))
    assert gen.OUT.read_text() == expected, "stale: run python -m tools.generate_replace_on_change"


def test_the_generated_file_says_where_each_entry_comes_from():
    data = json.loads(gen.OUT.read_text())
    assert {"generator", "sdk", "upstream", "method", "inferred", "counts"} <= set(data["_provenance"])
    assert data["_provenance"]["sdk"]["pulumi_aws"] == "7.51.1"
    for type_, entry in data["types"].items():
        assert entry["basis"] in ("upstream", "name-only", "engine"), type_
        if entry["basis"] == "upstream":
            repo, path_at_commit = entry["source"].split(" ")[:2]
            assert repo in ("hashicorp/terraform-provider-aws", "mongodb/terraform-provider-mongodbatlas")
            assert len(path_at_commit.split("@")[1]) == 40, type_
