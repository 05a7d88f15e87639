"""ECR repositories keep the images deployments and rollbacks need (ecr-dedicated-image-repos.md).

The incident: a shared repository's cleanup deleted images that deployments
still referenced, and deploys failed at random. Repositories have immutable
tags (what was tested is what runs), scan on push, and a lifecycle policy so
retention is deliberate rather than a cost-control surprise.
"""

from __future__ import annotations

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

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


def _lifecycle(args: StackValidationArgs, report: ReportViolation) -> None:
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
)

ecr_lifecycle = StackValidationPolicy(
    name="ecr-lifecycle-policy",
    description=(
        "Every ECR repository has a lifecycle policy, so image retention is deliberate: aggressive "
        "cleanup of a shared repository broke deployments at random (ecr-dedicated-image-repos.md)."
    ),
    validate=_lifecycle,
)
