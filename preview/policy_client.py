"""Drive the CrossGuard pack through its real analyzer gRPC interface, the way the Pulumi CLI does.

The CLI starts ``python -u -m pulumi.policy <engine> <pack dir>``, reads the
port the pack prints, then calls ``GetAnalyzerInfo``, ``Configure`` (the
``--policy-pack-config`` file reconciled with the pack's defaults),
``ConfigureStack``, ``Analyze`` for each resource and ``AnalyzeStack`` once.
This module does the same, so the offline preview and CI judge the program by
the very code ``pulumi preview --policy-pack policies`` runs.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import pathlib
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from preview import priority
from preview.program import PROJECT, SECRET_MASK, SECRET_SIG, SIG, UNKNOWN, UNKNOWN_MASK

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACK = ROOT / "policies"
LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.DISABLED: "disabled",
    analyzer_pb2.REMEDIATE: "remediate",
}
LEVEL_VALUES = {name: value for value, name in LEVELS.items()}
SEVERITIES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "unspecified",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
WINDOW = 16  # Analyze calls in flight, as the engine's parallel steps would be
CLOSE_TIMEOUT = 60  # seconds a stream's thread may take to notice it is closed: the pack's start-up, at most
WAIVED = "waived ("  # the pack's marker on a violation an exception waives (policies/waiving.py)


@dataclasses.dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    message: str
    urn: str
    severity: str = "unspecified"

    @property
    def detail(self) -> str:
        """The policy's own words for this violation (the message without the policy's description)."""
        return self.message.split("\n", 1)[-1]

    @property
    def waived(self) -> bool:
        """Reported by the pack as waived by policies/exceptions.yaml (at the advisory level, never a failure)."""
        return self.detail.startswith(WAIVED)

    @property
    def failing(self) -> bool:
        return self.level == "mandatory" and not self.waived


def _last_error(stderr: str) -> str:
    """A Python traceback's last line (the exception itself), or the whole output when there is none."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(("exceptions.ExceptionsError", "policies.exceptions.ExceptionsError")):
            return "\n".join(lines[i:])
    return stderr


def wire(value: Any) -> Any:
    """Snapshot values back to the engine's wire format: masks become secrets and unknowns again."""
    if value == SECRET_MASK:
        return {SIG: SECRET_SIG, "value": ""}
    if value == UNKNOWN_MASK:
        return UNKNOWN
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(wire(props))
    return s


def reconcile(info: analyzer_pb2.AnalyzerInfo, file_config: dict[str, Any]) -> dict[str, analyzer_pb2.PolicyConfig]:
    """The CLI's rule: a policy's own entry, else ``all``, else the pack's initial config, else its default."""
    unknown = set(file_config) - {"all"} - {p.name for p in info.policies}
    if unknown:
        raise ValueError(f"policy config names unknown policies: {', '.join(sorted(unknown))}")
    result = {}
    for policy in info.policies:
        level = LEVELS.get(policy.enforcementLevel, "advisory")
        props: dict[str, Any] = {}
        if policy.name in info.initialConfig:
            initial = info.initialConfig[policy.name]
            level = LEVELS.get(initial.enforcementLevel, level)
        if "all" in file_config:
            level = file_config["all"]
        entry = file_config.get(policy.name)
        if isinstance(entry, str):
            level = entry
        elif isinstance(entry, dict):
            level = entry.get("enforcementLevel", level)
            props = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        if level not in LEVEL_VALUES:
            raise ValueError(
                f"policy '{policy.name}': enforcement level {level!r} is not one of {', '.join(LEVEL_VALUES)}"
            )
        config = analyzer_pb2.PolicyConfig(enforcementLevel=LEVEL_VALUES[level])
        config.properties.update(props)
        result[policy.name] = config
    return result


class _Providers:
    """Each provider's message made once: every resource's request carries its provider (a stack has a few)."""

    def __init__(self) -> None:
        self._made: dict[str, analyzer_pb2.AnalyzerProviderResource] = {}

    def get(
        self, resource: dict[str, Any], by_urn: dict[str, dict[str, Any]]
    ) -> analyzer_pb2.AnalyzerProviderResource | None:
        provider = by_urn.get(resource.get("provider", ""))
        if provider is None:
            return None
        made = self._made.get(provider["urn"])
        if made is None:
            made = self._made[provider["urn"]] = analyzer_pb2.AnalyzerProviderResource(
                type=provider["type"],
                urn=provider["urn"],
                name=provider["name"],
                properties=_struct(provider["inputs"]),
            )
        return made


