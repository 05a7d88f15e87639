"""What a stack needs that no stack creates: declared in its config, listed by the preview, checked before use.

Field report ``you-are-not-saved-by-iac.md``: "historical manual interventions" (a parameter someone
set by hand once) are what stops a rebuild. Every value a service reads is either created by this
stack (the data tier's connection secrets) or declared here with who sets it and how; everything
else a stack takes from outside (pinned images, promoted images, certificates, zones, the org stack,
Atlas keys) is derived from the keys that name it, so ``expectations`` is the complete list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stack_config.aws_values import HOSTED_ZONE_ID, ecr_repository
from stack_config.parsing import Problem, setting, show
from stack_config.services import DIGEST_REF, SECRET_REF

if TYPE_CHECKING:
    from stack_config.model import StackConfig

SECRET_TYPE = "aws:secretsmanager/secret:Secret"
ZONE_PREFIX = "route53:"  # a hosted zone declared in externals: 'route53:<zone id>'

REPOSITORY_TYPE = "aws:ecr/repository:Repository"
# The data tier's contracts (components/valkey_cache.py, components/document_store.py): created with their values.
CONTRACT_SECRETS = {"cache": "cache-connection", "document_store": "documents-connection"}


@dataclass(frozen=True)
class ExternalValue:
    """A parameter or secret some owner sets outside Pulumi (a value no program may know), or an image they push."""

    ref: str = setting(
        pattern=f"({SECRET_REF}|{DIGEST_REF}|{ZONE_PREFIX}{HOSTED_ZONE_ID})",
        what="a Secrets Manager name or ARN, 'ssm:/<parameter path>', an image by digest, or 'route53:<zone id>'",
    )
    owner: str = setting(pattern=r"[a-z0-9][a-z0-9-]{0,61}[a-z0-9]", what="a lowercase label naming who sets it")
    how: str = setting(pattern=r"\S.{8,298}\S", what="one line (10-300 characters): what it holds and how it is set")
    # The account it lives in, by the org stack's name for it (or 12 digits): the access simulation judges a write
    # from another account against it. Route 53 has no resource policies: a zone is written from its account only.
    account: str | None = setting(
        None,
        pattern=r"[a-z0-9][a-z0-9-]{0,48}[a-z0-9]|\d{12}",
        what="an account name of the org stack (like 'shop-prod') or a 12-digit account id",
        doc="unset: this stack's own account",
    )


@dataclass(frozen=True)
class Expectation:
    """One thing the stack expects to exist before it deploys."""

    key: str  # the config key that names it
    kind: str  # parameter | secret | image | stack-outputs | certificate | hosted-zone | snapshot | environment |
    #            console | runbook (a step inside a system no API reaches)
    ref: str
    checked: str  # when and how its absence is caught

    def __str__(self) -> str:
        return f"{self.kind} {self.ref} ({self.key}; {self.checked})"


def produced_secrets(config: StackConfig) -> set[str]:
    """Names of the secrets this stack creates with their values (what services may read without declaring)."""
    ident = config.identity
    return {
        ident.name(SECRET_TYPE, component)
        for section, component in CONTRACT_SECRETS.items()
        if getattr(config, section) is not None
    }


def created_repositories(config: StackConfig) -> set[str]:
    """The ECR repositories this stack creates: one per service, the renderer's, the DocumentDB setup function's."""
    applications = [svc.name for svc in config.containers.services]
    if config.edge is not None:
        applications.append("prerender")
    if config.document_store is not None and config.document_store.sets_up_documentdb:
        applications.append("documentdb-setup")
    return {config.identity.name(REPOSITORY_TYPE, application) for application in applications}


def pinned_images(config: StackConfig, ns: str) -> list[tuple[str, str]]:
    """``(key, image)`` for every image config pins by digest instead of building or promoting it."""
    found = [
        (f"{ns}:containers.services[{i}].image.digest", svc.image.digest)
        for i, svc in enumerate(config.containers.services)
        if svc.image.digest
    ]
    store = config.document_store
    if store is not None and store.sync is not None:
        found.append((f"{ns}:documentStore.sync.image", store.sync.image))
    if config.edge is not None and config.edge.renderer.image:
        found.append((f"{ns}:edge.renderer.image", config.edge.renderer.image))
    return found


def secret_name(ref: str) -> str:
    """``arn:aws:secretsmanager:...:secret:name-AbCdEf[:key::]`` or a bare name -> the name as configured."""
    if ref.startswith("arn:aws:secretsmanager:"):
        return ref.split(":")[6]
    return ref


def undeclared_problems(config: StackConfig, key: str) -> list[Problem]:
    """Every secret a service reads is created by this stack or declared in ``externals``; declared ones are used."""
    produced = produced_secrets(config)
    declared = {e.ref for e in config.externals}
    used: set[str] = set()
    problems = []
    for i, svc in enumerate(config.containers.services):
        for env, ref in sorted(svc.secrets.items()):
            used.add(ref)
            # An ARN of a produced secret carries AWS's 6-character suffix: compare names without it.
            produced_here = ref in produced or any(secret_name(ref).startswith(f"{name}-") for name in produced)
            if ref not in declared and not produced_here:
                problems.append(
                    Problem(
                        f"{key}:containers.services[{i}].secrets.{env}",
                        f"{show(ref)} is created by no stack and not declared (allowed: a secret this stack "
                        f"creates: {', '.join(sorted(produced)) or 'none'}; or declare it in {key}:externals "
                        f"with its owner and how it is set)",
                    )
                )
    created = created_repositories(config)
    for at, image in pinned_images(config, key):
        used.add(image)
        repository = ecr_repository(image)
        if repository is not None and repository[2] in created:
            problems.append(
                Problem(
                    at,
                    f"{show(image)} is in {repository[2]}, a repository this stack creates: before its first up it "
                    "does not exist, and afterwards only this stack's push role may write to it (allowed: let this "
                    "stack build it (image.build: {context: ...}; the renderer: leave edge.renderer.image unset), "
                    "promote it (image.promoteFrom: <the earlier stage's stack>), or pin an image in a repository "
                    "another stack or account owns)",
                )
            )
        elif image not in declared:
            problems.append(
                Problem(
                    at,
                    f"{show(image)} is pushed by no stack and not declared (allowed: an image an earlier stage "
                    f"publishes, through image.promoteFrom; or declare it in {key}:externals with its owner and how "
                    "it is pushed)",
                )
            )
    for at, zone in written_zones(config, key):
        used.add(f"{ZONE_PREFIX}{zone}")
        if f"{ZONE_PREFIX}{zone}" not in declared:
            problems.append(
                Problem(
                    at,
                    f"hosted zone {show(zone)} is not declared (allowed: declare it in {key}:externals as "
                    f"'{ZONE_PREFIX}{zone}' with its owner, how it is delegated, and the account it lives in: a zone "
                    "lives in one account and Route 53 has no resource policy, so only that account writes it)",
                )
            )
    problems += ownership_problems(config, key)
    for i, external in enumerate(config.externals):
        if external.ref not in used:
            problems.append(
                Problem(
                    f"{key}:externals[{i}].ref",
                    f"{show(external.ref)} is read by no service (allowed: a value a service's secrets name, "
                    "an image config pins, or a hosted zone the stack writes records in)",
                )
            )
    return problems


def ownership_problems(config: StackConfig, key: str) -> list[Problem]:
    """An external's declared account must be one the stack can reach it in."""
    own = {config.account_id or "", f"{config.context}-{config.stage}"} - {""}
    problems = []
    for i, e in enumerate(config.externals):
        if e.account is None:
            continue
        at = f"{key}:externals[{i}].account"
        in_ref = _account_in(e.ref)
        if e.ref.startswith("ssm:") and e.account not in own:
            problems.append(
                Problem(
                    at,
                    f"{show(e.account)}: a parameter is read by name in the stack's own account only (another "
                    "account's is readable only when shared through AWS RAM, which the platform does not use); "
                    f"allowed: copy it into this account and leave account unset ({', '.join(sorted(own))})",
                )
            )
        elif in_ref and e.account.isdigit() and e.account != in_ref:
            problems.append(
                Problem(at, f"{show(e.account)} but {show(e.ref)} is in account {in_ref} (allowed: {in_ref})")
            )
    return problems


