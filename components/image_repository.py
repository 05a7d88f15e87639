"""One ECR repository per environment and application, and the image each deployment runs, by digest.

Field reports: ``ecr-dedicated-image-repos.md`` (a shared default repository whose
cleanup deleted images deployments still needed: dedicated, lowercase, retained,
keep the newest 100, a push role with exactly the push actions),
``ecs-circuit-breaker-rollback.md`` (a task definition that names ``:latest``
never registers a new revision, so the circuit breaker never sees the
deployment: every image is referenced ``repo@sha256:...``) and
``docker-assets-in-ci-builds.md`` (the build needs a Docker daemon where
``pulumi up`` runs; Lambda rejects manifest lists).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_command as command
import pulumi_docker_build as docker_build

from foundation import iam
from foundation.build_host import NO_ATTESTATIONS_ENV, check_build_host
from foundation.ci_identity import ci_deploy_role_arn, read_only_role_name
from foundation.externals import EcrImage, MissingExternal, image_problem_async
from foundation.identity import StackIdentity
from foundation.propagation import usable_role_arn
from policies import conventions
from stack_config.services import BuildSource, ImageRepositoriesConfig

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The seed's list, split by what each action touches. GetAuthorizationToken is registry-wide.
PUSH_ACTIONS = (
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
WRITE_ACTIONS = ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload")
AUTH_ACTION = "ecr:GetAuthorizationToken"
# A later stage's push role reads an image to copy it (and DescribeImages to check it exists at preview).
PROMOTE_ACTIONS = (*PULL_ACTIONS, "ecr:DescribeImages")


@dataclass(frozen=True)
class ImageRepositoryArgs:
    identity: StackIdentity
    application: str
    config: ImageRepositoriesConfig
    build: BuildSource | None = None
    digest: str | None = None  # an already-pushed image, "<repo>@sha256:<hex>"
    # Build once, promote the digest: the image an earlier stage ran ("<its repo>@sha256:<hex>", from its stack
    # outputs), copied with its digest into this repository during `up` (promoted_image below).
    promote_from: pulumi.Input[str] | None = None
    promote_key: str = ""  # the config key promote_from came from, for the refusal when the image is gone
    platform: str = "linux/amd64"
    lambda_compatible: bool = False  # single manifest, Docker media types: Lambda rejects image indexes
    # Pins the push provider to the stack's account, as the stack's providers are.
    account_id: pulumi.Input[str] | None = None
    # The ids of config's promotionAccounts (the org stack knows them): whose later stages copy this image.
    promotion_account_ids: pulumi.Input[Sequence[str]] = ()
    # Who may assume the push role when config names nobody: CI's deploy identity (the org bootstrap's deploy
    # role), never the whole account.
    ci_role_arn: pulumi.Input[str | None] | None = None
    # Later stages' read-only roles: their pull-request previews check (DescribeImages) what they would promote.
    promotion_checkers: pulumi.Input[Sequence[str]] = ()


def context_tag(build: BuildSource, platform: str, root: pathlib.Path = ROOT) -> str:
    """A tag derived from the build context's content: the same files give the same tag, new files a new one.

    Tags are immutable, so a fixed tag (``latest``) could be pushed once only; a
    content tag changes exactly when there is something new to push.
    """
    context = (root / build.context).resolve()
    ignore_file = context / ".dockerignore"
    ignored = (
        [line.strip() for line in ignore_file.read_text().splitlines() if line.strip() and not line.startswith("#")]
        if ignore_file.exists()
        else []
    )
    digest = hashlib.sha256(f"{build.dockerfile}\0{platform}\0".encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        relative = path.relative_to(context).as_posix()
        if any(
            fnmatch.fnmatch(relative, pattern)
            or fnmatch.fnmatch(path.name, pattern)
            or relative.startswith(pattern.rstrip("/") + "/")
            for pattern in ignored
        ):
            continue
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return conventions.BUILD_TAG_PREFIX + digest.hexdigest()[:16]


def lifecycle_policy(config: ImageRepositoriesConfig) -> str:
    """Untagged leftovers go after a few days; this stack's own builds beyond the newest N go; nothing else does.

    Safe for digest-pinned images: a pinned image must carry a tag (checked at preview and up), and
    release or promoted tags are never selected, so no rule can expire what a stack runs.
    """
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"expire untagged images after {config.untagged_expiry_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": config.untagged_expiry_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"keep the newest {config.keep_images} images this stack built",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPrefixList": list(conventions.EXPIRABLE_TAG_PREFIXES),
                        "countType": "imageCountMoreThan",
                        "countNumber": config.keep_images,
                    },
                    "action": {"type": "expire"},
                },
            ]
        },
        sort_keys=True,
    )


def promotion_pullers(context: str, application: str, accounts: Sequence[str]) -> list[str]:
    """The push roles of later stages (predictable names, no stack reference back): they copy this image onward."""
    return [f"arn:aws:iam::{account}:role/{context}-*-{application}-ecr-push" for account in sorted(accounts)]


def repository_policy(
    push_role_arn: str,
    pull_role_arns: Sequence[str],
    *,
    lambda_account: str | None = None,
    promotion_pullers: Sequence[str] = (),
    promotion_checkers: Sequence[str] = (),
) -> str:
    """Only the push role writes; only it and the listed (execution) roles read; AWS services are not principals here.

    Allows alone would add nothing inside the account (identity policies already
    decide), so the denies are what make "nothing else may" true. Management
    actions (describe, set policy) stay with IAM so the deployer can still manage
    the repository.
    """
    readers = sorted({push_role_arn, *pull_role_arns})
    not_service = {"Bool": {"aws:PrincipalIsAWSService": "false"}}
    statements = [
        {
            "Sid": "PushRoleWrites",
            "Effect": "Allow",
            "Principal": {"AWS": push_role_arn},
            "Action": sorted(PUSH_ACTIONS),
        },
        {"Sid": "ExecutionRolesPull", "Effect": "Allow", "Principal": {"AWS": readers}, "Action": sorted(PULL_ACTIONS)},
        {
            "Sid": "NobodyElseWrites",
            "Effect": "Deny",
            "Principal": "*",
            "Action": sorted(WRITE_ACTIONS),
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": push_role_arn}, **not_service},
        },
        {
            "Sid": "NobodyElsePulls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": sorted(PULL_ACTIONS),
            "Condition": {
                "ArnNotEquals": {"aws:PrincipalArn": readers},
                **({"ArnNotLike": {"aws:PrincipalArn": list(promotion_pullers)}} if promotion_pullers else {}),
                **not_service,
            },
        },
    ]
    if promotion_pullers:
        accounts = sorted({arn.split(":")[4] for arn in promotion_pullers})
        statements.append(
            {
                "Sid": "LaterStagesPromote",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{account}:root" for account in accounts]},
                "Action": sorted(PROMOTE_ACTIONS),
                "Condition": {"ArnLike": {"aws:PrincipalArn": list(promotion_pullers)}},
            }
        )
    if promotion_checkers:
        # Metadata only: a later stage's pull-request preview checks the image exists; pulling stays denied above.
        statements.append(
            {
                "Sid": "LaterStagesCheck",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(promotion_checkers)},
                "Action": ["ecr:DescribeImages"],
            }
        )
    if lambda_account:
        statements.append(
            {
                "Sid": "LambdaPulls",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Condition": {"StringEquals": {"aws:SourceAccount": lambda_account}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def source_image(ref: str) -> EcrImage:
    image = EcrImage.parse(ref)
    if image is None:
        raise ValueError(f"promoted image {ref!r} is not an ECR image by digest")
    return image


def source_repository_arn(ref: str) -> str:
    image = source_image(ref)
    return f"arn:aws:ecr:{image.region}:{image.registry_id}:repository/{image.repository}"


def endpoint_region(proxy_endpoint: str) -> str:
    """``https://<registry>.dkr.ecr.<region>.amazonaws.com`` -> ``<region>``: the region a token logs in to."""
    return proxy_endpoint.split("://", 1)[-1].split(".")[3]


