"""What a stack keeps in its recovery region, continuously and by code (docs/recovery.md).

you-are-not-saved-by-iac.md: what you cannot redeploy, you do not have. A recovery stack (prod-dr) must find
in its own region everything its source ran: the images (ECR replication), the documents (AWS Backup copies into
a vault there), the parameters its services read (written there by the source's stack). The source declares it;
the recovery stack reads it from there, never from the region it stands in for.
"""

from __future__ import annotations

from dataclasses import dataclass

from stack_config.aws_values import region_problem
from stack_config.parsing import setting


@dataclass(frozen=True)
class DocumentBackupConfig:
    """AWS Backup of the DocumentDB cluster, copied into the recovery region's vault."""

    every_hours: int = setting(
        1,
        choices=(1, 2, 4, 6, 12, 24),
        doc="hourly, AWS Backup's shortest schedule for DocumentDB: the recovery point in the recovery region",
    )
    keep_days: int = setting(35, min=7, max=3650, doc="five weeks of recovery points in both regions")
    lock_days: int = setting(
        7,
        min=1,
        max=36500,
        doc="vault lock: no copy younger than a week can be deleted, by anyone (a compromised account included)",
    )


@dataclass(frozen=True)
class RecoveryConfig:
    region: str = setting(check=region_problem, doc="where the recovery stack runs: copies go there")
    document_backup: DocumentBackupConfig = setting(default_factory=DocumentBackupConfig)
    load_balancer_domain_names: list[str] = setting(
        default_factory=list,
        each={"pattern": r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", "what": "a domain name"},
        doc="the recovery stack's load balancer certificate, issued there ahead of the day, DNS-validated in this "
        "stack's hostedZoneId: no certificate to request by hand before a disaster",
    )
