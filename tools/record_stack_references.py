"""`make stack-references`: record the outputs every referenced shipped stack exports, as its preview shows them,
and the policy documents its snapshot holds (``access/recorded_documents.json``: what the access simulation of a
stack that references it judges by, e.g. staging's repository policies for prod's promotion).

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
from access import documents
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


def snapshot_of(stack: str, recorded: pathlib.Path, *extra: str) -> dict:
    """``stack``'s offline snapshot, reading the references recorded so far (``extra``: more preview options)."""
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = pathlib.Path(tmp) / f"{stack}.json"
        env = {**os.environ, "PREVIEW_STACK_REFERENCES": str(recorded)}
        command = [
            sys.executable,
            "-m",
            "preview",
            "--stack",
            stack,
            "--json",
            str(snapshot),
            "--no-policy",
            "--no-access",
            "--quiet",
            *extra,
        ]
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"preview of {stack} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        return json.loads(snapshot.read_text())


def _write(path: pathlib.Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")


def record(path: pathlib.Path = RECORDED, documents_path: pathlib.Path = documents.RECORDED) -> bool:
    """Regenerate ``path`` and ``documents_path``; True when either changed."""
    before = (path.read_text() if path.exists() else "", documents_path.read_text() if documents_path.exists() else "")
    recorded: dict[str, dict] = json.loads(before[0]) if before[0] else {}
    recorded_documents: dict[str, dict] = {}
    for ref in referenced_in_order():
        snapshot = snapshot_of(ref.rsplit("/", 1)[-1], path)
        recorded[ref] = snapshot["outputs"]
        recorded_documents[ref] = documents.extract(snapshot)
        _write(path, recorded)
    referenced = set(referenced_in_order())
    _write(path, {ref: outputs for ref, outputs in recorded.items() if ref in referenced})
    _write(documents_path, recorded_documents)
    return (path.read_text(), documents_path.read_text()) != before


if __name__ == "__main__":
    changed = record()
    print(
        f"{RECORDED.relative_to(ROOT)}, {documents.RECORDED.relative_to(ROOT)}: {'updated' if changed else 'unchanged'}"
    )