def channel(address: str) -> grpc.Channel:
    """A client channel to the pack at ``address`` that takes a whole stack's ``AnalyzeStack`` in one message."""
    return grpc.insecure_channel(
        address,
        options=[
            ("grpc.max_receive_message_length", 400 * 1024 * 1024),
            ("grpc.max_send_message_length", 400 * 1024 * 1024),
        ],
    )


def analyzed_by_urn(
    stub: analyzer_pb2_grpc.AnalyzerStub, requests: Iterable[analyzer_pb2.AnalyzeRequest], window: int = WINDOW
) -> dict[str, list[Violation]]:
    """One ``Analyze`` per request, ``window`` calls in flight as the engine's parallel steps would be; each
    request's violations by URN, in the order sent.

    Profiling (README, performance) showed the pack's Python gRPC server spends ~0.5 ms of CPU per call whatever
    the policies do; keeping calls in flight hides the round trip (1.3k -> 2.8k/s).
    """
    found: dict[str, list[Violation]] = {}
    pending: collections.deque = collections.deque()
    for request in requests:
        pending.append((request.urn, stub.Analyze.future(request)))
        if len(pending) >= window:
            urn, future = pending.popleft()
            found[urn] = violations_of(future.result(), urn)
    for urn, future in pending:
        found[urn] = violations_of(future.result(), urn)
    return found


def violations_of(response: analyzer_pb2.AnalyzeResponse, urn: str = "") -> list[Violation]:
    return [
        Violation(
            policy=d.policyName,
            level=LEVELS.get(d.enforcementLevel, "advisory"),
            message=d.message,
            urn=d.urn or urn,
            severity=SEVERITIES.get(d.severity, "unspecified"),
        )
        for d in response.diagnostics
    ]


def registered_requests(resources: Iterable[dict[str, Any]]) -> Iterator[analyzer_pb2.AnalyzeRequest]:
    """``Analyze`` requests for resources in the order they were registered (snapshot entries), each made as it
    comes; one whose provider has not come yet is left out (``Streamed.finish`` analyzes it from the snapshot)."""
    by_urn: dict[str, dict[str, Any]] = {}  # the providers only: all a request looks up (not another stack copy)
    providers = _Providers()
    for resource in resources:
        if resource["type"].startswith("pulumi:providers:"):
            by_urn[resource["urn"]] = resource
        if resource["provider"] and resource["provider"] not in by_urn:
            continue
        yield PolicyPack.request(resource, by_urn, providers)


class PackError(RuntimeError):
    """The pack did not start: its own words (e.g. every problem of policies/exceptions.yaml)."""


