"""Mock cloud answers realistic enough that every ``apply`` chain in the program runs.

Ids, ARNs, endpoints and digests follow AWS's real formats and are derived from
the resource's URN, so the same program and config always produce the same
snapshot, byte for byte. An invoke the mocks do not know fails loudly with its
token: a silent ``None`` would hide a broken ``apply`` until ``pulumi up``.

What exists, in which account, is the ``World``'s to say (``preview/world.py``):
each resource is created in the account its provider is pinned to, and a lookup
finds only what that world holds on the day it is asked.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi

from preview.world import World
from stack_config.aws_values import ELB_LOG_DELIVERY_ACCOUNTS


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:length]


# Id prefixes AWS uses, so code that parses ids (or a reviewer reading the snapshot) sees real shapes.
ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/flowLog:FlowLog": "fl-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc-",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
}

# Types whose AWS id is their name (what `pulumi import` takes), so `bucket=b.id` references read as names.
ID_IS_NAME = {
    "aws:s3/bucket:Bucket",
    "aws:iam/role:Role",
    "aws:lambda/function:Function",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:ssm/parameter:Parameter",
    "aws:docdb/cluster:Cluster",  # its id is the cluster identifier (an instance's clusterIdentifier=cluster.id)
}

# Services whose ARNs carry no region (and, for S3, no account).
GLOBAL_SERVICES = {"iam", "organizations", "cloudfront", "route53", "s3"}
ARN_SERVICE = {
    "cloudwatch": "logs",
    "lb": "elasticloadbalancing",
    "alb": "elasticloadbalancing",
    "appautoscaling": "application-autoscaling",
    "apigatewayv2": "apigateway",
    "docdb": "rds",
    "ssoadmin": "sso",
    "cloudformation": "cloudformation",
}


class PlatformMocks(pulumi.runtime.Mocks):
    def __init__(self, stack: str, world: World, default_region: str = "eu-west-1"):
        self.stack = stack
        self.world = world
        self.account = world.account
        self.default_region = default_region
        self.provider_regions: dict[str, str] = {}
        # Who a provider acts as: its pinned account, and the role it assumes (a push provider) if any.
        self.provider_accounts: dict[str, str] = {}
        self.provider_roles: dict[str, str] = {}
        self.stack_references = world.stack_references

    # --- resources -----------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        if typ.startswith("pulumi:providers:"):
            provider_id = f"{name}-{digest(typ, name, length=8)}"
            self.provider_regions[provider_id] = inputs.get("region") or self.default_region
            if self.world.lost and typ == "pulumi:providers:aws":
                self.world.lost.provider(name, self.provider_regions[provider_id])
            pinned, roles = _json_list(inputs.get("allowedAccountIds")), _json_list(inputs.get("assumeRoles"))
            role = str(roles[0].get("roleArn", "")) if roles and isinstance(roles[0], dict) else ""
            if role:
                self.provider_roles[provider_id] = role
            account = role.split(":")[4] if role.count(":") >= 5 else (str(pinned[0]) if pinned else self.account)
            if pinned and account not in map(str, pinned):
                # The provider refuses to run in any account but its pinned one: so does the offline one.
                raise ValueError(
                    f"provider {name}: credentials for account {account} while allowed_account_ids is {pinned}"
                )
            self.provider_accounts[provider_id] = account
            return provider_id, inputs
        if typ == "pulumi:pulumi:StackReference":
            ref = inputs.get("name", name)
            if ref not in self.stack_references:
                raise KeyError(
                    f"no recorded outputs for StackReference '{ref}' on this stack's backend: a stack that has not "
                    "been deployed there has none (preview/stack_references.json records the deployed ones)"
                )
            return ref, {"name": ref, "outputs": self.stack_references[ref], "secretOutputNames": []}
        if not args.custom:
            return None, {}
        region = inputs.get("region") or self._region(args.provider)  # pulumi-aws 7: a resource's own region
        if self.world.lost:
            self.world.lost.resource(typ, name, region, inputs)
        key = f"{typ}\0{name}\0{json.dumps(inputs, sort_keys=True, default=str)}"
        physical = self._physical_name(typ, name, inputs)
        rid = physical if typ in ID_IS_NAME else ID_PREFIXES.get(typ, "") + digest(typ, name)
        state = {**inputs, "id": rid}
        # Whose resource: the provider's account (an assumed role's, or its pinned one), not always the stack's.
        arn = self._arn(typ, physical, region, self._account(args.provider))
        state.setdefault("arn", arn)
        state.update(self._computed(typ, physical, inputs, region, arn, key))
        return state["id"], state  # a computed "id" (an account's 12 digits) is the resource's id

    def _region(self, provider_ref: str | None) -> str:
        # A provider reference is "<provider urn>::<provider id>".
        provider_id = (provider_ref or "").rsplit("::", 1)[-1]
        return self.provider_regions.get(provider_id, self.default_region)

    def _account(self, provider_ref: str | None) -> str:
        return self.provider_accounts.get((provider_ref or "").rsplit("::", 1)[-1], self.account)

    @staticmethod
    def _physical_name(typ: str, name: str, inputs: dict) -> str:
        for key in (
            "name",
            "bucket",
            "family",
            "clusterIdentifier",
            "identifier",
            "replicationGroupId",
            "functionName",
            "roleName",
            "userId",
        ):
            value = inputs.get(key)
            if isinstance(value, str) and value:
                return value
        return name

    def _arn(self, typ: str, physical: str, region: str, account: str | None = None) -> str:
        acct = account or self.account
        module = typ.split(":")[1].split("/")[0]
        kind = typ.rsplit(":", 1)[-1]
        service = ARN_SERVICE.get(module, module)
        resource = f"{kind[0].lower()}{kind[1:]}/{physical}"
        if typ == "aws:s3/bucket:Bucket":
            return f"arn:aws:s3:::{physical}"
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            return f"arn:aws:logs:{region}:{acct}:log-group:{physical}"
        if typ == "aws:cloudwatch/eventRule:EventRule":
            return f"arn:aws:events:{region}:{acct}:rule/{physical}"
        if typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            return f"arn:aws:cloudwatch:{region}:{acct}:alarm:{physical}"
        if typ == "aws:ssm/parameter:Parameter":
            return f"arn:aws:ssm:{region}:{acct}:parameter{physical}"
        if typ == "aws:lambda/function:Function":
            return f"arn:aws:lambda:{region}:{acct}:function:{physical}"
        if typ == "aws:sns/topic:Topic":
            return f"arn:aws:sns:{region}:{acct}:{physical}"
        if typ == "aws:secretsmanager/secret:Secret":
            return f"arn:aws:secretsmanager:{region}:{acct}:secret:{physical}-{digest(physical, length=6)}"
        if typ == "aws:elasticache/user:User":
            return f"arn:aws:elasticache:{region}:{acct}:user:{physical}"
        if typ == "aws:ecs/taskDefinition:TaskDefinition":
            return f"arn:aws:ecs:{region}:{acct}:task-definition/{physical}:1"
        if service in GLOBAL_SERVICES:
            return f"arn:aws:{service}::{acct}:{resource}"
        return f"arn:aws:{service}:{region}:{acct}:{resource}"

    def _computed(self, typ: str, physical: str, inputs: dict, region: str, arn: str, key: str) -> dict[str, Any]:
        """Outputs AWS computes that the program reads; keyed by type."""
        acct, h = self.account, digest(key, length=12)
        if typ == "aws:ec2/vpc:Vpc":
            return {"defaultSecurityGroupId": f"sg-{h}"}
        if typ == "aws:ecr/repository:Repository":
            return {"repositoryUrl": f"{acct}.dkr.ecr.{region}.amazonaws.com/{physical}", "registryId": acct}
        if typ == "aws:s3/bucket:Bucket":
            return {
                "bucket": physical,
                "bucketRegionalDomainName": f"{physical}.s3.{region}.amazonaws.com",
                "bucketDomainName": f"{physical}.s3.amazonaws.com",
            }
        if typ == "aws:lambda/function:Function":
            return {
                "version": "1",
                "qualifiedArn": f"{arn}:1",
                "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
            }
        if typ == "aws:ecs/taskDefinition:TaskDefinition":
            return {"revision": 1, "arnWithoutRevision": arn.rsplit(":", 1)[0]}
        if typ in ("aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"):
            return {
                # AWS's id in an ELB ARN is 16 hex digits (app/<name>/50dc6c495c0c9188).
                "arnSuffix": f"{'app' if 'loadBalancer' in typ else 'targetgroup'}/{physical}/{digest(key, length=16)}",
                "dnsName": f"{physical}-{h[:10]}.{region}.elb.amazonaws.com",
                "zoneId": "Z32O12XQLNTSW2",
            }
        if typ == "aws:cloudfront/distribution:Distribution":
            return {"domainName": f"d{h}.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2", "status": "Deployed"}
        if typ == "aws:lambda/functionUrl:FunctionUrl":
            return {"functionUrl": f"https://{h}{h[:8]}.lambda-url.{region}.on.aws/", "urlId": f"{h}{h[:8]}"}
        if typ == "aws:cloudfront/keyValueStore:KeyValueStore":
            kvs_id = f"{h[:8]}-{h[8:12]}-4{digest(h, length=3)}-8{digest(h, 'k', length=3)}-{digest(key, length=12)}"
            return {"id": kvs_id, "arn": f"arn:aws:cloudfront::{acct}:key-value-store/{kvs_id}"}
        if typ == "aws:cloudfront/function:Function":
            return {"etag": f"E{h[:13].upper()}", "liveStageEtag": f"E{h[:13].upper()}", "status": "DEPLOYED"}
        if typ == "aws:apigatewayv2/api:Api":
            return {
                "apiEndpoint": f"https://{h[:10]}.execute-api.{region}.amazonaws.com",
                "executionArn": f"arn:aws:execute-api:{region}:{acct}:{h[:10]}",
            }
        if typ == "aws:elasticache/serverlessCache:ServerlessCache":
            host = (
                f"{physical}-{h[:6]}.serverless.{region[:2]}{region.split('-')[1][0]}{region[-1]}.cache.amazonaws.com"
            )
            return {
                "endpoints": [{"address": host, "port": 6379}],
                "readerEndpoints": [{"address": host, "port": 6380}],
            }
        if typ == "aws:elasticache/replicationGroup:ReplicationGroup":
            host = f"{physical}.{h[:6]}.{region[:2]}{region.split('-')[1][0]}{region[-1]}.cache.amazonaws.com"
            return {"primaryEndpointAddress": f"master.{host}", "readerEndpointAddress": f"replica.{host}"}
        if typ.startswith("mongodbatlas:"):
            return self._atlas(typ, physical, inputs, region, h)
        if typ == "aws:docdb/cluster:Cluster":
            host = f"{physical}.cluster-{h}.{region}.docdb.amazonaws.com"
            return {
                "endpoint": host,
                "readerEndpoint": host.replace(".cluster-", ".cluster-ro-"),
                "port": 27017,
                "masterUserSecrets": [
                    {"secretArn": f"arn:aws:secretsmanager:{region}:{acct}:secret:rds!{h}", "secretStatus": "active"}
                ],
            }
        if typ == "aws:route53/record:Record":
            return {"fqdn": str(inputs.get("name", "")).rstrip(".")}
        if typ == "aws:acm/certificate:Certificate":
            domains = [inputs.get("domainName", "example.com"), *(inputs.get("subjectAlternativeNames") or [])]
            return {
                "domainValidationOptions": [
                    {
                        "domainName": d,
                        "resourceRecordName": f"_{digest(h, d, length=12)}.{d}.",
                        "resourceRecordType": "CNAME",
                        "resourceRecordValue": f"_{digest(d, h, length=12)}.acm-validations.aws.",
                    }
                    for d in domains
                ]
            }
        if typ.startswith("docker-build:index:Image"):
            sha = hashlib.sha256(key.encode()).hexdigest()
            tags = inputs.get("tags") or [physical]
            return {"digest": f"sha256:{sha}", "ref": f"{str(tags[0]).split(':')[0]}@sha256:{sha}"}
        if typ == "random:index/randomPassword:RandomPassword":
            return {"result": f"offline-{h}"}
        if typ.startswith(
            ("aws:organizations/", "aws:ssoadmin/", "aws:identitystore/", "aws:ses/", "aws:cloudformation/stackSet")
        ):
            return self._organization(typ, physical, inputs, region, h)
        return {}

    @staticmethod
    def _atlas(typ: str, physical: str, inputs: dict, region: str, h: str) -> dict[str, Any]:
        """MongoDB Atlas: 24-hex ids, the PrivateLink service name, private-endpoint SRV strings."""
        object_id = digest(typ, physical, length=24)
        if typ == "mongodbatlas:index/project:Project":
            return {"projectId": object_id, "created": "2026-01-01T00:00:00Z", "clusterCount": 1}
        if typ == "mongodbatlas:index/privateLinkEndpoint:PrivateLinkEndpoint":
            aws_region = str(inputs.get("region", region)).lower().replace("_", "-")
            return {
                "privateLinkId": object_id,
                "status": "AVAILABLE",
                "endpointServiceName": f"com.amazonaws.vpce.{aws_region}.vpce-svc-{h[:17]}",
            }
        if typ == "mongodbatlas:index/advancedCluster:AdvancedCluster":
            host = f"{physical}.{h[:5]}.mongodb.net"
            private = f"{physical}-pl-0.{h[:5]}.mongodb.net"
            sharded = inputs.get("clusterType") == "SHARDED"
            return {
                "clusterId": object_id,
                "stateName": "IDLE",
                "connectionStrings": {
                    "standard": f"mongodb://{host}:27017",
                    "standardSrv": f"mongodb+srv://{host}",
                    "privateEndpoints": [
                        {
                            "type": "MONGOS" if sharded else "MONGOD",
                            "connectionString": f"mongodb://{private}:1024",
                            "srvConnectionString": f"mongodb+srv://{private}",
                            "srvShardOptimizedConnectionString": f"mongodb+srv://{physical}-pl-0-lb.{h[:5]}.mongodb.net"
                            if sharded
                            else "",
                            "endpoints": [
                                {"endpointId": f"vpce-{h[:17]}", "providerName": "AWS", "region": "EU_WEST_1"}
                            ],
                        }
                    ],
                },
            }
        return {}

    def _organization(self, typ: str, physical: str, inputs: dict, region: str, h: str) -> dict[str, Any]:
        """The management account's types, in pulumi-aws 7's output names and AWS's id formats."""
        acct = self.account
        org_id = f"o-{digest('organization', acct, length=10)}"  # one organization per management account
        if typ == "aws:organizations/organization:Organization":
            root = f"r-{digest('root', acct, length=4)}"
            return {
                "id": org_id,
                "arn": f"arn:aws:organizations::{acct}:organization/{org_id}",
                "roots": [
                    {
                        "id": root,
                        "arn": f"arn:aws:organizations::{acct}:root/{org_id}/{root}",
                        "name": "Root",
                        "policyTypes": [
                            {"type": t, "status": "ENABLED"} for t in inputs.get("enabledPolicyTypes") or []
                        ],
                    }
                ],
                "masterAccountId": acct,
                "masterAccountArn": f"arn:aws:organizations::{acct}:account/{org_id}/{acct}",
                "masterAccountEmail": "management@example.com",
                "featureSet": inputs.get("featureSet", "ALL"),
            }
        if typ == "aws:organizations/organizationalUnit:OrganizationalUnit":
            ou = f"ou-{digest('root', acct, length=4)}-{digest(typ, physical, length=8)}"
            return {"id": ou, "arn": f"arn:aws:organizations::{acct}:ou/{org_id}/{ou}"}
        if typ == "aws:organizations/account:Account":
            account = str(int(digest(typ, physical, length=12), 16))[:12].rjust(12, "1")
            return {
                "id": account,
                "arn": f"arn:aws:organizations::{acct}:account/{org_id}/{account}",
                "status": "ACTIVE",
                "govcloudId": "",
            }
        if typ == "aws:organizations/policy:Policy":
            policy = f"p-{digest(typ, physical, length=8)}"
            kind = str(inputs.get("type", "SERVICE_CONTROL_POLICY")).lower()
            return {"id": policy, "arn": f"arn:aws:organizations::{acct}:policy/{org_id}/{kind}/{policy}"}
        if typ == "aws:identitystore/group:Group":
            return {"groupId": f"{h[:10]}-{h[:8]}-{h[8:12]}-{h[:4]}-{h[4:8]}-{digest(physical, length=12)}"}
        if typ == "aws:ssoadmin/permissionSet:PermissionSet":
            instance = str(inputs.get("instanceArn", "")).rsplit("/", 1)[-1]
            return {
                "arn": f"arn:aws:sso:::permissionSet/{instance}/ps-{digest(typ, physical, length=16)}",
                "createdDate": "2026-01-01T00:00:00Z",
            }
        if typ == "aws:ses/domainIdentity:DomainIdentity":
            return {
                "verificationToken": hashlib.sha256(physical.encode()).hexdigest()[:44],
                "arn": f"arn:aws:ses:{region}:{acct}:identity/{inputs.get('domain', physical)}",
            }
        if typ == "aws:cloudformation/stackSet:StackSet":
            return {
                "stackSetId": f"{physical}:{digest(typ, physical, length=8)}-{h[:4]}-{h[4:8]}-{h[8:12]}-{h[:12]}",
                "arn": f"arn:aws:cloudformation:{region}:{acct}:stackset/{physical}:{h[:12]}",
            }
        return {}

    # --- invokes -------------------------------------------------------------

    def _image(self, a: dict, region: str) -> dict:
        registry = a.get("registryId") or self.account
        repository, image_digest = a.get("repositoryName", ""), a.get("imageDigest", "")
        ref = f"{registry}.dkr.ecr.{region}.amazonaws.com/{repository}@{image_digest}"
        missing = self.world.image_exists(ref, repository, registry)
        if missing:
            raise LookupError(f"reading ECR Image ({repository}@{image_digest}): {missing}")
        return {
            "id": ref,
            "imageDigest": image_digest,
            "imageTags": [] if ref in self.world.untagged_images else [f"release-{image_digest[7:15]}"],
            "imagePushedAt": 1767225600,
            "imageSizeInBytes": 52428800,
            "imageUri": ref,
            "registryId": registry,
            "repositoryName": repository,
            "region": region,
        }

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        # No check failures; an empty list, not None, which pulumi 3.272's mock monitor would iterate.
        return self._invoke(args), []

    def _invoke(self, args: pulumi.runtime.MockCallArgs) -> dict:
        token, a = args.token, args.args
        # pulumi-aws 7: a lookup's own ``region`` argument overrides its provider's, as the provider does.
        region, account = str(a.get("region") or self._region(args.provider)), self._account(args.provider)
        if self.world.lost:
            self.world.lost.invoke(token, region, a)
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            role = self.provider_roles.get((args.provider or "").rsplit("::", 1)[-1]) or self.world.caller_role
            role_name = role.rsplit("/", 1)[-1] if role else "offline-preview"
            return {
                "accountId": account,
                "arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/offline",
                "userId": "AROAOFFLINEPREVIEW:offline",
                "id": account,
            }
        if token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com"}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                "names": [f"{region}{z}" for z in "abc"],
                "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)],
                "id": region,
                "groupNames": [region],
            }
        if token == "aws:ec2/getVpc:getVpc":
            return {
                "id": a.get("id"),
                "cidrBlock": "10.0.0.0/16",
                "arn": f"arn:aws:ec2:{region}:{account}:vpc/{a.get('id')}",
            }
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            # A token is for one registry in one region: the provider's, whatever registry is asked for.
            return {
                "userName": "AWS",
                "password": "offline",
                "proxyEndpoint": f"https://{a.get('registryId') or account}.dkr.ecr.{region}.amazonaws.com",
                "authorizationToken": "offline",
                "expiresAt": "2030-01-01T00:00:00Z",
                "id": region,
            }
        if token == "aws:ecr/getImage:getImage":
            return self._image(a, region)
        if token == "aws:secretsmanager/getSecret:getSecret":
            name = a.get("name") or str(a.get("arn", "")).split(":")[-1]
            if not self.world.value_exists(a.get("arn") or name):
                raise LookupError(f"reading Secrets Manager Secret ({name}): ResourceNotFoundException")
            arn = a.get("arn") or f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-{digest(name, length=6)}"
            return {"arn": arn, "name": name, "id": arn}
        if token == "aws:rds/getClusterSnapshot:getClusterSnapshot":
            cluster = str(a.get("dbClusterIdentifier", ""))
            if not self.world.backup_copy_exists(cluster, region):
                raise LookupError(f"reading RDS Cluster Snapshot ({cluster}): empty result in {region}")
            name = f"awsbackup:copyjob-{digest(cluster, region, length=8)}-{digest(region, cluster, length=4)}"
            arn = f"arn:aws:rds:{region}:{account}:cluster-snapshot:{name}"
            return {
                "id": name,
                "dbClusterIdentifier": cluster,
                "dbClusterSnapshotIdentifier": name,
                "dbClusterSnapshotArn": arn,
                "snapshotType": "awsbackup",
                "status": "available",
                "engine": "docdb",
                "storageEncrypted": True,
            }
        if token == "aws:ssm/getParameter:getParameter" and not str(a.get("name", "")).startswith("/aws/"):
            name = a.get("name", "")
            if not self.world.value_exists(f"ssm:{name}"):
                raise LookupError(f"reading SSM Parameter ({name}): ParameterNotFound")
            arn = f"arn:aws:ssm:{region}:{account}:parameter{name}"
            return {"name": name, "type": "SecureString", "arn": arn, "version": 1, "id": name, "value": "[secret]"}
        if token == "aws:ssm/getParameter:getParameter":
            # Public parameters the program reads (ECS-optimised AMI ids): a real-looking AMI id per name.
            name = a.get("name", "")
            return {
                "name": name,
                "value": f"ami-{digest(name)}",
                "insecureValue": f"ami-{digest(name)}",
                "type": "String",
                "arn": f"arn:aws:ssm:{region}::parameter{name}",
                "version": 1,
                "id": name,
            }
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            # The region's Elastic Load Balancing account, as AWS documents it (it writes ALB access logs).
            elb = ELB_LOG_DELIVERY_ACCOUNTS.get(region)
            if elb is None:
                raise LookupError(f"no Elastic Load Balancing account in {region}: it delivers logs as a service there")
            return {"arn": f"arn:aws:iam::{elb}:root", "id": elb, "region": region}
        raise NotImplementedError(f"offline preview has no mock for invoke '{token}': add one to preview/mocks.py")


def _json_list(value: Any) -> list[Any]:
    """A provider's list input as the SDK sends it (a JSON string), or as a list."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [value]
    return list(value) if isinstance(value, list) else []
