"""A pack that judges nothing: one resource and one stack policy that return at once.

``bench/preview_and_policy.py`` sends it the same requests as the platform's pack over the same gRPC analyzer
protocol (pulumi-policy's server, deserialisation and all), so the platform pack's throughput is published as a
share of what the protocol itself allows, not only as an absolute figure.
"""

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)


def _nothing(*_args: object) -> None:
    return None


PolicyPack(
    name="noop",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(name="noop-resource", description="Judges nothing.", validate=_nothing),
        StackValidationPolicy(name="noop-stack", description="Judges nothing.", validate=_nothing),
    ],
)