def _account_in(ref: str) -> str:
    """The account a secret ARN or an ECR image reference names, or ''."""
    if ref.startswith("arn:aws:secretsmanager:"):
        return ref.split(":")[4]
    repository = ecr_repository(ref)
    return repository[0] if repository else ""


def _where(account: str | None) -> str:
    return f"account {account}" if account else "this stack's own account"


def written_zones(config: StackConfig, ns: str) -> list[tuple[str, str]]:
    """``(key, zone id)`` for every hosted zone the stack writes records in (certificates, aliases, mail, failover)."""
    found = []
    if config.edge is not None and config.edge.hosted_zone_id:
        found.append((f"{ns}:edge.hostedZoneId", config.edge.hosted_zone_id))
    org = config.organization
    if org is not None and org.mail is not None:
        found.append((f"{ns}:organization.mail.hostedZoneId", org.mail.hosted_zone_id))
    return found


def zone_accounts(config: StackConfig) -> dict[str, str | None]:
    """zone id -> the account a declaration says it lives in (None: this stack's own)."""
    return {e.ref[len(ZONE_PREFIX) :]: e.account for e in config.externals if e.ref.startswith(ZONE_PREFIX)}


def expectations(config: StackConfig) -> list[Expectation]:
    """Everything the stack expects to find, in config order: the preview prints it as 'this stack expects'."""
    ns = "aws-platform"
    at_preview = "checked at preview and up"
    found = [
        Expectation(
            f"{ns}:externals[{i}]",
            "parameter" if e.ref.startswith("ssm:") else "secret",
            e.ref,
            f"{at_preview}; set by {e.owner}: {e.how}",
        )
        for i, e in enumerate(config.externals)
        # A declared image is listed under the key that pins it, a zone under the key that writes it: with its owner.
        if "@sha256:" not in e.ref and not e.ref.startswith(ZONE_PREFIX)
    ]
    zone_owner = {
        e.ref[len(ZONE_PREFIX) :]: f"; in {_where(e.account)}, by {e.owner}: {e.how}"
        for e in config.externals
        if e.ref.startswith(ZONE_PREFIX)
    }
    pushed_by = {e.ref: f"; pushed by {e.owner}: {e.how}" for e in config.externals}
    if config.org_stack:
        found.append(Expectation(f"{ns}:orgStack", "stack-outputs", config.org_stack, "read at preview and up"))
    for i, svc in enumerate(config.containers.services):
        at = f"{ns}:containers.services[{i}].image"
        if svc.image.digest:
            found.append(
                Expectation(
                    f"{at}.digest",
                    "image",
                    svc.image.digest,
                    f"{at_preview}: exists and is tagged{pushed_by.get(svc.image.digest, '')}",
                )
            )
        if svc.image.promote_from:
            found.append(
                Expectation(
                    f"{at}.promoteFrom",
                    "stack-outputs",
                    f"{svc.image.promote_from} services.{svc.name}.image",
                    f"{at_preview}: the digest exists in that stack's repository; copied at up",
                )
            )
    lb = config.containers.load_balancer
    if config.containers.services and lb.certificate_arn:
        found.append(
            Expectation(
                f"{ns}:containers.loadBalancer.certificateArn",
                "certificate",
                lb.certificate_arn,
                "checked by AWS at up",
            )
        )
    store = config.document_store
    if store is not None and store.sync is not None and store.phase == "dual":
        found.append(
            Expectation(
                f"{ns}:documentStore.sync.image",
                "image",
                store.sync.image,
                f"{at_preview}: exists and is tagged{pushed_by.get(store.sync.image, '')}",
            )
        )
    if store is not None and store.documentdb.restore_from_snapshot:
        found.append(
            Expectation(
                f"{ns}:documentStore.documentdb.restoreFromSnapshot",
                "snapshot",
                store.documentdb.restore_from_snapshot,
                "checked by AWS at up (copy it into this region first)",
            )
        )
    if store is not None and store.has_atlas and store.atlas is not None:
        found.append(
            Expectation(
                f"{ns}:documentStore.atlas.orgId",
                "environment",
                f"MONGODB_ATLAS_PUBLIC_KEY / MONGODB_ATLAS_PRIVATE_KEY for Atlas organization {store.atlas.org_id}",
                "checked by the Atlas provider at preview and up",
            )
        )
    edge = config.edge
    if edge is not None:
        if edge.hosted_zone_id:
            found.append(
                Expectation(
                    f"{ns}:edge.hostedZoneId",
                    "hosted-zone",
                    edge.hosted_zone_id,
                    f"checked by AWS at up{zone_owner.get(edge.hosted_zone_id, '')}",
                )
            )
        if edge.certificate_arn:
            found.append(
                Expectation(f"{ns}:edge.certificateArn", "certificate", edge.certificate_arn, "checked by AWS at up")
            )
        if edge.renderer.image:
            found.append(
                Expectation(
                    f"{ns}:edge.renderer.image",
                    "image",
                    edge.renderer.image,
                    f"{at_preview}: exists and is tagged{pushed_by.get(edge.renderer.image, '')}",
                )
            )
    org = config.organization
    if org is not None and org.mail is not None:
        zone = org.mail.hosted_zone_id
        found.append(
            Expectation(
                f"{ns}:organization.mail.hostedZoneId",
                "hosted-zone",
                zone,
                f"checked by AWS at up{zone_owner.get(zone, '')}",
            )
        )
    if org is not None and org.identity_center is not None:
        found.append(
            Expectation(
                f"{ns}:organization.identityCenter",
                "console",
                org.identity_center.instance_arn,
                "Identity Center enabled in the console (no API for a management account)",
            )
        )
    return found


# What only AWS or a vendor can confirm: the offline world takes these on trust, so a shipped placeholder passes it.
ON_TRUST = ("certificate", "hosted-zone", "environment", "console", "snapshot")


def render(found: list[Expectation]) -> str:
    if not found:
        return "this stack expects: nothing from outside"
    lines = ["this stack expects:", *(f"  - {e}" for e in found)]
    trusted = [f"{e.kind} {e.ref}" for e in found if e.kind in ON_TRUST]
    if trusted:
        lines.append(
            "facts the offline world takes on trust (replace any shipped placeholder before the first up): "
            + "; ".join(trusted)
        )
    return "\n".join(lines)
