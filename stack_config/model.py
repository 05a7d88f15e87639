"""The typed configuration of one stack: what ``environments/Pulumi.<stack>.yaml`` may say.

Every section is a frozen dataclass; its fields carry their default (the safe
choice, with a one-line reason) and the rules their values must follow.
"""
from __future__ import annotations

from dataclasses import dataclass

from foundation.identity import StackIdentity
from policies import conventions
from stack_config.network import NetworkConfig
from stack_config.parsing import setting

NAMESPACE = "aws-platform"
REGION_PATTERN = r"(us|eu|ap|sa|ca|me|af|il|mx)(-gov)?-[a-z]+-\d"
LABEL = conventions.DNS_LABEL.pattern.strip("^$")


@dataclass(frozen=True)
class StackConfig:
    """``aws-platform:*`` keys; ``stack`` and ``region`` (from ``aws:region``) are filled by the loader."""

    stage: str = setting(choices=conventions.STAGES)
    context: str = setting(pattern=LABEL, what="a lowercase DNS label")
    owner: str = setting(pattern=LABEL, what="a lowercase DNS label naming the owning team")
    usage: str = setting(choices=conventions.USAGES)
    account_id: str | None = setting(None, pattern=r"\d{12}", what="a 12-digit AWS account id",
                                     doc="pins the providers to this account so a dev config never touches prod")
    network: NetworkConfig = setting(default_factory=NetworkConfig)
    stack: str = setting("", internal=True)
    region: str = setting("", internal=True)

    @property
    def identity(self) -> StackIdentity:
        return StackIdentity(stage=self.stage, context=self.context, owner=self.owner, usage=self.usage,
                             stack=self.stack, region=self.region)
