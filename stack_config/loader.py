"""Load and validate a stack's configuration before any resource is registered.

Two sources, one path: under ``pulumi up`` the engine hands the program its
config as strings (objects as JSON); the offline preview reads
``environments/Pulumi.<stack>.yaml`` and converts it to exactly those strings.
Either way ``load`` parses everything, checks what depends on more than one key,
and raises one ``ConfigError`` listing every problem.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import math
import pathlib
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

import yaml

from policies import conventions
from stack_config import backend, externals
from stack_config.aws_values import region_problem
from stack_config.baseline import baseline_checks, scp_slot_checks
from stack_config.model import NAMESPACE, StackConfig
from stack_config.organization import OrganizationConfig
from stack_config.parsing import ConfigError, Parser, Problem, show
from stack_config.services import containers_checks

ENVIRONMENTS = pathlib.Path(__file__).resolve().parent.parent / "environments"


def stack_file(stack: str) -> pathlib.Path:
    return ENVIRONMENTS / f"Pulumi.{stack}.yaml"


def source_name(stack: str) -> str:
    return f"environments/Pulumi.{stack}.yaml"


def engine_values_from_yaml(path: pathlib.Path, source: str | None = None) -> dict[str, str]:
    """What the Pulumi CLI would pass the program for this file: every value a string, objects as JSON.

    ``secure:`` values cannot be decrypted offline; they become a placeholder,
    which is all an offline preview needs (secrets never flow into names or tags).
    A file that does not parse is a ``ConfigError`` at its line and column, not a traceback.
    """
    source = source or str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise _yaml_error(source, err) from None
    config = (document.get("config") if isinstance(document, Mapping) else document) or {}
    if not isinstance(config, Mapping):
        raise ConfigError(source, [Problem("config", f"{show(config)} is not a mapping of keys like 'aws:region'")])
    values: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            values[key] = "[secret]"
        elif isinstance(value, (Mapping, list)):
            values[key] = json.dumps(value, sort_keys=True)
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        else:
            values[key] = str(value)
    return values


def _yaml_error(source: str, err: yaml.YAMLError) -> ConfigError:
    """The parser's own words at the place it stopped, as ``file:line:column`` (1-based, as editors count)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context, context_mark = getattr(err, "context", None), getattr(err, "context_mark", None)
    if context:
        where = f" at {context_mark.line + 1}:{context_mark.column + 1}" if context_mark is not None else ""
        problem += f" ({context}{where})"
    at = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    return ConfigError(at, [Problem("yaml", problem)])


def _decode(hint: Any, text: str) -> Any:
    """Undo the engine's stringification for one top-level key, leaving bad input for the parser to name."""
    # `str | None` is types.UnionType, not typing.Union: without it a quoted accountId came back as an int.
    if hint is str or (typing.get_origin(hint) in (typing.Union, types.UnionType) and str in typing.get_args(hint)):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def load(stack: str, values: Mapping[str, str], source: str | None = None) -> StackConfig:
    """Parse the engine's config ``values`` for ``stack``; raise ``ConfigError`` naming every problem."""
    source = source or source_name(stack)
    parser = Parser()
    hints = typing.get_type_hints(StackConfig)
    prefix = NAMESPACE + ":"
    own: dict[str, Any] = {}
    fields = {f.name for f in dataclasses.fields(StackConfig)}
    for key, text in values.items():
        namespace = key.split(":", 1)[0]
        if key.startswith(prefix):
            name = key[len(prefix) :]
            snake = re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
            own[name] = _decode(hints[snake], text) if snake in fields else text
        elif namespace not in ("aws", "pulumi", "mongodbatlas", "docker-build", "random"):
            parser.fail(key, f"unknown namespace '{namespace}' (this project reads '{NAMESPACE}:' and provider keys)")
    region = values.get("aws:region")
    if not region:
        parser.fail("aws:region", "is required (the stack's AWS region, like 'eu-west-1')")
    elif region_problem(region):
        parser.fail("aws:region", f"{show(region)} {region_problem(region)}")
    config = parser.parse(StackConfig, own, NAMESPACE, sep=":")
    # Stage and usage rules run even when other keys are wrong, so one pass reports everything.
    stage = own.get("stage") if own.get("stage") in conventions.STAGES else None
    usage = own.get("usage") if own.get("usage") in conventions.USAGES else None
    parser.problems.extend(stage_checks(stack, stage, usage))
    if config is not None:
        config = dataclasses.replace(config, stack=stack, region=region or "")
        parser.problems.extend(_network_checks(config))
        parser.problems.extend(containers_checks(config.stage, config.containers, f"{NAMESPACE}:containers"))
        parser.problems.extend(_edge_checks(config))
        parser.problems.extend(_data_checks(config))
        parser.problems.extend(_organization_checks(config))
        parser.problems.extend(pinning_checks(config))
        parser.problems.extend(promotion_checks(config))
        parser.problems.extend(region_guardrail_checks(config))
        parser.problems.extend(backend.reference_problems(config, NAMESPACE, ENVIRONMENTS))
        if not any(p.key == "stack" for p in parser.problems):  # names need a valid stack suffix
            parser.problems.extend(externals.undeclared_problems(config, NAMESPACE))
    if parser.problems:
        raise ConfigError(source, parser.problems)
    assert config is not None  # parse returns None only with a problem listed
    return config


