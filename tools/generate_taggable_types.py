"""Regenerate policies/taggable_types.json from the pinned pulumi-aws SDK.

The policy pack must be self-contained (``pulumi policy publish`` uploads only
``policies/``), so it cannot import pulumi-aws at run time. Instead this script
reads the installed SDK's source once and records, for every AWS resource type,
how it takes tags:

- ``default``: a ``tags`` map plus ``tags_all``: the provider's ``default_tags``
  are merged into the create request, which is what SCPs on ``aws:RequestTag``
  see;
- ``map``: a ``tags`` map but no ``tags_all``: default tags never reach it, so
  the resource itself must carry every required tag;
- ``blocks``: a list of ``{key, value, ...}`` blocks (Auto Scaling groups):
  default tags never reach it either.

``tests/policies/test_taggable_types.py`` fails when the file and the pinned SDK
disagree, so upgrading pulumi-aws without regenerating cannot slip through.
Run: ``make taggable-types``.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(aws:[^']+)'")
_INIT = re.compile(r"def _internal_init\(.*?\n        opts = ", re.S)
_TAGS_PARAM = re.compile(r"^\s+tags: (.*?) = None,$", re.M)

OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "policies" / "taggable_types.json"


def scan(sdk_root: pathlib.Path) -> dict[str, str]:
    result: dict[str, str] = {}
    for path in sorted(sdk_root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        token = _TOKEN.search(text)
        init = _INIT.search(text)
        if not token or not init:
            continue
        param = _TAGS_PARAM.search(init.group(0))
        if not param:
            continue
        annotation = param.group(1)
        if "Mapping[str" in annotation:
            kind = "default" if '__props__.__dict__["tags_all"]' in text else "map"
        elif "Sequence[" in annotation:
            kind = "blocks"
        else:
            continue
        result[token.group(1)] = kind
    return dict(sorted(result.items()))


def render(types: dict[str, str]) -> str:
    return json.dumps(types, indent=1, sort_keys=True) + "\n"


def main() -> int:
    import pulumi_aws

    types = scan(pathlib.Path(pulumi_aws.__file__).parent)
    OUTPUT.write_text(render(types), encoding="utf-8")
    kinds = {k: sum(1 for v in types.values() if v == k) for k in ("default", "map", "blocks")}
    print(f"wrote {OUTPUT} ({len(types)} taggable types: {kinds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
