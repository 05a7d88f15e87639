"""What the review knows about resource types beyond the provider schema: which hold state, which property is
their physical name, and which rename in place."""

from __future__ import annotations

from collections.abc import Mapping

from policies import conventions

# Resources that hold data or identity no re-deployment brings back.
STATEFUL_TYPES: frozenset[str] = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:ecr/repository:Repository",
        "aws:docdb/cluster:Cluster",
        "aws:docdb/clusterInstance:ClusterInstance",
        "aws:docdb/elasticCluster:ElasticCluster",
        "aws:elasticache/serverlessCache:ServerlessCache",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/cluster:Cluster",
        "aws:rds/cluster:Cluster",
        "aws:rds/instance:Instance",
        "aws:dynamodb/table:Table",
        "aws:efs/fileSystem:FileSystem",
        "aws:sqs/queue:Queue",
        "aws:kms/key:Key",
        "mongodbatlas:index/advancedCluster:AdvancedCluster",
        "mongodbatlas:index/cluster:Cluster",
        "mongodbatlas:index/project:Project",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:secretsmanager/secret:Secret",
        "aws:ssm/parameter:Parameter",
        "aws:organizations/account:Account",
        "aws:organizations/organization:Organization",
        "aws:organizations/organizationalUnit:OrganizationalUnit",
        "aws:acm/certificate:Certificate",
        "aws:route53/zone:Zone",
    }
)

# The property that holds each type's physical name: the conventions' rules, plus path-named types and
# types the conventions do not name (yet).
NAME_PROPERTIES: Mapping[str, str] = {
    **{t: rule.property for t, rule in conventions.NAME_RULES.items()},
    **conventions.PATH_NAMED,
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:rds/cluster:Cluster": "clusterIdentifier",
    "aws:rds/instance:Instance": "identifier",
    "aws:dynamodb/table:Table": "name",
    "aws:docdb/elasticCluster:ElasticCluster": "name",
    "aws:elasticache/cluster:Cluster": "clusterId",
    "mongodbatlas:index/advancedCluster:AdvancedCluster": "name",
    "mongodbatlas:index/cluster:Cluster": "name",
    "aws:organizations/account:Account": "name",
    "aws:organizations/organizationalUnit:OrganizationalUnit": "name",
}

# Named types AWS lets us rename in place; every other name change is a replacement.
RENAMEABLE: frozenset[str] = frozenset(
    {
        "aws:cloudfront/cachePolicy:CachePolicy",
        "aws:cloudfront/originRequestPolicy:OriginRequestPolicy",
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "aws:organizations/policy:Policy",
        "aws:organizations/organizationalUnit:OrganizationalUnit",
        "aws:cloudformation/stackSet:StackSet",
        "aws:apigatewayv2/api:Api",
        "mongodbatlas:index/project:Project",
        # Every task definition change registers a new revision; a family rename is no more dangerous than that.
        "aws:ecs/taskDefinition:TaskDefinition",
    }
)

# Named types whose name AWS does not keep unique: a replacement under the same name does not collide.
NAME_NOT_UNIQUE: frozenset[str] = frozenset(
    {
        "aws:ecs/taskDefinition:TaskDefinition",  # a replacement registers a new revision of the family
        "aws:apigatewayv2/api:Api",
    }
)
