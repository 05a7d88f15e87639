"""The stack's architecture, drawn from its snapshot with Graphviz: what a reviewer would sketch on a whiteboard.

One cluster per ComponentResource (nested like the components), the main
resources inside (a curated list of types, plus a rule: anything that holds
data is shown too), and the paths between them:

* traffic, from security group rules (source group -> target group, mapped to
  the resources wearing those groups, with the port), load balancer listeners
  (load balancer -> target group), target groups feeding services, CloudFront
  and API Gateway origins/integrations, event sources (queue -> function);
* "uses" for the rest of the dependency graph between main resources, followed
  through the noise in between (task definition, roles, attachments...).

Noise (route table associations, policy attachments, rules, alarms) stays out,
and so do edges from every workload to the VPC and subnets it sits in.
"""

from __future__ import annotations

import collections
import hashlib
import html
import pathlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import graphviz

from review.diff import STATEFUL_TYPES

# type -> (label, category). Categories pick the shape and colour.
MAIN_TYPES: Mapping[str, tuple[str, str]] = {
    "aws:cloudfront/distribution:Distribution": ("CloudFront", "edge"),
    "aws:cloudfront/function:Function": ("CloudFront Function", "edge"),
    "aws:route53/record:Record": ("DNS record", "edge"),
    "aws:apigatewayv2/api:Api": ("API Gateway", "entry"),
    "aws:lb/loadBalancer:LoadBalancer": ("Load balancer", "entry"),
    "aws:lb/targetGroup:TargetGroup": ("Target group", "entry"),
    "aws:lambda/function:Function": ("Lambda", "compute"),
    "aws:ecs/cluster:Cluster": ("ECS cluster", "compute"),
    "aws:ecs/service:Service": ("ECS service", "compute"),
    "aws:autoscaling/group:Group": ("Auto Scaling group", "compute"),
    "aws:ecr/repository:Repository": ("ECR repository", "delivery"),
    "aws:s3/bucket:Bucket": ("S3 bucket", "data"),
    "aws:s3/bucketV2:BucketV2": ("S3 bucket", "data"),
    "aws:docdb/cluster:Cluster": ("DocumentDB", "data"),
    "aws:docdb/clusterInstance:ClusterInstance": ("DocumentDB instance", "data"),
    "aws:elasticache/serverlessCache:ServerlessCache": ("ElastiCache Serverless", "data"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("ElastiCache", "data"),
    "mongodbatlas:index/advancedCluster:AdvancedCluster": ("MongoDB Atlas", "data"),
    "mongodbatlas:index/privateLinkEndpoint:PrivateLinkEndpoint": ("Atlas PrivateLink", "network"),
    "aws:sqs/queue:Queue": ("SQS queue", "data"),
    "aws:sns/topic:Topic": ("SNS topic", "data"),
    "aws:dynamodb/table:Table": ("DynamoDB table", "data"),
    "aws:secretsmanager/secret:Secret": ("Secret", "security"),
    "aws:ec2/vpc:Vpc": ("VPC", "network"),
    "aws:ec2/subnet:Subnet": ("Subnet", "network"),
    "aws:ec2/natGateway:NatGateway": ("NAT gateway", "network"),
    "aws:ec2/internetGateway:InternetGateway": ("Internet gateway", "network"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("VPC endpoint", "network"),
    "aws:organizations/organization:Organization": ("Organization", "org"),
    "aws:organizations/organizationalUnit:OrganizationalUnit": ("OU", "org"),
    "aws:organizations/account:Account": ("Account", "org"),
    "aws:organizations/policy:Policy": ("Organization policy", "org"),
    "aws:cloudformation/stackSet:StackSet": ("StackSet", "org"),
    "aws:ssoadmin/permissionSet:PermissionSet": ("Permission set", "org"),
}
# The rule: a type not listed above is drawn when it holds data (review.diff.STATEFUL_TYPES), except these.
HIDDEN_STATEFUL = frozenset(
    {
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:ssm/parameter:Parameter",
        "aws:kms/key:Key",
        "aws:acm/certificate:Certificate",
        "mongodbatlas:index/project:Project",
    }
)
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULES = (
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
)
NETWORK_FABRIC = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
    }
)
# Traffic flows out of these into whatever depends on them (a service registers with its target group).
FEEDS_DEPENDENTS = frozenset({"aws:lb/targetGroup:TargetGroup"})
# Resources that connect two main resources: (source types, target types); None = any other main resource.
LB, TG = "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"
LAMBDA, QUEUE = "aws:lambda/function:Function", "aws:sqs/queue:Queue"
CONNECTORS: Mapping[str, tuple[frozenset[str], frozenset[str] | None]] = {
    "aws:lb/listener:Listener": (frozenset({LB}), frozenset({TG})),
    "aws:lb/listenerRule:ListenerRule": (frozenset({LB}), frozenset({TG})),
    "aws:apigatewayv2/integration:Integration": (frozenset({"aws:apigatewayv2/api:Api"}), None),
    "aws:lambda/permission:Permission": (
        frozenset({"aws:apigatewayv2/api:Api", "aws:s3/bucket:Bucket", "aws:sns/topic:Topic", QUEUE}),
        frozenset({LAMBDA}),
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": (
        frozenset({QUEUE, "aws:dynamodb/table:Table"}),
        frozenset({LAMBDA}),
    ),
    "aws:sns/topicSubscription:TopicSubscription": (frozenset({"aws:sns/topic:Topic"}), None),
    "aws:s3/bucketNotification:BucketNotification": (frozenset({"aws:s3/bucket:Bucket"}), None),
}
ALWAYS_GROUP = frozenset(
    {
        "aws:ec2/subnet:Subnet",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:docdb/clusterInstance:ClusterInstance",
        "aws:route53/record:Record",
    }
)
GROUP_OVER = 4  # more than this many of one type in one component become one node
STYLE = {  # category -> node attributes
    "edge": {"shape": "hexagon", "fillcolor": "#e8dcf5"},
    "entry": {"shape": "box", "fillcolor": "#dbe9f8"},
    "compute": {"shape": "box", "fillcolor": "#fde7c8"},
    "delivery": {"shape": "folder", "fillcolor": "#f3e6d8"},
    "data": {"shape": "cylinder", "fillcolor": "#d6f0dd"},
    "security": {"shape": "note", "fillcolor": "#f7d9d9"},
    "network": {"shape": "box", "fillcolor": "#eceff1"},
    "org": {"shape": "tab", "fillcolor": "#fff5c2"},
    "other": {"shape": "box", "fillcolor": "#ffffff"},
}
INTERNET = "internet"
_STEM = re.compile(r"[-_]?(?:[a-f]|\d+)$")