class PolicyPack:
    """A running policy pack process and a client for it; use as a context manager."""

    def __init__(self, pack_dir: pathlib.Path = PACK, python: str = sys.executable, *, connect: bool = True):
        """Start the pack; with ``connect=False`` it starts (imports, listens) while the caller does other work,
        and ``connect()`` finishes the handshake: the offline preview runs the program meanwhile."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        self.channel: grpc.Channel | None = None
        self._streams: list[Streamed] = []
        self.process = subprocess.Popen(
            [*priority.lowered(), python, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
            cwd=pack_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if connect:
            self.connect()

    def connect(self) -> None:
        """Read the port the pack prints, open the channel, ask what it is; once."""
        if self.channel is not None:
            return
        assert self.process.stdout is not None and self.process.stderr is not None  # both PIPE above
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            try:  # a pack that failed to import exits at once: wait for it, so its stderr is complete
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            err = self.process.stderr.read().decode() if self.process.poll() is not None else ""
            self.close()
            raise PackError(f"policy pack did not start (printed {line!r}): {_last_error(err)}")
        self.address = f"127.0.0.1:{line}"
        self.channel = channel(self.address)
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self.info = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        self.version = self.stub.GetPluginInfo(empty_pb2.Empty()).version

    def __enter__(self) -> PolicyPack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for stream in self._streams:
            stream.close()
        if self.channel is not None:
            self.channel.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()

    def configure(self, stack: str, file_config: dict[str, Any]) -> dict[str, str]:
        """Configure levels and properties; returns each policy's effective level."""
        reconciled = reconcile(self.info, file_config)
        self.stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=reconciled))
        self.stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=stack, project=PROJECT, organization="organization", dry_run=True
            )
        )
        return {name: LEVELS[c.enforcementLevel] for name, c in reconciled.items()}

    # --- requests from a snapshot ---------------------------------------------

    @staticmethod
    def _options(resource: dict[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
        return analyzer_pb2.AnalyzerResourceOptions(
            protect=resource.get("protect", False),
            ignoreChanges=resource.get("ignoreChanges", []),
            deleteBeforeReplace=resource.get("deleteBeforeReplace", False),
            parent=resource.get("parent", ""),
        )

    @classmethod
    def _fields(
        cls, resource: dict[str, Any], by_urn: dict[str, dict[str, Any]], providers: _Providers
    ) -> dict[str, Any]:
        """What ``Analyze`` and ``AnalyzeStack`` both say of a resource (``resource`` as the snapshot has it)."""
        return {
            "type": resource["type"],
            "urn": resource["urn"],
            "name": resource["name"],
            "properties": _struct(resource["inputs"]),
            "options": cls._options(resource),
            "provider": providers.get(resource, by_urn),
        }

    @classmethod
    def request(
        cls, resource: dict[str, Any], by_urn: dict[str, dict[str, Any]], providers: _Providers
    ) -> analyzer_pb2.AnalyzeRequest:
        """One resource's ``Analyze`` request."""
        return analyzer_pb2.AnalyzeRequest(**cls._fields(resource, by_urn, providers))

    def requests(self, snapshot: dict[str, Any]) -> Iterator[analyzer_pb2.AnalyzeRequest]:
        """Made as they are sent (``analyze`` keeps a window in flight), not all at once: at 200 services the whole
        list was another copy of the stack in this process (issue 33)."""
        by_urn = {r["urn"]: r for r in snapshot["resources"]}
        providers = _Providers()
        for r in snapshot["resources"]:
            yield self.request(r, by_urn, providers)

    def stack_request(self, snapshot: dict[str, Any]) -> analyzer_pb2.AnalyzeStackRequest:
        by_urn = {r["urn"]: r for r in snapshot["resources"]}
        providers = _Providers()
        return analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    **self._fields(r, by_urn, providers),
                    parent=r.get("parent", ""),
                    dependencies=r.get("dependencies", []),
                )
                for r in snapshot["resources"]
            ]
        )

    # --- analysis -------------------------------------------------------------

    def analyze(self, requests: Iterable[analyzer_pb2.AnalyzeRequest], window: int = WINDOW) -> list[Violation]:
        """One ``Analyze`` per resource (``analyzed_by_urn``), its violations in the order sent."""
        return [v for found in analyzed_by_urn(self.stub, requests, window).values() for v in found]

    def stream(self, stack: str, file_config: dict[str, Any]) -> Streamed:
        """Analyze each resource as the program registers it (see ``Streamed``); ``close`` ends it too."""
        self._streams.append(Streamed(self, stack, file_config))
        return self._streams[-1]

    def analyze_stack(self, request: analyzer_pb2.AnalyzeStackRequest) -> list[Violation]:
        return violations_of(self.stub.AnalyzeStack(request))

    def check(self, snapshot: dict[str, Any], file_config: dict[str, Any]) -> list[Violation]:
        """Everything the CLI would run for one preview: per-resource, then stack-wide."""
        self.configure(snapshot["stack"], file_config)
        return self.analyze(self.requests(snapshot)) + self.analyze_stack(self.stack_request(snapshot))


