"""What a stack needs of each quota, read from its snapshot, and the world's verdict on it.

A first ``pulumi up`` in an account our org stack has just vended runs against that account's new-account quotas
(``stack_config/quotas.py``), not the published defaults: prod's services at their maximum count, with old and new
tasks side by side during a deployment, need 16 Fargate vCPUs where a new account has 6, and the renderer's
reserved concurrency is refused outright while Lambda must keep 100 unreserved in an account that has 10 in all.
The preview counts each need from what the program registers (never from config alone, so a component's own
constant counts too), at maximum scale and during a deployment, and compares it with what the account has: the
org's request template (``stack_config/quota_needs.json``) where the org requested more, else the new-account
value. What AWS would refuse fails the preview (exit 1), naming the stack, quota, need, value and the fix.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

from preview.world import World
from stack_config.quotas import QUOTAS, SUPPORT_ONLY, Quota

FARGATE_PROVIDERS = ("FARGATE",)  # FARGATE_SPOT has its own quota; the shipped stacks run on-demand only


@dataclasses.dataclass(frozen=True)
class Need:
    quota: Quota
    region: str
    value: int
    why: tuple[str, ...]  # one line per resource that counts, with how it was counted


@dataclasses.dataclass(frozen=True)
class Refusal:
    stack: str
    account: str
    need: Need
    available: int
    requested: int | None  # what the org's request template asks for this account and region, if anything

    def __str__(self) -> str:
        q, n = self.need.quota, self.need
        have = (
            f"the org requested {self.requested} (stack_config/quota_needs.json, the org stack's request template)"
            if self.requested is not None
            else f"no increase is requested, and a new account has {q.new_account} ({q.value_note})"
        )
        fix = (
            "re-record the needs (`make quota-needs`) and deploy the org stack before this one, or lower the need"
            if self.requested is not None
            else "record this stack's needs (`make quota-needs`) so the org stack's request template asks for "
            "them before the account is created, or lower the need"
        )
        margin = f" + {q.margin} kept free" if q.margin else ""
        return (
            f"  REFUSED  stack {self.stack}: {q.name} ({q.service_code} {q.quota_code}) in {n.region} of "
            f"{self.account}: needs {n.value}{margin}, {have}. AWS refuses when {q.rule} [{q.source}, read "
            f"{q.read_on}]. Fix: {fix}.\n" + "".join(f"           {line}\n" for line in n.why)
        ).rstrip("\n")


def _region(resource: Mapping[str, Any], providers: Mapping[str, str]) -> str:
    arn = str(resource.get("arn") or "")
    if arn.count(":") >= 4 and arn.split(":")[3]:
        return arn.split(":")[3]
    return providers.get(str(resource.get("provider") or "").rsplit("::", 1)[0], "")


def needs(snapshot: Mapping[str, Any]) -> list[Need]:
    """Every quota need the snapshot implies, per region, each with the resources that make it up."""
    resources = snapshot.get("resources") or []
    providers = {
        r["urn"]: str((r.get("inputs") or {}).get("region") or "")
        for r in resources
        if str(r.get("type", "")).startswith("pulumi:providers:")
    }
    counted: dict[tuple[str, str], list[tuple[float, str]]] = collections.defaultdict(list)
    task_cpu = {
        r.get("arn"): int(str((r.get("inputs") or {}).get("cpu") or 0))
        for r in resources
        if r["type"] == "aws:ecs/taskDefinition:TaskDefinition"
    }
    scaling_max = {
        str((r.get("inputs") or {}).get("resourceId") or ""): int((r.get("inputs") or {}).get("maxCapacity") or 0)
        for r in resources
        if r["type"] == "aws:appautoscaling/target:Target"
    }
    reserved: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for r in resources:
        inputs, region = r.get("inputs") or {}, _region(r, providers)
        if r["type"] == "aws:ecs/service:Service" and _on_fargate(inputs):
            name, cluster = str(inputs.get("name") or r["name"]), str(inputs.get("cluster") or "")
            top = scaling_max.get(f"service/{cluster.rsplit('/', 1)[-1]}/{name}") or int(
                inputs.get("desiredCount") or 0
            )
            percent = int(inputs.get("deploymentMaximumPercent") or 200)  # ECS's default for a rolling deployment
            tasks = math.ceil(top * percent / 100)
            cpu = task_cpu.get(inputs.get("taskDefinition"), 0)
            counted[(FARGATE_KEY, region)].append(
                (
                    tasks * cpu / 1024,
                    f"{name}: {top} task(s) at maximum x {percent}% during a deployment = {tasks} x {cpu / 1024:g} "
                    "vCPU",
                )
            )
        elif r["type"] == "aws:lambda/function:Function" and inputs.get("reservedConcurrentExecutions") is not None:
            value = int(inputs["reservedConcurrentExecutions"])
            if value >= 0:  # -1 is "unreserved" in pulumi-aws
                reserved[region].append((value, f"{inputs.get('name') or r['name']}: {value} reserved"))
        elif r["type"] == "aws:ec2/eip:Eip":
            counted[(ELASTIC_IPS_KEY, region)].append((1, f"{r['name']}: 1 Elastic IP"))
        elif r["type"] == "aws:ec2/vpc:Vpc":
            counted[(VPCS_KEY, region)].append((1, f"{r['name']}: 1 VPC"))
    for region, items in reserved.items():
        counted[(LAMBDA_KEY, region)] += [(float(v), why) for v, why in items]
    for region in {region for (key, region) in counted if key == VPCS_KEY}:
        counted[(VPCS_KEY, region)].append((1, "the default VPC AWS creates in every Region of a new account"))
    return [
        Need(QUOTAS[key], region, math.ceil(sum(v for v, _ in items)), tuple(why for _, why in items))
        for (key, region), items in sorted(counted.items())
    ]


FARGATE_KEY, LAMBDA_KEY = "fargate-on-demand-vcpu", "lambda-concurrent-executions"
ELASTIC_IPS_KEY, VPCS_KEY = "ec2-elastic-ips", "vpcs-per-region"


def _on_fargate(inputs: Mapping[str, Any]) -> bool:
    if inputs.get("launchType") in FARGATE_PROVIDERS:
        return True
    return any(s.get("capacityProvider") in FARGATE_PROVIDERS for s in inputs.get("capacityProviderStrategies") or [])


def judge(stack: str, account: str, found: Iterable[Need], requested: Mapping[str, Mapping[str, int]]) -> list[Refusal]:
    """What AWS would refuse: ``requested`` is the org's template, region -> quota key -> value."""
    refusals = []
    for need in found:
        asked = (requested.get(need.region) or {}).get(need.quota.key)
        available = max(need.quota.new_account, asked or 0)
        if need.value + need.quota.margin > available:
            refusals.append(Refusal(stack, account, need, available, asked))
    return refusals


