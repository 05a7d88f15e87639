"""Tags for the resources the provider's ``default_tags`` never reach.

Default tags cover every resource with ``tags_all``. They miss Auto Scaling
groups (tag blocks), what AWS launches on our behalf (EC2 instances and volumes
from launch templates, ECS tasks) and the one type whose tags have no
``tags_all`` (``policies/taggable_types.json`` lists it). Components call these
helpers; the pack's ``required-tags`` policy fails any resource that forgets.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi_aws as aws

# What an instance launched from a launch template creates, each of which an SCP may check.
LAUNCHED_RESOURCE_TYPES = ("instance", "volume", "network-interface")

# ECS copies the service's tags onto every task it starts; without this, tasks are untagged.
ECS_SERVICE_TAGGING = {"propagate_tags": "SERVICE", "enable_ecs_managed_tags": True}


def autoscaling_group_tags(tags: Mapping[str, str]) -> list[aws.autoscaling.GroupTagArgs]:
    """Tag blocks for an Auto Scaling group, propagated to the instances it launches."""
    return [aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True) for k, v in sorted(tags.items())]


def launch_template_tag_specifications(tags: Mapping[str, str]) -> list[aws.ec2.LaunchTemplateTagSpecificationArgs]:
    """Tag specifications so instances, volumes and ENIs carry the tags in their RunInstances request."""
    return [
        aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=dict(tags))
        for kind in LAUNCHED_RESOURCE_TYPES
    ]