def load_file(stack: str, path: pathlib.Path | None = None) -> StackConfig:
    path = path or stack_file(stack)
    if not path.exists():
        raise ConfigError(str(path), [Problem("stack", f"no configuration file for stack {show(stack)}")])
    source = source_name(stack) if path == stack_file(stack) else str(path)
    return load(stack, engine_values_from_yaml(path, source), source)


def stage_checks(stack: str, stage: str | None, usage: str | None) -> list[Problem]:
    """The stack name, the stage and the usage must agree (conventions-tagging-naming-validation.md)."""
    problems: list[Problem] = []
    key = f"{NAMESPACE}:"
    expected = conventions.stage_for_stack(stack)
    if expected is None:
        problems.append(
            Problem(
                "stack",
                f"{show(stack)} names no stage "
                f"(allowed: {', '.join(conventions.STAGES)}, '<stage>-<suffix>' "
                f"or {', '.join(conventions.STACK_STAGES)})",
            )
        )
    elif conventions.stack_suffix(stack) and not conventions.STACK_SUFFIX.match(conventions.stack_suffix(stack)):
        problems.append(
            Problem(
                "stack",
                f"{show(stack)}: suffix {show(conventions.stack_suffix(stack))} is not 1-8 lowercase letters or digits "
                f"(it goes into every resource name, like 'prod-dr' -> shop-prod-dr-...)",
            )
        )
    if expected is not None and stage is not None and stage != expected:
        problems.append(
            Problem(key + "stage", f"{show(stage)} but stack '{stack}' is stage '{expected}' (allowed: '{expected}')")
        )
    if stage is not None and usage is not None and usage not in conventions.ALLOWED_USAGES[stage]:
        allowed = conventions.ALLOWED_USAGES[stage]
        problems.append(
            Problem(
                key + "usage",
                f"{show(usage)} is not allowed for stage '{stage}' "
                f"(allowed: {', '.join(allowed)}; only dev and sandbox may be "
                f"EPHEMERAL or POC)",
            )
        )
    return problems


def _network_checks(config: StackConfig) -> list[Problem]:
    net = config.network
    key = f"{NAMESPACE}:network"  # nested keys below use '.', as the parser does
    problems = []
    if net.imported:
        for name, ids in (("publicSubnetIds", net.public_subnet_ids), ("privateSubnetIds", net.private_subnet_ids)):
            if len(ids) < 2:
                problems.append(
                    Problem(
                        f"{key}.{name}",
                        f"{len(ids)} subnet(s) given; an imported VPC needs at least 2, in different AZs",
                    )
                )
    else:
        for name, ids in (("publicSubnetIds", net.public_subnet_ids), ("privateSubnetIds", net.private_subnet_ids)):
            if ids:
                problems.append(Problem(f"{key}.{name}", "only allowed with vpcId (an imported VPC)"))
        prefix = ipaddress.IPv4Network(net.cidr).prefixlen
        needed = 20 - math.ceil(math.log2(2 * net.az_count))
        if prefix > needed:
            problems.append(
                Problem(
                    f"{key}.cidr",
                    f"{show(net.cidr)} is too small for {2 * net.az_count} /20 "
                    f"subnets (allowed: a prefix of /{needed} or larger)",
                )
            )
    return problems


def _data_checks(config: StackConfig) -> list[Problem]:
    """Cache limits and the document store's migration ledger (stack_config/data.py)."""
    from stack_config import data

    return data.cache_problems(
        config.cache, config.stage, f"{NAMESPACE}:cache", config.usage
    ) + data.document_store_problems(
        config.document_store, config.stage, config.region, f"{NAMESPACE}:documentStore", config.usage
    )


def engine_values() -> dict[str, str]:
    """The config the engine handed this program run (``pulumi up`` or the offline preview)."""
    import pulumi.runtime

    values = dict(pulumi.runtime.get_config_env())
    values.update(pulumi.runtime.config.CONFIG.get())
    return values


