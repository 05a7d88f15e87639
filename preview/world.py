"""What exists, and where, when the offline preview runs: the world the mocks answer from.

The first mocks answered every question "yes": one placeholder account for every stack, every lookup
present, every stack reference resolved whatever the backend. A first real ``pulumi up`` then failed
where the preview was green (issue 21). This world answers as AWS would on the day it is asked:

* **whose account**: the stack's resources live in the account it is pinned to (``accountId``, or the
  org stack's ``<context>-<stage>`` account from its recorded outputs), never in a placeholder;
* **what exists yet**: by default the day-zero world of a first deploy. Nothing this stack creates
  exists; an external exists only where config declares it with its owner (``externals``) or another
  stack's recorded outputs publish it (a promoted image); AWS's own things (public parameters, the
  ELB log-delivery account) exist. The update world adds what this stack created on an earlier ``up``
  (images pushed into its own repositories);
* **what can be read**: another stack's outputs only from the same state backend (``stateBackend``);
* **what the account's quotas allow**: an account the org stack vends is new, so it has the new-account quotas
  (``stack_config/quotas.py``) raised only where the org's request template asks for more
  (``stack_config/quota_needs.py``); ``preview/quotas.py`` compares each need of the snapshot with them.
* **what answers**: in the region-lost world one region does not (``preview/region_loss.py``).

``preview/external_inventory.json`` no longer says what is present; it lists what a declared owner has
not provided yet, so tests can show each refusal. Who may touch what is not decided here: that is the
access simulation's question, not the mocks'.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any

from access.accesses import DEPLOY, READ_ONLY, Organization
from preview.region_loss import DEFAULT_LOST_REGION, RegionLoss
from stack_config import externals, quota_needs
from stack_config.model import StackConfig

DAY_ZERO, UPDATE, PULL_REQUEST, REGION_LOST = "day-zero", "update", "pull-request", "region-lost"
# pull-request: the stack exists (as in update) and the caller is the account's read-only role, as in CI's
# pull-request previews; the others run as the deploy role. region-lost: a first deploy (day zero) on the day
# LOST_REGION (default eu-west-1) does not answer: the recovery stack's day.
MODES = (DAY_ZERO, UPDATE, PULL_REQUEST, REGION_LOST)
# An unpinned stack (an engineer's dev-<name>) deploys wherever its owner's credentials point: AWS's own
# documentation account stands for "whichever account that is", and no pinned stack may ever show it.
UNPINNED_ACCOUNT = "123456789012"
HERE = pathlib.Path(__file__).resolve().parent
# What a declared owner has not provided yet (tests set these to see each refusal).
EXTERNAL_INVENTORY = HERE / "external_inventory.json"


def stack_references_path() -> pathlib.Path:
    """Other stacks' recorded outputs; PREVIEW_STACK_REFERENCES swaps in another file (tests)."""
    return pathlib.Path(os.environ.get("PREVIEW_STACK_REFERENCES") or HERE / "stack_references.json")


@dataclasses.dataclass(frozen=True)
class World:
    mode: str
    account: str  # the account the stack is pinned to (UNPINNED_ACCOUNT when it is not)
    pinned: bool
    # What config declares with an owner: 'ssm:/path', secret names and ARNs, image references.
    declared: frozenset[str]
    # Repositories this stack creates: empty on day zero, full of what its earlier `up` pushed on update.
    own_repositories: frozenset[str]
    # Other stacks' outputs as `pulumi up` would read them, by the name a reference uses on this backend.
    stack_references: Mapping[str, Any]
    absent: Mapping[str, frozenset[str]]
    untagged_images: frozenset[str]
    caller: str = DEPLOY  # whose credentials run the preview: the deploy role, or the read-only role
    caller_role: str = ""  # that role's ARN, as the org stack's outputs name it
    # The account by the org's name for it (what the org's quota requests are recorded under), and what its
    # quotas are raised to by the org's request template: Region -> quota key -> value. Empty: new-account values.
    account_name: str = ""
    # Who owns each hosted zone the stack writes in: zone id -> account id (config's declaration, or this account).
    zone_accounts: Mapping[str, str] = dataclasses.field(default_factory=dict)
    quota_requests: Mapping[str, Mapping[str, int]] = dataclasses.field(default_factory=dict)
    lost: RegionLoss | None = None  # the region that does not answer (region-lost world only)

    @property
    def published_images(self) -> frozenset[str]:
        """Images another stack's outputs name (what a promotion copies): they exist, their stack pushed them."""
        return frozenset(
            str(ref)
            for outputs in self.stack_references.values()
            for svc in ((outputs or {}).get("services") or {}).values()
            if isinstance(svc, dict)
            # ...and their replicas in the regions the stack replicates to (ECR replication keeps the digest)
            for ref in (svc.get("image"), *(svc.get("replicas") or {}).values())
            if ref
        )

    def image_exists(self, ref: str, repository: str, registry: str) -> str | None:
        """Why ``ref`` is not there (AWS's own exception text), or None when a lookup finds it."""
        if ref in self.absent["images"]:
            return f"ImageNotFoundException: the image {ref.rsplit('@', 1)[-1]} does not exist in {repository}"
        if repository in self.own_repositories and registry == self.account:
            if self.mode in (DAY_ZERO, REGION_LOST):
                return (
                    f"RepositoryNotFoundException: The repository with name '{repository}' does not exist in the "
                    f"registry with id '{registry}' (this stack creates it: nothing is in it before its first up)"
                )
            return None
        if ref in self.declared or ref in self.published_images:
            return None
        return (
            f"ImageNotFoundException: nothing declares {ref} (a pinned image exists only where config declares "
            "it in externals with its owner, or an earlier stage's outputs publish it)"
        )

    def backup_copy_exists(self, cluster: str, region: str) -> bool:
        """A copy of ``cluster``'s backups is in ``region`` once a deployed stack's outputs say it copies them there."""
        return any(
            (outputs or {}).get("recovery", {}).get("region") == region
            and (outputs or {}).get("recovery", {}).get("documentdb_cluster") == cluster
            for outputs in self.stack_references.values()
        )

    def value_exists(self, ref: str) -> bool:
        """A parameter ('ssm:/path') or secret (name or ARN) exists once its declared owner has set it."""
        kind = "parameters" if ref.startswith("ssm:") else "secrets"
        name = ref[len("ssm:") :] if ref.startswith("ssm:") else externals.secret_name(ref)
        declared = ref in self.declared or any(
            externals.secret_name(d) == name for d in self.declared if not d.startswith("ssm:")
        )
        return declared and name not in self.absent[kind]


