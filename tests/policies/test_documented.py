"""Every policy says how bad a violation is, how to fix it and where it is documented (issue 23), as the pack
declares it to GetAnalyzerInfo: the Pulumi CLI, the preview, docs/policies.md and SARIF read it from there."""

from __future__ import annotations

import re

from preview import policy_client
from tools import policy_table


def test_every_policy_has_a_severity_remediation_steps_and_a_url(policy_pack) -> None:
    lacking = [
        f"{p.name}: {', '.join(what)}"
        for p in policy_pack.info.policies
        if (
            what := [
                name
                for name, missing in (
                    ("severity", policy_client.SEVERITIES.get(p.severity, "unspecified") == "unspecified"),
                    ("remediation_steps", len(p.remediation_steps.strip()) < 20),
                    ("url", not p.url),
                )
                if missing
            ]
        )
    ]
    assert lacking == []


def test_every_url_is_the_policys_anchor_on_the_policies_page(policy_pack) -> None:
    page = policy_table.PAGE.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', page))
    for policy in policy_pack.info.policies:
        path, anchor = policy.url.split("#", 1)
        assert (path, anchor) == ("docs/policies.md", policy.name)
        assert anchor in anchors, f"{policy.name}: no anchor on docs/policies.md (run `make docs`)"
