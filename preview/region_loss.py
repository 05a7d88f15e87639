"""The day a region is gone: what the offline world refuses when ``WORLD=region-lost`` (docs/preview.md).

``prod-dr`` exists for the day ``eu-west-1`` is lost (you-are-not-saved-by-iac.md: what you cannot redeploy, you
do not have). Until this world, nothing showed that it still needed that region at every step: its state and the
states it references were in a bucket there, its images were copied from a registry there, its documents and
certificate were ARNs someone made there or copied by hand. On that day every call to the lost region's endpoints
fails, so here:

* **state**: a backend whose bucket is in the lost region cannot be logged in to, so neither this stack's own
  state nor any other stack's outputs can be read from it (a stack reference reads from its stack's backend);
* **providers**: a provider configured for the lost region fails when it first calls AWS (its credentials check
  goes to that region's STS), and so does every resource and lookup made through it;
* **lookups and resources that name the region**: a lookup whose arguments, or a resource whose inputs, name an ARN
  or endpoint in the lost region (a certificate, a snapshot, an image in a registry there) needs that region when
  it is used. IAM documents are exempt: a policy may name anything, it is text until a request is evaluated.

Global services (IAM, CloudFront, Route 53, Organizations) answer from their own control planes; us-east-1 as a
lost region is not modelled (it would take those with it), and the loader refuses it as ``LOST_REGION``.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

# Where a real region name appears in an ARN or an AWS endpoint.
REGION = r"(?:[a-z]{2}(?:-gov)?-[a-z]+-\d)"
# The bootstrap names every state bucket '<prefix>-<account>-<region>' (components/account_bootstrap.py).
STATE_BUCKET_REGION = re.compile(rf"-\d{{12}}-({REGION})$")
DEFAULT_LOST_REGION = "eu-west-1"  # the workload region of the shipped prod, the one prod-dr stands in for
GLOBAL_CONTROL_PLANE = "us-east-1"  # IAM, CloudFront, Route 53: losing it is a different exercise, not modelled
# Inputs that are IAM documents (text naming resources), not calls that reach them.
DOCUMENT_TYPES = ("aws:iam/",)


class RegionUnreachable(LookupError):
    """A call to the lost region, failed as it would be: the endpoint does not answer."""


def backend_region(url: str) -> str | None:
    """The region a DIY S3 backend's bucket is in: ``?region=`` when the URL says it, else the bootstrap's name."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "s3":
        return None  # Pulumi Cloud and file:// backends are not in an AWS region
    query = urllib.parse.parse_qs(parsed.query).get("region")
    if query:
        return query[0]
    found = STATE_BUCKET_REGION.search(parsed.netloc)
    return found.group(1) if found else None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


@dataclasses.dataclass(frozen=True)
class RegionLoss:
    """One region that does not answer."""

    region: str

    def __post_init__(self) -> None:
        if not re.fullmatch(REGION, self.region):
            raise ValueError(f"LOST_REGION={self.region!r} is not a region name (allowed: like 'eu-west-1')")
        if self.region == GLOBAL_CONTROL_PLANE:
            raise ValueError(
                f"LOST_REGION={self.region!r}: losing {GLOBAL_CONTROL_PLANE} takes IAM's, CloudFront's and Route 53's "
                "control planes with it, which this world does not model (allowed: any other region)"
            )

    def named_in(self, value: Any) -> str | None:
        """The first ARN or endpoint in ``value`` that lives in the lost region."""
        arn = f":{self.region}:"
        endpoint = f".{self.region}."
        for text in _strings(value):
            if (text.startswith("arn:") and arn in text) or endpoint in text:
                return text
        return None

    def state(self, url: str | None, whose: str) -> None:
        """``whose`` state is read from ``url``: refused when that bucket is in the lost region."""
        if url and backend_region(url) == self.region:
            raise RegionUnreachable(
                f"{whose}: the state backend {url} is in {self.region}, which is unreachable: "
                "`pulumi login` cannot list or read it (a recovery stack keeps its state, and the outputs it "
                "references, outside the region it recovers from: docs/recovery.md)"
            )

    def provider(self, name: str, region: str) -> None:
        if region == self.region:
            raise RegionUnreachable(
                f"provider {name}: configured for {region}, which is unreachable (its first call, the credentials "
                f"check against sts.{region}.amazonaws.com, times out)"
            )

    def resource(self, typ: str, name: str, region: str, inputs: dict[str, Any]) -> None:
        if region == self.region:
            raise RegionUnreachable(f"{typ} {name}: created in {region}, which is unreachable")
        if typ.startswith(DOCUMENT_TYPES):
            return
        named = self.named_in(inputs)
        if named:
            raise RegionUnreachable(f"{typ} {name}: needs {named}, in {self.region}, which is unreachable")

    def invoke(self, token: str, region: str, args: dict[str, Any]) -> None:
        asked = str(args.get("region") or region)
        if asked == self.region:
            raise RegionUnreachable(f"{token}: asks {asked}, which is unreachable")
        named = self.named_in(args)
        if named:
            raise RegionUnreachable(f"{token}: reads {named}, in {self.region}, which is unreachable")
