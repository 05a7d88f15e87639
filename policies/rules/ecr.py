"""ECR repositories keep the images deployments and rollbacks need (ecr-dedicated-image-repos.md).

The incident: a shared repository's cleanup deleted images that deployments
still referenced, and deploys failed at random. Repositories have immutable
tags (what was tested is what runs), scan on push, and a lifecycle policy so
retention is deliberate rather than a cost-control surprise.
"""

from __future__ import annotations

import json

import conventions
from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from rules.docs import url

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IMMUTABLE = ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION")


def _repository(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != REPOSITORY:
        return
    mutability = args.props.get("imageTagMutability") or "MUTABLE"
    if mutability not in IMMUTABLE:
        report(
            f"image tags are {mutability}: a pushed tag can be overwritten under a running deployment "
            f"(imageTagMutability IMMUTABLE)",
            None,
        )
    if not (args.props.get("imageScanningConfiguration") or {}).get("scanOnPush"):
        report("images are not scanned on push (imageScanningConfiguration.scanOnPush true)", None)


def unsafe_rules(policy_text: str) -> list[str]:
    """Rules that could expire an image a stack pins: any rule on tagged images other than the stack's own builds."""
    try:
        rules = json.loads(policy_text).get("rules") or []
    except (ValueError, AttributeError):
        return []
    unsafe = []
    for rule in rules:
        selection = rule.get("selection") or {}
        status = selection.get("tagStatus")
        prefixes = selection.get("tagPrefixList") or []
        patterns = selection.get("tagPatternList") or []
        own_builds = (
            status == "tagged"
            and not patterns
            and prefixes
            and all(p in conventions.EXPIRABLE_TAG_PREFIXES for p in prefixes)
        )
        if status != "untagged" and not own_builds and (rule.get("action") or {}).get("type") == "expire":
            unsafe.append(f"rule {rule.get('rulePriority')} ({status}, {prefixes or patterns or 'every tag'})")
    return unsafe


def _lifecycle(args: StackValidationArgs, report: ReportViolation) -> None:
    for policy in args.resources:
        if policy.resource_type == LIFECYCLE and isinstance(policy.props.get("policy"), str):
            for rule in unsafe_rules(policy.props["policy"]):
                report(
                    f"lifecycle {rule} can expire an image a deployment pins: only untagged images (a pinned image "
                    f"must be tagged, checked at preview/up) and the stack's own builds "
                    f"({', '.join(conventions.EXPIRABLE_TAG_PREFIXES)}*) may expire",
                    policy.urn,
                )
    covered = {str(r.props.get("repository")) for r in args.resources if r.resource_type == LIFECYCLE}
    covered_urns = {d.urn for r in args.resources if r.resource_type == LIFECYCLE for d in r.dependencies or []}
    for repo in args.resources:
        if repo.resource_type != REPOSITORY:
            continue
        if repo.props.get("name") not in covered and repo.urn not in covered_urns:
            report(
                f"repository '{repo.props.get('name') or repo.name}' has no lifecycle policy: retention is left "
                f"to whoever cleans up next (keep the newest N images, expire untagged ones)",
                repo.urn,
            )


ecr_repository = ResourceValidationPolicy(
    name="ecr-immutable-scanned",
    description=(
        "ECR repositories have immutable tags and scan on push: a deployment runs what was pushed and "
        "tested (ecr-dedicated-image-repos.md)."
    ),
    validate=_repository,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Set image_tag_mutability IMMUTABLE and image_scanning_configuration scan_on_push true "
        "(components/image_repository.py)."
    ),
    url=url("ecr-immutable-scanned"),
)

ecr_lifecycle = StackValidationPolicy(
    name="ecr-lifecycle-policy",
    description=(
        "Every ECR repository has a lifecycle policy, so image retention is deliberate, and no rule can expire "
        "an image a deployment pins (only untagged images and the stack's own builds expire): aggressive "
        "cleanup of a shared repository broke deployments at random (ecr-dedicated-image-repos.md)."
    ),
    validate=_lifecycle,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Give the repository a lifecycle policy that expires only untagged images and the stack's own builds beyond "
        "the newest N (conventions' image tag rules); never a rule that matches release or pinned tags."
    ),
    url=url("ecr-lifecycle-policy"),
)
