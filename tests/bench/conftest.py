"""The scale benchmark's generated stacks at a smoke size, previewed once per session (bench/scale.py)."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

from tests.conftest import ROOT, PreviewResult, run_preview

SMOKE_SERVICES = 3


def _load_scale():
    """bench/scale.py as a module (bench/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the body runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def scale():
    return _load_scale()


@pytest.fixture(scope="session")
def generated_prod(scale, tmp_path_factory) -> PreviewResult:
    """prod with ``SMOKE_SERVICES`` generated services, previewed as the benchmark previews it (every judge on), its
    staging previewed first (program only) and recorded as `make stack-references` records it."""
    directory: pathlib.Path = tmp_path_factory.mktemp("scale")
    configs = scale.write_configs(SMOKE_SERVICES, directory)
    staging = run_preview(
        "staging",
        directory,
        "--config",
        str(configs["staging"]),
        "--no-policy",
        "--no-access",
        "--no-quotas",
        "--quiet",
    )
    assert staging.exit_code == 0, staging.stderr[-2000:]
    env = scale.record_staging(staging.snapshot, directory)
    # As bench/scale.py measures it: a generated stack is measured, never deployed, so the org requested nothing for it.
    return run_preview("prod", directory, "--config", str(configs["prod"]), "--quiet", "--no-quotas", env=env)
