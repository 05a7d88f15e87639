"""What the recovery region holds of this stack, continuously and by code: images, documents, parameters.

you-are-not-saved-by-iac.md ("what you cannot redeploy, you do not have"; "historical manual interventions"): prod-dr
used to copy prod's images from eu-west-1 at `up`, restore a snapshot someone had copied by hand under a fixed name,
and read a parameter someone had put there. On the day eu-west-1 is lost none of that can be done any more
(``WORLD=region-lost`` shows it). So the source stack keeps the copies where the recovery stack will look:

- **images**: ECR replication of this stack's repositories into the recovery region, same names, same digests
  (replication copies every push, promotion copies included); the repositories replication creates there get this
  stack's rules through a creation template (immutable tags, scan on push, the same lifecycle);
- **documents**: an AWS Backup plan on the DocumentDB cluster, each recovery point copied into a vault in the
  recovery region (vault lock: no copy younger than ``lockDays`` can be deleted, by anyone);
- **parameters** the services read: written into the recovery region under the same name by every `up`.

Chosen against a DocumentDB global cluster: a secondary cluster of 3 x db.r6g.2xlarge would run all year (about
$2,500/month on-demand in eu-central-1) to win a recovery point of seconds instead of an hour; the backup copy costs
storage only (docs/recovery.md has both figures).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from foundation import iam
from foundation.externals import MissingExternal
from foundation.identity import StackIdentity
from stack_config.recovery import RecoveryConfig

BACKUP_ROLE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
# The vault lock's cooling-off: three days in governance mode to undo a mistake, then compliance mode for good.
LOCK_CHANGEABLE_DAYS = 3


def backup_schedule(every_hours: int) -> str:
    """AWS Backup's cron (UTC): on the hour, every ``every_hours`` hours."""
    hours = "*" if every_hours == 1 else f"0/{every_hours}"
    return f"cron(0 {hours} ? * * *)"


def recovery_output(
    source: str, region: str, key: str, *, reference_name: str, config_key: str, what: str, allowed: str
) -> pulumi.Output[str]:
    """``key`` of the 'recovery' output of the stack ``source`` (what its RecoveryCopies keep in ``region``; exported
    by __main__.py), read from that stack's state, so no ARN is edited by hand and no endpoint of the source's region
    is called. A source that keeps no such thing there stops the preview (exit 3) naming ``config_key``."""

    def value(recovery: dict[str, Any] | None) -> str:
        if not recovery or recovery.get("region") != region or not recovery.get(key):
            raise MissingExternal(
                f"{config_key}: {source} {what} in {region} (its 'recovery' output is {recovery!r}; allowed: {allowed})"
            )
        return str(recovery[key])

    return pulumi.StackReference(reference_name, stack_name=source).get_output("recovery").apply(value)


@dataclass(frozen=True)
class RecoveryCopiesArgs:
    identity: StackIdentity
    config: RecoveryConfig
    account_id: pulumi.Input[str] | None
    repository_names: Sequence[pulumi.Input[str]] = ()  # what ECR replicates
    lifecycle_policy: str | None = None  # the source repositories' lifecycle, for the replicas
    documentdb_cluster_arn: pulumi.Input[str] | None = None
    parameters: Sequence[str] = ()  # SSM parameter names the services read
    hosted_zone_id: str | None = None  # this stack's zone: the recovery certificate's validation records
    tags: Mapping[str, str] = field(default_factory=dict)