def _edge_checks(config: StackConfig) -> list[Problem]:
    edge = config.edge
    key = f"{NAMESPACE}:edge"
    if edge is None:
        return []
    problems = []
    if not (edge.certificate_arn or edge.hosted_zone_id):
        problems.append(
            Problem(
                f"{key}.domainNames",
                f"{show(edge.domain_names)} need a certificate: set "
                f"certificateArn (us-east-1) or hostedZoneId (to issue one)",
            )
        )
    from stack_config.edge import alias_problems, routing_problems

    problems.extend(Problem(f"{key}.{where}", message) for where, message in routing_problems(edge))
    problems.extend(Problem(f"{key}.{w}", m) for w, m in alias_problems(edge, _alias_claims(config.stack)))
    return problems


def _alias_claims(stack: str) -> dict[str, list[str]]:
    """Every other stack's ``edge.domainNames``, from its file in environments/ (one that does not parse is its own
    stack's problem, reported when that stack loads)."""
    claims: dict[str, list[str]] = {}
    for path in sorted(ENVIRONMENTS.glob("Pulumi.*.yaml")):
        other = path.name[len("Pulumi.") : -len(".yaml")]
        if other == stack:
            continue
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            names = ((document.get("config") or {}).get(f"{NAMESPACE}:edge") or {}).get("domainNames") or []
        except (yaml.YAMLError, AttributeError):
            continue
        claims[other] = [str(name) for name in names]
    return claims


ORG_STACK = "org"  # the management account's stack; the only one that builds the organization


def pinning_checks(config: StackConfig) -> list[Problem]:
    """Every staging and prod stack (and the shared ``dev``) names its account; the providers' ``allowed_account_ids``
    then refuse credentials for any other one (``foundation/providers.py``). Sandbox stacks and an engineer's
    ``dev-<name>`` may stay unpinned: they deploy wherever their owner's credentials point, and expire.
    """
    if not conventions.must_pin_account(config.stack) or config.account_id or config.org_stack:
        return []
    return [
        Problem(
            f"{NAMESPACE}:orgStack",
            f"unset, and so is accountId: stack {show(config.stack)} (stage '{config.stage}') must be pinned to its "
            f"account (allowed: orgStack '<org>/aws-platform/org', whose account '{config.context}-{config.stage}' "
            f"it deploys into, or accountId '<12 digits>')",
        )
    ]


def promotion_checks(config: StackConfig) -> list[Problem]:
    """``promotionAccounts`` names accounts of the organization, whose ids only the org stack knows.

    A typed account id went stale unnoticed: the shipped placeholder admitted nobody real (issue 21).
    """
    names = config.containers.image_repositories.promotion_accounts
    key = f"{NAMESPACE}:containers.imageRepositories.promotionAccounts"
    if not names:
        return []
    if not config.org_stack:
        return [Problem(key, f"{show(names)} needs orgStack: account names resolve to ids through the org stack")]
    known = organization_accounts(config.org_stack)
    if known is None:
        return []  # the org stack's config is not in this checkout: the program checks the names at up
    return [
        Problem(f"{key}[{i}]", f"{show(name)} is not an account of the organization (allowed: {', '.join(known)})")
        for i, name in enumerate(names)
        if name not in known
    ]


def _organization_document(org_stack: str) -> dict[str, Any] | None:
    """The org stack's own ``organization`` config (None when its file is not in this checkout)."""
    path = stack_file(org_stack.rsplit("/", 1)[-1])
    if not path.exists():
        return None
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return (document.get("config") or {}).get(f"{NAMESPACE}:organization") or {}


def organization_accounts(org_stack: str) -> list[str] | None:
    """The account names the org stack's own config declares (None when that file is not in this checkout)."""
    org = _organization_document(org_stack)
    if org is None:
        return None
    return sorted(str(a.get("name")) for a in org.get("accounts") or [] if isinstance(a, dict))


