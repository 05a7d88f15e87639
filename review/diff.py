"""Compare two offline snapshots of one stack: what a pull request creates, updates, replaces and deletes.

The diff is per component (the top-level ComponentResource a resource lives
under), input by input (nested keys as dotted paths, JSON documents such as IAM
policies opened up). Replacements cascade as the engine's do: every output of a
replaced resource is unknown to the inputs that read it (the snapshot's
``propertyDependencies``), and such an input replaces its reader when it is
replace-on-change (``replace_on_change.json``, generated from the providers'
schemas). Warnings cover what a green ``pulumi preview`` does not shout about:
deleting protected or retained resources, dropping protection, replacements
(a stateful resource renamed is a new, empty one: the "you are not saved by IaC"
report) with their chain and what they do at apply time, data stores reached by
a cascade, URN changes that recreate a resource, and new policy violations.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from policies import secret_scan
from review.names import NAME_NOT_UNIQUE, NAME_PROPERTIES, RENAMEABLE, STATEFUL_TYPES

SECRET_MASK = "[secret]"
ABSENT = object()
STACK_COMPONENT = "stack"
MAX_VALUE_CHARS = 60

# An input whose key looks like this is masked even when the program forgot to make it a secret.
SECRET_KEY = re.compile(r"password|passwd|secret|token|private_?key|credential|api_?key", re.IGNORECASE)

# --- data ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Change:
    """One input (or resource option) that differs, values already masked and shortened for display."""

    path: str
    old: str
    new: str
    option: bool = False


OPS = ("create", "update", "replace", "delete")  # the engine's words, in the order the comment lists them
KNOWN_AFTER_APPLY = "(known after apply)"


@dataclasses.dataclass(frozen=True)
class ResourceDiff:
    op: str  # one of OPS
    urn: str
    type: str
    name: str
    physical_name: str
    protect: bool
    retain: bool
    changes: tuple[Change, ...] = ()
    reason: str = ""  # a replacement's chain: "replaced because `vpcId` reads `vpc`, replaced because ..."
    how: str = ""  # what the replacement does at apply time (create-first, delete-first, name collision)
    unknown: tuple[str, ...] = ()  # inputs that read a replaced resource: known only after apply
    note: str = ""  # what the offline review cannot know about this one


@dataclasses.dataclass(frozen=True)
class ReviewWarning:
    kind: str
    urn: str
    message: str  # Markdown, one line
    data: bool = False  # about something that holds data or is protected: listed first within its kind


@dataclasses.dataclass(frozen=True)
class ViolationDiff:
    policy: str
    level: str  # "waived" when policies/exceptions.yaml waives it (the pack reports it as advisory)
    urn: str
    message: str
    severity: str = ""


@dataclasses.dataclass
class ComponentDiff:
    urn: str
    name: str
    type: str
    resources: list[ResourceDiff]

    def count(self, op: str) -> int:
        return sum(r.op == op for r in self.resources)

    def count_unknown(self) -> int:
        return sum(bool(r.unknown) for r in self.resources)


@dataclasses.dataclass
class StackDiff:
    stack: str
    base_label: str
    components: list[ComponentDiff]
    warnings: list[ReviewWarning]
    new_violations: list[ViolationDiff]
    resolved_violations: list[ViolationDiff]
    unchanged: int
    base_empty: bool = False
    policies_checked: bool = True
    # What detect-secrets flags in either snapshot, already replaced by [redacted] above: the caller redacts the
    # rest of the comment (the access and checkov sections) with it. Never printed.
    redacted: frozenset[str] = dataclasses.field(default=frozenset(), repr=False)

    def count(self, op: str) -> int:
        return sum(c.count(op) for c in self.components)

    def count_unknown(self) -> int:
        """Resources with an input the offline review (and `pulumi preview`) can only show as known after apply."""
        return sum(c.count_unknown() for c in self.components)


# --- values -------------------------------------------------------------------


def is_secret_key(path: str) -> bool:
    return any(SECRET_KEY.search(part) for part in re.split(r"[.\[\]]", path) if part)


def _maybe_json(value: Any) -> Any:
    """JSON documents in strings (IAM policies, container definitions) diff key by key."""
    if isinstance(value, str) and value[:1] in "{[" and len(value) > 1:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves by dotted path; lists of scalars stay whole (``[a, b]`` reads better than ``x[0]``, ``x[1]``)."""
    value = _maybe_json(value)
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and any(isinstance(_maybe_json(v), (dict, list)) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def display(value: Any, path: str = "") -> str:
    if value is ABSENT:
        return "(none)"
    if path and is_secret_key(path) and not isinstance(value, bool) and value is not None:
        return SECRET_MASK
    if value == SECRET_MASK:
        return SECRET_MASK
    return shorten(json.dumps(value, sort_keys=True, ensure_ascii=False))


def input_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs, raw values, sorted by path."""
    a, b = flatten(dict(old)), flatten(dict(new))
    return [
        (path, a.get(path, ABSENT), b.get(path, ABSENT))
        for path in sorted(set(a) | set(b))
        if a.get(path, ABSENT) != b.get(path, ABSENT)
    ]


OPTIONS = (
    ("protect", False),
    ("retainOnDelete", False),
    ("deleteBeforeReplace", False),
    ("ignoreChanges", []),
    ("provider", ""),
)


def option_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = []
    for key, default in OPTIONS:
        before, after = old.get(key, default), new.get(key, default)
        if before != after:
            if key == "provider":
                before, after = before.rsplit("::", 1)[-1], after.rsplit("::", 1)[-1]
            changes.append(Change(key, display(before), display(after), option=True))
    return changes


# --- structure ----------------------------------------------------------------


def component_of(resource: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The top-level ComponentResource above ``resource`` (itself if it is one); None for stack-level resources."""
    top, seen = resource, set()
    while top.get("parent") in by_urn and top["urn"] not in seen:
        seen.add(top["urn"])
        top = by_urn[top["parent"]]
    return top if not top.get("custom", True) else None


def physical_name(resource: Mapping[str, Any]) -> str:
    prop = NAME_PROPERTIES.get(resource["type"])
    value = resource.get("inputs", {}).get(prop) if prop else None
    return value if isinstance(value, str) else ""


def _label(resource: Mapping[str, Any]) -> str:
    return f"`{resource['type']}` **{resource['name']}**"


# --- warnings -----------------------------------------------------------------


REPLACE_ON_CHANGE_FILE = pathlib.Path(__file__).with_name("replace_on_change.json")


@functools.cache
def replace_on_change() -> Mapping[str, Mapping[str, Any]]:
    """Generated by tools/generate_replace_on_change.py: per type, the inputs that force a replacement."""
    return json.loads(REPLACE_ON_CHANGE_FILE.read_text())["types"]


def forcing_properties(type_: str) -> tuple[frozenset[str], str]:
    """(replace-on-change input paths, basis) for a type; ``basis`` is "unknown" for a type with no entry."""
    entry = replace_on_change().get(type_)
    if entry is None:
        name = NAME_PROPERTIES.get(type_)
        return frozenset({name} if name and type_ not in RENAMEABLE else ()), "unknown"
    return frozenset(entry["forceNew"]), entry["basis"]


def _normal(path: str) -> str:
    return re.sub(r"\[\d+\]", "", path)


def _forces(path: str, forcing: frozenset[str]) -> bool:
    """An input path forces a replacement when it is, or sits under, or contains a replace-on-change path."""
    path = _normal(path)
    return any(path == f or path.startswith(f + ".") or f.startswith(path + ".") for f in forcing)


def replacement_reasons(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The top-level inputs whose own change makes the provider delete and recreate the resource."""
    forcing, _ = forcing_properties(new["type"])
    changed = input_changes(old.get("inputs", {}), new.get("inputs", {}))
    return sorted({_normal(p).split(".")[0] for p, _, _ in changed if _forces(p, forcing)})


@dataclasses.dataclass
class _Plan:
    """What the engine would do with one resource present on both sides."""

    op: str = ""  # "", "update" or "replace"
    direct: list[str] = dataclasses.field(default_factory=list)  # inputs whose own change forces the replacement
    unknown: dict[str, str] = dataclasses.field(default_factory=dict)  # input -> replaced resource it reads
    via: tuple[str, str] | None = None  # (input, replaced resource) that forces this replacement
    maybe: bool = False  # an unknown input of a type whose replace-on-change data is incomplete


def cascade(base_by: Mapping[str, Mapping[str, Any]], head_by: Mapping[str, Mapping[str, Any]]) -> dict[str, _Plan]:
    """Replacements as the engine computes them: a replaced resource's outputs are unknown to its dependents.

    Every input that reads a replaced resource (``propertyDependencies``, or the provider that manages it) is
    "known after apply"; when that input forces a replacement, the dependent is replaced too, transitively.
    An update does not make outputs unknown here (see docs/review.md for why and when that is wrong).
    """
    plans: dict[str, _Plan] = {}
    for urn in set(base_by) & set(head_by):
        old, new = base_by[urn], head_by[urn]
        if not new.get("custom", True):
            continue
        plan = plans[urn] = _Plan()
        plan.direct = replacement_reasons(old, new)
        if plan.direct:
            plan.op = "replace"
        elif input_changes(old.get("inputs", {}), new.get("inputs", {})) or option_changes(old, new):
            plan.op = "update"
    changed = True
    while changed:
        changed = False
        for urn, plan in sorted(plans.items()):
            if plan.direct:
                continue
            new = head_by[urn]
            reads = {k: v for k, v in new.get("propertyDependencies", {}).items()}
            if new.get("provider") in plans and plans[new["provider"]].op == "replace":
                reads.setdefault("provider", []).append(new["provider"])
            forcing, basis = forcing_properties(new["type"])
            for prop, deps in sorted(reads.items()):
                hit = next((d for d in sorted(deps) if d in plans and plans[d].op == "replace"), None)
                if hit is None or prop in plan.unknown:
                    continue
                plan.unknown[prop] = hit
                changed = True
                if plan.op != "replace" and (prop == "provider" or _forces(prop, forcing)):
                    plan.op, plan.via = "replace", (prop, hit)
                elif plan.op != "replace":
                    plan.op = "update"
                    plan.maybe = plan.maybe or basis in ("name-only", "unknown")
    return plans


def chain(urn: str, plans: Mapping[str, _Plan], base_by: Mapping[str, Mapping[str, Any]], by: Mapping[str, Any]) -> str:
    """Why ``urn`` is replaced, back to the change that started it."""
    parts, seen = [], set()
    while urn in plans and urn not in seen:
        seen.add(urn)
        plan = plans[urn]
        if plan.direct:
            old_in, new_in = base_by[urn].get("inputs", {}), by[urn].get("inputs", {})
            what = ", ".join(
                f"`{p}` {code(display(old_in.get(p, ABSENT), p))} → {code(display(new_in.get(p, ABSENT), p))}"
                for p in plan.direct
            )
            parts.append(f"replaced because {what} changes")
            break
        if plan.via is None:
            break
        prop, dep = plan.via
        reads = "is managed by" if prop == "provider" else "reads"
        label = f"`{prop}` {reads}" if prop != "provider" else reads
        parts.append(f"replaced because {label} `{by[dep]['name']}`")
        urn = dep
    return ", ".join(parts)


def replacement_mode(
    old: Mapping[str, Any], new: Mapping[str, Any], plan: _Plan, head_by: Mapping[str, Mapping[str, Any]]
) -> str:
    """What the replacement does at apply time, given the physical name and the type's replacement rule."""
    from foundation.replacement import rule_for

    if new.get("deleteBeforeReplace"):
        return "deleted first, then created again (`deleteBeforeReplace`): there is a window without it"
    before, after = physical_name(old), physical_name(new)
    if not after or new["type"] in NAME_NOT_UNIQUE:
        return "the new one is created beside the old one, then the old one is deleted"
    if before != after:
        return f"created as {code(after)} beside {code(before)}, then the old one is deleted"
    rule = rule_for(new["type"])
    scope = rule.name_scope if rule else ()
    if any(p in plan.unknown or p in plan.direct for p in scope):
        return "the new one is created first (its name is free in its new scope), then the old one is deleted"
    if rule and rule.upsert:
        return (
            f"**the create overwrites the existing {code(after)} and the delete then removes it**: "
            "set `deleteBeforeReplace` for this type in foundation/replacement.py"
        )
    return (
        f"**fails**: the new one is created first under the same name {code(after)}, which AWS refuses "
        "(already exists), and nothing is deleted; rename it in the same change or plan a migration"
    )


def _delete_warnings(old: Mapping[str, Any]) -> list[ReviewWarning]:
    out = []
    if old.get("protect"):
        out.append(
            ReviewWarning(
                "delete-protected",
                old["urn"],
                f"**Deletes a protected resource**: {_label(old)} is protected in base; `pulumi up` "
                "refuses to delete it until a separate, reviewed change removes `protect`.",
            )
        )
    if old.get("retainOnDelete"):
        out.append(
            ReviewWarning(
                "delete-retained",
                old["urn"],
                f"**Removes a retained resource**: {_label(old)} has `retainOnDelete`: it leaves the "
                "stack but stays in AWS (and keeps costing) until someone deletes or re-imports it.",
            )
        )
    if not out and old["type"] in STATEFUL_TYPES:
        out.append(
            ReviewWarning(
                "delete-stateful",
                old["urn"],
                f"**Deletes a resource that holds data**: {_label(old)} is deleted with its contents.",
            )
        )
    return out


def _option_warnings(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ReviewWarning]:
    out = []
    if old.get("protect") and not new.get("protect"):
        out.append(
            ReviewWarning(
                "unprotect",
                new["urn"],
                f"**Removes protection** from {_label(new)}: after this merges, a later change can delete it.",
            )
        )
    if old.get("retainOnDelete") and not new.get("retainOnDelete"):
        out.append(
            ReviewWarning(
                "unretain",
                new["urn"],
                f"**Drops `retainOnDelete`** from {_label(new)}: deleting it from the stack will now delete it in AWS.",
            )
        )
    return out


def _where(component: Mapping[str, Any] | None) -> str:
    return f"component `{component['name']}`" if component else "the stack level"


def _move_warnings(
    removed: list[Mapping[str, Any]],
    added: list[Mapping[str, Any]],
    base_by_urn: Mapping[str, Mapping[str, Any]],
    head_by_urn: Mapping[str, Mapping[str, Any]],
) -> dict[str, ReviewWarning]:
    """A resource whose URN changed (renamed, or moved into a component) is deleted and created again.

    Keyed by the old URN.
    """
    out: dict[str, ReviewWarning] = {}
    taken = set()
    for old in removed:
        for new in added:
            if new["urn"] in taken or new["type"] != old["type"]:
                continue
            same_physical = physical_name(old) and physical_name(old) == physical_name(new)
            if same_physical or old["name"] == new["name"]:
                taken.add(new["urn"])
                how = []
                if old["name"] != new["name"]:
                    how.append(f"renamed to **{new['name']}**")
                before, after = component_of(old, base_by_urn), component_of(new, head_by_urn)
                if old["parent"] != new["parent"]:
                    how.append(f"moved from {_where(before)} to {_where(after)}")
                data = " It holds data: the new one starts empty." if new["type"] in STATEFUL_TYPES else ""
                out[old["urn"]] = ReviewWarning(
                    "recreate",
                    new["urn"],
                    f"**Recreates** {_label(old)} ({', '.join(how) or 'new URN'}): Pulumi "
                    "deletes it and creates it again. Add `aliases=[...]` with the old URN "
                    f"to keep it.{data}",
                    data=bool(data),
                )
                break
    return out


WARNING_ORDER = (
    "delete-protected",
    "delete-stateful",
    "delete-retained",
    "recreate",
    "replace",
    "update-unknown",
    "unprotect",
    "unretain",
)


def _holds_data(r: Mapping[str, Any]) -> bool:
    return r["type"] in STATEFUL_TYPES


def _plan_warnings(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    rd: ResourceDiff,
    plans: Mapping[str, _Plan],
    base_by: Mapping[str, Mapping[str, Any]],
    head_by: Mapping[str, Mapping[str, Any]],
) -> list[ReviewWarning]:
    """Direct replacements always warn; replacements and updates reached through a cascade warn for what holds
    data or is protected, with the chain that reaches them."""
    plan = plans[new["urn"]]
    tail = ""
    if _holds_data(new):
        tail += " It holds data: the new one starts empty."
    if old.get("protect"):
        tail += " It is protected: `pulumi up` will refuse to replace it."
    if plan.op == "replace" and (plan.direct or _holds_data(new) or old.get("protect")):
        if plan.direct:
            old_in, new_in = old.get("inputs", {}), new.get("inputs", {})
            what = ", ".join(
                f"`{p}` {code(display(old_in.get(p, ABSENT), p))} → {code(display(new_in.get(p, ABSENT), p))}"
                for p in plan.direct
            )
            lead = f"**Replaces** {_label(new)}: {what} forces a new resource."
        else:
            lead = f"**Replaces** {_label(new)}: {rd.reason}."
        return [ReviewWarning("replace", new["urn"], f"{lead} At apply: {rd.how}.{tail}", data=bool(tail))]
    if plan.op == "update" and plan.unknown and (_holds_data(new) or old.get("protect")):
        reads = "; ".join(
            f"`{prop}` reads `{head_by[dep]['name']}`, {chain(dep, plans, base_by, head_by)}"
            for prop, dep in sorted(plan.unknown.items())
        )
        maybe = f" It {rd.note}." if rd.note else ""
        return [
            ReviewWarning(
                "update-unknown",
                new["urn"],
                f"**Updates** {_label(new)} with values known only after apply: {reads}.{maybe}",
                data=True,
            )
        ]
    return []


# --- diff ---------------------------------------------------------------------


def code(text: str) -> str:
    """A Markdown code span that survives backticks in the value."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _resource_diff(op: str, r: Mapping[str, Any], changes: Iterable[Change] = ()) -> ResourceDiff:
    return ResourceDiff(
        op=op,
        urn=r["urn"],
        type=r["type"],
        name=r["name"],
        physical_name=physical_name(r),
        protect=bool(r.get("protect")),
        retain=bool(r.get("retainOnDelete")),
        changes=tuple(changes),
    )


def violation_key(v: Any) -> tuple[str, str, str]:
    return (v.policy, v.urn, v.message)


def diff_snapshots(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    *,
    base_label: str = "base",
    base_violations: Iterable[Any] | None = None,
    head_violations: Iterable[Any] | None = None,
) -> StackDiff:
    """Everything a reviewer needs from two snapshots (and, optionally, the pack's verdict on each).

    Values detect-secrets flags (those no-plaintext-secrets reported, or any when the pack did not judge) are
    redacted from both snapshots and from the violations before anything is compared or printed (issue 34).
    """
    redacted = frozenset(
        secret_scan.snapshot_values(base, base_violations) | secret_scan.snapshot_values(head, head_violations)
    )
    base, head = redact_snapshot(base, redacted), redact_snapshot(head, redacted)
    base_by = {r["urn"]: r for r in base.get("resources", [])}
    head_by = {r["urn"]: r for r in head.get("resources", [])}
    per_component: dict[str, ComponentDiff] = {}
    warnings: list[ReviewWarning] = []
    unchanged = 0

    def bucket(r: Mapping[str, Any], by: Mapping[str, Mapping[str, Any]]) -> ComponentDiff:
        comp = component_of(r, by)
        key = comp["urn"] if comp else STACK_COMPONENT
        if key not in per_component:
            per_component[key] = ComponentDiff(
                urn=key, name=comp["name"] if comp else STACK_COMPONENT, type=comp["type"] if comp else "", resources=[]
            )
        return per_component[key]

    # Component resources only group their children: their own registration is not a change to review.
    removed = [base_by[u] for u in sorted(set(base_by) - set(head_by)) if base_by[u].get("custom", True)]
    added = [head_by[u] for u in sorted(set(head_by) - set(base_by)) if head_by[u].get("custom", True)]
    moves = _move_warnings(removed, added, base_by, head_by)

    for r in added:
        bucket(r, head_by).resources.append(_resource_diff("create", r))
    for r in removed:
        bucket(r, base_by).resources.append(_resource_diff("delete", r))
        warnings += [w for w in _delete_warnings(r) if not (w.kind == "delete-stateful" and r["urn"] in moves)]
    plans = cascade(base_by, head_by)
    for urn in sorted(plans):
        old, new, plan = base_by[urn], head_by[urn], plans[urn]
        if not plan.op:
            unchanged += 1
            continue
        changes = [
            Change(p, display(a, p), display(b, p))
            for p, a, b in input_changes(old.get("inputs", {}), new.get("inputs", {}))
        ]
        changed_tops = {_normal(c.path).split(".")[0] for c in changes}
        changes += [Change(prop, "", KNOWN_AFTER_APPLY) for prop in sorted(plan.unknown) if prop not in changed_tops]
        changes += option_changes(old, new)
        reason = chain(urn, plans, base_by, head_by) if plan.op == "replace" else ""
        how = replacement_mode(old, new, plan, head_by) if plan.op == "replace" else ""
        note = ""
        if plan.maybe:
            _, basis = forcing_properties(new["type"])
            note = f"may be a replacement: this type's replace-on-change data is {basis}"
        rd = dataclasses.replace(
            _resource_diff(plan.op, new, changes),
            reason=reason,
            how=how,
            unknown=tuple(sorted(plan.unknown)),
            note=note,
        )
        bucket(new, head_by).resources.append(rd)
        warnings += _plan_warnings(old, new, rd, plans, base_by, head_by)
        warnings += _option_warnings(old, new)
    warnings += moves.values()
    for comp in per_component.values():
        comp.resources.sort(key=lambda r: (OPS.index(r.op), r.type, r.name, r.urn))
    components = sorted(per_component.values(), key=lambda c: (c.urn == STACK_COMPONENT, c.name, c.type))
    warnings.sort(key=lambda w: (WARNING_ORDER.index(w.kind), not w.data, w.urn, w.message))

    checked = base_violations is not None and head_violations is not None
    new_v, resolved_v = [], []
    # `checked`, spelled out so the type checker narrows both lists.
    if base_violations is not None and head_violations is not None:
        base_keys = {violation_key(v) for v in base_violations}
        head_list = list(head_violations)
        head_keys = {violation_key(v) for v in head_list}
        new_v = sorted(
            {_violation_diff(v, redacted) for v in head_list if violation_key(v) not in base_keys},
            key=lambda v: (v.level != "mandatory", v.policy, v.urn, v.message),
        )
        resolved_v = sorted(
            {_violation_diff(v, redacted) for v in base_violations if violation_key(v) not in head_keys},
            key=lambda v: (v.policy, v.urn, v.message),
        )
    return StackDiff(
        stack=head.get("stack") or base.get("stack", ""),
        base_label=base_label,
        components=components,
        warnings=warnings,
        new_violations=new_v,
        resolved_violations=resolved_v,
        unchanged=unchanged,
        base_empty=not base_by,
        policies_checked=checked,
        redacted=redacted,
    )


def _violation_diff(v: Any, redacted: frozenset[str] = frozenset()) -> ViolationDiff:
    level = "waived" if getattr(v, "waived", False) else v.level
    return ViolationDiff(v.policy, level, v.urn, secret_scan.redact(v.message, redacted), getattr(v, "severity", ""))


def redact_snapshot(snapshot: Mapping[str, Any], values: frozenset[str]) -> Mapping[str, Any]:
    """The snapshot with every flagged value in its inputs and outputs replaced by [redacted]."""
    if not values:
        return snapshot
    resources = [{**r, "inputs": secret_scan.redact_tree(r.get("inputs") or {}, values)} for r in snapshot["resources"]]
    return {
        **snapshot,
        "resources": resources,
        "outputs": secret_scan.redact_tree(snapshot.get("outputs") or {}, values),
    }


def check_policies(pack: Any, snapshot: Mapping[str, Any], file_config: Mapping[str, Any]) -> list[Any]:
    """The pack's violations for a snapshot (none for an empty one: there is nothing to judge)."""
    if not snapshot.get("resources"):
        return []
    return pack.check(dict(snapshot), dict(file_config))


def empty_snapshot(stack: str) -> dict[str, Any]:
    return {"project": "aws-platform", "stack": stack, "resources": [], "outputs": {}}