def copy_script(source: str, repository_url: str, source_endpoint: str, target_endpoint: str) -> str:
    """skopeo copies the manifest and layers unchanged (--preserve-digests), so the digest prod runs is staging's.

    ECR tokens are per region: each registry is logged in to with the token of its own region
    (``ECR_SOURCE_PASSWORD`` for the image copied, ``ECR_PASSWORD`` for this repository). A token minted
    in another region is refused here, at preview, instead of as ``401 Unauthorized`` in the middle of `up`.
    """
    image = EcrImage.parse(source)
    assert image is not None
    target = f"{repository_url}:{conventions.promoted_tag(image.digest)}"
    target_host = repository_url.split("/", 1)[0]
    logins = {target_host: ("ECR_PASSWORD", target_endpoint)}
    logins.setdefault(source.split("/", 1)[0], ("ECR_SOURCE_PASSWORD", source_endpoint))
    for host, (variable, endpoint) in logins.items():
        host_region = host.split(".")[3]
        if endpoint_region(endpoint) != host_region:
            raise ValueError(
                f"promotion logs in to {host} with a token for {endpoint}: ECR tokens are per region; "
                f"mint {variable}'s token with a provider in {host_region}"
            )
    login_lines = "\n".join(
        f'printf %s "${variable}" | skopeo login --authfile "$AUTH" -u AWS --password-stdin {host} >/dev/null'
        for host, (variable, _) in sorted(logins.items())
    )
    return (
        "set -euo pipefail\n"
        'command -v skopeo >/dev/null || { echo "promotion needs skopeo where pulumi up runs '
        '(apt-get install skopeo; GitHub ubuntu runners have it)" >&2; exit 1; }\n'
        'AUTH="$(mktemp)"; trap \'rm -f "$AUTH"\' EXIT\n'
        f"{login_lines}\n"
        f'skopeo copy --preserve-digests --authfile "$AUTH" docker://{source} docker://{target}\n'
    )


