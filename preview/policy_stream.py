"""The engine's side of the pack's per-resource ``Analyze`` stream, in a process of its own.

``preview.policy_client.Streamed`` starts it with the offline preview and writes to its stdin the pack's address
(one JSON line, once the pack is configured), then each resource as the program registers it (its snapshot
entry, one JSON line each), and closes it when the program ends. This process makes each resource's ``Analyze``
request, keeps ``WINDOW`` in flight, and writes every resource's violations by URN as one JSON object to stdout.

Why a process: in the program's own, each request and each reply waited for the interpreter lock the program's
event loop holds, so the pack sat idle while the program ran (issue 33). Here the lock is this process's alone,
and the pack judges each resource on the other core as it comes, as it does under the engine.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from pulumi.runtime.proto import analyzer_pb2_grpc

from preview import policy_client


def _resources(lines: IO[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        yield json.loads(line)


def main() -> int:
    first = sys.stdin.readline()
    if not first:
        return 0  # closed before the pack was up: the preview reports the pack's own error
    channel = policy_client.channel(json.loads(first)["address"])
    try:
        stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        found = policy_client.analyzed_by_urn(stub, policy_client.registered_requests(_resources(sys.stdin)))
    finally:
        channel.close()
    json.dump({urn: [dataclasses.asdict(v) for v in violations] for urn, violations in found.items()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
