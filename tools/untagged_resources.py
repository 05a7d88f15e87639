"""List the resources of an account and region that no stack claims: no ``managed-by`` or no ``stack`` tag.

you-are-not-saved-by-iac.md: manual fixes become the resources nobody can rebuild; "regularly explore
untagged resources to detect those not yet automated". Every resource a stack creates carries the
convention's tags in its create request (``policies/conventions.py``, provider ``default_tags``), so one
without ``managed-by``/``stack`` was made by hand, by an old tool, or by a service on our behalf.

It asks the Resource Groups Tagging API (``GetResources``), which sees every resource that has or ever had
a tag; a resource never tagged at all is invisible to it (AWS Config's inventory would be the next step).

    python -m tools.untagged_resources --region eu-west-1 [--json] [--fail-on-found]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import boto3

from policies import conventions


@dataclass(frozen=True)
class Unclaimed:
    arn: str
    missing: tuple[str, ...]  # which ownership tags it lacks
    tags: dict[str, str]


def unclaimed(client: Any, keys: tuple[str, ...] = conventions.OWNERSHIP_TAGS) -> Iterator[Unclaimed]:
    """Every resource the Tagging API knows in the client's region that lacks one of ``keys`` (or has it empty)."""
    for page in client.get_paginator("get_resources").paginate(ResourcesPerPage=100):
        for mapping in page["ResourceTagMappingList"]:
            tags = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
            missing = tuple(key for key in keys if not tags.get(key))
            if missing:
                yield Unclaimed(mapping["ResourceARN"], missing, tags)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    parser.add_argument("--fail-on-found", action="store_true", help="exit 1 when anything is unclaimed")
    args = parser.parse_args(argv)
    found = sorted(unclaimed(boto3.client("resourcegroupstaggingapi", region_name=args.region)), key=lambda u: u.arn)
    if args.json:
        print(json.dumps([asdict(u) for u in found], indent=1, sort_keys=True))
    else:
        for item in found:
            print(f"{item.arn}\tmissing {', '.join(item.missing)}")
        print(f"{len(found)} resource(s) in {args.region} without {' and '.join(conventions.OWNERSHIP_TAGS)} tags")
    return 1 if found and args.fail_on_found else 0


if __name__ == "__main__":
    sys.exit(main())
