"""prod-dr: prod stood up in a second region from config alone (issue 12 item 11; you-are-not-saved-by-iac.md).

Read from the two stacks' snapshots: the rebuild must preview green under prod's rules, live entirely in
its own region (plus us-east-1 for what CloudFront needs), and collide with prod on no name, since both may
run in one account and IAM roles, buckets and Lambda@Edge functions share global namespaces.
"""

from __future__ import annotations

import json
import pathlib
import re
import shlex
from collections.abc import Callable

import pytest
import yaml

import stack_config
from policies import conventions
from preview import region_loss
from stack_config.edge import EdgeConfig
from tests.conftest import ROOT, PreviewResult, load_stack_yaml, run_preview, stack_account

Previews = Callable[[str], PreviewResult]
StackYaml = Callable[..., pathlib.Path]

DR_REGION = "eu-central-1"


def test_prod_dr_is_a_prod_stack_named_after_its_stage() -> None:
    config = stack_config.load_file("prod-dr")
    assert (config.stage, config.usage, config.region) == ("prod", "PRODUCTION", DR_REGION)
    assert config.identity.suffix == "dr" and config.identity.keeps_data


def test_prod_dr_previews_green_with_zero_violations(shipped_preview: Previews) -> None:
    result = shipped_preview("prod-dr")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "policy pack: no violations" in result.stdout


def test_prod_dr_shares_no_name_with_prod(shipped_preview: Previews) -> None:
    def names(stack: str) -> set[tuple[str, str]]:
        found = set()
        for r in shipped_preview(stack).resources():
            rule = conventions.NAME_RULES.get(r["type"])
            key = rule.property if rule else conventions.PATH_NAMED.get(r["type"])
            if key and isinstance(r["inputs"].get(key), str):
                found.add((r["type"], r["inputs"][key]))
        return found

    prod, dr = names("prod"), names("prod-dr")
    assert len(dr) > 50
    assert prod & dr == set(), sorted(prod & dr)[:5]


def test_prod_dr_lives_in_its_own_region(shipped_preview: Previews) -> None:
    """Everything it creates and every lookup it makes is in eu-central-1 (or us-east-1 for CloudFront): not even an
    ECR token of prod's region, since prod's digests are replicated into this one."""
    snapshot = shipped_preview("prod-dr").snapshot
    providers = [r for r in snapshot["resources"] if r["type"] == "pulumi:providers:aws"]
    assert {p["inputs"].get("region") for p in providers} == {DR_REGION, "us-east-1"}


def test_prod_dr_data_comes_back_from_prods_backup_copy_and_its_images_are_prods_digests(
    shipped_preview: Previews,
) -> None:
    dr = shipped_preview("prod-dr")
    cluster = dr.one("aws:docdb/cluster:Cluster", "documentdb")
    assert cluster["inputs"]["snapshotIdentifier"].startswith(f"arn:aws:rds:{DR_REGION}:")
    assert ":cluster-snapshot:awsbackup:" in cluster["inputs"]["snapshotIdentifier"]  # found, not typed in config
    assert cluster["protect"] and "snapshotIdentifier" in cluster["ignoreChanges"]
    prod_task = shipped_preview("prod").one("aws:ecs/taskDefinition:TaskDefinition", "api-task")
    dr_task = dr.one("aws:ecs/taskDefinition:TaskDefinition", "api-task")
    (prod_image,) = [c["image"] for c in json.loads(prod_task["inputs"]["containerDefinitions"])]
    (dr_image,) = [c["image"] for c in json.loads(dr_task["inputs"]["containerDefinitions"])]
    assert dr_image.split("@")[1] == prod_image.split("@")[1]
    assert dr_image.startswith(f"{stack_account('prod-dr')}.dkr.ecr.{DR_REGION}.amazonaws.com/shop-prod-dr-api@")
    (copy,) = [r for r in dr.resources("command:local:Command") if r["name"] == "api-images-promote"]
    assert f".dkr.ecr.{DR_REGION}.amazonaws.com/shop-prod-api@" in copy["inputs"]["create"]  # prod's replica


