"""Generate ``review/replace_on_change.json``: which inputs force a replacement, for every type the stacks use.

Usage::

    python -m tools.generate_replace_on_change            # regenerate from the checked-in upstream extract
    python -m tools.generate_replace_on_change --check    # exit 1 when the checked-in file is stale
    python -m tools.generate_replace_on_change --aws-source ~/src/terraform-provider-aws --refresh-upstream

Where the knowledge comes from (recorded in the generated file's header):

1. ``upstream``: the Terraform AWS provider's Go schema (what pulumi-aws bridges): attributes with
   ``ForceNew: true`` (plugin SDK v2) or a ``RequiresReplace()`` plan modifier (plugin framework), read per file at
   a recorded commit (``tools/replace_on_change_upstream.json``). ``--refresh-upstream`` re-extracts every listed
   file from a checkout with ``force_new_attributes`` below. Terraform names become Pulumi names (snake_case to
   camelCase) and each top-level name is checked against the pinned SDK's input properties, so a typo or a Pulumi
   rename fails the generator instead of silently never matching.
2. ``name-only``: types not extracted yet. Only the physical-name property is known to force a replacement (unless
   the type renames in place); other inputs may force one too. The review says so wherever it matters.
3. ``engine``: the Pulumi engine's own rules (a provider's ``region``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / "tools" / "replace_on_change_upstream.json"
OUT = ROOT / "review" / "replace_on_change.json"
STACKS = ("dev", "staging", "prod", "prod-dr", "org")
SDK_MODULES = {
    "aws": "pulumi_aws",
    "mongodbatlas": "pulumi_mongodbatlas",
    "random": "pulumi_random",
    "docker-build": "pulumi_docker_build",
    "command": "pulumi_command",
}
ENGINE_RULES: Mapping[str, list[str]] = {
    # Pulumi replaces an explicit provider whose region changes, and with it every resource it manages.
    "pulumi:providers:aws": ["region"],
    # pulumi-command (a native provider, no Terraform schema): its documented rule is that `triggers` replace.
    "command:local:Command": ["triggers"],
}

# --- Go schema extraction ---------------------------------------------------------------------------------------

_KEY = re.compile(r'^\s*(?:"(?P<quoted>\w+)"|names\.Attr(?P<const>\w+))\s*:\s*(?:[\w.\[\]*]*\{|[\w.]+\()')
_FORCE = re.compile(r"ForceNew:\s*true|\.RequiresReplace\(\)")


def attr_constant_to_name(const: str) -> str:
    """``names.AttrVPCID`` -> ``vpc_id``, ``CIDRBlock`` -> ``cidr_block``, ``KMSKeyID`` -> ``kms_key_id``."""
    const = re.sub(r"IDs$", "_ids", const)
    const = re.sub(r"ID$", "_id", const)
    const = re.sub(r"ARN$", "_arn", const)
    const = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", const)
    const = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", const)
    return re.sub(r"_+", "_", const).strip("_").lower()


def force_new_attributes(go_source: str) -> list[str]:
    """Dotted attribute paths marked ForceNew / RequiresReplace in a resource's Go schema, sorted."""
    stack: list[tuple[str, int]] = []  # (attribute name, brace depth at which its block opened)
    depth = 0
    found: set[str] = set()
    for line in go_source.splitlines():
        match = _KEY.match(line)
        if match:
            name = match.group("quoted") or attr_constant_to_name(match.group("const"))
            stack.append((name, depth))
        if _FORCE.search(line) and stack:
            found.add(".".join(name for name, _ in stack))
        depth += line.count("{") - line.count("}")
        while stack and depth <= stack[-1][1]:
            stack.pop()
    return sorted(found)


# --- Pulumi names -----------------------------------------------------------------------------------------------


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def sdk_inputs(type_: str) -> set[str]:
    """The Pulumi input property names of ``type_`` in the installed (pinned) SDK."""
    package, module_path, cls = type_.split(":")
    module = module_path.split("/")[0]
    base = SDK_MODULES[package]
    name = base if module == "index" else f"{base}.{'lambda_' if module == 'lambda' else module}"
    args = getattr(importlib.import_module(name), f"{cls}Args")
    return {
        getattr(member.fget, "_pulumi_name", attr)
        for attr, member in vars(args).items()
        if isinstance(member, property) and member.fget
    }


def pulumi_paths(
    type_: str, tf_paths: Iterable[str], not_in_sdk: Iterable[str] = (), renames: Mapping[str, str] | None = None
) -> list[str]:
    """Pulumi input paths for Terraform attribute paths.

    ``not_in_sdk`` are attributes the pinned SDK no longer has (the upstream file is older than the SDK),
    acknowledged in the extract rather than silently dropped; ``renames`` are the bridge's own top-level renames
    (``alarm_name`` is ``name`` in Pulumi), still checked against the SDK.
    """
    renames = renames or {}
    inputs = sdk_inputs(type_)
    out = []
    for path in tf_paths:
        if path.split(".")[0] in not_in_sdk:
            continue
        head, *rest = path.split(".")
        parts = [renames.get(head) or camel(head), *(camel(part) for part in rest)]
        if parts[0] not in inputs and parts[0] + "s" in inputs:
            parts[0] += "s"  # the bridge pluralises list attributes (snapshot_arns_to_restore -> ...Restores)
        if parts[0] not in inputs:
            raise SystemExit(f"{type_}: upstream attribute '{path}' has no Pulumi input '{parts[0]}' (renamed?)")
        out.append(".".join(parts))
    return sorted(out)


