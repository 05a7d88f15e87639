"""Review tools: ``python -m review diff --stack S --base REF [--out FILE]`` and ``python -m review diagram``.

``diff`` checks BASE out into a temporary ``git worktree``, runs BASE's own
offline preview there, runs the working tree's, and writes the Markdown review
comment (also printed). ``diagram`` draws the stack's architecture as SVG and
PNG. Exit 0 whatever the review finds (warnings are for humans to judge);
2 for bad arguments or git errors, 3 when a preview or Graphviz fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Generator
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_USAGE, EXIT_TOOL = 0, 2, 3


class ToolError(Exception):
    def __init__(self, message: str, code: int = EXIT_TOOL):
        super().__init__(message)
        self.code = code


def _git(*args: str, cwd: pathlib.Path = ROOT) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolError(f"git {' '.join(args)} failed: {proc.stderr.strip()}", EXIT_USAGE)
    return proc.stdout.strip()


@contextlib.contextmanager
def worktree(ref: str, repo: pathlib.Path = ROOT) -> Generator[pathlib.Path]:
    """A detached, throw-away checkout of ``ref``; removed again however the block ends."""
    try:
        sha = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repo)
    except ToolError:
        raise ToolError(
            f"'{ref}' is not a commit in {repo} (fetch it first, e.g. git fetch origin main)", EXIT_USAGE
        ) from None
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="review-base-"))
    path = tmp / "base"
    try:
        _git("worktree", "add", "--detach", "--quiet", str(path), sha, cwd=repo)
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=repo, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=repo, capture_output=True)


def offline_snapshot(tree: pathlib.Path, stack: str, out: pathlib.Path) -> dict[str, Any] | None:
    """The snapshot the tree's own preview code makes of ``stack``; None when the tree cannot have one."""
    if not (tree / "preview" / "__main__.py").exists():
        return None  # a base from before the offline preview existed
    config_dir = tree / "environments"
    if not (config_dir / f"Pulumi.{stack}.yaml").exists():
        return None  # the stack is new in this change
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",) and not k.startswith("PULUMI_")}
    # The snapshot only: the judges (pack, access simulation) run afterwards, the working tree's on both sides.
    judges = [
        "--no-policy",
        *(["--no-access"] if "--no-access" in (tree / "preview" / "__main__.py").read_text() else []),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "preview", "--stack", stack, "--json", str(out), *judges, "--quiet"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0 or not out.exists():
        raise ToolError(
            f"offline preview of '{stack}' in {tree} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-4000:]}{proc.stderr[-4000:]}"
        )
    return json.loads(out.read_text())


def build_diff(
    stack: str, base: str, *, repo: pathlib.Path = ROOT, policies: bool = True, security: bool = False
) -> str:
    from policies import secret_scan
    from review import diff, markdown

    with tempfile.TemporaryDirectory(prefix="review-") as tmp:
        with worktree(base, repo) as base_tree:
            base_snapshot = offline_snapshot(base_tree, stack, pathlib.Path(tmp) / "base.json")
        head_snapshot = offline_snapshot(repo, stack, pathlib.Path(tmp) / "head.json")
    if head_snapshot is None:
        raise ToolError(f"no stack '{stack}' in the working tree (environments/Pulumi.{stack}.yaml)", EXIT_USAGE)
    base_snapshot = base_snapshot or diff.empty_snapshot(stack)
    base_violations = head_violations = None
    if policies:
        from preview import policy_client

        # One judge for both sides: the working tree's pack and config, so only the infrastructure change counts.
        config = policy_client.policy_config_for(stack)
        with policy_client.PolicyPack() as pack:
            base_violations = diff.check_policies(pack, base_snapshot, config)
            head_violations = diff.check_policies(pack, head_snapshot, config)
    sha = _git("rev-parse", "--short", f"{base}^{{commit}}", cwd=repo)
    label = base if sha.startswith(base) else f"{base} ({sha})"
    result = diff.diff_snapshots(
        base_snapshot, head_snapshot, base_label=label, base_violations=base_violations, head_violations=head_violations
    )
    text = markdown.render(result, command=f"make diff STACK={stack} BASE={base}")
    if policies:  # the access simulation on both sides, by the working tree's judge (access/report.py)
        text += "\n" + access_section(stack, base_snapshot, head_snapshot)
    if security:  # checkov on both sides (scan/review_section.py): this stack's figures and the new failures
        from scan import review_section

        text += review_section.section(stack, base_snapshot if base_snapshot.get("resources") else None, head_snapshot)
    return secret_scan.redact(text, result.redacted)  # the sections after the diff's own print inputs too


def access_section(stack: str, base_snapshot: dict[str, Any], head_snapshot: dict[str, Any]) -> str:
    from access import judge, report
    from preview import world

    references = world.recorded_references()
    base = judge.judge(stack, base_snapshot, references) if base_snapshot.get("resources") else None
    return report.review_line(stack, base, judge.judge(stack, head_snapshot, references))


def cmd_diff(args: argparse.Namespace) -> int:
    text = build_diff(
        args.stack, args.base, repo=args.repo.resolve(), policies=not args.no_policy, security=args.security
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    return EXIT_OK


def cmd_diagram(args: argparse.Namespace) -> int:
    from review import diagram

    if args.snapshot:
        snapshot = json.loads(args.snapshot.read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="review-") as tmp:
            snapshot = offline_snapshot(ROOT, args.stack, pathlib.Path(tmp) / "snapshot.json")
        if snapshot is None:
            raise ToolError(f"no stack '{args.stack}' (environments/Pulumi.{args.stack}.yaml)", EXIT_USAGE)
    try:
        written = diagram.render(snapshot, args.out)
    except diagram.graphviz.ExecutableNotFound as err:
        raise ToolError(f"{err}: install Graphviz (apt-get install graphviz)") from None
    except diagram.graphviz.CalledProcessError as err:
        raise ToolError(f"Graphviz failed: {err.stderr!r}") from None
    for path in written:
        print(path)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m review", description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diff", help="Markdown review of the working tree against a git ref")
    d.add_argument("--stack", required=True)
    d.add_argument("--base", required=True, help="git ref to compare with, e.g. origin/main or HEAD")
    d.add_argument("--out", type=pathlib.Path, help="also write the Markdown here")
    d.add_argument("--no-policy", action="store_true", help="skip the policy pack")
    d.add_argument("--repo", type=pathlib.Path, default=ROOT, help="git checkout to review (default: this one)")
    d.add_argument("--security", action="store_true", help="add checkov's figures and new failures (make checkov)")
    d.set_defaults(run=cmd_diff)
    g = sub.add_parser("diagram", help="architecture picture of a stack (SVG and PNG)")
    g.add_argument("--stack", required=True)
    g.add_argument("--snapshot", type=pathlib.Path, help="snapshot JSON (default: run the offline preview)")
    g.add_argument("--out", type=pathlib.Path, required=True, help="output path without extension")
    g.set_defaults(run=cmd_diagram)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ToolError as err:
        print(f"review: {err}", file=sys.stderr)
        return err.code


if __name__ == "__main__":
    sys.exit(main())
