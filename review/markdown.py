"""The review comment: one Markdown comment per stack, warnings first, then changes per component.

The hidden marker on the first line lets the workflow find and update its own
comment for the stack instead of adding a new one on every push.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from review.diff import KNOWN_AFTER_APPLY, OPS, ComponentDiff, ResourceDiff, StackDiff, ViolationDiff, code

MARKER = "<!-- aws-platform-review:{stack} -->"
COLLAPSE_OVER_LINES = 15  # a component section longer than this folds into <details>
MAX_CHANGES_PER_RESOURCE = 15
MAX_MESSAGE_CHARS = 240
# GitHub rejects comments over 65,536 characters; keep room for the marker and the footer.
MAX_COMMENT_CHARS = 60_000
ICONS = {"create": "➕", "update": "✏️", "replace": "♻️", "delete": "➖"}


def marker(stack: str) -> str:
    return MARKER.format(stack=stack)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _counts(counts: Sequence[tuple[str, int]]) -> str:
    """The engine's words: "1 to create, 2 to update, 3 to replace"."""
    parts = [f"{n} to {op}" for op, n in counts if n]
    return ", ".join(parts) or "no changes"


def _op_counts(source: ComponentDiff | StackDiff) -> list[tuple[str, int]]:
    return [(op, source.count(op)) for op in OPS]


def _resource_label(urn: str) -> str:
    parts = urn.split("::")
    if len(parts) < 4:
        return "the stack"
    return f"`{parts[-2].rsplit('$', 1)[-1]}` **{parts[-1]}**"


def _message(v: ViolationDiff) -> str:
    detail = v.message.split("\n", 1)[-1]
    text = re.sub(r"\s+", " ", detail).strip()
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _violation_line(v: ViolationDiff) -> str:
    severity = f", severity {v.severity}" if v.severity and v.severity != "unspecified" else ""
    return f"`{v.policy}` ({v.level}{severity}) on {_resource_label(v.urn)}: {_message(v)}"


def _resource_lines(r: ResourceDiff) -> list[str]:
    head = f"- {ICONS[r.op]} `{r.type}` **{r.name}**"
    if r.physical_name and r.op in ("create", "delete"):
        head += f" {code(r.physical_name)}"
    flags = [flag for flag, on in (("protected", r.protect), ("retained on delete", r.retain)) if on]
    if flags and r.op == "create":
        head += f" ({', '.join(flags)})"
    if r.op == "replace":
        head += f" **replace**: {r.reason}" if r.reason else " **replace**"
    lines = [head]
    if r.how:
        lines.append(f"  - at apply: {r.how}")
    if r.note:
        lines.append(f"  - {r.note}")
    for c in r.changes[:MAX_CHANGES_PER_RESOURCE]:
        label = f"option `{c.path}`" if c.option else f"`{c.path}`"
        if c.new == KNOWN_AFTER_APPLY and not c.old:
            lines.append(f"  - {label}: {KNOWN_AFTER_APPLY}")
            continue
        hidden = " (changed; values hidden)" if c.old == c.new else ""
        lines.append(f"  - {label}: {code(c.old)} → {code(c.new)}{hidden}")
    if len(r.changes) > MAX_CHANGES_PER_RESOURCE:
        lines.append(f"  - … and {len(r.changes) - MAX_CHANGES_PER_RESOURCE} more")
    return lines


def _component_section(comp: ComponentDiff) -> list[str]:
    title = f"`{comp.name}` · `{comp.type}`" if comp.type else "Stack-level resources"
    counts = _counts(_op_counts(comp))
    body = [line for r in comp.resources for line in _resource_lines(r)]
    lines = [f"#### {title} — {counts}", ""]
    if len(body) > COLLAPSE_OVER_LINES:
        lines += [
            f"<details><summary>{_plural(len(comp.resources), 'resource')}</summary>",
            "",
            *body,
            "",
            "</details>",
        ]
    else:
        lines += body
    return [*lines, ""]


def render(diff: StackDiff, *, command: str | None = None, extra_lines: Sequence[str] = ()) -> str:
    """The whole comment, deterministic for a given diff.

    ``extra_lines`` are one-line Markdown summaries from other checks of the same stack (a security scan, say),
    shown under the summary line; each is its own module's business.
    """
    counts = _op_counts(diff)
    summary = [f"**{_counts(counts)}**" if any(n for _, n in counts) else "**No changes.**"]
    if diff.count_unknown():
        summary.append(f"{diff.count_unknown()} known after apply")
    summary.append(f"{diff.unchanged} unchanged")
    summary.append(f"⚠️ {_plural(len(diff.warnings), 'warning')}")
    if diff.policies_checked:
        summary.append(f"🛡️ {_plural(len(diff.new_violations), 'new policy violation')}")
    lines = [marker(diff.stack), f"## Infrastructure review · stack `{diff.stack}`", "", " · ".join(summary), ""]
    if extra_lines:
        lines += [*extra_lines, ""]
    note = (
        f"Compared with {code(diff.base_label)} by the offline preview (mocked cloud: ids and endpoints are "
        "placeholders; replacements cascade through each input's dependencies as the engine's do; CI's real "
        "`pulumi preview --diff` has the final word when credentials are configured)."
    )
    if diff.base_empty:
        note += " The base has no snapshot of this stack, so everything shows as new."
    if not diff.policies_checked:
        note += " The policy pack was not run."
    lines += [note, ""]

    if diff.warnings or diff.new_violations:
        lines += ["### ⚠️ Warnings", ""]
        lines += [f"- ⚠️ {w.message}" for w in diff.warnings]
        lines += [f"- ⚠️ **New policy violation** {_violation_line(v)}" for v in diff.new_violations]
        lines.append("")

    if diff.components:
        lines += ["### Changes by component", ""]
        for comp in diff.components:
            lines += _component_section(comp)

    if diff.resolved_violations:
        lines += [
            f"<details><summary>✅ {_plural(len(diff.resolved_violations), 'policy violation')} resolved</summary>",
            "",
        ]
        lines += [f"- {_violation_line(v)}" for v in diff.resolved_violations]
        lines += ["", "</details>", ""]

    if command:
        lines += [f"<sub>Reproduce locally: {code(command)}</sub>", ""]
    text = "\n".join(lines).rstrip("\n") + "\n"
    if len(text) > MAX_COMMENT_CHARS:
        cut = text[:MAX_COMMENT_CHARS].rsplit("\n", 1)[0]
        unclosed = cut.count("<details>") - cut.count("</details>")
        text = cut + "\n\n" + "</details>\n\n" * unclosed + "… (cut: the full diff is in the workflow's artifacts)\n"
    return text
