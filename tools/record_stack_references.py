"""`make stack-references`: record the outputs every referenced shipped stack exports, as its preview shows them.

A stack reference in the offline world reads ``preview/stack_references.json``. Hand-written outputs drifted
from what the stacks export (placeholder accounts in staging's and prod's image references, issue 21), so the
file is generated: each referenced stack is previewed, in the order the references need (the org stack before
the stacks that read it), and its exported outputs are recorded under the name a reference uses on its backend.
``tests/preview/test_world.py`` fails when the file and the previews disagree.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import stack_config
from stack_config import backend

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECORDED = ROOT / "preview" / "stack_references.json"
SHIPPED = ("org", "dev", "staging", "prod", "prod-dr")


def referenced_in_order() -> list[str]:
    """Every shipped stack some shipped stack references, each after the stacks it reads itself."""
    reads = {
        stack: [ref for _, ref in backend.references(stack_config.load_file(stack), "aws-platform")]
        for stack in SHIPPED
    }
    by_name = {ref: ref.rsplit("/", 1)[-1] for refs in reads.values() for ref in refs}
    ordered: list[str] = []

    def visit(ref: str) -> None:
        if ref in ordered:
            return
        for inner in reads.get(by_name[ref], []):
            visit(inner)
        ordered.append(ref)

    for ref in sorted(by_name):
        visit(ref)
    return ordered


def outputs_of(stack: str, recorded: pathlib.Path) -> dict:
    """The outputs ``stack`` exports in its offline preview, reading the references recorded so far."""
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = pathlib.Path(tmp) / f"{stack}.json"
        env = {**os.environ, "PREVIEW_STACK_REFERENCES": str(recorded)}
        command = [sys.executable, "-m", "preview", "--stack", stack, "--json", str(snapshot), "--no-policy", "--quiet"]
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"preview of {stack} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        return json.loads(snapshot.read_text())["outputs"]


def record(path: pathlib.Path = RECORDED) -> bool:
    """Regenerate ``path``; True when it changed."""
    before = path.read_text() if path.exists() else ""
    recorded: dict[str, dict] = json.loads(before) if before else {}
    for ref in referenced_in_order():
        recorded[ref] = outputs_of(ref.rsplit("/", 1)[-1], path)
        path.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    referenced = set(referenced_in_order())
    recorded = {ref: outputs for ref, outputs in recorded.items() if ref in referenced}
    path.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    return path.read_text() != before


if __name__ == "__main__":
    print(f"{RECORDED.relative_to(ROOT)} {'updated' if record() else 'unchanged'}")
