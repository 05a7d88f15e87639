"""Who a stack is (stage, context, owner, usage, stack, region) and the names and tags that follow."""

from __future__ import annotations

from dataclasses import dataclass

from policies import conventions


@dataclass(frozen=True)
class StackIdentity:
    stage: str
    context: str
    owner: str
    usage: str
    stack: str
    region: str

    @property
    def protected(self) -> bool:
        """Whether data and images must survive a mistaken destroy (prod)."""
        return self.stage in conventions.PROTECTED_STAGES

    @property
    def keeps_data(self) -> bool:
        """Whether data stores get deletion protection and retention (usage PRODUCTION, staging included)."""
        return conventions.keeps_data(self.stage, self.usage)

    @property
    def tags(self) -> dict[str, str]:
        return conventions.required_tags(
            stage=self.stage, context=self.context, owner=self.owner, usage=self.usage, stack=self.stack
        )

    @property
    def suffix(self) -> str:
        """``dr`` for ``prod-dr``: what tells apart two stacks of one stage (empty for ``prod`` itself)."""
        return conventions.stack_suffix(self.stack)

    def _component(self, component: str) -> str:
        return f"{self.suffix}-{component}" if self.suffix else component

    def name(self, resource_type: str, component: str) -> str:
        """The convention's physical name for a resource of ``resource_type`` (cut to its service's limit)."""
        return conventions.name_for(resource_type, self.context, self.stage, self._component(component))

    def label(self, component: str, max_length: int = 63) -> str:
        """A convention name for things outside ``NAME_RULES`` (Name tags, identifiers in documents)."""
        return conventions.physical_name(self.context, self.stage, self._component(component), max_length=max_length)

    def path(self, *parts: str) -> str:
        """``/{stage}/{context}[/{suffix}]/...``: SSM parameter names and log group names."""
        return conventions.ssm_path(self.stage, self.context, *([self.suffix] if self.suffix else []), *parts)