class Streamed:
    """The pack judging the program while it runs, as the engine streams each registration to its analyzers.

    Each registration is queued as the program records it. A thread connects to the pack when it is up,
    configures it, and hands each registration (its snapshot entry, as JSON) to a process of its own,
    ``python -m preview.policy_stream``, which makes each resource's ``Analyze`` request and keeps ``WINDOW`` in
    flight. Made in this process, the requests and their replies waited on the interpreter lock the program's event
    loop holds: at 200 services ~60 were sent a second while the program ran, against 800 once it had ended, so
    most of the pack's work came after the program (issue 33). ``finish`` takes the snapshot: a resource not
    analyzed yet (one whose provider had not been seen when it came) is analyzed then, the violations are put in
    the snapshot's order (the same list ``PolicyPack.check`` makes) and ``AnalyzeStack`` follows.
    """

    def __init__(self, pack: PolicyPack, stack: str, file_config: dict[str, Any]):
        self.pack = pack
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self.late: set[str] = set()  # what ``finish`` analyzed from the snapshot: it came before its provider
        self._process = subprocess.Popen(
            [*priority.lowered(), sys.executable, "-m", "preview.policy_stream"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._thread = threading.Thread(
            target=self._forward, args=(stack, file_config), name="policy-pack-forward", daemon=True
        )
        self._thread.start()

    def observe(self, registration: Any) -> None:
        """A ``preview.program.Registration`` as it is recorded (its ``as_json`` is the snapshot's entry)."""
        self._queue.put(registration)

    def _forward(self, stack: str, file_config: dict[str, Any]) -> None:
        assert self._process.stdin is not None  # PIPE above
        try:
            self.pack.connect()
            self.pack.configure(stack, file_config)
            self._process.stdin.write(json.dumps({"address": self.pack.address}) + "\n")
            ended = False
            while not ended:
                # Whatever has come since the last turn, in one write: each write gives up the interpreter lock,
                # and waits for the program's thread to hand it back before the next.
                batch = [self._queue.get()]
                while not self._queue.empty():
                    batch.append(self._queue.get())
                ended = batch[-1] is None
                self._process.stdin.write("".join(json.dumps(r.as_json()) + "\n" for r in batch if r is not None))
                self._process.stdin.flush()
        except BaseException as err:  # raised in the caller's thread by finish
            self._error = err
        finally:
            # This thread owns the pipe: closing it flushes what is buffered, which a process already gone (killed
            # by ``close``, or dead on its own) refuses; ``finish`` reports that process's exit code instead.
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()

    def finish(self, snapshot: dict[str, Any]) -> list[Violation]:
        """Every violation ``PolicyPack.check`` would report for ``snapshot``, in the same order."""
        assert self._process.stdout is not None  # PIPE above
        self._queue.put(None)
        self._thread.join()
        reply = self._process.stdout.read()
        code = self._process.wait()
        if self._error is not None and not isinstance(self._error, BrokenPipeError):
            raise self._error  # the pack did not start, or refused its configuration
        if code != 0:
            raise PackError(f"the pack's Analyze stream (python -m preview.policy_stream) exited {code}: see above")
        found = {urn: [Violation(**v) for v in listed] for urn, listed in json.loads(reply).items()}
        resources = snapshot["resources"]
        self.late = {r["urn"] for r in resources} - found.keys()
        if self.late:
            by_urn, providers = {r["urn"]: r for r in resources}, _Providers()
            late = (self.pack.request(r, by_urn, providers) for r in resources if r["urn"] in self.late)
            found.update(analyzed_by_urn(self.pack.stub, late))
        return [v for r in resources for v in found[r["urn"]]] + self.pack.analyze_stack(
            self.pack.stack_request(snapshot)
        )

    def close(self) -> None:
        """Stop the stream's process and its forwarding thread if they still run (the program failed before
        ``finish``). The pipe to the process is the thread's to close: closed here while the thread was between a
        write and its flush, it raised ``BrokenPipeError`` in CI."""
        self._queue.put(None)
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if threading.current_thread() is not self._thread:  # a pack that failed to start closes itself from here
            self._thread.join(timeout=CLOSE_TIMEOUT)
        if self._process.stdout and not self._process.stdout.closed:
            self._process.stdout.close()


def policy_config_for(stack: str) -> dict[str, Any]:
    """``policies/config/<stack>.json``, or ``<stage>.json`` for a ``<stage>-<suffix>`` stack."""
    for candidate in (stack, stack.split("-", 1)[0]):
        path = PACK / "config" / f"{candidate}.json"
        if path.exists():
            return json.loads(path.read_text())
    return {}
