"""How each named resource type is replaced: created beside the old one first, or deleted first.

Our resources carry fixed physical names from the conventions, so when a change forces a replacement that keeps
the name, Pulumi's default (create the new one, then delete the old one) asks AWS for a second resource under a name
that is still taken. Most services refuse ("already exists"), and the `up` stops before anything is deleted. A few
APIs are upserts (``PutMetricAlarm``, ``PutRule``, ``CreateTopic``): the "create" silently takes over the old
resource and the delete that follows removes it, leaving the stack pointing at nothing. ``deleteBeforeReplace``
avoids both at the price of a window without the resource. The choice is made here, per type, once
(issue 16; "You are not saved by IaC": a renamed data store is a new, empty one):

- data stores and anything else that holds state stay create-first: a collision is the safe failure, a window
  without the data is not (and prod protects them anyway);
- resources that other resources hold on to (target groups behind a listener, security groups on ENIs, subnet
  groups under a cluster) stay create-first: deleting them first fails while they are in use;
- everything else stays create-first too: a rename (the usual reason to replace a named resource) then works with
  no window, and a same-name replacement fails safely, with the review saying so before the merge;
- only upsert types go delete-first, because create-first can fail silently there: unless the provider checks for
  an existing resource first (newer terraform-provider-aws alarms do, older ones do not), the "create" takes over
  the old resource and the delete that follows removes it.

``choose_replacement_order()`` applies the table to every resource the program registers; a component that sets
``delete_before_replace`` itself keeps its own choice. The review (``review/diff.py``) reads the same table to say
what a replacement will do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class ReplacementRule:
    delete_first: bool
    reason: str
    # Properties within which AWS keeps the name unique (a security group's name is unique per VPC): a replacement
    # that also changes one of them does not collide.
    name_scope: tuple[str, ...] = ()
    # The create call is an upsert: create-first would overwrite the old resource and then delete it.
    upsert: bool = False


CREATE_FIRST_STATEFUL = "holds data: a name collision stops the `up` before anything is deleted"
CREATE_FIRST_IN_USE = "in use by other resources: deleting it first fails, so the collision is the honest failure"
CREATE_FIRST_NAMED = "a rename needs no window; a same-name replacement fails safely (already exists)"
DELETE_FIRST_UPSERT = (
    "the API is an upsert: a provider without its own existence check overwrites the old one and the delete then "
    "removes it; delete-first is safe either way"
)

REPLACEMENT_RULES: Mapping[str, ReplacementRule] = {
    # Data and identity no redeploy brings back.
    "aws:s3/bucket:Bucket": ReplacementRule(False, CREATE_FIRST_STATEFUL),
    "aws:ecr/repository:Repository": ReplacementRule(False, CREATE_FIRST_STATEFUL),
    "aws:docdb/cluster:Cluster": ReplacementRule(False, CREATE_FIRST_STATEFUL),
    "aws:docdb/clusterInstance:ClusterInstance": ReplacementRule(False, CREATE_FIRST_STATEFUL),
    "aws:elasticache/serverlessCache:ServerlessCache": ReplacementRule(False, CREATE_FIRST_STATEFUL),
    "aws:cloudwatch/logGroup:LogGroup": ReplacementRule(False, CREATE_FIRST_STATEFUL),
    # A deleted secret keeps its name for its recovery window, so delete-first fails as well.
    "aws:secretsmanager/secret:Secret": ReplacementRule(False, CREATE_FIRST_STATEFUL),
    "mongodbatlas:index/advancedCluster:AdvancedCluster": ReplacementRule(False, CREATE_FIRST_STATEFUL, ("projectId",)),
    "mongodbatlas:index/project:Project": ReplacementRule(False, CREATE_FIRST_STATEFUL),
    "aws:cloudformation/stackSet:StackSet": ReplacementRule(False, CREATE_FIRST_STATEFUL),
    # Held by other resources while they run.
    "aws:ec2/securityGroup:SecurityGroup": ReplacementRule(False, CREATE_FIRST_IN_USE, ("vpcId",)),
    "aws:lb/targetGroup:TargetGroup": ReplacementRule(False, CREATE_FIRST_IN_USE),
    "aws:lb/loadBalancer:LoadBalancer": ReplacementRule(False, CREATE_FIRST_IN_USE),
    "aws:docdb/subnetGroup:SubnetGroup": ReplacementRule(False, CREATE_FIRST_IN_USE),
    "aws:docdb/clusterParameterGroup:ClusterParameterGroup": ReplacementRule(False, CREATE_FIRST_IN_USE),
    "aws:elasticache/user:User": ReplacementRule(False, CREATE_FIRST_IN_USE),
    "aws:elasticache/userGroup:UserGroup": ReplacementRule(False, CREATE_FIRST_IN_USE),
    "aws:ecs/service:Service": ReplacementRule(False, CREATE_FIRST_IN_USE, ("cluster",)),
    "aws:lambda/function:Function": ReplacementRule(False, CREATE_FIRST_IN_USE),
    "aws:iam/rolePolicy:RolePolicy": ReplacementRule(False, CREATE_FIRST_IN_USE, ("role",), upsert=True),
    # Named and stateless.
    "aws:iam/role:Role": ReplacementRule(False, CREATE_FIRST_NAMED),
    "aws:ssm/parameter:Parameter": ReplacementRule(False, CREATE_FIRST_NAMED),
    # Upserts (PutMetricAlarm, PutRule, CreateTopic): the only delete-first types.
    "aws:cloudwatch/metricAlarm:MetricAlarm": ReplacementRule(True, DELETE_FIRST_UPSERT, upsert=True),
    "aws:cloudwatch/eventRule:EventRule": ReplacementRule(True, DELETE_FIRST_UPSERT, upsert=True),
    "aws:sns/topic:Topic": ReplacementRule(True, DELETE_FIRST_UPSERT, upsert=True),
}


def rule_for(type_: str) -> ReplacementRule | None:
    return REPLACEMENT_RULES.get(type_)


def _apply(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    rule = REPLACEMENT_RULES.get(args.type_)
    if rule is None or not rule.delete_first or args.opts.delete_before_replace is not None:
        return None
    opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(delete_before_replace=True))
    return pulumi.ResourceTransformationResult(args.props, opts)


def choose_replacement_order() -> None:
    """Apply the table to every resource registered after this call (call it before the first resource)."""
    pulumi.runtime.register_stack_transformation(_apply)
