"""The machine that runs ``pulumi up`` must be able to build images: a Docker daemon with buildx, and no provenance.

``docker-assets-in-ci-builds.md``: a CI image without Docker failed the deploy with an asset error whose cause
("Unable to execute 'docker'") was buried in INFO lines. pulumi-docker-build talks to the daemon through
buildx; without one the first image fails mid-deployment, after other resources were already changed. So
the program asks the daemon first and stops with one clear line, before any image is registered.

Only when something will really be built: under the offline preview's mocks nothing is, and the check is
skipped. A real ``pulumi preview`` builds too (pulumi-docker-build's ``buildOnPreview`` defaults to true).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping

import pulumi
from pulumi.runtime import mocks, settings

NO_ATTESTATIONS_ENV = "BUILDX_NO_DEFAULT_ATTESTATIONS"
Runner = Callable[[list[str]], subprocess.CompletedProcess]


class BuildHostError(pulumi.RunError):
    """This machine cannot build the stack's images; the message says what is missing and what to do."""


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def builds_for_real() -> bool:
    """False under ``pulumi.runtime.set_mocks`` (the offline preview and the tests): no daemon is asked for."""
    return not isinstance(settings.get_monitor(), mocks.MockMonitor)


def attestations_off(environ: Mapping[str, str] | None = None) -> bool:
    """Whether BuildKit will skip its default provenance attestation (which turns an image into an index)."""
    return (environ if environ is not None else os.environ).get(NO_ATTESTATIONS_ENV) in ("1", "true", "True")


def require_docker_buildx(
    what: str, *, run: Runner = _run, which: Callable[[str], str | None] = shutil.which, lambda_image: bool = False
) -> None:
    """Raise ``BuildHostError`` unless ``docker`` is installed, its daemon answers and buildx is there.

    ``lambda_image``: Lambda rejects image indexes, so the provenance attestation must be off as well.
    """
    if which("docker") is None:
        raise BuildHostError(
            f"{what}: building needs Docker where `pulumi up` runs, and `docker` is not on PATH "
            f"(install Docker Engine with the buildx plugin, or pin the image by digest in config)"
        )
    daemon = run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if daemon.returncode != 0 or not daemon.stdout.strip():
        reason = (daemon.stderr or daemon.stdout).strip().splitlines()[-1:] or ["no answer"]
        raise BuildHostError(
            f"{what}: the Docker daemon does not answer `docker info` ({reason[0]}); start it (CI: a runner with "
            f"Docker, e.g. ubuntu-24.04; CodeBuild: privileged mode and dockerd-entrypoint.sh) before `pulumi up`"
        )
    buildx = run(["docker", "buildx", "version"])
    if buildx.returncode != 0:
        raise BuildHostError(
            f"{what}: Docker answers but buildx does not (`docker buildx version` failed); "
            f"pulumi-docker-build builds through buildx: install the docker-buildx plugin"
        )
    if lambda_image and not attestations_off():
        raise BuildHostError(
            f"{what}: set {NO_ATTESTATIONS_ENV}=1 where `pulumi up` runs; without it BuildKit adds a provenance "
            f"attestation, the pushed image becomes an index, and Lambda rejects it"
        )


def check_build_host(what: str, *, lambda_image: bool = False, run: Runner = _run) -> None:
    """The check as the program calls it: skipped when nothing is built for real; logs what it found otherwise."""
    if not builds_for_real():
        return
    require_docker_buildx(what, run=run, lambda_image=lambda_image)
    pulumi.log.debug(f"{what}: Docker daemon with buildx found")