def support_facts(snapshot: Mapping[str, Any]) -> list[str]:
    """The Support-only facts the snapshot depends on: what no quota request or API call changes."""
    types = {r["type"] for r in snapshot.get("resources") or []}
    facts = []
    if "aws:cloudfront/distribution:Distribution" in types:
        facts.append(f"support cloudfront-verification: {SUPPORT_ONLY['cloudfront-verification']}")
    if any(t.startswith("aws:ses/") for t in types):
        facts.append(f"support ses-sandbox: {SUPPORT_ONLY['ses-sandbox']}")
    return facts


def render(stack: str, account: str, found: list[Need], refusals: list[Refusal], facts: list[str]) -> str:
    lines = [
        f"quotas of {account} (a new account's, raised where the org requested; stack_config/quotas.py): "
        f"{len(found)} need(s) checked, "
        f"{len(refusals)} refused"
    ]
    refused = {(r.need.quota.key, r.need.region) for r in refusals}
    lines += [
        f"  ok  {n.quota.key} in {n.region}: needs {n.value}{f' + {n.quota.margin} free' if n.quota.margin else ''}"
        for n in found
        if (n.quota.key, n.region) not in refused
    ]
    lines += [str(r) for r in refusals]
    if facts:
        lines.append("facts only AWS Support can change (taken on trust; do these before the first up):")
        lines += [f"  - {fact}" for fact in facts]
    return "\n".join(lines)


def check(stack: str, snapshot: Mapping[str, Any], world: World) -> tuple[str, bool]:
    """The printed verdict for ``stack`` in ``world``'s account, and whether it fails."""
    found = needs(snapshot)
    refusals = judge(stack, world.account_name, found, world.quota_requests)
    return render(stack, world.account_name, found, refusals, support_facts(snapshot)), bool(refusals)
