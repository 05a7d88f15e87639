"""AWS Config in every account and every allowed region, delivering to the log archive.

Issue 29: the organization aggregator in the audit account aggregates only what recorders record; without a
recorder in each account and region it shows nothing. Control Tower and the Landing Zone Accelerator deploy the
recorder through a service-managed StackSet, and so does this component: auto-deployment covers every account
created in or moved into the organization's OUs with no ``pulumi up``; one instance per OU and allowed region.
The management account (which service-managed StackSets never reach) gets the same recorder as native resources.

Each recorder records every supported resource type (global types once, in the home region, where IAM lives), runs
as an IAM role the template creates in the home region, and delivers to the log archive's bucket under its key.
The SCP ``protect-baseline`` lets only the StackSet's execution role and the org stack change it.

Day zero: the delivery channel is refused while the bucket policy does not admit Config
(``InsufficientDeliveryPolicyException``), so every instance waits for the archive's policy; the home region's
instance (the role) comes before the other regions'.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from foundation.iam import assume_role_policy
from foundation.identity import StackIdentity
from foundation.stack_sets import service_managed_stack_set

CONFIG_ROLE_POLICY = "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"
SNAPSHOT_FREQUENCY = "TwentyFour_Hours"  # a daily configuration snapshot beside the change stream


@dataclass(frozen=True)
class ConfigRecordingArgs:
    identity: StackIdentity
    home_region: str
    regions: Sequence[str]  # every allowed region
    ou_ids: Mapping[str, pulumi.Input[str]]
    accounts_by_ou: Mapping[str, Sequence[pulumi.Resource]]
    bucket_name: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    delivery_ready: Sequence[pulumi.Resource]  # the archive's bucket policy
    management: aws.Provider


def recorder_template(role_name: str, home_region: str, bucket: str, key_arn: str) -> dict[str, Any]:
    """The per-account template: the recorder's role (home region), recorder, delivery channel."""
    role_arn = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + role_name}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "AWS Config recorder and delivery channel to the organization's log archive",
        "Conditions": {"IsHome": {"Fn::Equals": [{"Ref": "AWS::Region"}, home_region]}},
        "Resources": {
            "RecorderRole": {
                "Type": "AWS::IAM::Role",
                "Condition": "IsHome",
                "Properties": {
                    "RoleName": role_name,
                    "AssumeRolePolicyDocument": json.loads(assume_role_policy("config.amazonaws.com")),
                    "ManagedPolicyArns": [CONFIG_ROLE_POLICY],
                },
            },
            "Recorder": {
                "Type": "AWS::Config::ConfigurationRecorder",
                "Properties": {
                    "RoleARN": role_arn,
                    "RecordingGroup": {
                        "AllSupported": True,
                        "IncludeGlobalResourceTypes": {"Fn::If": ["IsHome", True, False]},
                    },
                },
            },
            "DeliveryChannel": {
                "Type": "AWS::Config::DeliveryChannel",
                "Properties": {
                    "S3BucketName": bucket,
                    "S3KmsKeyArn": key_arn,
                    "ConfigSnapshotDeliveryProperties": {"DeliveryFrequency": SNAPSHOT_FREQUENCY},
                },
            },
        },
    }


class ConfigRecording(pulumi.ComponentResource):
    """A recorder in every account and allowed region: a StackSet for members, native resources for management."""

    def __init__(self, name: str, args: ConfigRecordingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:ConfigRecording", name, None, opts)
        ident = args.identity
        role_name = ident.name("aws:iam/role:Role", "config-recorder")
        body = pulumi.Output.all(args.bucket_name, args.key_arn).apply(
            lambda parts: json.dumps(recorder_template(role_name, args.home_region, parts[0], parts[1]), sort_keys=True)
        )
        stack_set = service_managed_stack_set(
            "config-recording",
            ident,
            component="config-recording",
            description="AWS Config recorder in every member account and allowed region (security baseline)",
            template_body=body,
            # An account that leaves the organization takes no recorder of ours with it.
            retain_stacks_on_account_removal=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.delivery_ready)),
        )
        # The home region first: its instance creates the role the other regions' recorders run as.
        ordered = [args.home_region, *[r for r in args.regions if r != args.home_region]]
        for ou, ou_id in sorted(args.ou_ids.items()):
            home: list[pulumi.Resource] = []
            for region in ordered:
                instance = aws.cloudformation.StackSetInstance(
                    f"config-recording-{ou}-{region}",
                    stack_set_name=stack_set.name,
                    deployment_targets=aws.cloudformation.StackSetInstanceDeploymentTargetsArgs(
                        organizational_unit_ids=[ou_id]
                    ),
                    stack_set_instance_region=region,
                    opts=pulumi.ResourceOptions(parent=stack_set, depends_on=[*args.accounts_by_ou.get(ou, ()), *home]),
                )
                home = home or [instance]
        # The management account, natively (one role, a recorder per region).
        in_management = pulumi.ResourceOptions(parent=self, provider=args.management)
        role = aws.iam.Role(
            "config-recorder",
            name=role_name,
            assume_role_policy=assume_role_policy("config.amazonaws.com"),
            opts=in_management,
        )
        attached = aws.iam.RolePolicyAttachment(
            "config-recorder", role=role.name, policy_arn=CONFIG_ROLE_POLICY, opts=in_management
        )
        for region in args.regions:
            recorder = aws.cfg.Recorder(
                f"config-recorder-{region}",
                region=region,
                name="default",
                role_arn=role.arn,
                recording_group=aws.cfg.RecorderRecordingGroupArgs(
                    all_supported=True, include_global_resource_types=region == args.home_region
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=args.management, depends_on=[attached]),
            )
            channel = aws.cfg.DeliveryChannel(
                f"config-delivery-{region}",
                region=region,
                name="default",
                s3_bucket_name=args.bucket_name,
                s3_kms_key_arn=args.key_arn,
                snapshot_delivery_properties=aws.cfg.DeliveryChannelSnapshotDeliveryPropertiesArgs(
                    delivery_frequency=SNAPSHOT_FREQUENCY
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.management, depends_on=[recorder, *args.delivery_ready]
                ),
            )
            aws.cfg.RecorderStatus(
                f"config-recorder-status-{region}",
                region=region,
                name=recorder.name,
                is_enabled=True,
                opts=pulumi.ResourceOptions(parent=self, provider=args.management, depends_on=[channel]),
            )
        self.register_outputs({})
