"""`make docs`: regenerate every generated part of the documentation.

- the policy table in docs/policies.md, from the pack's GetAnalyzerInfo (tools/policy_table.py);
- the figures marked in docs/security.md and docs/policies.md: checkov's AWS check count from the pinned
  checkov, the pack's policy count from GetAnalyzerInfo (tools/doc_figures.py);
- the architecture picture docs/architecture/prod.{dot,svg}, from the prod snapshot (tools/architecture_picture.py);
- the measured figures of README.md and docs/performance.md, from bench/results/*.json (tools/figures.py).

Run it after changing a policy, a policy config, the prod stack or the diagram
code, and after a benchmark run; the drift tests in tests/docs/ say so when it is needed.
"""

from __future__ import annotations

import sys

from tools import architecture_picture, doc_figures, figures, policy_table


def main() -> int:
    for name, regenerate, path in (
        ("policy table", policy_table.write, policy_table.PAGE),
        ("figures", doc_figures.write, doc_figures.PAGES[0].parent),
        ("architecture picture", architecture_picture.write, architecture_picture.DOT.parent),
    ):
        status = "updated" if regenerate() else "unchanged"
        print(f"{name}: {path.relative_to(policy_table.ROOT)} {status}")
    for page, changed in figures.write():
        print(f"measured figures: {page.relative_to(figures.ROOT)} {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
