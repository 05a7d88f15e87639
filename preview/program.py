"""Run the real Pulumi program under Pulumi's mocks and record every registration.

``pulumi.runtime.set_mocks`` replaces the engine and the providers; the program
itself (``__main__.py``, its components, its config loading) runs unchanged.
The recording monitor keeps what the mocks alone would drop (parent, provider,
protect, retainOnDelete, ignoreChanges, dependencies, and which input reads
which resource: ``propertyDependencies``) so the snapshot shows a reviewer what
``pulumi preview`` would register, and the review can cascade replacements as
the engine does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import pathlib
import runpy
from collections.abc import Callable, Generator
from typing import Any

import grpc
import pulumi
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import wait_for_rpcs

# pulumi's own helper to finish the mocked program's RPCs synchronously; no public equivalent exists.
from pulumi.runtime.sync_await import _sync_await  # pyright: ignore[reportPrivateUsage]

from preview import world as worlds
from preview.mocks import PlatformMocks

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "__main__.py"
PROJECT = "aws-platform"

# Pulumi's wire-format markers (sdk/python/lib/pulumi/runtime/rpc.py).
SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET_MASK = "[secret]"
UNKNOWN_MASK = "[unknown]"


@dataclasses.dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    dependencies: list[str]
    inputs: dict[str, Any]
    property_dependencies: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # The ARN the offline world gave a created resource: what the access simulation names it by (access/).
    arn: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            **({"arn": self.arn} if self.arn else {}),
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "deleteBeforeReplace": self.delete_before_replace,
            "ignoreChanges": sorted(self.ignore_changes),
            "dependencies": sorted(set(self.dependencies)),
            "inputs": self.inputs,
            "propertyDependencies": {k: sorted(set(v)) for k, v in sorted(self.property_dependencies.items()) if v},
        }


def plain(value: Any) -> Any:
    """Wire-format property values -> JSON a reviewer can read; secrets never leave masked."""
    if isinstance(value, dict):
        sig = value.get(SIG)
        if sig == SECRET_SIG:
            return SECRET_MASK
        if sig == RESOURCE_SIG:
            return value.get("urn", "")
        if sig == ASSET_SIG:
            return {"asset": _asset_hash(value)}
        if sig == ARCHIVE_SIG:
            if "assets" in value:
                return {"archive": {k: plain(v) for k, v in sorted(value["assets"].items())}}
            return {"archive": value.get("path") or value.get("uri")}
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if value == UNKNOWN:
        return UNKNOWN_MASK
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct has only doubles; 3.0 was 3 in the program
    return value


def _asset_hash(asset: dict[str, Any]) -> str:
    """A short content hash, so a code change shows in the snapshot diff and paths do not leak machine layout."""
    path = asset.get("path")
    if path and (ROOT / path).is_file():
        body = (ROOT / path).read_bytes()
    else:
        body = str(asset.get("text") or path or asset.get("uri") or "").encode()
    return hashlib.sha256(body).hexdigest()[:16]


def real_urn(urn: str) -> str:
    """The URN the engine would give: children of the root stack do not carry its type in theirs."""
    return urn.replace("::pulumi:pulumi:Stack$", "::")


def _provider_urn(ref: str) -> str:
    return real_urn(ref.rsplit("::", 1)[0]) if ref else ""


class InvokeFailed(grpc.RpcError):
    """A lookup AWS refuses, as the engine reports it to the SDK (``grpc_error_to_exception`` reads these)."""

    def __init__(self, details: str):
        super().__init__(details)
        self._details = details

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self._details


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: PlatformMocks, observe: Callable[[Registration], None] | None = None):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        # Told of each registration as it is recorded, as the engine streams them to a policy pack (preview/).
        self._observe = observe
        self._seen: set[str] = set()
        # Every lookup the program makes and the provider that makes it: whose credentials call AWS (access/).
        self.invokes: set[tuple[str, str, str]] = set()

    def Invoke(self, request: Any) -> Any:  # a protobuf request
        if request.tok != "pulumi:pulumi:getResource":
            args = plain(json_format.MessageToDict(request.args))
            self.invokes.add((request.tok, _provider_urn(request.provider), json.dumps(args, sort_keys=True)))
        try:
            return super().Invoke(request)
        except LookupError as err:
            # The engine answers a failed lookup with a gRPC error, which the SDK hands to the caller (who may
            # handle it); anything else raised here the SDK would record as the program's unhandled failure.
            raise InvokeFailed(str(err)) from err

    def RegisterResource(self, request: Any) -> Any:  # a protobuf request; pulumi types neither side
        urn = real_urn(self.make_urn(request.parent, request.type, request.name))
        if urn in self._seen:
            # The engine refuses a second registration of a URN; the bare mocks would silently accept it.
            raise ValueError(f"duplicate resource URN {urn}: two resources share a type, parent and name")
        self._seen.add(urn)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registration = Registration(
                urn=real_urn(response.urn),
                type=request.type,
                name=request.name,
                parent=real_urn(request.parent),
                custom=bool(request.custom),
                provider=_provider_urn(request.provider),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=list(request.ignoreChanges),
                dependencies=[real_urn(d) for d in request.dependencies],
                inputs=plain(json_format.MessageToDict(request.object)),
                property_dependencies=_property_dependencies(request),
                arn=_arn(response) if request.custom and not request.type.startswith("pulumi:") else "",
            )
            self.registrations.append(registration)
            if self._observe is not None:
                self._observe(registration)
        return response


def _arn(response: Any) -> str:
    value = response.object.fields.get("arn") if response.object is not None else None
    return value.string_value if value is not None and value.HasField("string_value") else ""


def _property_dependencies(request: Any) -> dict[str, list[str]]:
    """Input name -> the resources its value came from, as the SDK sends them (what the engine cascades on)."""
    return {key: [real_urn(u) for u in deps.urns] for key, deps in request.propertyDependencies.items()}


@dataclasses.dataclass
class ProgramRun:
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    world: worlds.World
    invokes: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)

    def snapshot(self) -> dict[str, Any]:
        """Deterministic: resources sorted by URN, keys sorted when written."""
        return {
            "project": PROJECT,
            "stack": self.stack,
            # Which world answered: a reviewer (and the scan) knows the account and the day it previewed.
            "world": {
                "mode": self.world.mode,
                "account": self.world.account,
                "pinned": self.world.pinned,
                **({"zones": dict(self.world.zone_accounts)} if self.world.zone_accounts else {}),
            },
            "resources": [r.as_json() for r in sorted(self.registrations, key=lambda r: r.urn)],
            "invokes": [
                {"token": token, "provider": provider, "args": json.loads(args)}
                for token, provider, args in sorted(self.invokes)
            ],
            "outputs": self.outputs,
        }


def run(
    stack: str,
    config_values: dict[str, str],
    program: pathlib.Path = PROGRAM,
    world: worlds.World | None = None,
    observe: Callable[[Registration], None] | None = None,
) -> ProgramRun:
    """Run ``program`` for ``stack`` with the engine-format ``config_values``; one run per process.

    ``world`` says what exists (default: the day-zero world of the config's own stack); ``observe`` is told of
    each registration as it is recorded.
    """
    if world is None:
        import stack_config  # the program loads it too; here only to know the stack's account and externals

        try:
            world = worlds.for_stack(stack_config.load(stack, config_values))
        except stack_config.ConfigError:
            world = worlds.nothing()  # the program's own refusal is the one to see
    mocks = PlatformMocks(stack, world, default_region=config_values.get("aws:region", "eu-west-1"))
    monitor = RecordingMonitor(mocks, observe)
    pulumi.runtime.set_all_config(dict(config_values))
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor)
    with _no_full_collections():
        runpy.run_path(str(program), run_name="__main__")
        _sync_await(wait_for_rpcs())
        root = pulumi.runtime.get_root_resource()
        exported = getattr(root, "outputs", {}) or {}
        resolved = _sync_await(pulumi.Output.from_input(dict(exported)).future(with_unknowns=True)) if exported else {}
    outputs = plain(_jsonable(resolved or {}))
    return ProgramRun(
        stack=stack, registrations=monitor.registrations, outputs=outputs, world=world, invokes=monitor.invokes
    )


@contextlib.contextmanager
def _no_full_collections() -> Generator[None]:
    """While the program runs, the collector's young generations only; afterwards, what survived is frozen.

    The SDK keeps every resource's Outputs, futures and tasks alive until the run ends, so each of the collector's
    full passes re-scans a graph that only grows (millions of objects at 200 services) and frees next to nothing:
    measured at 200 generated services, 20 full passes took 16 of the program's 44 s and freed 1,754 objects, while
    the young passes, kept here, free the 1.7 M short-lived cycles. Frozen after the run (``gc.freeze``), the
    program's objects stay out of every later pass too. Only this process's collector changes: the program, the
    SDK and what they register do not.
    """
    threshold = gc.get_threshold()
    # CPython starts a full pass after ``threshold[2]`` young-generation passes; a C int's maximum means never.
    gc.set_threshold(threshold[0], threshold[1], 2**31 - 1)
    try:
        yield
    finally:
        gc.freeze()
        gc.set_threshold(*threshold)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, pulumi.Resource):
        return getattr(value, "_name", str(value))
    return UNKNOWN_MASK
