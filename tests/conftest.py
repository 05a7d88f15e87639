"""Shared fixtures: stack configs to vary, offline previews to run, and the policy pack to ask."""

from __future__ import annotations

import copy
import fcntl
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from preview import policy_client, worker
from scan import findings, terraform_plan

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENVIRONMENTS = ROOT / "environments"
SHIPPED_STACKS = ("dev", "staging", "prod", "prod-dr")


@dataclass
class PreviewResult:
    exit_code: int
    stdout: str
    stderr: str
    snapshot_path: pathlib.Path

    @property
    def snapshot(self) -> dict[str, Any]:
        return json.loads(self.snapshot_path.read_text())

    def resources(self, type_: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.snapshot["resources"] if type_ is None or r["type"] == type_]

    def one(self, type_: str, name: str) -> dict[str, Any]:
        (found,) = [r for r in self.resources(type_) if r["name"] == name]
        return found


_WORKER: list[worker.Worker] = []


def run_preview(stack: str, out_dir: pathlib.Path, *extra: str, env: dict[str, str] | None = None) -> PreviewResult:
    """The offline preview exactly as `make preview` runs it, in its own process (Pulumi's runtime is global).

    The process is a fork of one warm worker per test process (preview/worker.py: the SDKs imported once, ~3 s
    of every preview); ``PREVIEW_WORKER=0`` starts a new interpreter per preview instead, as before. ``env``: variables
    set for this preview only.
    """
    environment = {**os.environ, **(env or {})}
    snapshot = out_dir / f"{stack}.json"
    argv = ["--stack", stack, "--json", str(snapshot), *extra]
    if os.environ.get("PREVIEW_WORKER") == "0":
        proc = subprocess.run(
            [sys.executable, "-m", "preview", *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env=environment,
        )
    else:
        if not _WORKER:
            _WORKER.append(worker.Worker())
        proc = _WORKER[0].run(argv, cwd=ROOT, env=environment, timeout=300)
    return PreviewResult(proc.returncode, proc.stdout, proc.stderr, snapshot)


def pytest_unconfigure(config: pytest.Config) -> None:
    while _WORKER:
        _WORKER.pop().close()


def _calls(function: Any, name: str, module: Any, depth: int = 2) -> bool:
    """Whether ``function`` (or a function of its module it calls, ``depth`` levels down) refers to ``name``."""
    code = getattr(function, "__code__", None)
    if code is None:
        return False
    if name in code.co_names:
        return True
    return depth > 0 and any(_calls(getattr(module, n, None), name, module, depth - 1) for n in code.co_names)


def _runs_preview(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    if "shipped_preview" in item.fixturenames or _calls(getattr(item, "function", None), "run_preview", module):
        return True
    fixtures = getattr(item, "_fixtureinfo", None)
    definitions = fixtures.name2fixturedefs.values() if fixtures else ()
    return any(_calls(d.func, "run_preview", sys.modules.get(d.func.__module__)) for defs in definitions for d in defs)


# A costly session fixture -> the xdist group whose tests share it on one worker, so it runs once per run.
SHARED_FIXTURE_GROUPS = {
    "edge_corpora_routed": "edge_corpora",  # one Node run over every corpus string (tests/tools/conftest.py)
    "renderer_modules": "renderer",  # one Chromium and one renderer (tests/lambda_src/conftest.py)
    "shipped_scan": "scan",  # checkov once per shipped stack (tests/scan/conftest.py)
    "generated_prod": "scale_smoke",  # the smoke size of the scale benchmark: two previews (tests/bench/conftest.py)
}


def _group(item: pytest.Item) -> str | None:
    """The worker group of a test: a costly session fixture's, else its module's if it has a module-scoped fixture
    (xdist spreads a module's tests over workers, and each worker would build the module's fixture again)."""
    for fixture, group in SHARED_FIXTURE_GROUPS.items():
        if fixture in item.fixturenames:
            return group
    fixtures = getattr(item, "_fixtureinfo", None)
    definitions = fixtures.name2fixturedefs.values() if fixtures else ()
    if any(d.scope == "module" for defs in definitions for d in defs):
        return item.module.__name__ if getattr(item, "module", None) else None
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow groups so each runs alone (``pytest -m preview``, ``-m corpus``) or is left out
    (``-m "not preview"``); and keep what shares a costly fixture on one xdist worker."""
    for item in items:
        if _runs_preview(item):
            item.add_marker(pytest.mark.preview)
        if "edge_corpora_routed" in item.fixturenames:
            item.add_marker(pytest.mark.corpus)
        if group := _group(item):
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A group xdist ignores costs a second run of its fixture on every worker and fails nothing: fail it here.

    pytest 9.2 with xdist 3.8 did exactly that (pytest-dev/pytest-xdist#1386): the suite took a minute longer.
    """
    grouped = getattr(item.config.option, "loadgroup", False) and any(item.iter_markers("xdist_group"))
    if grouped and "@" not in item.nodeid.rsplit("]", 1)[-1]:  # xdist puts "@<group>" at the end of the node id
        pytest.fail(
            "--dist loadgroup ignored this test's xdist_group: every worker would run its shared fixture again "
            "(a pytest/pytest-xdist pair that loses groups; requirements-dev.txt)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def shipped_preview(tmp_path_factory) -> Callable[[str], PreviewResult]:
    """Preview of a shipped stack, run once per session and shared by every test that reads it.

    Once for the whole run, not once per xdist worker: the first worker to ask runs it under a file lock in the
    run's shared temporary directory; the others wait for it and read what it recorded.
    """
    base = tmp_path_factory.getbasetemp()
    # An xdist worker's directory is popen-gw<N>, whose parent is this run's own directory.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache: dict[str, PreviewResult] = {}

    def get(stack: str) -> PreviewResult:
        if stack not in cache:
            directory = shared / f"shipped-preview-{stack}"
            with open(shared / f"shipped-preview-{stack}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                record = directory / "result.json"
                if record.exists():
                    kept = json.loads(record.read_text())
                    cache[stack] = PreviewResult(
                        kept["exit_code"], kept["stdout"], kept["stderr"], directory / f"{stack}.json"
                    )
                else:
                    directory.mkdir(exist_ok=True)
                    result = cache[stack] = run_preview(stack, directory)
                    kept = {"exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}
                    record.write_text(json.dumps(kept))
        return cache[stack]

    return get


@pytest.fixture(scope="session")
def checkov() -> str:
    """The pinned checkov, installed into its venv on a fresh machine (a minute, once)."""
    if not findings.CHECKOV.exists():
        subprocess.run(["make", "checkov"], cwd=ROOT, check=True, capture_output=True, timeout=900)
    return str(findings.checkov_binary())


@pytest.fixture(scope="session")
def shipped_scan(checkov, shipped_preview, tmp_path_factory) -> Callable[[str], findings.ScanResult]:
    """checkov on a shipped stack's offline preview, with the shipped exceptions: once per session and stack."""
    cache: dict[str, findings.ScanResult] = {}

    def get(stack: str) -> findings.ScanResult:
        if stack not in cache:
            plan = terraform_plan.to_terraform_plan(shipped_preview(stack).snapshot)
            cache[stack] = findings.scan(stack, plan, tmp_path_factory.mktemp(f"scan-{stack}"))
        return cache[stack]

    return get


def load_stack_yaml(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ENVIRONMENTS / f"Pulumi.{stack}.yaml").read_text())


@pytest.fixture
def stack_yaml(tmp_path) -> Callable[..., pathlib.Path]:
    """Write a variant of a shipped stack file: ``stack_yaml("dev", {"aws-platform:usage": "POC"}, drop=[...])``."""

    def write(
        base: str, changes: dict[str, Any] | None = None, drop: tuple[str, ...] = (), name: str | None = None
    ) -> pathlib.Path:
        document = copy.deepcopy(load_stack_yaml(base))
        document["config"].update(changes or {})
        for key in drop:
            document["config"].pop(key, None)
        path = tmp_path / f"Pulumi.{name or base}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    return write


@pytest.fixture(scope="session")
def policy_pack():
    """One running policy pack process for the session, reached over its analyzer gRPC interface."""
    with policy_client.PolicyPack() as pack:
        yield pack


PROVIDERS = {"eu-west-1": "aws-regional", "us-east-1": "aws-us-east-1"}


def provider_urn(stack: str, region: str = "eu-west-1") -> str:
    return f"urn:pulumi:{stack}::aws-platform::pulumi:providers:aws::{PROVIDERS[region]}"


def provider_resource(stack: str, tags: dict[str, str] | None, region: str = "eu-west-1") -> dict[str, Any]:
    inputs: dict[str, Any] = {"region": region}
    if tags is not None:
        inputs["defaultTags"] = json.dumps({"tags": tags})
    return {
        "urn": provider_urn(stack, region),
        "type": "pulumi:providers:aws",
        "name": PROVIDERS[region],
        "parent": "",
        "custom": True,
        "provider": "",
        "protect": False,
        "inputs": inputs,
    }


def resource(
    stack: str, type_: str, name: str, inputs: dict[str, Any], *, provider: bool | str = True, parent_type: str = ""
) -> dict[str, Any]:
    """A hand-built snapshot resource; ``provider`` is True (the stack region), a region, or False (the default)."""
    qualified = f"{parent_type}${type_}" if parent_type else type_
    region = provider if isinstance(provider, str) else "eu-west-1"
    return {
        "urn": f"urn:pulumi:{stack}::aws-platform::{qualified}::{name}",
        "type": type_,
        "name": name,
        "parent": "",
        "custom": True,
        "provider": provider_urn(stack, region) if provider else "",
        "protect": False,
        "inputs": inputs,
    }


def stack_tags(stack: str = "prod", **overrides: str) -> dict[str, str]:
    from policies import conventions

    stage = conventions.stage_for_stack(stack)
    tags = conventions.required_tags(
        stage=stage, context="shop", owner="platform-team", usage="PRODUCTION", stack=stack
    )
    tags.update(overrides)
    return tags


@pytest.fixture
def analyze(policy_pack) -> Callable[..., list[policy_client.Violation]]:
    """Run the pack over hand-built resources: ``analyze("prod", [resource(...)], default_tags=...)``."""

    def run(
        stack: str,
        resources: list[dict[str, Any]],
        *,
        default_tags: dict[str, str] | None = None,
        config: dict[str, Any] | None = None,
    ) -> list[policy_client.Violation]:
        tags = stack_tags(stack) if default_tags is None else default_tags
        providers = [provider_resource(stack, tags, region) for region in PROVIDERS]
        snapshot = {"stack": stack, "resources": [*providers, *resources]}
        return policy_pack.check(snapshot, config if config is not None else {"all": "mandatory"})

    return run


def messages(violations: list[policy_client.Violation], policy: str, name: str | None = None) -> list[str]:
    return [v.message for v in violations if v.policy == policy and (name is None or v.urn.endswith(f"::{name}"))]


@pytest.fixture
def stack_references(tmp_path, monkeypatch) -> Callable[..., pathlib.Path]:
    """Other stacks' outputs for the offline preview: the shipped ones, with ``stack_references(**{ref: outputs})``
    replacing just those outputs of that stack (its other outputs, e.g. the digests prod promotes, stay)."""

    def write(**overrides: dict[str, Any]) -> pathlib.Path:
        shipped = json.loads((ROOT / "preview" / "stack_references.json").read_text())
        merged = {**shipped, **{ref: {**shipped.get(ref, {}), **outputs} for ref, outputs in overrides.items()}}
        path = tmp_path / "stack_references.json"
        path.write_text(json.dumps(merged))
        monkeypatch.setenv("PREVIEW_STACK_REFERENCES", str(path))
        return path

    return write


def stack_account(stack: str) -> str:
    """The account a shipped stack previews as (its pinned one, from the org stack's recorded outputs)."""
    import stack_config
    from preview import world

    return world.for_stack(stack_config.load_file(stack)).account


def add_scratch_bucket(snapshot: dict[str, Any], inputs: dict[str, Any]) -> str:
    """Add a bucket named scratch under the network component, as a change to the program would; its URN."""
    network = next(r for r in snapshot["resources"] if r["type"] == "platform:network:Network")
    provider = next(r["provider"] for r in snapshot["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    urn = network["urn"].replace(
        "platform:network:Network::network", "platform:network:Network$aws:s3/bucket:Bucket::scratch"
    )
    snapshot["resources"].append(
        {
            "urn": urn,
            "type": "aws:s3/bucket:Bucket",
            "name": "scratch",
            "parent": network["urn"],
            "custom": True,
            "provider": provider,
            "protect": False,
            "retainOnDelete": False,
            "deleteBeforeReplace": False,
            "ignoreChanges": [],
            "dependencies": [],
            "inputs": inputs,
        }
    )
    return urn


@dataclass
class Planted:
    """Prod's shipped snapshot (base) and the same with secrets planted (head), with the real pack's verdicts."""

    base: dict[str, Any]
    head: dict[str, Any]
    base_violations: list[policy_client.Violation]
    head_violations: list[policy_client.Violation]
    values: tuple[str, ...]
    task_urn: str
    bucket_urn: str


@pytest.fixture(scope="session")
def planted_prod(shipped_preview, policy_pack) -> Planted:
    """Secrets planted in prod the way a hurried change would (issue 34), judged by the real pack; no new preview.

    A password in the api task's container environment, an AWS access key id as a bucket's name (which
    naming-convention then quotes in its own message) and a JWT in that bucket's tag. Values are random.
    """
    import base64
    import secrets
    import string

    password = "Zq" + secrets.token_urlsafe(18)
    access_key = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    claims = base64.urlsafe_b64encode(json.dumps({"sub": secrets.token_hex(8)}).encode()).decode().rstrip("=")
    jwt = f"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{claims}.{secrets.token_urlsafe(32)}"
    base = shipped_preview("prod").snapshot
    head = copy.deepcopy(base)
    task = next(r for r in head["resources"] if r["type"] == "aws:ecs/taskDefinition:TaskDefinition")
    containers = json.loads(task["inputs"]["containerDefinitions"])
    containers[0]["environment"] = [*containers[0]["environment"], {"name": "DB_PASSWORD", "value": password}]
    task["inputs"]["containerDefinitions"] = json.dumps(containers)
    bucket_urn = add_scratch_bucket(
        head, {"bucket": f"shop-prod-{access_key}", "tags": {**stack_tags("prod"), "session": jwt}}
    )
    config = policy_client.policy_config_for("prod")
    return Planted(
        base,
        head,
        policy_pack.check(base, config),
        policy_pack.check(head, config),
        (password, access_key, jwt),
        task["urn"],
        bucket_urn,
    )
