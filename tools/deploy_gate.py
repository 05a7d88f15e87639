"""The promotion gate: prove each service of a stack runs the revision `pulumi up` just deployed.

ecs-circuit-breaker-rollback.md: off-hours scale dev and staging to 0, and a deployment to a service with no
tasks "succeeds" at once (`wait_for_steady_state` is satisfied by zero of zero), so a release merged at night
would reach prod without a single task having started. After `pulumi up`, for every service in the stack's
outputs this command

1. fails when the service no longer names the task definition Pulumi registered (the circuit breaker or an
   alarm rolled the release back);
2. if the service is asleep (desired 0), wakes it to its minimum (at least 1) by raising the scalable
   target's minimum and the desired count, remembering both;
3. waits until the primary deployment is that task definition, COMPLETED, with the minimum running; a
   FAILED rollout or the timeout fails the gate;
4. puts a service it woke back to sleep, unless the morning's scheduled action has changed its range meanwhile.

Run by `.github/workflows/pulumi-up.yml` after every `pulumi up`:
``pulumi stack output --json > build/outputs.json && python -m tools.deploy_gate --stack dev --outputs build/outputs.json``
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions

import stack_config


class GateFailed(RuntimeError):
    """The new revision was not proven to run; the message names the service and what was seen."""


@dataclass(frozen=True)
class ServiceUnderTest:
    name: str  # the config's service name
    service: str  # the ECS service name
    cluster: str
    task_definition: str  # the ARN Pulumi registered
    minimum: int  # tasks that must run for the proof


def services_from(
    outputs: dict[str, Any], stack: str, config_path: pathlib.Path | None = None
) -> list[ServiceUnderTest]:
    """The stack's services from its outputs, each with the minimum its config declares (at least one task)."""
    config = stack_config.load_file(stack, config_path)
    minimum = {svc.name: max(1, svc.min_count) for svc in config.containers.services}
    found = []
    for name, entry in sorted((outputs.get("services") or {}).items()):
        missing = [k for k in ("service_name", "cluster_name", "task_definition_arn") if not entry.get(k)]
        if missing:
            raise GateFailed(f"service '{name}': the stack outputs lack {', '.join(missing)} (is this stack deployed?)")
        found.append(
            ServiceUnderTest(
                name, entry["service_name"], entry["cluster_name"], entry["task_definition_arn"], minimum.get(name, 1)
            )
        )
    return found


class Gate:
    def __init__(
        self,
        ecs: Any,
        autoscaling: Any,
        *,
        timeout: float = 1200,
        interval: float = 15,
        log: Callable[[str], None] = print,
    ):
        self.ecs, self.autoscaling = ecs, autoscaling
        self.timeout, self.interval, self.log = timeout, interval, log

    def _describe(self, svc: ServiceUnderTest) -> dict[str, Any]:
        found = self.ecs.describe_services(cluster=svc.cluster, services=[svc.service])["services"]
        if not found or found[0].get("status") != "ACTIVE":
            raise GateFailed(f"service '{svc.name}': {svc.service} is not an active service of {svc.cluster}")
        return found[0]

    def _resource_id(self, svc: ServiceUnderTest) -> str:
        return f"service/{svc.cluster}/{svc.service}"

    def _scalable_target(self, svc: ServiceUnderTest) -> dict[str, Any] | None:
        targets = self.autoscaling.describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=[self._resource_id(svc)], ScalableDimension="ecs:service:DesiredCount"
        )["ScalableTargets"]
        return targets[0] if targets else None

    def _set_range(self, svc: ServiceUnderTest, low: int, high: int) -> None:
        self.autoscaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=self._resource_id(svc),
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=low,
            MaxCapacity=high,
        )

    @contextmanager
    def awake(self, svc: ServiceUnderTest) -> Generator[None]:
        """The service at its minimum for the duration; back to sleep afterwards if it was asleep."""
        if self._describe(svc)["desiredCount"] > 0:
            yield
            return
        target = self._scalable_target(svc)
        self.log(f"{svc.name}: asleep (desired 0, off-hours); waking it to {svc.minimum} task(s) to prove the release")
        if target is not None:
            self._set_range(svc, svc.minimum, max(svc.minimum, target["MaxCapacity"]))
        self.ecs.update_service(cluster=svc.cluster, service=svc.service, desiredCount=svc.minimum)
        try:
            yield
        finally:
            current = self._scalable_target(svc)
            if target is not None and current is not None and current["MinCapacity"] != svc.minimum:
                self.log(f"{svc.name}: its schedule changed the range meanwhile; leaving it awake")
            else:
                if target is not None:
                    self._set_range(svc, target["MinCapacity"], target["MaxCapacity"])
                self.ecs.update_service(cluster=svc.cluster, service=svc.service, desiredCount=0)
                self.log(f"{svc.name}: back to sleep")

    def _verdict(self, svc: ServiceUnderTest, service: dict[str, Any]) -> bool:
        """True when proven; raises when it cannot be proven any more; False while still in progress."""
        if service["taskDefinition"] != svc.task_definition:
            raise GateFailed(
                f"service '{svc.name}': runs {service['taskDefinition']}, not the deployed {svc.task_definition} "
                f"(rolled back by the circuit breaker or a deployment alarm)"
            )
        primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None)
        if primary is None:
            return False
        if primary.get("rolloutState") == "FAILED":
            raise GateFailed(f"service '{svc.name}': rollout FAILED: {primary.get('rolloutStateReason', '')}")
        return (
            primary.get("taskDefinition") == svc.task_definition
            and primary.get("rolloutState", "COMPLETED") == "COMPLETED"
            and service.get("runningCount", 0) >= svc.minimum
        )

    def prove(self, svc: ServiceUnderTest) -> None:
        with self.awake(svc):
            deadline = time.monotonic() + self.timeout
            while True:
                service = self._describe(svc)
                if self._verdict(svc, service):
                    self.log(f"{svc.name}: {service['runningCount']} task(s) of {svc.task_definition} running")
                    return
                if time.monotonic() >= deadline:
                    raise GateFailed(
                        f"service '{svc.name}': {service.get('runningCount', 0)} of {svc.minimum} task(s) running "
                        f"after {self.timeout:.0f} s; the new revision is not proven"
                    )
                time.sleep(self.interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--outputs", type=pathlib.Path, required=True, help="`pulumi stack output --json`")
    parser.add_argument("--config", type=pathlib.Path, default=None, help="stack file (default environments/)")
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--interval", type=float, default=15)
    args = parser.parse_args(argv)
    try:
        services = services_from(json.loads(args.outputs.read_text()), args.stack, args.config)
        gate = Gate(
            boto3.client("ecs"), boto3.client("application-autoscaling"), timeout=args.timeout, interval=args.interval
        )
        for svc in services:
            gate.prove(svc)
    except (GateFailed, botocore.exceptions.ClientError) as err:
        print(f"::error::deploy gate ({args.stack}): {err}", file=sys.stderr)
        return 1
    print(f"deploy gate ({args.stack}): {len(services)} service(s) proven")
    return 0


if __name__ == "__main__":
    sys.exit(main())
