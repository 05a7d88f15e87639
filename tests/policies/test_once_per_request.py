"""The pack converts each message once per request; verdicts come from the same conversions as before."""

from __future__ import annotations

import pytest
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2

from policies import once_per_request


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = json_format.MessageToDict

    def counting(message, *args, **kwargs):
        calls.append(message)
        return real(message, *args, **kwargs)

    monkeypatch.setattr(json_format, "MessageToDict", counting)
    return calls


def request(**props) -> analyzer_pb2.AnalyzeRequest:
    r = analyzer_pb2.AnalyzeRequest(type="aws:s3/bucket:Bucket", urn="urn:pulumi:prod::p::aws:s3/bucket:Bucket::b")
    r.properties.update(props)
    return r


def test_one_conversion_per_message_within_a_request(counted):
    scoped = once_per_request._RequestScopedJsonFormat()

    @once_per_request._scoped
    def serve(_self, req, _context):
        return [scoped.MessageToDict(req.properties) for _ in range(25)]  # 25 policies

    results = serve(None, request(bucket="shop-prod-a"), None)
    assert len(counted) == 1
    assert all(r == {"bucket": "shop-prod-a"} for r in results)


def test_memo_is_forgotten_when_the_request_ends(counted):
    scoped = once_per_request._RequestScopedJsonFormat()

    @once_per_request._scoped
    def serve(_self, req, _context):
        return scoped.MessageToDict(req.properties)

    first = request(bucket="shop-prod-a")
    assert serve(None, first, None) == {"bucket": "shop-prod-a"}
    first.properties.update({"bucket": "shop-prod-b"})
    assert serve(None, first, None) == {"bucket": "shop-prod-b"}, "a new request converts again"
    assert scoped.MessageToDict(first.properties) == {"bucket": "shop-prod-b"}, "outside a request: no memo"
    assert len(counted) == 3


def test_different_messages_are_never_confused(counted):
    scoped = once_per_request._RequestScopedJsonFormat()

    @once_per_request._scoped
    def serve(_self, reqs, _context):
        return [scoped.MessageToDict(r.properties) for r in reqs]

    assert serve(None, [request(bucket="a"), request(bucket="b")], None) == [{"bucket": "a"}, {"bucket": "b"}]


def test_running_pack_has_it_installed_and_still_judges(analyze):
    """Every policy test runs through the installed memo; this one checks a verdict end to end."""
    from tests.conftest import messages, resource

    found = analyze("prod", [resource("prod", "aws:sqs/queue:Queue", "q", {"name": "Bad_Name"})], default_tags={})
    assert messages(found, "naming-convention", "q") and messages(found, "required-tags", "q")


def test_a_resources_view_is_built_once_for_every_policy_of_a_request():
    """The servicer deserializes and wraps each resource's properties per policy; within a request it is done once."""
    built = []

    @once_per_request._remembered
    def view(props):
        built.append(props)
        return {"view of": props}

    @once_per_request._scoped
    def AnalyzeStack(_self, resources, _context):  # named as the servicer method it stands for
        return [[view(r) for r in resources] for _ in range(16)]  # 16 stack policies

    a, b = {"bucket": "a"}, {"bucket": "b"}
    per_policy = AnalyzeStack(None, [a, b], None)
    assert built == [a, b]
    assert all(views == [{"view of": a}, {"view of": b}] for views in per_policy)
    AnalyzeStack(None, [a], None)
    assert built == [a, b, a], "the next request builds its own"
    view(a)
    assert built == [a, b, a, a], "outside a request: every call"


def test_a_policy_cannot_write_into_the_view_the_next_policy_reads():
    from pulumi_policy.proxy import unknown_checking_proxy

    once_per_request.install()
    props = unknown_checking_proxy({"tags": {"stage": "prod"}})

    @once_per_request._scoped
    def Analyze(_self, _request, _context):
        props["tags"] = {}

    with pytest.raises(TypeError, match="wrote 'tags' into a resource's properties"):
        Analyze(None, None, None)
    assert props["tags"] == {"stage": "prod"}

    @once_per_request._scoped
    def Remediate(_self, _request, _context):  # a remediation edits what it is given, as before
        props["tags"] = {}

    Remediate(None, None, None)
    assert props["tags"] == {}