def test_prod_issues_prod_drs_load_balancer_certificate_in_the_recovery_region_and_prod_dr_uses_it(
    shipped_preview: Previews,
) -> None:
    """No certificate is requested by hand ahead of a disaster: prod issues it there on a normal day, DNS-validated
    in its own zone with records for names it validates nowhere else, and prod-dr's HTTPS listener reads its ARN."""
    prod_config, dr_config = stack_config.load_file("prod"), stack_config.load_file("prod-dr")
    assert prod_config.recovery is not None and prod_config.edge is not None
    assert dr_config.containers.load_balancer.certificate_from == "organization/aws-platform/prod"
    prod = shipped_preview("prod")
    providers = {r["urn"]: r["inputs"].get("region") for r in prod.resources("pulumi:providers:aws")}
    certificate = prod.one("aws:acm/certificate:Certificate", "recovery-alb-certificate")
    validation = prod.one("aws:acm/certificateValidation:CertificateValidation", "recovery-alb-certificate")
    assert providers[certificate["provider"]] == providers[validation["provider"]] == DR_REGION == dr_config.region
    names = [certificate["inputs"]["domainName"], *certificate["inputs"].get("subjectAlternativeNames", [])]
    assert names == prod_config.recovery.load_balancer_domain_names
    assert certificate["protect"] and validation["inputs"]["certificateArn"] == certificate["arn"]
    # ACM gives one account one validation record per name in every region: prod writes it once, for new names only.
    others = [c for c in prod.resources("aws:acm/certificate:Certificate") if c["urn"] != certificate["urn"]]
    assert not set(names) & {
        n for c in others for n in [c["inputs"]["domainName"], *c["inputs"].get("subjectAlternativeNames", [])]
    }
    records = {
        r["inputs"]["name"].rstrip(".")
        for r in prod.resources("aws:route53/record:Record")
        if r["inputs"].get("zoneId") == prod_config.edge.hosted_zone_id
    }
    assert set(validation["inputs"]["validationRecordFqdns"]) <= records
    assert prod.snapshot["outputs"]["recovery"]["load_balancer_certificate_arn"] == certificate["arn"]
    listener = shipped_preview("prod-dr").one("aws:lb/listener:Listener", "https")
    assert listener["inputs"]["certificateArn"] == certificate["arn"]


# --- the day eu-west-1 is gone (preview/region_loss.py) ------------------------------------------------------------

LOST = "eu-west-1"


def test_prod_dr_previews_green_with_prods_region_lost_and_touches_nothing_there(tmp_path: pathlib.Path) -> None:
    result = run_preview("prod-dr", tmp_path, "--world", "region-lost", "--lost-region", LOST)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "policy pack: no violations" in result.stdout
    snapshot = result.snapshot
    assert snapshot["world"]["mode"] == "region-lost"
    loss = region_loss.RegionLoss(LOST)
    assert not [r["name"] for r in snapshot["resources"] if not r["type"].startswith("aws:iam/") and loss.named_in(r)]
    assert not [i["token"] for i in snapshot["invokes"] if loss.named_in(i)]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        # Before this issue: prod-dr's state, and the org's and prod's it reads, in the bucket of eu-west-1.
        (
            {"aws-platform:stateBackend": {"url": "s3://org-prod-pulumi-state-111122223333-eu-west-1"}},
            "the state backend s3://org-prod-pulumi-state-111122223333-eu-west-1 is in eu-west-1, which is unreachable",
        ),
        # ...and its documents from a snapshot ARN someone made in prod's region.
        (
            {
                "aws-platform:documentStore": {
                    "phases": [{"phase": "documentdb", "since": "2025-11-03"}],
                    "documentdb": {
                        "instanceClass": "db.r6g.2xlarge",
                        "instanceCount": 3,
                        "restoreFromSnapshot": "arn:aws:rds:eu-west-1:190910285287:cluster-snapshot:shop-prod-latest",
                    },
                }
            },
            "cluster-snapshot:shop-prod-latest, in eu-west-1, which is unreachable",
        ),
    ],
)
def test_the_region_lost_world_fails_the_old_design(
    tmp_path: pathlib.Path, stack_yaml: StackYaml, change: dict, refusal: str
) -> None:
    path = stack_yaml("prod-dr", change)
    result = run_preview("prod-dr", tmp_path, "--config", str(path), "--no-policy", "--world", "region-lost")
    assert result.exit_code == 3, result.stdout
    assert refusal in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize(
    ("section", "path", "key"),
    [
        ("aws-platform:containers", ("loadBalancer", "certificateFrom"), "containers.loadBalancer.certificateFrom"),
        (
            "aws-platform:documentStore",
            ("documentdb", "restoreLatestCopyOf"),
            "documentStore.documentdb.restoreLatestCopyOf",
        ),
    ],
)
def test_a_source_that_keeps_nothing_in_this_region_stops_the_preview_naming_the_key(
    tmp_path: pathlib.Path, stack_yaml: StackYaml, section: str, path: tuple[str, str], key: str
) -> None:
    """staging has no aws-platform:recovery: its 'recovery' output is absent, whichever of the two readers asks."""
    value = load_stack_yaml("prod-dr")["config"][section]
    value[path[0]][path[1]] = "organization/aws-platform/staging"
    result = run_preview("prod-dr", tmp_path, "--config", str(stack_yaml("prod-dr", {section: value})), "--no-policy")
    assert result.exit_code == 3, result.stdout + result.stderr[-2000:]
    assert f"aws-platform:{key}: organization/aws-platform/staging" in result.stderr, result.stderr[-2000:]
    assert f"in {DR_REGION} (its 'recovery' output is None" in result.stderr


