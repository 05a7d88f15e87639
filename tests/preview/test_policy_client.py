"""The pack judges the program as it registers, in a process of its own, and says what a whole-snapshot check says."""

from __future__ import annotations

import types
from typing import Any

from preview import policy_client
from tests.conftest import provider_resource, resource, stack_tags


def _registered(entry: dict[str, Any]) -> Any:
    """What the recording monitor hands ``observe``: a registration whose ``as_json`` is its snapshot entry."""
    return types.SimpleNamespace(as_json=lambda: entry)


def _snapshot() -> dict[str, Any]:
    eu, us = (provider_resource("prod", stack_tags("prod"), region) for region in ("eu-west-1", "us-east-1"))
    return {
        "stack": "prod",
        "resources": [
            eu,
            us,
            resource("prod", "aws:sqs/queue:Queue", "misnamed", {"name": "Shop_Jobs"}),
            resource("prod", "aws:s3/bucket:Bucket", "untagged", {"bucket": "shop-prod-a"}, provider=False),
            resource("prod", "aws:sqs/queue:Queue", "east", {"name": "Bad_East"}, provider="us-east-1"),
        ],
    }


def test_streamed_verdicts_are_the_whole_snapshot_checks_even_for_a_resource_before_its_provider(policy_pack):
    snapshot = _snapshot()
    eu, us, misnamed, untagged, east = snapshot["resources"]
    expected = policy_pack.check(snapshot, {"all": "mandatory"})
    assert {v.urn for v in expected if v.failing} >= {misnamed["urn"], untagged["urn"], east["urn"]}

    stream = policy_pack.stream("prod", {"all": "mandatory"})
    for entry in (eu, misnamed, east, untagged, us):  # east comes before its us-east-1 provider
        stream.observe(_registered(entry))
    assert stream.finish(snapshot) == expected
    assert stream.late == {east["urn"]}, "the others were judged as they came"


def test_the_streams_process_ends_with_the_pack_when_the_program_fails_before_finish():
    with policy_client.PolicyPack() as pack:
        stream = pack.stream("prod", {"all": "mandatory"})
        stream.observe(_registered(_snapshot()["resources"][0]))
    assert stream._process.poll() is not None


def test_a_stream_whose_process_died_closes_without_an_error_in_any_thread(monkeypatch):
    unhandled: list[BaseException | None] = []
    monkeypatch.setattr(policy_client.threading, "excepthook", lambda args: unhandled.append(args.exc_value))
    with policy_client.PolicyPack() as pack:
        pack.connect()
        stream = pack.stream("prod", {"all": "mandatory"})
        stream._process.kill()  # the process is gone before the first registration reaches its pipe
        stream._process.wait()
        stream.observe(_registered(_snapshot()["resources"][0]))
        stream._thread.join(timeout=policy_client.CLOSE_TIMEOUT)
    assert not stream._thread.is_alive()
    assert unhandled == [], "the forwarding thread ended on an error nobody would see"
