"""The stack's ECS cluster: Fargate by default, EC2 capacity that scales with the tasks when asked for.

Field reports: ``ec2-to-ecs-fargate-migration.md`` (Fargate first: no hosts to
patch; Container Insights from day one) and ``ecs-cluster-capacity-scaling.md``
(task scaling without capacity scaling left tasks in PENDING during month-end
peaks: managed scaling with a target capacity, managed termination protection
and binpack placement).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from foundation import iam, tagging
from foundation.identity import StackIdentity
from stack_config.services import ClusterConfig

EC2_PROVIDER = "ec2"
# Amazon's ECS-optimised AMI, resolved at deploy time so hosts start patched.
AMI_PARAMETERS = {
    "x86_64": "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
    "arm64": "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id",
}
# Binpack on memory: fill a host before starting the next, so scale-in finds empty hosts (capacity seed).
BINPACK = [{"type": "binpack", "field": "memory"}]


@dataclass(frozen=True)
class EcsClusterArgs:
    identity: StackIdentity
    config: ClusterConfig
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]


class EcsCluster(pulumi.ComponentResource):
    """ECS cluster with Container Insights and capacity providers, so every task has somewhere to run.

    Prevents: tasks stuck in PENDING because the service scaled and the hosts
    did not (managed scaling), hosts terminated under running tasks (managed
    termination protection + scale-in protection), and deployments nobody can
    observe (Container Insights feeds the running-task alarms).
    """

    arn: pulumi.Output[str]
    name: pulumi.Output[str]
    ec2_capacity_provider: pulumi.Output[str] | None

    def __init__(self, name: str, args: EcsClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:containers:EcsCluster", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.ecs.Cluster(
            "cluster",
            name=ident.name("aws:ecs/cluster:Cluster", "services"),
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value=cfg.container_insights)],
            opts=child,
        )
        providers: list[pulumi.Input[str]] = ["FARGATE", *(["FARGATE_SPOT"] if cfg.fargate_spot else [])]
        self.ec2_capacity_provider = None
        if cfg.ec2 is not None:
            provider = self._ec2_capacity(args, cluster)
            providers.append(provider.name)
            self.ec2_capacity_provider = provider.name
        # Services wait for this: a strategy naming a provider the cluster has not associated yet is refused.
        self.capacity_providers = aws.ecs.ClusterCapacityProviders(
            "capacity",
            cluster_name=cluster.name,
            capacity_providers=providers,
            # Services name their own strategy; this default only catches a bare RunTask.
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider="FARGATE", weight=1, base=0
                )
            ],
            opts=child,
        )
        self.arn = cluster.arn
        self.name = cluster.name
        self.register_outputs({"arn": self.arn, "name": self.name})

    def _ec2_capacity(self, args: EcsClusterArgs, cluster: aws.ecs.Cluster) -> aws.ecs.CapacityProvider:
        ident, ec2 = args.identity, args.config.ec2
        assert ec2 is not None
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            "instance",
            name=ident.name("aws:iam/role:Role", "ecs-instance"),
            assume_role_policy=iam.assume_role_policy("ec2.amazonaws.com"),
            opts=child,
        )
        # The AWS-managed policy the ECS agent needs (register, poll, send logs); it is scoped by AWS and kept current.
        aws.iam.RolePolicyAttachment(
            "instance-ecs",
            role=role.name,
            policy_arn=("arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"),
            opts=child,
        )
        # Session Manager instead of SSH keys (fargate migration: no SSH).
        aws.iam.RolePolicyAttachment(
            "instance-ssm",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            opts=child,
        )
        profile = aws.iam.InstanceProfile(
            "instance",
            name=ident.name("aws:iam/instanceProfile:InstanceProfile", "ecs-instance"),
            role=role.name,
            opts=child,
        )
        # Hosts accept nothing: tasks run in awsvpc mode with their own ENIs and security groups.
        sg = aws.ec2.SecurityGroup(
            "instances",
            name=ident.name("aws:ec2/securityGroup:SecurityGroup", "ecs-hosts"),
            description="ECS container hosts: no inbound",
            vpc_id=args.vpc_id,
            tags={"Name": ident.label("ecs-hosts")},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            "instances-egress",
            security_group_id=sg.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="ECR, ECS and CloudWatch endpoints",
            opts=child,
        )
        ami = aws.ssm.get_parameter_output(
            name=AMI_PARAMETERS[ec2.architecture], opts=pulumi.InvokeOptions(parent=self)
        )
        user_data = cluster.name.apply(
            lambda name: base64.b64encode(
                f"#!/bin/bash\necho ECS_CLUSTER={name} >> /etc/ecs/ecs.config\n"
                f"echo ECS_ENABLE_TASK_IAM_ROLE=true >> /etc/ecs/ecs.config\n".encode()
            ).decode()
        )
        template = aws.ec2.LaunchTemplate(
            "hosts",
            name=ident.name("aws:ec2/launchTemplate:LaunchTemplate", "ecs-hosts"),
            image_id=ami.value,
            instance_type=ec2.instance_type,
            user_data=user_data,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            vpc_security_group_ids=[sg.id],
            # IMDSv2 only, one hop: a container cannot borrow the host's credentials.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=30, volume_type="gp3", encrypted="true", delete_on_termination="true"
                    ),
                )
            ],
            tag_specifications=tagging.launch_template_tag_specifications(ident.tags),
            update_default_version=True,
            opts=child,
        )
        group = aws.autoscaling.Group(
            "hosts",
            name=ident.name("aws:autoscaling/group:Group", "ecs-hosts"),
            min_size=ec2.min_size,
            max_size=ec2.max_size,
            vpc_zone_identifiers=args.private_subnet_ids,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(id=template.id, version="$Latest"),
            # Managed termination protection needs it: ECS lifts it from a host only once the host is empty.
            protect_from_scale_in=True,
            health_check_type="EC2",
            tags=tagging.autoscaling_group_tags(
                {
                    **ident.tags,
                    "Name": ident.label("ecs-host"),
                    # ECS adds this tag itself once it manages the group.
                    "AmazonECSManaged": "true",
                }
            ),
            # Managed scaling owns the instance count; Pulumi setting it back would undo a scale-out.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
        )
        return aws.ecs.CapacityProvider(
            "ec2",
            name=ident.name("aws:ecs/capacityProvider:CapacityProvider", EC2_PROVIDER),
            auto_scaling_group_provider=aws.ecs.CapacityProviderAutoScalingGroupProviderArgs(
                auto_scaling_group_arn=group.arn,
                managed_termination_protection="ENABLED",
                managed_draining="ENABLED",
                managed_scaling=aws.ecs.CapacityProviderAutoScalingGroupProviderManagedScalingArgs(
                    status="ENABLED",
                    target_capacity=ec2.target_capacity,
                    minimum_scaling_step_size=1,
                    maximum_scaling_step_size=ec2.max_size,
                ),
            ),
            opts=child,
        )
