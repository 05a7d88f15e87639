"""`make lint` (issue 17): with the project's own configuration, each checker fails on the mistake it exists to catch
and passes the same code without it, so a finding stops `make test` before the suite runs."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
CLEAN = "import json\n\n\ndef dump(value: dict[str, int]) -> str:\n    return json.dumps(value)\n"


def run(tool: str, *args: str | pathlib.Path) -> subprocess.CompletedProcess[str]:
    """One checker from the venv, run from the project root so it reads pyproject.toml."""
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    return subprocess.run(
        [str(BIN / tool), *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def module(tmp_path: pathlib.Path):
    """Writes a throw-away module; the checkers get its path, never the tree's files."""

    def write(source: str) -> pathlib.Path:
        path = tmp_path / "sample.py"
        path.write_text(source)
        return path

    return write


@pytest.fixture(scope="module")
def pyright(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """One pyright run (each costs seconds) over a clean sample and two broken ones: its error lines per sample."""
    folder = tmp_path_factory.mktemp("pyright")
    samples = {
        "clean": CLEAN,
        "broken_return": CLEAN.replace("-> str", "-> int"),
        "untyped_parameter": CLEAN.replace("value: dict[str, int]", "value"),
    }
    for name, source in samples.items():
        (folder / f"{name}.py").write_text(source)
    result = run("pyright", *sorted(folder.iterdir()))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return {name: [line for line in result.stdout.splitlines() if f"{name}.py:" in line] for name in samples}


def test_the_clean_sample_passes_every_checker(module, pyright):
    path = module(CLEAN)
    for args in (
        ("ruff", "check", "--config", "pyproject.toml", path),
        ("ruff", "format", "--config", "pyproject.toml", "--check", path),
    ):
        assert run(*args).returncode == 0, args
    assert pyright["clean"] == []


def test_an_unused_import_fails_ruff(module):
    result = run("ruff", "check", "--config", "pyproject.toml", module("import os\n" + CLEAN))
    assert result.returncode == 1 and "F401" in result.stdout


def test_unformatted_code_fails_the_format_check(module):
    path = module(CLEAN.replace("json.dumps(value)", "json.dumps( value )"))
    result = run("ruff", "format", "--config", "pyproject.toml", "--check", path)
    assert result.returncode == 1 and "1 file would be reformatted" in result.stdout


def test_a_broken_annotation_fails_pyright(pyright):
    (error,) = pyright["broken_return"]
    assert 'Type "str" is not assignable to return type "int"' in error


def test_an_unannotated_parameter_fails_pyright(pyright):
    (error,) = pyright["untyped_parameter"]
    assert "reportMissingParameterType" in error