def region_guardrail_checks(config: StackConfig) -> list[Problem]:
    """The stack's regions are inside the region guardrail of its account's OU.

    The org's region allow-list SCP denies every regional create elsewhere: prod-dr, the stack that exists for
    the day eu-west-1 is lost, deployed into eu-central-1, which the guardrail did not allow, so it could never
    have been created (issue 22). The guardrail and the recovery plan must agree, and config decides where.
    """
    org_stack = config.org_stack
    if region_problem(config.region):
        return []  # not a region at all: that problem is reported on its own
    org = _organization_document(org_stack) if org_stack else None
    if not org or not org_stack:
        return []
    name = f"{config.context}-{config.stage}"
    ou = next((a.get("ou") for a in org.get("accounts") or [] if isinstance(a, dict) and a.get("name") == name), None)
    rails = org.get("guardrails") or {}
    if ou is None or ou not in (rails.get("regionAllowList") or []):
        return []
    allowed = [str(r) for r in rails.get("allowedRegions") or []]
    regions = [config.region, *(["us-east-1"] if config.edge is not None else [])]  # the edge's ACM and functions
    return [
        Problem(
            "aws:region" if region == config.region else f"{NAMESPACE}:edge",
            f"{show(region)} is outside the region guardrail of account {name}'s OU '{ou}' (allowed: "
            f"{', '.join(allowed)}): the SCP would deny every create there; add it to organization.guardrails."
            f"allowedRegions in {source_name(org_stack.rsplit('/', 1)[-1])}, saying why",
        )
        for region in dict.fromkeys(regions)
        if region not in allowed
    ]


def _organization_checks(config: StackConfig) -> list[Problem]:
    """The organization lives in the ``org`` stack alone, and everything in it refers to things that exist.

    aws-organizations-as-code.md: account e-mails must be unique (all derived from one mail domain), trusted
    access is what StackSets and Identity Center need, and SSO waits for the console step.
    """
    from stack_config.organization import SES_RECEIVING_REGIONS
    from stack_config.parsing import camel

    key = f"{NAMESPACE}:organization"
    org = config.organization
    if config.stack != ORG_STACK:
        problems = []
        if org is not None:
            problems.append(
                Problem(
                    key,
                    f"is only allowed in the '{ORG_STACK}' stack (the management account), not in {show(config.stack)}",
                )
            )
        if config.org_stack and config.account_id:
            problems.append(
                Problem(
                    f"{NAMESPACE}:orgStack",
                    "set accountId or orgStack, not both: the org stack is the one source of this stack's account id",
                )
            )
        return problems
    if org is None:
        return [Problem(key, f"is required in the '{ORG_STACK}' stack (mailDomain, organizationalUnits, accounts...)")]
    problems: list[Problem] = []
    if config.org_stack:
        problems.append(Problem(f"{NAMESPACE}:orgStack", "the org stack cannot reference itself; remove orgStack"))

    def unique(kind: str, names: list[str]) -> set[str]:
        seen: set[str] = set()
        for index, name in enumerate(names):
            if name in seen:
                problems.append(
                    Problem(f"{key}.{kind}[{index}].name", f"{show(name)} appears twice (names are unique)")
                )
            seen.add(name)
        return seen

    ous = unique("organizationalUnits", [ou.name for ou in org.organizational_units])
    accounts = unique("accounts", [a.name for a in org.accounts])
    permission_sets = unique("permissionSets", [p.name for p in org.permission_sets])
    unique("groups", [g.name for g in org.groups])
    # Unique names make unique e-mails: every address is '<local>+<name>@<mailDomain>' (OrganizationConfig.email_for).
    for index, account in enumerate(org.accounts):
        if account.ou not in ous:
            problems.append(
                Problem(
                    f"{key}.accounts[{index}].ou",
                    f"{show(account.ou)} is not an OU (allowed: {', '.join(sorted(ous)) or 'none defined'})",
                )
            )
        email = org.email_for(account.name)
        if len(email) > 64:
            problems.append(
                Problem(
                    f"{key}.accounts[{index}].name", f"e-mail {show(email)} is {len(email)} characters; AWS allows 64"
                )
            )
    rails = org.guardrails
    for field in ("require_tags", "deny_leave", "region_allow_list", "stage_tag_policy", "protect_baseline"):
        name = camel(field)
        attached: set[str] = set()
        for index, ou in enumerate(getattr(rails, field)):
            if ou not in ous:
                problems.append(
                    Problem(
                        f"{key}.guardrails.{name}[{index}]",
                        f"{show(ou)} is not an OU (allowed: {', '.join(sorted(ous)) or 'none defined'})",
                    )
                )
            elif ou in attached:
                problems.append(Problem(f"{key}.guardrails.{name}[{index}]", f"{show(ou)} is listed twice"))
            attached.add(ou)
    if rails.region_allow_list and "us-east-1" not in rails.allowed_regions:
        problems.append(
            Problem(
                f"{key}.guardrails.allowedRegions",
                f"{show(rails.allowed_regions)} must include "
                f"'us-east-1': CloudFront certificates and "
                f"Lambda@Edge are created only there",
            )
        )
    for index, group in enumerate(org.groups):
        if group.permission_set not in permission_sets:
            problems.append(
                Problem(
                    f"{key}.groups[{index}].permissionSet",
                    f"{show(group.permission_set)} is not a permission set "
                    f"(allowed: {', '.join(sorted(permission_sets)) or 'none defined'})",
                )
            )
        for position, account in enumerate(group.accounts):
            if account not in accounts:
                problems.append(
                    Problem(
                        f"{key}.groups[{index}].accounts[{position}]",
                        f"{show(account)} is not an account (allowed: {', '.join(sorted(accounts)) or 'none defined'})",
                    )
                )
    needs = {
        "sso.amazonaws.com": ("identityCenter", org.identity_center),
        "member.org.stacksets.cloudformation.amazonaws.com": ("bootstrap", org.bootstrap),
        # The quota request template every new account receives (components/quota_requests.py).
        "servicequotas.amazonaws.com": ("accounts (the quota request template)", org.accounts or None),
    }
    for principal, (section, value) in needs.items():
        if value is not None and principal not in org.trusted_services:
            problems.append(
                Problem(
                    f"{key}.trustedServices",
                    f"{show(org.trusted_services)} lacks {show(principal)}, "
                    f"which {section} needs (the organization would "
                    f"switch its trusted access off)",
                )
            )
    if org.bootstrap is not None and rails.region_allow_list:
        for index, region in enumerate(org.bootstrap.regions):
            if region not in rails.allowed_regions:
                problems.append(
                    Problem(
                        f"{key}.bootstrap.regions[{index}]",
                        f"{show(region)} is outside guardrails.allowedRegions {show(rails.allowed_regions)}",
                    )
                )
    if org.bootstrap is not None:
        problems.extend(_bootstrap_checks(org, f"{key}.accounts", f"{key}.bootstrap"))
    problems.extend(baseline_checks(org, f"{key}.baseline"))
    problems.extend(scp_slot_checks(org, key))
    if org.mail is not None and config.region not in SES_RECEIVING_REGIONS:
        problems.append(
            Problem(
                "aws:region",
                f"{show(config.region)} cannot receive mail with SES "
                f"(allowed with organization.mail: {', '.join(SES_RECEIVING_REGIONS)})",
            )
        )
    return problems


