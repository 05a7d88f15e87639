"""A preview run as a fork of the warm worker is the same command as `python -m preview`: exit code, output, snapshot."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from preview import worker
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def warm():
    w = worker.Worker()
    yield w
    w.close()


def fresh(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "preview", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_a_config_error_exits_2_with_the_same_message(warm):
    argv = ["--stack", "no-such-stack"]
    forked, new = warm.run(argv), fresh(*argv)
    assert (forked.returncode, forked.stdout, forked.stderr) == (new.returncode, new.stdout, new.stderr)
    assert forked.returncode == 2 and "no-such-stack" in forked.stderr


def timeless(output: str) -> str:
    """The output without what is measured each run (the access simulation's time)."""
    return re.sub(r", in \d+\.\d+ s$", ", in <time> s", output, flags=re.MULTILINE)


def test_runs_after_the_worker_warmed_up_match_a_new_interpreter_byte_for_byte(warm, tmp_path):
    new = fresh("--stack", "dev", "--json", str(tmp_path / "new.json"), "--no-policy")
    # The first run teaches the worker what to import; the second forks from the warmed worker (where a wrongly
    # ordered import of pulumi_aws's lazy packages once turned functions into modules).
    runs = [warm.run(["--stack", "dev", "--json", str(tmp_path / f"fork{i}.json"), "--no-policy"]) for i in (1, 2)]
    for i, forked in enumerate(runs, 1):
        assert forked.returncode == new.returncode == 0, forked.stderr
        assert timeless(forked.stdout) == timeless(new.stdout)
        assert forked.stderr == new.stderr
        assert (tmp_path / f"fork{i}.json").read_bytes() == (tmp_path / "new.json").read_bytes()


def test_each_run_reads_the_environment_of_its_call(warm, tmp_path, monkeypatch):
    # Set after the worker started: a run must see it as a new process would (preview/world.py reads it).
    broken = tmp_path / "stack_references.json"
    broken.write_text("{not json")
    monkeypatch.setenv("PREVIEW_STACK_REFERENCES", str(broken))
    forked, new = warm.run(["--stack", "dev", "--no-policy"]), fresh("--stack", "dev", "--no-policy")
    assert forked.returncode == new.returncode != 0
    assert forked.stderr.strip().splitlines()[-1] == new.stderr.strip().splitlines()[-1]
    monkeypatch.delenv("PREVIEW_STACK_REFERENCES")
    assert warm.run(["--stack", "dev", "--no-policy"]).returncode == 0


def test_a_run_that_outlives_its_timeout_is_killed(warm):
    with pytest.raises(subprocess.TimeoutExpired):
        warm.run(["--stack", "prod", "--no-policy"], timeout=0.05)
    assert warm.run(["--stack", "no-such-stack"]).returncode == 2, "the worker serves the next run"
