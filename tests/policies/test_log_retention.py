"""Log groups expire (ec2-to-ecs-fargate-migration.md)."""

from __future__ import annotations

import pytest

from tests.conftest import messages as all_messages
from tests.conftest import resource


def messages(violations, policy: str) -> list[str]:
    """The violation's own text, without the policy description the pack puts before it."""
    return [m.split("\n", 1)[-1] for m in all_messages(violations, policy)]


LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@pytest.mark.parametrize("inputs", [{}, {"retentionInDays": 0}])
def test_log_group_kept_forever_fires(analyze, inputs):
    found = analyze("prod", [resource("prod", LOG_GROUP, "api-logs", {"name": "/prod/shop/ecs/api", **inputs})])
    (message,) = messages(found, "log-retention")
    assert message.startswith("log group keeps logs forever")


def test_log_group_with_retention_passes(analyze):
    found = analyze(
        "prod", [resource("prod", LOG_GROUP, "api-logs", {"name": "/prod/shop/ecs/api", "retentionInDays": 90})]
    )
    assert messages(found, "log-retention") == []