def _id(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def cluster_name(component_urn: str) -> str:
    """Graphviz draws a subgraph as a box only when its name starts with ``cluster``."""
    return _id("cluster", component_urn)


def is_main(resource: Mapping[str, Any]) -> bool:
    t = resource["type"]
    return resource.get("custom", True) and (t in MAIN_TYPES or (t in STATEFUL_TYPES and t not in HIDDEN_STATEFUL))


def _mock_ids(resources: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Offline snapshots carry ids, not URNs, where one resource's id feeds another: map them back."""
    try:
        from preview.mocks import ID_PREFIXES, digest
    except ImportError:  # pragma: no cover - the review package ships with the preview
        return {}
    return {ID_PREFIXES.get(r["type"], "") + digest(r["type"], r["name"]): r["urn"] for r in resources}


class Architecture:
    """Nodes, clusters and edges of one snapshot, before any drawing."""

    def __init__(self, snapshot: Mapping[str, Any]):
        self.stack = snapshot.get("stack", "")
        self.resources = [r for r in snapshot.get("resources", []) if not r["type"].startswith("pulumi:providers:")]
        self.by_urn = {r["urn"]: r for r in self.resources}
        self.components = [r for r in self.resources if not r.get("custom", True)]
        self.main = {r["urn"] for r in self.resources if is_main(r)}
        self.node_of: dict[str, str] = {}
        self.nodes: dict[str, dict[str, Any]] = {}  # node id -> {label, category, cluster, urns}
        self._group_nodes()
        self.edges: dict[tuple[str, str], dict[str, Any]] = {}
        self._derive_edges()

    # --- structure -------------------------------------------------------------

    def component_of(self, resource: Mapping[str, Any]) -> str:
        """URN of the nearest enclosing ComponentResource ("" for stack level)."""
        parent = self.by_urn.get(resource.get("parent", ""))
        seen = set()
        while parent is not None and parent["urn"] not in seen:
            if not parent.get("custom", True):
                return parent["urn"]
            seen.add(parent["urn"])
            parent = self.by_urn.get(parent.get("parent", ""))
        return ""

    def _group_nodes(self) -> None:
        groups: dict[tuple[str, str], list[Mapping[str, Any]]] = collections.defaultdict(list)
        for urn in sorted(self.main):
            r = self.by_urn[urn]
            groups[(self.component_of(r), r["type"])].append(r)
        for (cluster, type_), members in sorted(groups.items()):
            label, category = MAIN_TYPES.get(type_, (type_.rsplit(":", 1)[-1], "data"))
            if type_ in ALWAYS_GROUP:  # per-AZ copies: private-a, private-b -> one "private" node
                stems: dict[str, list[Mapping[str, Any]]] = collections.defaultdict(list)
                for m in members:
                    stems[_STEM.sub("", m["name"]) or m["name"]].append(m)
                batches = [stems[k] for k in sorted(stems)]
            elif len(members) > GROUP_OVER:
                batches = [members]
            else:
                batches = [[m] for m in members]
            for batch in batches:
                names = [m["name"] for m in batch]
                node = _id("n", f"{cluster}|{type_}|{'|'.join(names)}")
                if len(batch) > 1:
                    shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
                    text = f"{label} ×{len(batch)}\n{shown}"
                else:
                    text = f"{label}\n{names[0]}"
                self.nodes[node] = {
                    "label": text,
                    "category": category,
                    "cluster": cluster,
                    "urns": [m["urn"] for m in batch],
                    "type": type_,
                }
                for m in batch:
                    self.node_of[m["urn"]] = node

    # --- edges -----------------------------------------------------------------

    def _walk(
        self, start: Mapping[str, Any], *, through_security_groups: bool = False, collect_security_groups: bool = False
    ) -> set[str]:
        """Main resources (or security groups) reached from ``start``'s dependencies through noise only."""
        found, seen = set(), set()
        stack = list(start.get("dependencies", []))
        while stack:
            urn = stack.pop()
            if urn in seen or urn == start["urn"]:
                continue
            seen.add(urn)
            r = self.by_urn.get(urn)
            if r is None or not r.get("custom", True):
                continue
            if r["type"] == SECURITY_GROUP:
                if collect_security_groups:
                    found.add(urn)
                if not through_security_groups:
                    continue
            if urn in self.main:
                if not collect_security_groups:
                    found.add(urn)
                continue
            stack.extend(r.get("dependencies", []))
        return found

    def _add_edge(self, src_urn: str, dst_urn: str, kind: str, label: str = "") -> None:
        src = INTERNET if src_urn == INTERNET else self.node_of.get(src_urn)
        dst = self.node_of.get(dst_urn)
        if not src or not dst or src == dst:
            return
        edge = self.edges.setdefault((src, dst), {"kind": kind, "labels": set()})
        if kind == "traffic":
            edge["kind"] = "traffic"
        if label:
            edge["labels"].add(label)

    def _category(self, urn: str) -> str:
        return MAIN_TYPES.get(self.by_urn[urn]["type"], ("", "data"))[1]

    def _derive_edges(self) -> None:
        for urn in sorted(self.main):
            r = self.by_urn[urn]
            for dep in sorted(self._walk(r)):
                dep_type = self.by_urn[dep]["type"]
                if dep_type in NETWORK_FABRIC and r["type"] not in NETWORK_FABRIC:
                    continue  # everything sits in the VPC; drawing it says nothing
                if dep_type in FEEDS_DEPENDENTS:
                    self._add_edge(dep, urn, "traffic")
                elif self._category(urn) in ("edge", "entry") and self._category(dep) != "network":
                    self._add_edge(urn, dep, "traffic")
                else:
                    self._add_edge(urn, dep, "uses")
        for r in self.resources:
            connector = CONNECTORS.get(r["type"])
            if connector:
                reached = self._walk(r)
                sources = {u for u in reached if self.by_urn[u]["type"] in connector[0]}
                targets = {
                    u for u in reached - sources if connector[1] is None or self.by_urn[u]["type"] in connector[1]
                }
                for s in sorted(sources):
                    for t in sorted(targets):
                        self._add_edge(s, t, "traffic")
        self._security_group_traffic()
        self._internet_entry()
        # A service "uses" the load balancer that sends it traffic (ordering only): the traffic edge says more.
        for (src, dst), e in list(self.edges.items()):
            if e["kind"] == "uses" and self.edges.get((dst, src), {}).get("kind") == "traffic":
                del self.edges[(src, dst)]

    def _wearers(self) -> dict[str, set[str]]:
        """Security group URN -> main resources that use it."""
        wearers: dict[str, set[str]] = collections.defaultdict(set)
        for urn in self.main:
            for sg in self._walk(self.by_urn[urn], collect_security_groups=True):
                wearers[sg].add(urn)
        return wearers

    def _security_group_traffic(self) -> None:
        ids = _mock_ids(self.resources)
        wearers = self._wearers()

        def allow(target_sg: str | None, source: str | None, port: str) -> None:
            if not target_sg:
                return
            sources = [INTERNET] if source == INTERNET else sorted(wearers.get(source or "", ()))
            for s in sources:
                for t in sorted(wearers.get(target_sg, ())):
                    self._add_edge(s, t, "traffic", port)

        for r in self.resources:
            inputs = r.get("inputs", {})
            if r["type"] in INGRESS_RULES:
                if r["type"].endswith("SecurityGroupRule") and inputs.get("type") != "ingress":
                    continue
                target = ids.get(str(inputs.get("securityGroupId")))
                ref = inputs.get("referencedSecurityGroupId") or inputs.get("sourceSecurityGroupId")
                cidrs = [inputs.get("cidrIpv4"), *(inputs.get("cidrBlocks") or [])]
                source = ids.get(str(ref)) if ref else (INTERNET if "0.0.0.0/0" in cidrs else None)
                allow(target, source, _port(inputs))
            elif r["type"] == SECURITY_GROUP:
                for rule in inputs.get("ingress") or []:
                    for ref in rule.get("securityGroups") or []:
                        allow(r["urn"], ids.get(str(ref)), _port(rule))
                    if "0.0.0.0/0" in (rule.get("cidrBlocks") or []):
                        allow(r["urn"], INTERNET, _port(rule))

    def _internet_entry(self) -> None:
        fronted = {dst for (src, dst) in self.edges if src != INTERNET and self.nodes[src]["category"] == "edge"}
        for urn in sorted(self.main):
            r = self.by_urn[urn]
            public_lb = r["type"] == "aws:lb/loadBalancer:LoadBalancer" and not r["inputs"].get("internal")
            if r["type"] == "aws:cloudfront/distribution:Distribution" or (
                (public_lb or r["type"] == "aws:apigatewayv2/api:Api") and self.node_of[urn] not in fronted
            ):
                self._add_edge(INTERNET, urn, "traffic")


def _port(rule: Mapping[str, Any]) -> str:
    low, high = rule.get("fromPort"), rule.get("toPort")
    proto = str(rule.get("ipProtocol") or rule.get("protocol") or "tcp")
    if low is None or proto == "-1":
        return ""
    return f"{proto}/{low}" if high in (None, low) else f"{proto}/{low}-{high}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def build_graph(snapshot: Mapping[str, Any]) -> graphviz.Digraph:
    arch = Architecture(snapshot)
    g = graphviz.Digraph(
        name=f"stack_{arch.stack}",
        graph_attr={
            "rankdir": "LR",
            "compound": "true",
            "fontname": "Helvetica",
            "fontsize": "12",
            "nodesep": "0.3",
            "ranksep": "0.7",
            "labelloc": "t",
            "labeljust": "l",
            "label": f"stack {arch.stack}: {_plural(len(arch.resources), 'resource')}, "
            f"{_plural(len(arch.components), 'component')}\n"
            "solid: traffic (port where known) · dashed: uses / reads",
        },
        node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled,rounded"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555"},
    )

    children: dict[str, list[Mapping[str, Any]]] = collections.defaultdict(list)
    for comp in arch.components:
        children[arch.component_of(comp)].append(comp)
    nodes_in: dict[str, list[str]] = collections.defaultdict(list)
    for node, attrs in arch.nodes.items():
        nodes_in[attrs["cluster"]].append(node)
    descendants = collections.Counter(arch.component_of(r) for r in arch.resources)

    def has_content(comp_urn: str) -> bool:
        return bool(nodes_in.get(comp_urn)) or any(has_content(c["urn"]) for c in children.get(comp_urn, []))

    def fill(graph: graphviz.Digraph, owner: str) -> None:
        for node in sorted(nodes_in.get(owner, [])):
            attrs = arch.nodes[node]
            graph.node(node, label=attrs["label"], tooltip=attrs["type"], **STYLE[attrs["category"]])
        if owner and not has_content(owner):
            graph.node(
                _id("p", owner),
                label=f"{_plural(descendants[owner], 'resource')}\n(none drawn)",
                shape="note",
                fillcolor="#ffffff",
            )
        for comp in sorted(children.get(owner, []), key=lambda c: c["name"]):
            # graphviz's unannotated subgraph() infers "context manager or None"; with a name it is the former.
            with graph.subgraph(name=cluster_name(comp["urn"])) as sub:  # pyright: ignore[reportOptionalContextManager]
                sub.attr(
                    label=f"{comp['name']}\n{comp['type']}",
                    style="rounded,filled",
                    fillcolor="#fafafa",
                    color="#90a4ae",
                    fontname="Helvetica-Bold",
                    tooltip=comp["urn"],
                )
                fill(sub, comp["urn"])

    fill(g, "")
    if any(src == INTERNET for src, _ in arch.edges):
        g.node(INTERNET, label="Internet", shape="ellipse", style="filled", fillcolor="#ffffff")
    for (src, dst), e in sorted(arch.edges.items()):
        label = html.escape(", ".join(sorted(e["labels"])))
        if e["kind"] == "traffic":
            g.edge(src, dst, label=label, penwidth="1.6", color="#1f5fa8")
        else:
            g.edge(src, dst, label=label, style="dashed", arrowhead="vee")
    return g


def render(snapshot: Mapping[str, Any], out: pathlib.Path) -> list[pathlib.Path]:
    """Write ``<out>.dot``, ``<out>.svg`` and ``<out>.png``; returns their paths."""
    g = build_graph(snapshot)
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = [out.with_name(out.name + ".dot")]
    written[0].write_text(g.source, encoding="utf-8")
    for fmt in ("svg", "png"):
        path = out.with_name(f"{out.name}.{fmt}")
        path.write_bytes(g.pipe(format=fmt))
        written.append(path)
    return written