class RecoveryCopies(pulumi.ComponentResource):
    """Copies of this stack's images, documents and parameters in its recovery region (docs/recovery.md)."""

    document_vault_arn: pulumi.Output[str] | None
    load_balancer_certificate_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: RecoveryCopiesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:recovery:RecoveryCopies", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)
        there = aws.Provider(
            f"{name}-{cfg.region}",
            region=cfg.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=ident.tags),
            allowed_account_ids=[args.account_id] if args.account_id else None,
            opts=child,
        )
        in_recovery = pulumi.ResourceOptions(parent=self, provider=there)
        keep = pulumi.ResourceOptions(parent=self, provider=there, protect=ident.protected, retain_on_delete=True)

        if args.repository_names:
            account = (
                args.account_id or aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
            )
            aws.ecr.ReplicationConfiguration(
                f"{name}-images",
                replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(
                    rules=[
                        aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(
                            destinations=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                                    region=cfg.region, registry_id=account
                                )
                            ],
                            repository_filters=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs(
                                    filter=repository, filter_type="PREFIX_MATCH"
                                )
                                for repository in args.repository_names
                            ],
                        )
                    ]
                ),
                opts=child,
            )
            aws.ecr.RepositoryCreationTemplate(
                f"{name}-images",
                prefix="ROOT",  # every repository replication creates in this registry and region: only ours do
                applied_fors=["REPLICATION"],
                description=f"replicas of {ident.label('images')}: immutable, scanned, the same lifecycle",
                image_tag_mutability="IMMUTABLE",
                lifecycle_policy=args.lifecycle_policy,
                encryption_configurations=[
                    aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(encryption_type="AES256")
                ],
                resource_tags=dict(ident.tags),
                opts=in_recovery,
            )

        self.document_vault_arn = None
        if args.documentdb_cluster_arn is not None:
            self.document_vault_arn = self._document_backup(name, args, args.documentdb_cluster_arn, child, keep)

        for index, parameter in enumerate(args.parameters):
            value = aws.ssm.get_parameter_output(
                name=parameter, with_decryption=True, opts=pulumi.InvokeOptions(parent=self)
            )
            aws.ssm.Parameter(
                f"{name}-parameter-{index}",
                name=parameter,
                type="SecureString",
                value=pulumi.Output.secret(value.value),
                description=f"copy of {parameter} from {ident.region}, written by every up of {ident.stack}",
                opts=in_recovery,
            )
        self.load_balancer_certificate_arn = None
        if cfg.load_balancer_domain_names:
            self.load_balancer_certificate_arn = self._certificate(name, args, child, in_recovery)
        self.register_outputs(
            {
                "document_vault_arn": self.document_vault_arn,
                "load_balancer_certificate_arn": self.load_balancer_certificate_arn,
            }
        )

    def _certificate(
        self, name: str, args: RecoveryCopiesArgs, child: pulumi.ResourceOptions, in_recovery: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """The recovery load balancer's certificate, issued in the recovery region on a normal day: ACM
        certificates are regional, and on the day this stack's region (and its certificate) is gone.

        The validation records go in this stack's zone (Route 53 is global). ACM gives one account the same
        record for a name in every region, so these names must be ones this stack validates nowhere else
        (docs/recovery.md): a second writer of the same record would fight over it.
        """
        names = args.config.load_balancer_domain_names
        if args.hosted_zone_id is None:
            raise ValueError(
                "aws-platform:recovery.loadBalancerDomainNames: "
                f"{names!r} need a zone for their validation records (allowed: with aws-platform:edge.hostedZoneId set)"
            )
        certificate = aws.acm.Certificate(
            f"{name}-alb-certificate",
            domain_name=names[0],
            subject_alternative_names=names[1:] or None,
            validation_method="DNS",
            opts=pulumi.ResourceOptions.merge(in_recovery, pulumi.ResourceOptions(protect=args.identity.protected)),
        )
        records = [
            aws.route53.Record(
                f"{name}-alb-certificate-validation-{index}",
                zone_id=args.hosted_zone_id,
                name=certificate.domain_validation_options[index].resource_record_name,
                type=certificate.domain_validation_options[index].resource_record_type,
                records=[certificate.domain_validation_options[index].resource_record_value],
                ttl=300,
                opts=child,
            )
            for index in range(len(names))
        ]
        validation = aws.acm.CertificateValidation(
            f"{name}-alb-certificate",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn for record in records],
            opts=in_recovery,
        )
        return validation.certificate_arn

    def _document_backup(
        self,
        name: str,
        args: RecoveryCopiesArgs,
        cluster_arn: pulumi.Input[str],
        child: pulumi.ResourceOptions,
        keep: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        ident, backup = args.identity, args.config.document_backup
        vault_key = aws.kms.Key(
            f"{name}-vault",
            description=f"{ident.label('documents-recovery')} backup copies",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=keep,
        )
        vault = aws.backup.Vault(
            f"{name}-documents",
            name=ident.name("aws:backup/vault:Vault", "documents-recovery"),
            kms_key_arn=vault_key.arn,
            force_destroy=False,
            opts=keep,
        )
        aws.backup.VaultLockConfiguration(
            f"{name}-documents",
            backup_vault_name=vault.name,
            min_retention_days=backup.lock_days,
            changeable_for_days=LOCK_CHANGEABLE_DAYS,
            opts=keep,
        )
        source_key = aws.kms.Key(
            f"{name}-vault-source",
            description=f"{ident.label('documents-backup')} recovery points",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self, protect=ident.protected, retain_on_delete=True),
        )
        source = aws.backup.Vault(
            f"{name}-documents-source",
            name=ident.name("aws:backup/vault:Vault", "documents"),
            kms_key_arn=source_key.arn,
            force_destroy=False,
            opts=pulumi.ResourceOptions(parent=self, protect=ident.protected, retain_on_delete=True),
        )
        lifecycle = aws.backup.PlanRuleLifecycleArgs(delete_after=backup.keep_days)
        plan = aws.backup.Plan(
            f"{name}-documents",
            name=ident.name("aws:backup/plan:Plan", "documents"),
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="hourly-with-copy-to-recovery-region",
                    target_vault_name=source.name,
                    schedule=backup_schedule(backup.every_hours),
                    start_window=60,
                    completion_window=180,
                    lifecycle=lifecycle,
                    copy_actions=[
                        aws.backup.PlanRuleCopyActionArgs(
                            destination_vault_arn=vault.arn,
                            lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=backup.keep_days),
                        )
                    ],
                )
            ],
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-backup",
            name=ident.name("aws:iam/role:Role", "documents-backup"),
            description="AWS Backup snapshots DocumentDB and copies it to the recovery region",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "backup.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                sort_keys=True,
            ),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-backup", role=role.name, policy_arn=BACKUP_ROLE_POLICY, opts=child)
        # The copy is re-encrypted with the recovery vault's key: the role must be allowed to use it.
        aws.iam.RolePolicy(
            f"{name}-backup-copy-key",
            role=role.id,
            policy=vault_key.arn.apply(
                lambda arn: iam.document(
                    iam.statement(
                        ["kms:CreateGrant", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                        arn,
                        sid="EncryptCopiesInTheRecoveryVault",
                    )
                )
            ),
            opts=child,
        )
        aws.backup.Selection(
            f"{name}-documents",
            name=ident.name("aws:backup/selection:Selection", "documentdb"),
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[cluster_arn],
            opts=child,
        )
        return vault.arn
