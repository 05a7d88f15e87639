"""Check, before any resource is registered, that what the stack expects from outside is there.

A missing parameter or image otherwise surfaces late and obscurely: a task that fails with
ResourceInitializationError after the circuit breaker gave up on the first deployment, or an
image deleted by a lifecycle rule under a running service (``ecr-dedicated-image-repos.md``).
Each check is an ordinary invoke with the stack's own provider (answered by ``preview/mocks.py``
offline), so ``pulumi preview`` and ``pulumi up`` refuse with the same clear message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from stack_config.aws_values import ECR_DIGEST_REF
from stack_config.externals import Expectation, secret_name


class MissingExternal(pulumi.RunError):
    """Something the stack expects from outside is not there; the message says what, where it is named, and why."""


class ImageLookup(TypedDict):
    registry_id: str
    repository_name: str
    image_digest: str
    region: str


@dataclass(frozen=True)
class EcrImage:
    registry_id: str
    region: str
    repository: str
    digest: str

    def lookup(self) -> ImageLookup:
        """The arguments of ``aws.ecr.get_image`` (and its output form) that find this image."""
        return ImageLookup(
            registry_id=self.registry_id, repository_name=self.repository, image_digest=self.digest, region=self.region
        )

    @classmethod
    def parse(cls, ref: str) -> EcrImage | None:
        match = ECR_DIGEST_REF.match(ref)
        return cls(*match.group("registry", "region", "repository", "digest")) if match else None


def image_problem(ref: str, invoke: pulumi.InvokeOptions) -> str | None:
    """Why a pinned image cannot be deployed safely: missing from its repository, or untagged (expirable)."""
    image = EcrImage.parse(ref)
    if image is None:
        return None  # not in ECR: nothing to ask (the ecs-image-by-digest policy still wants a digest)
    try:
        found = aws.ecr.get_image(**image.lookup(), opts=invoke)
    except Exception as err:  # the provider's error names the AWS exception (ImageNotFoundException...)
        return _image_missing(image, err)
    return _image_untagged(image, ref, found.image_tags)


async def image_problem_async(ref: str, invoke: pulumi.InvokeOptions) -> str | None:
    """``image_problem`` for a check inside an ``apply``: the lookup awaited, not run by the SDK's synchronous
    invoke, which pumps the event loop re-entrantly (``pulumi.runtime.sync_await``): one level of nesting per
    apply waiting on it, so 200 promoted services overflowed the interpreter's recursion limit (issue 33)."""
    image = EcrImage.parse(ref)
    if image is None:
        return None
    try:
        found = await aws.ecr.get_image_output(**image.lookup(), opts=invoke).future()
    except Exception as err:
        return _image_missing(image, err)
    return None if found is None else _image_untagged(image, ref, found.image_tags)


def _image_missing(image: EcrImage, err: Exception) -> str:
    if _provider_failed(err):
        raise ProviderUnavailable(str(err)) from err
    return f"is not in repository {image.repository} of {image.registry_id} ({image.region}): {_first_line(err)}"


def _image_untagged(image: EcrImage, ref: str, tags: Sequence[str] | None) -> str | None:
    if tags:
        return None
    return (
        f"is untagged in {image.repository}: the untagged-image expiry rule would delete it under the running "
        f"service; push it with a release tag (tag-on-push), e.g. `docker buildx imagetools create --tag "
        f"<repository>:release-<version> {ref}`"
    )


class ProviderUnavailable(Exception):
    """The stack's provider itself failed (an unknown org account...): its own error is the one to show."""


def _provider_failed(err: Exception) -> bool:
    # The SDK wraps a provider whose inputs failed to resolve this way; an AWS lookup error never says it.
    return "While processing resource" in str(err) and "pulumi:providers:" in str(err)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__


def _value_problem(expectation: Expectation, invoke: pulumi.InvokeOptions, found: dict[str, str]) -> str | None:
    ref = expectation.ref
    try:
        if ref.startswith("ssm:"):
            aws.ssm.get_parameter(name=ref[len("ssm:") :], with_decryption=False, opts=invoke)
        elif ref.startswith("arn:"):
            aws.secretsmanager.get_secret(arn=":".join(ref.split(":")[:7]), opts=invoke)
        else:
            # The full ARN (with AWS's suffix) is what a task definition must name: keep what the lookup says.
            found[ref] = aws.secretsmanager.get_secret(name=secret_name(ref), opts=invoke).arn
    except Exception as err:
        if _provider_failed(err):
            raise ProviderUnavailable(str(err)) from err
        return f"does not exist or cannot be read: {_first_line(err)}"
    return None


CHECKS: dict[str, Callable[[Expectation, pulumi.InvokeOptions, dict[str, str]], str | None]] = {
    "parameter": _value_problem,
    "secret": _value_problem,
    "image": lambda expectation, invoke, _found: image_problem(expectation.ref, invoke),
}


def verify(found: Sequence[Expectation], provider: pulumi.ProviderResource) -> dict[str, str]:
    """Ask AWS for every checkable expectation; raise one error listing every one that is missing.

    Returns the full ARN of every secret config names by bare name (ECS needs the ARN).
    """
    invoke = pulumi.InvokeOptions(provider=provider)
    problems = []
    secret_arns: dict[str, str] = {}
    for expectation in found:
        check = CHECKS.get(expectation.kind)
        try:
            problem = check(expectation, invoke, secret_arns) if check else None
        except ProviderUnavailable:
            return {}  # nothing can deploy with this provider; the program fails with the provider's own reason

        if problem:
            problems.append(f"  {expectation.key}: {expectation.kind} {expectation.ref} {problem}")
    if problems:
        raise MissingExternal(
            f"this stack expects {len(problems)} thing(s) that are not there (nothing was deployed):\n"
            + "\n".join(problems)
            + "\n(set them as their owner's runbook says, or fix the config key named; `make preview` lists "
            "everything a stack expects)"
        )
    return secret_arns