def replica_ref(ref: str, region: str) -> str:
    """``ref``'s replica in ``region``: ECR replication keeps the registry, repository name and digest."""
    image = source_image(ref)
    return ref.replace(f".dkr.ecr.{image.region}.", f".dkr.ecr.{region}.", 1)


def promoted_image(stack_reference: str, application: str, key: str, region: str = "") -> pulumi.Output[str]:
    """The digest ``stack_reference`` runs for ``application`` (its ``services.<app>.image`` output), read from its
    replica in ``region`` when that stage replicates there (``services.<app>.replicas``): a recovery stack copies
    from its own region, never from the one it stands in for.

    A stack reference to the earlier stage, not a digest typed into config: what prod deploys is by
    construction what staging ran. Refused with the key when that stage has not run it yet; that the image is
    still there is checked by the push role that copies it (``ImageRepository``: the one principal the earlier
    stage's repository admits, issue 22).
    """

    def exported(services: dict[str, Any] | None) -> str:
        service = (services or {}).get(application) or {}
        ref = (service.get("replicas") or {}).get(region) or service.get("image")
        if not ref:
            raise MissingExternal(
                f"{key}: {stack_reference} exports no services.{application}.image: deploy it there first "
                f"(promotion takes the digest that stage ran)"
            )
        return ref

    return _exported_services(stack_reference).apply(exported)


def _exported_services(stack_reference: str) -> pulumi.Output[dict[str, Any] | None]:
    """The ``services`` output of ``stack_reference``: one StackReference and one read per stack, shared by every
    service promoted from it. ``get_output`` lifts the stack's whole outputs each time it is called (an earlier
    stage with n services exports n entries), so a read per service made promotion quadratic (issue 33)."""
    if stack_reference not in _references:
        reference = pulumi.StackReference(f"promotion-{stack_reference.rsplit('/', 1)[-1]}", stack_name=stack_reference)
        _references[stack_reference] = reference.get_output("services")
    return _references[stack_reference]


_references: dict[str, pulumi.Output[dict[str, Any] | None]] = {}


