"""The build host check: a clear stop before the first image when Docker, its daemon or buildx is missing.

Fake ``docker`` executables on PATH play the machines of docker-assets-in-ci-builds.md; the check runs them
through the same subprocess calls it makes in CI.
"""

from __future__ import annotations

import os
import pathlib
import stat
import subprocess
import sys

import pytest
from pulumi.runtime import mocks, settings

import stack_config
from foundation import build_host
from foundation.build_host import BuildHostError, check_build_host, require_docker_buildx
from preview import world
from preview.mocks import PlatformMocks
from tests.conftest import ROOT

NO_DAEMON = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"


def fake_docker(tmp_path: pathlib.Path, *, info: int = 0, buildx: int = 0) -> pathlib.Path:
    """A ``docker`` whose ``info`` and ``buildx version`` exit as told; returns its directory for PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = info ]; then [ {info} = 0 ] && echo 27.3.1 || echo "{NO_DAEMON}" >&2; exit {info}; fi\n'
        f'if [ "$1" = buildx ]; then [ {buildx} = 0 ] && echo "github.com/docker/buildx v0.17.1"; exit {buildx}; fi\n'
        "exit 2\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


@pytest.fixture
def path_to(monkeypatch):
    def use(bin_dir: pathlib.Path) -> None:
        monkeypatch.setenv("PATH", str(bin_dir))

    return use


def test_no_docker_on_path_is_named(tmp_path, path_to):
    path_to(tmp_path)  # an empty directory: no docker at all
    with pytest.raises(BuildHostError, match=r"image 'api': building needs Docker .* `docker` is not on PATH"):
        require_docker_buildx("image 'api'")


def test_a_daemon_that_does_not_answer_is_named_with_dockers_own_reason(tmp_path, path_to):
    path_to(fake_docker(tmp_path, info=1))
    with pytest.raises(BuildHostError) as err:
        require_docker_buildx("image 'api'")
    assert "the Docker daemon does not answer `docker info`" in str(err.value) and NO_DAEMON in str(err.value)


def test_missing_buildx_is_named(tmp_path, path_to):
    path_to(fake_docker(tmp_path, buildx=1))
    with pytest.raises(BuildHostError, match="buildx does not"):
        require_docker_buildx("image 'api'")


def test_lambda_images_also_need_attestations_off(tmp_path, path_to, monkeypatch):
    path_to(fake_docker(tmp_path))
    monkeypatch.delenv(build_host.NO_ATTESTATIONS_ENV, raising=False)
    require_docker_buildx("image 'api'")  # an ECS image does not care
    with pytest.raises(BuildHostError, match="set BUILDX_NO_DEFAULT_ATTESTATIONS=1"):
        require_docker_buildx("image 'prerender'", lambda_image=True)
    monkeypatch.setenv(build_host.NO_ATTESTATIONS_ENV, "1")
    require_docker_buildx("image 'prerender'", lambda_image=True)


def test_the_check_is_skipped_only_under_mocks(tmp_path, path_to, monkeypatch):
    path_to(tmp_path)  # nothing could build here
    monkeypatch.setattr(
        settings.SETTINGS,
        "monitor",
        mocks.MockMonitor(PlatformMocks("dev", world.for_stack(stack_config.load_file("dev")))),
    )
    check_build_host("image 'api'")  # the offline preview: nothing is built, nothing is asked
    monkeypatch.setattr(settings.SETTINGS, "monitor", object())  # a real engine's monitor
    with pytest.raises(BuildHostError):
        check_build_host("image 'api'")


def test_this_machines_docker_without_a_daemon_is_refused():
    """The real docker CLI of a machine without a daemon (this one), when there is one."""
    real = subprocess.run(["sh", "-c", "command -v docker"], capture_output=True, text=True)
    if real.returncode != 0:
        pytest.skip("no docker CLI on this machine")
    if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        pytest.skip("this machine has a running Docker daemon")
    with pytest.raises(BuildHostError, match="the Docker daemon does not answer"):
        require_docker_buildx("image 'api'")


def test_the_program_checks_before_registering_its_first_image(tmp_path):
    """The real program, as `pulumi up` would run it (the mock detector says 'real'), on a host without a daemon."""
    bin_dir = fake_docker(tmp_path, info=1)
    runner = tmp_path / "run_preview.py"
    runner.write_text(
        "import runpy, sys\n"
        "import foundation.build_host as host\n"
        "host.builds_for_real = lambda: True\n"
        "sys.argv = ['preview', '--stack', 'dev', '--json', sys.argv[1]]\n"
        "runpy.run_module('preview', run_name='__main__')\n"
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(runner), str(tmp_path / "dev.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "image 'api': the Docker daemon does not answer `docker info`" in proc.stdout + proc.stderr
