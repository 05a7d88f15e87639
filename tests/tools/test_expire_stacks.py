"""Ephemeral stacks expire 24 hours after their last update; shared and PRODUCTION stacks never do.

The command talks to a fake ``pulumi`` on PATH that answers ``stack ls``/``stack output`` from a backend file
and records every ``destroy``, so the subprocess calls are the ones CI makes.
"""

from __future__ import annotations

import datetime
import json
import stat
import sys

import pytest

from policies import conventions
from tools.expire_stacks import StackSummary, expired, main

NOW = datetime.datetime(2026, 11, 23, 18, 0, tzinfo=datetime.UTC)
FAKE_PULUMI = """#!{python}
import json, pathlib, sys
backend = json.loads(pathlib.Path({backend!r}).read_text())
args = [a for a in sys.argv[1:] if a != "--non-interactive"]
if args[:2] == ["stack", "ls"]:
    print(json.dumps([{{"name": n, **{{k: v for k, v in s.items() if k != "outputs"}}}} for n, s in backend.items()]))
elif args[:2] == ["stack", "output"]:
    print(json.dumps(backend[args[args.index("--stack") + 1]]["outputs"]))
elif args[0] == "destroy":
    with open({log!r}, "a") as log:
        log.write(" ".join(args) + "\\n")
else:
    sys.exit(f"unexpected: {{args}}")
"""


def hours_ago(hours: float) -> str:
    return (NOW - datetime.timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def backend(tmp_path, monkeypatch, shipped_preview):
    """Stacks as a backend lists them; the shared dev's outputs are the shipped dev stack's own."""
    stacks = {
        "dev": {"lastUpdate": hours_ago(200), "outputs": shipped_preview("dev").snapshot["outputs"]},
        "dev-alice": {"lastUpdate": hours_ago(30), "outputs": {"stage": "dev", "usage": "EPHEMERAL"}},
        "dev-bob": {"lastUpdate": hours_ago(2), "outputs": {"stage": "dev", "usage": "EPHEMERAL"}},
        "dev-carol": {"lastUpdate": hours_ago(90), "outputs": {"stage": "dev", "usage": "POC"}},
        "dev-dave": {"lastUpdate": hours_ago(40), "updateInProgress": True, "outputs": {"usage": "EPHEMERAL"}},
        "staging": {"lastUpdate": hours_ago(300), "outputs": {"stage": "staging", "usage": "PRODUCTION"}},
    }
    path, log = tmp_path / "backend.json", tmp_path / "destroyed.log"
    path.write_text(json.dumps(stacks))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(FAKE_PULUMI.format(python=sys.executable, backend=str(path), log=str(log)))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return stacks, log


def test_only_the_ephemeral_stack_past_its_lifetime_is_destroyed(backend, capsys):
    _, log = backend
    assert main(["--stage", "dev", "--now", NOW.isoformat()]) == 0
    assert log.read_text().splitlines() == ["destroy --yes --stack dev-alice --remove"]
    assert "dev-alice: usage EPHEMERAL, last updated 30 h ago (lifetime 24 h): destroying" in capsys.readouterr().out


def test_dry_run_destroys_nothing(backend, capsys):
    _, log = backend
    assert main(["--stage", "dev", "--now", NOW.isoformat(), "--dry-run"]) == 0
    assert not log.exists() and "dev-alice" in capsys.readouterr().out


def test_the_shipped_dev_stack_is_shared_and_not_ephemeral(shipped_preview):
    assert shipped_preview("dev").snapshot["outputs"]["usage"] != "EPHEMERAL"


def test_a_shared_stack_is_never_destroyed_even_if_misconfigured_ephemeral():
    old = NOW - datetime.timedelta(hours=conventions.EPHEMERAL_LIFETIME_HOURS + 1)
    stacks = [StackSummary("dev", old), StackSummary("sandbox", old), StackSummary("dev-x", old)]
    found = [name for name, _ in expired(stacks, lambda _: {"usage": "EPHEMERAL"}, NOW, "dev")]
    assert found == ["dev-x"]
    assert list(expired(stacks, lambda _: {"usage": "EPHEMERAL"}, NOW, "staging")) == []  # staging: never EPHEMERAL