class ImageRepository(pulumi.ComponentResource):
    """A dedicated ECR repository, its CI push role, and the image by digest (built here or taken from config).

    Prevents: images deleted from under running deployments by a shared
    repository's cleanup, overwritten tags (immutable), unscanned images, a
    stack deletion taking prod's images with it, and task definitions that
    name a mutable tag.
    """

    repository_arn: pulumi.Output[str]
    repository_name: pulumi.Output[str]
    repository_url: pulumi.Output[str]
    push_role_arn: pulumi.Output[str]
    image_ref: pulumi.Output[str]  # "<repository url>@sha256:<hex>"

    def __init__(self, name: str, args: ImageRepositoryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:containers:ImageRepository", name, None, opts)
        if sum(source is not None for source in (args.build, args.digest, args.promote_from)) != 1:
            raise ValueError(
                f"image repository '{args.application}': give exactly one of build, digest or promote_from"
            )
        self._args = args
        self._prefix = name  # children are named after the repository: two repositories never share a URN
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)
        # Images are what a rollback returns to: in prod neither a `pulumi destroy` nor a replacement deletes them.
        keep = pulumi.ResourceOptions(parent=self, protect=ident.protected, retain_on_delete=ident.protected)

        mutability = "IMMUTABLE_WITH_EXCLUSION" if cfg.immutable_tag_exclusions else "IMMUTABLE"
        repo = aws.ecr.Repository(
            f"{self._prefix}-repository",
            name=ident.name("aws:ecr/repository:Repository", args.application),
            image_tag_mutability=mutability,
            image_tag_mutability_exclusion_filters=[
                aws.ecr.RepositoryImageTagMutabilityExclusionFilterArgs(filter=f, filter_type="WILDCARD")
                for f in cfg.immutable_tag_exclusions
            ]
            or None,
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            # AES256 by default: images carry no secrets (those come from Secrets Manager at start) and the
            # repository policy below is the access control; KMS adds a key policy to keep in step and a KMS
            # call per layer pulled. Config may choose KMS (the AWS-managed aws/ecr key).
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type=cfg.encryption)],
            force_delete=not ident.protected,
            opts=keep,
        )
        aws.ecr.LifecyclePolicy(
            f"{self._prefix}-lifecycle", repository=repo.name, policy=lifecycle_policy(cfg), opts=child
        )

        push_role = aws.iam.Role(
            f"{self._prefix}-push",
            name=ident.name("aws:iam/role:Role", f"{args.application}-ecr-push"),
            description=f"CI pushes {args.application} images; nothing else",
            assume_role_policy=self._push_trust(args),
            opts=child,
        )

        def push_policy(parts: list[str | None]) -> str:
            arn, source = parts
            assert arn is not None  # the repository's ARN is always known once created
            statements = [
                iam.statement(PUSH_ACTIONS, arn, sid="PushThisRepository"),
                # GetAuthorizationToken has no resource: it returns a token for the whole registry. The token alone
                # grants nothing; the statement above and the repository policy decide what it can push.
                iam.statement([AUTH_ACTION], "*", sid="RegistryLogin"),
            ]
            if source:
                # Promotion reads the earlier stage's image (its repository policy must admit this role too).
                statements.append(iam.statement(PROMOTE_ACTIONS, source_repository_arn(source), sid="PullPromoted"))
            return iam.document(*statements)

        push_policy_resource = aws.iam.RolePolicy(
            f"{self._prefix}-push",
            role=push_role.id,
            policy=pulumi.Output.all(repo.arn, args.promote_from).apply(push_policy),
            opts=child,
        )

        self._repo = repo
        # The push provider assumes this role in the same `up` that creates it: only once IAM can honour it.
        self._push_role_usable = usable_role_arn(f"{self._prefix}-push", push_role, [push_policy_resource], self)
        self.repository_arn = repo.arn
        self.repository_name = repo.name
        self.repository_url = repo.repository_url
        self.push_role_arn = push_role.arn
        if args.build:
            self.image_ref = self._image(args, repo)
        elif args.promote_from is not None:
            self.image_ref = self._promote(args, repo, push_policy_resource)
        else:
            assert args.digest is not None  # exactly one of build, digest or promote_from (checked above)
            self.image_ref = pulumi.Output.from_input(args.digest)
        self.register_outputs(
            {"repository_url": self.repository_url, "image_ref": self.image_ref, "push_role_arn": self.push_role_arn}
        )

    @staticmethod
    def _push_trust(args: ImageRepositoryArgs) -> pulumi.Input[str]:
        """Only named principals: config's pushPrincipalArns, else CI's deploy role; never ``:root`` (any principal
        of the account whose own policy allows it could push images into prod)."""
        principals: pulumi.Input[Sequence[str]] = (
            sorted(args.config.push_principal_arns)
            if args.config.push_principal_arns
            else pulumi.Output.all(args.ci_role_arn, ci_deploy_role_arn()).apply(lambda a: [a[0] or a[1]])
        )
        return pulumi.Output.from_input(principals).apply(
            lambda arns: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": arns[0] if len(arns) == 1 else arns},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                sort_keys=True,
            )
        )

    def _push_provider(self, args: ImageRepositoryArgs, region: pulumi.Input[str], suffix: str) -> aws.Provider:
        """A provider that is the push role in ``region``: the repository policy denies writes to anyone else.

        It assumes the role only once IAM can honour it (``self._push_role_usable``): the same `up` creates it.
        """
        ident = args.identity
        return aws.Provider(
            f"{self._prefix}-{suffix}",
            region=region,
            assume_roles=self._push_roles(args),
            default_tags=aws.ProviderDefaultTagsArgs(tags=ident.tags),
            allowed_account_ids=[args.account_id] if args.account_id else None,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _push_roles(self, args: ImageRepositoryArgs) -> pulumi.Output[list[aws.ProviderAssumeRoleArgs]]:
        """The push role, unless the caller is the read-only role: a pull-request preview pushes nothing and may not
        become the push role (the PR's code would run as it). Its providers then read as the caller, and the
        preview shows them updated; the next `up`, as the deploy role, sets the role back."""
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).arn

        def roles(parts: list[Any]) -> list[aws.ProviderAssumeRoleArgs]:
            caller_arn, usable = parts
            if str(caller_arn).split(":assumed-role/", 1)[-1].split("/", 1)[0] == read_only_role_name():
                return []
            return [aws.ProviderAssumeRoleArgs(role_arn=usable, session_name=f"{args.application}-image-push")]

        return pulumi.Output.all(caller, self._push_role_usable).apply(roles)

    def _push_login(
        self, args: ImageRepositoryArgs, repo: aws.ecr.Repository
    ) -> tuple[pulumi.Output[aws.ecr.GetAuthorizationTokenResult], aws.Provider]:
        """A login to this repository's registry as the push role, and the provider that minted it."""
        provider = self._push_provider(args, args.identity.region, "ecr-push")
        token = aws.ecr.get_authorization_token_output(
            registry_id=repo.registry_id, opts=pulumi.InvokeOptions(parent=self, provider=provider)
        )
        return token, provider

    def _source_login(
        self, source: pulumi.Output[str], provider: aws.Provider
    ) -> pulumi.Output[aws.ecr.GetAuthorizationTokenResult]:
        """A login to the promoted image's registry, minted in that registry's region by the push role.

        An ECR token opens the registries of the region it was issued in only: prod-dr (eu-central-1)
        copying prod's image (eu-west-1) with a token of its own region fails the copy with 401. Within
        the region the token is the role's, good for every registry it may read (staging's account
        included), so only the region is taken from the image: the push provider asked in that region (the
        lookup's own ``region``), not a second provider per service for the same role (issue 33).
        """
        # Asked once the image is known, its region a plain value: an argument computed from the stack reference
        # would make the lookup wait on that resource, which a preview answers as unknown.
        return source.apply(
            lambda ref: aws.ecr.get_authorization_token_output(
                region=source_image(ref).region, opts=pulumi.InvokeOptions(parent=self, provider=provider)
            )
        )

    def _promote(
        self,
        args: ImageRepositoryArgs,
        repo: aws.ecr.Repository,
        push_policy: aws.iam.RolePolicy,
    ) -> pulumi.Output[str]:
        """Copy the earlier stage's image, digest unchanged, into this repository; deploy it from here.

        The copy runs during `up` (skopeo, on the host that runs Pulumi), after the repository exists: a
        fresh environment's first `up` creates the repository, copies, then starts the service. The
        image gets a ``promoted-`` tag, which no lifecycle rule selects. Running from this stack's own
        repository, prod never depends on staging's registry at scale-out or rollback time.
        """
        assert args.promote_from is not None  # _promote runs only for a promoted image
        exported = pulumi.Output.from_input(args.promote_from)
        token, provider = self._push_login(args, repo)
        source_token = self._source_login(exported, provider)

        async def present(ref: str) -> str:
            # As the push role (the lookup names the source's region): the earlier stage's repository admits it,
            # not the deployer.
            problem = await image_problem_async(ref, pulumi.InvokeOptions(provider=provider))
            if problem:
                raise MissingExternal(f"{args.promote_key or 'promoteFrom'}: image {ref} {problem}")
            return ref

        source = exported.apply(present)
        copy = command.local.Command(
            f"{self._prefix}-promote",
            create=pulumi.Output.all(
                source, repo.repository_url, source_token.proxy_endpoint, token.proxy_endpoint
            ).apply(lambda parts: copy_script(*parts)),
            interpreter=["/bin/bash", "-c"],
            environment={
                "ECR_PASSWORD": pulumi.Output.secret(token.password),
                "ECR_SOURCE_PASSWORD": pulumi.Output.secret(source_token.password),
            },
            # A new source digest is a new copy; the same digest is never copied twice.
            triggers=[source],
            # The provider that minted its two logins (each token asked in its registry's region).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[repo, push_policy, provider]),
        )
        return pulumi.Output.all(repo.repository_url, source, copy.id).apply(
            lambda parts: f"{parts[0]}@{parts[1].split('@', 1)[1]}"
        )

    def _image(self, args: ImageRepositoryArgs, repo: aws.ecr.Repository) -> pulumi.Output[str]:
        build = args.build
        assert build is not None
        # Before the first image is registered: no daemon means a clear stop, not a failure mid-deployment.
        check_build_host(f"image '{args.application}'", lambda_image=args.lambda_compatible)
        token, _ = self._push_login(args, repo)
        tag = context_tag(build, args.platform)
        image_args: dict[str, Any] = dict(
            # Relative to the project (Pulumi runs the program there): the same inputs on every machine.
            context=docker_build.BuildContextArgs(location=build.context),
            dockerfile=docker_build.DockerfileArgs(location=f"{build.context}/{build.dockerfile}"),
            # One platform: the pushed digest is a plain image manifest, the one that will run.
            platforms=[docker_build.Platform(args.platform)],
            tags=[repo.repository_url.apply(lambda url: f"{url}:{tag}")],
            registries=[
                docker_build.RegistryArgs(
                    address=repo.repository_url.apply(lambda url: url.split("/")[0]),
                    username=token.user_name,
                    # Secret whatever the provider marks: the token is a registry login, kept encrypted in the
                    # state and masked in every output (no-plaintext-secrets found it plain offline, issue 34).
                    password=pulumi.Output.secret(token.password),
                )
            ],
        )
        if args.lambda_compatible:
            # Lambda rejects image indexes. Docker media types and a single platform keep the result one
            # manifest; pulumi-docker-build 0.0.22 has no --provenance input (its exec path says
            # "TODO: --attest"), so BuildKit's default provenance attestation is off only when
            # BUILDX_NO_DEFAULT_ATTESTATIONS=1 is set where `pulumi up` runs (README).
            image_args.update(
                push=False,
                exports=[docker_build.ExportArgs(registry=docker_build.ExportRegistryArgs(oci_media_types=False))],
            )
            if os.environ.get(NO_ATTESTATIONS_ENV) not in ("1", "true", "True"):
                pulumi.log.warn(
                    f"{args.application}: set {NO_ATTESTATIONS_ENV}=1 so BuildKit adds no provenance "
                    f"index; Lambda rejects image indexes",
                    resource=self,
                )
        else:
            image_args.update(push=True)
        image = docker_build.Image(
            f"{self._prefix}-image",
            **image_args,
            # The repository exists before the first push (the seed's "deploy the ECR stack first" gotcha).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[repo]),
        )
        return pulumi.Output.all(repo.repository_url, image.digest).apply(lambda parts: f"{parts[0]}@{parts[1]}")

    def restrict_access(self, pull_role_arns: Sequence[pulumi.Input[str]]) -> aws.ecr.RepositoryPolicy:
        """The repository policy: the push role writes, the given (execution) roles pull, nobody else does either."""
        lambda_account = aws.get_caller_identity_output().account_id if self._args.lambda_compatible else None
        context, application = self._args.identity.context, self._args.application
        policy = pulumi.Output.all(
            self.push_role_arn,
            pulumi.Output.all(*pull_role_arns),
            lambda_account,
            pulumi.Output.from_input(self._args.promotion_account_ids),
            pulumi.Output.from_input(self._args.promotion_checkers),
        ).apply(
            lambda parts: repository_policy(
                parts[0],
                parts[1],
                lambda_account=parts[2],
                promotion_pullers=promotion_pullers(context, application, parts[3]),
                promotion_checkers=parts[4],
            )
        )
        return aws.ecr.RepositoryPolicy(
            f"{self._prefix}-access",
            repository=self._repo.name,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self),
        )