def _stack_request() -> analyzer_pb2.AnalyzeStackRequest:
    def resource(name: str, parent: str = "", dependencies: tuple[str, ...] = (), **props) -> dict:
        r = analyzer_pb2.AnalyzerResource(
            type="aws:s3/bucket:Bucket",
            urn=f"urn:pulumi:prod::p::aws:s3/bucket:Bucket::{name}",
            name=name,
            parent=parent,
            dependencies=list(dependencies),
            provider=analyzer_pb2.AnalyzerProviderResource(
                type="pulumi:providers:aws", urn="urn:pulumi:prod::p::pulumi:providers:aws::eu", name="eu"
            ),
        )
        r.properties.update(props)
        r.propertyDependencies["policy"].urns.extend(dependencies)
        return r

    a = resource("a", bucket="shop-prod-a")
    b = resource("b", parent=a.urn, dependencies=(a.urn,), bucket="shop-prod-b")
    c = resource("c", dependencies=(a.urn, b.urn, "urn:elsewhere"), size=UNKNOWN)
    return analyzer_pb2.AnalyzeStackRequest(resources=[a, b, c])


UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's unknown string value


def test_the_stack_is_built_once_and_judged_as_the_librarys_own_loop_judges_it():
    from pulumi_policy import EnforcementLevel, StackValidationPolicy
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    once_per_request.install()
    given = []

    def links(args, report):
        given.append(args.resources)
        for r in args.resources:
            report(
                f"{r.name}: parent {r.parent and r.parent.name}, deps {[d.name for d in r.dependencies]}, "
                f"policy from {[d.name for d in r.property_dependencies['policy']]}, provider {r.provider.name}, "
                f"bucket {r.props.get('bucket')}",
                r.urn,
            )

    def unknown(args, _report):
        given.append(args.resources)
        args.resources[2].props["size"]  # unknown in preview: the servicer's advisory diagnostic

    def not_applicable(args, _report):
        args.not_applicable("no buckets here")

    policies = [
        StackValidationPolicy(name="links", description="links", validate=links),
        StackValidationPolicy(name="unknown", description="unknown", validate=unknown),
        StackValidationPolicy(name="n-a", description="n/a", validate=not_applicable),
        StackValidationPolicy(
            name="off", description="off", validate=links, enforcement_level=EnforcementLevel.DISABLED
        ),
    ]
    servicer = _PolicyAnalyzerServicer("pack", "1.0.0", policies, EnforcementLevel.MANDATORY)
    ours = servicer.AnalyzeStack(_stack_request(), None)
    theirs = once_per_request._scoped(_PolicyAnalyzerServicer.library_analyze_stack, "AnalyzeStack")(
        servicer, _stack_request(), None
    )
    assert ours == theirs
    assert [d.policyName for d in ours.diagnostics] == ["links"] * 3 + ["unknown"]
    assert "b: parent a, deps ['a'], policy from ['a'], provider eu, bucket shop-prod-b" in ours.diagnostics[1].message
    assert [n.policy_name for n in ours.not_applicable] == ["n-a"]
    ours_given, theirs_given = given[:2], given[2:]
    assert ours_given[0] is not ours_given[1], "each policy its own list"
    assert all(x is y for x, y in zip(*ours_given, strict=True)), "the same resources, built once"
    assert not any(x is y for x, y in zip(*theirs_given, strict=True)), "the library's loop builds them per policy"


def test_copies_of_one_provider_in_a_stack_request_share_one_view_and_another_provider_has_its_own():
    """An AnalyzeStack request carries its provider in every resource: at 200 services 7,034 copies of 212."""
    from pulumi_policy import EnforcementLevel, StackValidationPolicy
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    once_per_request.install()
    request = _stack_request()
    other = request.resources.add(type="aws:s3/bucket:Bucket", urn="urn:pulumi:prod::p::aws:s3/bucket:Bucket::d")
    other.provider.CopyFrom(request.resources[0].provider)
    other.provider.properties.update({"region": "us-east-1"})
    policy = StackValidationPolicy(name="none", description="none", validate=lambda _args, _report: None)
    servicer = _PolicyAnalyzerServicer("pack", "1.0.0", [policy], EnforcementLevel.MANDATORY)

    @once_per_request._scoped
    def AnalyzeStack(self, req, _context):  # named as the servicer method it stands for
        return [self._get_provider_resource(r) for r in req.resources]

    a, b, c, d = AnalyzeStack(servicer, request, None)
    assert a is b is c, "three copies of one provider, one view"
    assert d is not a and d.props["region"] == "us-east-1" and "region" not in a.props
    assert servicer._get_provider_resource(request.resources[0]) is not a, "outside a request: built every time"