def _inventory() -> dict[str, Any]:
    """What declared owners have not provided yet; PREVIEW_EXTERNAL_INVENTORY swaps in another file (tests)."""
    path = pathlib.Path(os.environ.get("PREVIEW_EXTERNAL_INVENTORY") or EXTERNAL_INVENTORY)
    return json.loads(path.read_text()) if path.exists() else {}


def recorded_references() -> dict[str, Any]:
    path = stack_references_path()
    return json.loads(path.read_text()) if path.exists() else {}


def pinned_account(config: StackConfig, references: Mapping[str, Any]) -> str | None:
    """The account the stack is pinned to: ``accountId``, or its ``<context>-<stage>`` in the org stack's outputs."""
    if config.account_id:
        return config.account_id
    if config.org_stack:
        accounts = (references.get(config.org_stack) or {}).get("accounts") or {}
        entry = accounts.get(f"{config.context}-{config.stage}") or {}
        return entry.get("id")
    return None


def nothing(mode: str = DAY_ZERO) -> World:
    """A world where nothing outside exists: for a config that does not even load (the program refuses it)."""
    return World(
        mode=mode,
        account=UNPINNED_ACCOUNT,
        pinned=False,
        declared=frozenset(),
        own_repositories=frozenset(),
        stack_references=recorded_references(),
        absent={kind: frozenset() for kind in ("images", "parameters", "secrets")},
        untagged_images=frozenset(),
    )


def for_stack(config: StackConfig, mode: str = DAY_ZERO, lost_region: str | None = None) -> World:
    """The world ``config``'s stack previews in; region-lost refuses a stack whose own state is in the lost region
    (``RegionUnreachable``: nothing can be previewed, nor deployed, without logging in to its backend)."""
    if mode not in MODES:
        raise ValueError(f"world {mode!r} is not one of {', '.join(MODES)}")
    lost = RegionLoss(lost_region or DEFAULT_LOST_REGION) if mode == REGION_LOST else None
    if lost is not None:
        lost.state(config.state_backend.url if config.state_backend else None, f"stack {config.identity.stack}")
    references = recorded_references()
    inventory = _inventory()
    absent = inventory.get("absent") or {}
    account = pinned_account(config, references)
    caller = READ_ONLY if mode == PULL_REQUEST else DEPLOY
    # The accounts the org stack vends (by name and id): the ones its quota request template raised.
    vended = {
        name: str(entry.get("id"))
        for outputs in references.values()
        for name, entry in ((outputs or {}).get("accounts") or {}).items()
        if isinstance(entry, dict)
    }
    by_id = {acct: name for name, acct in vended.items()}
    name = (
        f"{config.context}-{config.stage}"
        if config.org_stack
        else by_id.get(account or "", account or UNPINNED_ACCOUNT)
    )
    return World(
        mode=mode,
        account=account or UNPINNED_ACCOUNT,
        pinned=account is not None,
        declared=frozenset(e.ref for e in config.externals),
        own_repositories=frozenset(externals.created_repositories(config)),
        stack_references=references,
        absent={kind: frozenset(absent.get(kind) or []) for kind in ("images", "parameters", "secrets")},
        untagged_images=frozenset(inventory.get("untagged_images") or []),
        caller=caller,
        caller_role=ci_role(config, references, account, caller),
        account_name=name,
        zone_accounts=owners_of_zones(config, references, account or UNPINNED_ACCOUNT),
        quota_requests=quota_needs.requested_for(name, frozenset(vended)),
        lost=lost,
    )


def owners_of_zones(config: StackConfig, references: Mapping[str, Any], account: str) -> dict[str, str]:
    """zone id -> the id of the account it lives in: an org account's name resolved by the org stack's outputs."""
    accounts = ((references.get(config.org_stack or "") or {}).get("accounts") or {}) if config.org_stack else {}
    return {
        zone: account if owner is None else str((accounts.get(owner) or {}).get("id") or owner)
        for zone, owner in externals.zone_accounts(config).items()
    }


def ci_role(config: StackConfig, references: Mapping[str, Any], account: str | None, caller: str) -> str:
    """The bootstrap role CI runs as in ``account``: what getCallerIdentity answers."""
    if config.organization is not None and account:  # the org stack: its own bootstrap's roles, from day zero
        from foundation.ci_identity import deploy_role_name, read_only_role_name

        return f"arn:aws:iam::{account}:role/{deploy_role_name() if caller == DEPLOY else read_only_role_name()}"
    outputs = (references.get(config.org_stack or "") or {}) if config.org_stack else {}
    return Organization(outputs).role(account or "", caller)
