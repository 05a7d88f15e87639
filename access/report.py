"""The simulation's verdicts for people: the preview's lines and the review comment's line per stack."""

from __future__ import annotations

import collections

from access.judge import Judgement


def render(judgement: Judgement) -> str:
    """One summary line (count, denied, time), then every denial with what decided it, then what is on trust."""
    kinds = collections.Counter(v.access.kind for v in judgement.verdicts)
    by_kind = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    lines = [
        f"access simulation (@cloud-copilot/iam-simulate {judgement.simulator_version}): "
        f"{len(judgement.verdicts)} accesses ({by_kind}), {len(judgement.denied)} denied, "
        f"{len(judgement.on_trust)} on trust, in {judgement.seconds:.2f} s"
    ]
    attempts = [v for v in judgement.verdicts if v.access.kind == "tamper"]
    if attempts:
        lines.append(
            f"  tamper attempts: {len(attempts)} by {len({v.access.principal for v in attempts})} principals of "
            f"member accounts, {len(attempts) - len(judgement.tampering)} explicitly denied"
        )
    for v in judgement.tampering:
        a = v.access
        lines.append(f"  NOT DENIED  tamper: {a.principal} {a.action} on {a.resource} ({v.result})")
        lines.append(
            f"          {a.origin}: no SCP denies it; the baseline must protect itself (components/baseline_guardrail.py)"
        )
    for v in judgement.denied:
        a = v.access
        lines.append(f"  DENIED  {a.kind}: {a.principal} {a.action} on {a.resource}")
        lines.append(f"          for {a.origin}; decided by {v.deciding()}")
    for type_ in judgement.unmapped:
        lines.append(f"  UNMAPPED  {type_}: no create action in access/create_actions.py, so nothing judged it")
    held: collections.Counter[str] = collections.Counter()
    for v in judgement.verdicts:
        for grant in v.wildcard_grants():
            held[f"{v.access.principal.rsplit('/', 1)[-1]}: {grant}"] += 1
    for grant, n in sorted(held.items()):
        lines.append(f"  wildcard  {grant} is all that allows {n} access(es) (allowed; say why where it is written)")
    for t in judgement.on_trust:
        lines.append(f"  on trust  {t.kind}: {t.principal} {t.action} on {t.resource} ({t.owner}'s policy decides)")
    return "\n".join(lines)


def review_line(stack: str, base: Judgement | None, head: Judgement) -> str:
    """Checked, denied, and what the change newly denies or newly allows (a widening is worth a reviewer's eye)."""
    before = base.keys() if base is not None else {}
    after = head.keys()
    newly_denied = sorted(k for k, ok in after.items() if not ok and before.get(k, True))
    newly_allowed = sorted(k for k, ok in after.items() if ok and not before.get(k, False))
    lines = [
        f"**Access ({stack})**: {len(after)} checked, {len(head.denied)} denied; "
        f"{len(newly_denied)} newly denied, {len(newly_allowed)} newly allowed by this change."
    ]
    lines += [f"- newly denied: `{k}`" for k in newly_denied]
    lines += [f"- newly allowed: `{k}`" for k in newly_allowed]
    return "\n".join(lines) + "\n"