def test_a_stack_suffix_must_fit_into_names(stack_yaml: StackYaml) -> None:
    with pytest.raises(stack_config.ConfigError) as err:
        stack_config.load_file("prod-Disaster_Site", stack_yaml("prod-dr", name="prod-Disaster_Site"))
    assert any(p.key == "stack" and "is not 1-8 lowercase letters or digits" in p.message for p in err.value.problems)


# --- the edge failover and its runbook (docs/recovery.md) ---------------------------------------------------------

RECORD = "aws:route53/record:Record"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


def edge_of(stack: str) -> EdgeConfig:
    edge = stack_config.load_file(stack).edge
    assert edge is not None, stack
    return edge


def runbook() -> str:
    text = (ROOT / "docs" / "recovery.md").read_text()
    start = text.index("## Rebuild in another region")
    return text[start : text.index("\n## ", start + 1)]


def runbook_commands() -> list[list[str]]:
    spans = re.findall(r"`([^`]+)`", runbook())
    return [shlex.split(span) for span in spans if span.split(" ", 1)[0] in ("aws", "pulumi", "make")]


def option(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def commands(*prefix: str) -> list[list[str]]:
    found = [c for c in runbook_commands() if tuple(c[: len(prefix)]) == prefix]
    assert found, f"the runbook has no `{' '.join(prefix)}`"
    return found


def test_the_runbook_names_what_the_configs_and_the_snapshot_expect(shipped_preview: Previews) -> None:
    """Every parameter, snapshot, certificate, stack, output, alias and zone the runbook names is the one the shipped
    configs and the prod-dr preview expect: the next rename breaks this test, not the day of the disaster."""
    dr, prod = stack_config.load_file("prod-dr"), stack_config.load_file("prod")
    assert dr.edge is not None and prod.edge is not None and dr.document_store is not None
    preview = shipped_preview("prod-dr")
    outputs = preview.snapshot["outputs"]

    # Nothing is done ahead of a disaster by hand, and no command needs the lost region.
    assert "ahead of a disaster" not in runbook()
    for command in runbook_commands():
        for name in ("--region", "--source-region"):
            assert option(command, name) in (None, dr.region, "us-east-1"), command
        assert not any(prod.region in part for part in command if part.startswith("s3://")), command
    assert dr.state_backend is not None
    assert dr.state_backend.url in {c[2] for c in commands("pulumi", "login") if len(c) > 2}

    # The load balancer's certificate is prod's, issued in this region by code: the runbook only checks it is there.
    assert dr.containers.load_balancer.certificate_arn is None
    assert prod.recovery is not None and prod.recovery.load_balancer_domain_names
    checks = commands("aws", "acm", "list-certificates")
    assert checks and all(option(check, "--region") == dr.region for check in checks)
    assert all(f"`{name}`" in runbook() for name in prod.recovery.load_balancer_domain_names)

    assert {c[2] for c in commands("make", "preview")} == {"STACK=prod-dr"}
    assert ["make", "preview", "STACK=prod-dr", "WORLD=region-lost", f"LOST_REGION={prod.region}"] in runbook_commands()
    stacks = {option(c, "-s") for c in commands("pulumi")} - {None}  # `pulumi login` names no stack
    assert "prod-dr" in stacks and all((ROOT / "environments" / f"Pulumi.{s}.yaml").exists() for s in stacks), stacks
    assert ["pulumi", "up", "-s", "prod-dr"] in runbook_commands()
    for command in commands("pulumi", "stack", "output"):
        assert option(command, "-s") == "prod-dr" and command[3] in outputs, command

    # The names moved are prod's aliases, the ones prod-dr may take over, on its certificate, with its TXT records.
    moved = [str(option(c, "--alias")) for c in commands("aws", "cloudfront", "associate-alias")]
    assert sorted(moved) == sorted(dr.edge.failover_domain_names) == sorted(prod.edge.domain_names)
    (certificate,) = preview.resources("aws:acm/certificate:Certificate")
    covered = {certificate["inputs"]["domainName"], *certificate["inputs"].get("subjectAlternativeNames", [])}
    txt = {
        r["inputs"]["name"]: r["inputs"]["records"] for r in preview.resources(RECORD) if r["inputs"]["type"] == "TXT"
    }
    for name in moved:
        assert name in covered, f"CloudFront moves {name} only to a distribution whose certificate covers it"
        assert txt[f"_{name}"] == [outputs["spa_domain_name"]], f"associate-alias checks _{name}"
    for command in commands("aws", "cloudfront", "update-domain-association"):
        assert option(command, "--domain") in prod.edge.domain_names

    (dns,) = commands("aws", "route53", "change-resource-record-sets")
    assert option(dns, "--hosted-zone-id") == dr.edge.hosted_zone_id == prod.edge.hosted_zone_id
    changes = outputs["failover_dns_changes"]["Changes"]
    assert sorted((c["ResourceRecordSet"]["Name"], c["ResourceRecordSet"]["Type"]) for c in changes) == sorted(
        (name, kind) for name in moved for kind in ("A", "AAAA")
    )
    assert {c["ResourceRecordSet"]["AliasTarget"]["DNSName"] for c in changes} == {outputs["spa_domain_name"]}

    # Config keys the runbook tells you to read or set exist in prod-dr's file; names it quotes are the stack's.
    config = load_stack_yaml("prod-dr")["config"]
    for key in re.findall(r"`(aws-platform:[A-Za-z]+(?:\.[A-Za-z]+)+)`", runbook()):
        head, *path = key.split(".")
        value = config[head]
        for part in path:
            assert isinstance(value, dict) and part in value, f"{key} is not in environments/Pulumi.prod-dr.yaml"
            value = value[part]
    quoted = set(re.findall(r"`(shop-prod-dr-[a-z-]+)`", runbook()))
    assert quoted and quoted <= set(json.dumps(outputs).replace('"', " ").split()), quoted


def test_prod_dr_takes_over_no_dns_record_prod_writes(shipped_preview: Previews) -> None:
    """One record, one stack: prod-dr's A/AAAA and validation records are its own names' only, or destroying it would
    delete what prod serves and renews its certificate with."""

    def records(stack: str) -> set[tuple[str, str]]:
        return {
            (r["inputs"]["name"].rstrip("."), r["inputs"]["type"]) for r in shipped_preview(stack).resources(RECORD)
        }

    prod, dr = records("prod"), records("prod-dr")
    assert prod & dr == set()
    prod_names = set(edge_of("prod").domain_names)
    assert not {name for name, kind in dr if kind in ("A", "AAAA") and name in prod_names}
    validated = {name.split(".", 1)[1] for name, kind in dr if kind == "CNAME" and name.startswith("_")}
    assert validated and not validated & prod_names


def test_the_dr_renderer_renders_prods_names_it_may_take_over(shipped_preview: Previews) -> None:
    (renderer,) = [
        f for f in shipped_preview("prod-dr").resources("aws:lambda/function:Function") if f["name"] == "renderer"
    ]
    origins = renderer["inputs"]["environment"]["variables"]["SITE_ORIGINS"].split(",")
    assert {f"https://{name}" for name in edge_of("prod").domain_names} <= set(origins)


def test_the_dr_distribution_keeps_the_moved_names_once_the_failover_is_recorded(
    shipped_preview: Previews, tmp_path: pathlib.Path
) -> None:
    """Before the move its aliases are its own (prod's distribution holds the rest); after `failoverActive: true` an
    `up` during the outage must not take shop.example.com away again."""
    (standby,) = shipped_preview("prod-dr").resources(DISTRIBUTION)
    assert standby["inputs"]["aliases"] == edge_of("prod-dr").domain_names
    document = load_stack_yaml("prod-dr")
    document["config"]["aws-platform:edge"]["failoverActive"] = True
    path = tmp_path / "Pulumi.prod-dr.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = run_preview("prod-dr", tmp_path, "--config", str(path), "--no-policy")
    assert result.exit_code == 0, result.stderr
    (active,) = result.resources(DISTRIBUTION)
    edge = document["config"]["aws-platform:edge"]
    assert active["inputs"]["aliases"] == edge["domainNames"] + edge["failoverDomainNames"]