# --- the shipped stacks -----------------------------------------------------------------------------------------


def shipped_types(stacks: Iterable[str] = STACKS) -> set[str]:
    """Every custom resource type the shipped stacks register, from their offline previews."""
    types: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="replace-on-change-") as tmp:
        for stack in stacks:
            out = pathlib.Path(tmp) / f"{stack}.json"
            proc = subprocess.run(
                [sys.executable, "-m", "preview", "--stack", stack, "--json", str(out), "--no-policy", "--quiet"],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise SystemExit(f"offline preview of {stack} failed:\n{proc.stderr[-2000:]}")
            types |= {r["type"] for r in json.loads(out.read_text())["resources"] if r.get("custom", True)}
    return types


# --- generation -------------------------------------------------------------------------------------------------


def generate(types: Iterable[str], upstream: Mapping[str, Any]) -> dict[str, Any]:
    from review.names import NAME_PROPERTIES, RENAMEABLE

    by_type = {entry["pulumiType"]: (tf, entry) for tf, entry in upstream["resources"].items()}
    entries: dict[str, Any] = {}
    for type_ in sorted(types):
        if type_ in ENGINE_RULES:
            source = "pulumi-command's documentation" if type_.startswith("command:") else "Pulumi engine"
            entries[type_] = {"basis": "engine", "forceNew": ENGINE_RULES[type_], "source": source}
        elif type_ in by_type:
            tf, entry = by_type[type_]
            entries[type_] = {
                "basis": "upstream",
                "forceNew": pulumi_paths(type_, entry["forceNew"], entry.get("notInSdk", ()), entry.get("pulumiNames")),
                "source": f"{entry['repo']} {entry['path']}@{entry['commit']} ({tf})",
                **({"conditional": entry["conditional"]} if entry.get("conditional") else {}),
            }
        else:
            name = NAME_PROPERTIES.get(type_)
            forcing = [name] if name and type_ not in RENAMEABLE else []
            entries[type_] = {
                "basis": "name-only",
                "forceNew": pulumi_paths(type_, []) + forcing,
                "source": "physical name only (review/names.py); other replace-on-change inputs not extracted yet",
            }
    counts: dict[str, int] = {}
    for e in entries.values():
        counts[e["basis"]] = counts.get(e["basis"], 0) + 1
    return {
        "_provenance": {
            "generator": "python -m tools.generate_replace_on_change",
            "sdk": {"pulumi_aws": _version("pulumi_aws"), "pulumi_mongodbatlas": _version("pulumi_mongodbatlas")},
            "upstream": "the Go schema of hashicorp/terraform-provider-aws and mongodb/terraform-provider-mongodbatlas, "
            "one file per resource at the commit named in its entry (tools/replace_on_change_upstream.json); read "
            "through a code index because this build machine has no GitHub access, so the commits are those the "
            "index held, not the release tags pulumi-aws 7.51.1 and pulumi-mongodbatlas 4.18.0 pin",
            "method": "ForceNew: true (plugin SDK v2) and RequiresReplace() (framework) per attribute; names to "
            "camelCase, checked against the pinned SDK's inputs",
            "inferred": "basis name-only: only the physical-name property (review/names.py) is known to force a "
            "replacement; basis engine: Pulumi's own rule",
            "counts": dict(sorted(counts.items())),
        },
        "types": entries,
    }


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def render(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def refresh_upstream(sources: Mapping[str, pathlib.Path]) -> None:
    """Re-extract every listed resource from provider checkouts (repository -> directory), recording their commits."""
    upstream = json.loads(UPSTREAM.read_text())
    for repo, source in sources.items():
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=True
        ).stdout.strip()
        for entry in upstream["resources"].values():
            if entry["repo"] == repo:
                entry["forceNew"] = force_new_attributes((source / entry["path"]).read_text())
                entry["commit"] = commit
    UPSTREAM.write_text(json.dumps(upstream, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.generate_replace_on_change", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when the checked-in file differs")
    parser.add_argument("--aws-source", type=pathlib.Path, help="a terraform-provider-aws checkout")
    parser.add_argument("--atlas-source", type=pathlib.Path, help="a terraform-provider-mongodbatlas checkout")
    parser.add_argument("--refresh-upstream", action="store_true", help="re-extract the upstream file first")
    args = parser.parse_args(argv)
    if args.refresh_upstream:
        sources = {
            repo: path
            for repo, path in (
                ("hashicorp/terraform-provider-aws", args.aws_source),
                ("mongodb/terraform-provider-mongodbatlas", args.atlas_source),
            )
            if path
        }
        if not sources:
            parser.error("--refresh-upstream needs --aws-source and/or --atlas-source")
        refresh_upstream(sources)
    text = render(generate(shipped_types(), json.loads(UPSTREAM.read_text())))
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run python -m tools.generate_replace_on_change", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
