"""The typed configuration of one stack: what ``environments/Pulumi.<stack>.yaml`` may say.

Every section is a frozen dataclass; its fields carry their default (the safe
choice, with a one-line reason) and the rules their values must follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.identity import StackIdentity
from policies import conventions
from stack_config.backend import StateBackend
from stack_config.data import CacheConfig, DocumentStoreConfig
from stack_config.edge import EdgeConfig
from stack_config.externals import ExternalValue
from stack_config.network import NetworkConfig
from stack_config.organization import OrganizationConfig
from stack_config.parsing import setting
from stack_config.recovery import RecoveryConfig
from stack_config.services import ContainersConfig

NAMESPACE = "aws-platform"
LABEL = conventions.DNS_LABEL.pattern.strip("^$")


@dataclass(frozen=True)
class StackConfig:
    """``aws-platform:*`` keys; ``stack`` and ``region`` (from ``aws:region``) are filled by the loader."""

    stage: str = setting(choices=conventions.STAGES)
    context: str = setting(pattern=LABEL, what="a lowercase DNS label")
    owner: str = setting(pattern=LABEL, what="a lowercase DNS label naming the owning team")
    usage: str = setting(choices=conventions.USAGES)
    account_id: str | None = setting(
        None,
        pattern=r"\d{12}",
        what="a 12-digit AWS account id",
        doc="pins the providers to this account so a dev config never touches prod",
    )
    network: NetworkConfig = setting(default_factory=NetworkConfig)
    edge: EdgeConfig | None = setting(None, doc="no CloudFront/prerendering unless the stack serves a single-page app")
    containers: ContainersConfig = setting(default_factory=ContainersConfig)
    cache: CacheConfig | None = setting(None, doc="no cache unless the stack's services need one")
    document_store: DocumentStoreConfig | None = setting(None, doc="no document database unless declared")
    recovery: RecoveryConfig | None = setting(
        None, doc="no copies in another region unless a recovery stack stands this one up there (docs/recovery.md)"
    )
    organization: OrganizationConfig | None = setting(
        None, doc="only the management account's 'org' stack builds the organization"
    )
    org_stack: str | None = setting(
        None,
        pattern=r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+",
        what="a stack reference like 'organization/aws-platform/org'",
        doc="unset: the account comes from accountId alone, not from the org stack",
    )
    state_backend: StateBackend | None = setting(
        None, doc="unset: the stack reads no other stack (a reference reads only from its own backend)"
    )
    externals: list[ExternalValue] = setting(
        default_factory=list, doc="values services read that no stack creates: each with its owner and how it is set"
    )
    stack: str = setting("", internal=True)
    region: str = setting("", internal=True)

    @property
    def identity(self) -> StackIdentity:
        return StackIdentity(
            stage=self.stage,
            context=self.context,
            owner=self.owner,
            usage=self.usage,
            stack=self.stack,
            region=self.region,
        )