def _bootstrap_checks(org: OrganizationConfig, accounts_key: str, key: str) -> list[Problem]:
    """One GitHub environment per deploy role, and a state backup in another account and region.

    Two accounts trusting one environment would let that environment's jobs deploy into both; a backup in its
    source's account or region is lost with it (you-are-not-saved-by-iac.md).
    """
    bootstrap = org.bootstrap
    assert bootstrap is not None
    problems: list[Problem] = []
    owner: dict[str, str] = {bootstrap.management_environment: "the management account"}
    for index, account in enumerate(org.accounts):
        env = account.deploy_environment
        if env is None:
            continue
        if env in owner:
            problems.append(
                Problem(
                    f"{accounts_key}[{index}].deployEnvironment",
                    f"{show(env)} already deploys {owner[env]} (allowed: one account per GitHub environment)",
                )
            )
        owner.setdefault(env, f"account '{account.name}'")
    backup = bootstrap.state_backup
    if backup is not None:
        names = [a.name for a in org.accounts]
        if backup.account not in names:
            problems.append(
                Problem(
                    f"{key}.stateBackup.account",
                    f"{show(backup.account)} is not an account (allowed: {', '.join(sorted(names)) or 'none defined'})",
                )
            )
        elif any(a.name == backup.account and a.deploy_environment for a in org.accounts):
            problems.append(
                Problem(
                    f"{key}.stateBackup.account",
                    f"{show(backup.account)} has a deployEnvironment: a backup account must be one CI never deploys "
                    f"(allowed: {', '.join(sorted(a.name for a in org.accounts if not a.deploy_environment))})",
                )
            )
        if backup.region in bootstrap.regions:
            problems.append(
                Problem(
                    f"{key}.stateBackup.region",
                    f"{show(backup.region)} is a bootstrap region {show(bootstrap.regions)}: the copy must survive "
                    f"losing that region (allowed: any other region)",
                )
            )
        rails = org.guardrails
        if rails.region_allow_list and backup.region not in rails.allowed_regions:
            problems.append(
                Problem(
                    f"{key}.stateBackup.region",
                    f"{show(backup.region)} is outside guardrails.allowedRegions {show(rails.allowed_regions)}",
                )
            )
    replica = bootstrap.state_replica_region
    if replica is not None and replica in bootstrap.regions:
        problems.append(
            Problem(
                f"{key}.stateReplicaRegion",
                f"{show(replica)} is the shared state bucket's own region {show(bootstrap.regions)}: the replica must "
                "survive losing that region (allowed: any other region)",
            )
        )
    return problems
