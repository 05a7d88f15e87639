"""Detection, organization-wide, administered from the audit account (never from the management account).

Issue 29: no account ran GuardDuty, Security Hub, AWS Config or IAM Access Analyzer, so nothing would have seen
a leaked key being used, a bucket made public or a role trusting a stranger. Control Tower's and the Landing Zone
Accelerator's baselines delegate each service to the audit account and enable it for every member, in every
allowed region; so does this component:

- **GuardDuty**: the audit account is the delegated administrator in every allowed region; every member, present
  and future, is auto-enabled (``ALL``) with the protection plans config states; the management account runs its
  own detector (it is a member of the administrator's organization too).
- **Security Hub**: delegated likewise; central configuration from the home region, a configuration policy with
  AWS Foundational Security Best Practices and CIS associated with the root (every account, every linked region),
  and a finding aggregator that links the other allowed regions.
- **AWS Config**: the audit account is the delegated administrator and holds the organization aggregator.
- **IAM Access Analyzer**: an analyzer whose zone of trust is the organization, in every allowed region.
- **Findings reach people**: high and critical findings (GuardDuty's arrive through Security Hub from every region)
  go through EventBridge to an alert topic with the subscriptions config names (``components/alerts.py``).

Day zero, in the order AWS requires (each is a dependency, checked by ``preview/ordering.py``): trusted access is
enabled by the organization before any delegation; the administrator's own detector and hub exist before it is
delegated (delegating first makes the service create them itself, and the next ``up`` then fails on "already
exists"); delegation is registered from the management account before the administrator configures the
organization; the finding aggregator exists before central configuration is switched on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alerts import Alerts, AlertsArgs
from foundation.iam import assume_role_policy
from foundation.identity import StackIdentity
from stack_config.baseline import SECURITY_HUB_STANDARDS, BaselineConfig
from stack_config.services import AlertsConfig

CONFIG_ORGANIZATION_ROLE = "arn:aws:iam::aws:policy/service-role/AWSConfigRoleForOrganizations"
# Runtime Monitoring manages its agents through these (GuardDuty's API names).
RUNTIME_AGENTS = ("EKS_ADDON_MANAGEMENT", "ECS_FARGATE_AGENT_MANAGEMENT", "EC2_AGENT_MANAGEMENT")
FINDINGS_SEVERITIES = ("HIGH", "CRITICAL")


def findings_pattern() -> str:
    """Security Hub's imported findings (GuardDuty's among them, aggregated from every linked region), high or
    critical, new and active: what a person must look at today."""
    return json.dumps(
        {
            "source": ["aws.securityhub"],
            "detail-type": ["Security Hub Findings - Imported"],
            "detail": {
                "findings": {
                    "Severity": {"Label": list(FINDINGS_SEVERITIES)},
                    "Workflow": {"Status": ["NEW"]},
                    "RecordState": ["ACTIVE"],
                }
            },
        },
        sort_keys=True,
    )


def guardduty_pattern() -> str:
    """GuardDuty's own high and critical findings (severity 7 and above) in the home region, without Security
    Hub's delay."""
    return json.dumps(
        {
            "source": ["aws.guardduty"],
            "detail-type": ["GuardDuty Finding"],
            "detail": {"severity": [{"numeric": [">=", 7]}]},
        },
        sort_keys=True,
    )


def standard_arns(standards: Sequence[str], region: str) -> list[str]:
    return [f"arn:aws:securityhub:{region}::{SECURITY_HUB_STANDARDS[s]}" for s in standards]


@dataclass(frozen=True)
class SecurityServicesArgs:
    identity: StackIdentity
    config: BaselineConfig
    regions: Sequence[str]  # every allowed region
    home_region: str
    audit_account_id: pulumi.Input[str]
    root_id: pulumi.Input[str]
    trusted_access: pulumi.Resource  # the organization: trusted access for every delegated service
    management: aws.Provider  # the management account
    audit: aws.Provider  # the audit account (the delegated administrator)


class SecurityServices(pulumi.ComponentResource):
    """GuardDuty, Security Hub, Config's aggregator and Access Analyzer delegated to the audit account."""

    alerts_topic_arn: pulumi.Output[str]
    delegations: list[pulumi.Resource]
    analyzer_name: str

    def __init__(self, name: str, args: SecurityServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:organization:SecurityServices", name, None, opts)
        ident, cfg, home = args.identity, args.config, args.home_region

        def in_management(*after: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=args.management, depends_on=list(after))

        def in_audit(*after: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=args.audit, depends_on=list(after))

        org = args.trusted_access
        delegated: dict[str, pulumi.Resource] = {}
        for service in ("config.amazonaws.com", "access-analyzer.amazonaws.com"):
            delegated[service] = aws.organizations.DelegatedAdministrator(
                f"delegate-{service.split('.')[0]}",
                account_id=args.audit_account_id,
                service_principal=service,
                opts=in_management(org),
            )
        hub_admins: list[pulumi.Resource] = []
        audit_hubs: list[pulumi.Resource] = []
        self.analyzer_name = ident.name("aws:accessanalyzer/analyzer:Analyzer", "organization")
        for region in args.regions:
            # GuardDuty: the administrator's detector first, then delegation, then the organization's settings.
            own = aws.guardduty.Detector(
                f"guardduty-management-{region}", region=region, enable=True, opts=in_management()
            )
            admin_detector = aws.guardduty.Detector(
                f"guardduty-audit-{region}", region=region, enable=True, opts=in_audit()
            )
            guardduty_admin = aws.guardduty.OrganizationAdminAccount(
                f"guardduty-admin-{region}",
                region=region,
                admin_account_id=args.audit_account_id,
                opts=in_management(org, own, admin_detector),
            )
            aws.guardduty.OrganizationConfiguration(
                f"guardduty-organization-{region}",
                region=region,
                detector_id=admin_detector.id,
                auto_enable_organization_members="ALL",
                opts=in_audit(guardduty_admin),
            )
            for feature in cfg.guardduty_features:
                aws.guardduty.OrganizationConfigurationFeature(
                    f"guardduty-{feature.lower().replace('_', '-')}-{region}",
                    region=region,
                    detector_id=admin_detector.id,
                    name=feature,
                    auto_enable="ALL",
                    additional_configurations=[
                        aws.guardduty.OrganizationConfigurationFeatureAdditionalConfigurationArgs(
                            name=agent, auto_enable="ALL"
                        )
                        for agent in RUNTIME_AGENTS
                    ]
                    if feature == "RUNTIME_MONITORING"
                    else None,
                    opts=in_audit(guardduty_admin),
                )
            # Security Hub: both accounts' hubs without AWS's default standards (the configuration policy sets them).
            hub_settings = {"enable_default_standards": False, "control_finding_generator": "SECURITY_CONTROL"}
            management_hub = aws.securityhub.Account(
                f"securityhub-management-{region}", region=region, **hub_settings, opts=in_management()
            )
            audit_hub = aws.securityhub.Account(
                f"securityhub-audit-{region}", region=region, **hub_settings, opts=in_audit()
            )
            audit_hubs.append(audit_hub)
            hub_admins.append(
                aws.securityhub.OrganizationAdminAccount(
                    f"securityhub-admin-{region}",
                    region=region,
                    admin_account_id=args.audit_account_id,
                    opts=in_management(org, management_hub, audit_hub),
                )
            )
            aws.accessanalyzer.Analyzer(
                f"access-analyzer-{region}",
                region=region,
                analyzer_name=self.analyzer_name,
                type="ORGANIZATION",
                opts=in_audit(delegated["access-analyzer.amazonaws.com"]),
            )
        # Central configuration: from the home region, once the aggregator links the others.
        aggregator = aws.securityhub.FindingAggregator(
            "securityhub-aggregator",
            region=home,
            linking_mode="SPECIFIED_REGIONS",
            specified_regions=[r for r in args.regions if r != home],
            opts=in_audit(*hub_admins, *audit_hubs),
        )
        central = aws.securityhub.OrganizationConfiguration(
            "securityhub-organization",
            region=home,
            auto_enable=False,
            auto_enable_standards="NONE",
            organization_configuration=aws.securityhub.OrganizationConfigurationOrganizationConfigurationArgs(
                configuration_type="CENTRAL"
            ),
            opts=in_audit(aggregator),
        )
        policy = aws.securityhub.ConfigurationPolicy(
            "securityhub-baseline",
            region=home,
            name=ident.name("aws:securityhub/configurationPolicy:ConfigurationPolicy", "baseline"),
            description=f"Security Hub in every account and region: {', '.join(cfg.security_hub_standards)}",
            configuration_policy=aws.securityhub.ConfigurationPolicyConfigurationPolicyArgs(
                service_enabled=True,
                enabled_standard_arns=standard_arns(cfg.security_hub_standards, home),
                security_controls_configuration=aws.securityhub.ConfigurationPolicyConfigurationPolicySecurityControlsConfigurationArgs(
                    disabled_control_identifiers=[]
                ),
            ),
            opts=in_audit(central),
        )
        aws.securityhub.ConfigurationPolicyAssociation(
            "securityhub-baseline-root", region=home, target_id=args.root_id, policy_id=policy.id, opts=in_audit()
        )
        # Config: the organization aggregator reads every account's recorders through this role.
        config_role = aws.iam.Role(
            "config-aggregator",
            name=ident.name("aws:iam/role:Role", "config-aggregator"),
            assume_role_policy=assume_role_policy("config.amazonaws.com"),
            opts=in_audit(),
        )
        attached = aws.iam.RolePolicyAttachment(
            "config-aggregator", role=config_role.name, policy_arn=CONFIG_ORGANIZATION_ROLE, opts=in_audit()
        )
        aws.cfg.ConfigurationAggregator(
            "config-organization",
            region=home,
            name=ident.name("aws:cfg/configurationAggregator:ConfigurationAggregator", "organization"),
            organization_aggregation_source=aws.cfg.ConfigurationAggregatorOrganizationAggregationSourceArgs(
                role_arn=config_role.arn, regions=list(args.regions)
            ),
            opts=in_audit(delegated["config.amazonaws.com"], attached),
        )
        # Findings to people: the workloads' alerts pattern (a customer key the services may use, email subscribers).
        rules = {
            "securityhub-findings": ("Security Hub high and critical findings, every region", findings_pattern()),
            "guardduty-findings": ("GuardDuty high and critical findings, home region", guardduty_pattern()),
        }
        made = {
            key: aws.cloudwatch.EventRule(
                key,
                region=home,
                name=ident.name("aws:cloudwatch/eventRule:EventRule", key),
                description=description,
                event_pattern=pattern,
                opts=in_audit(),
            )
            for key, (description, pattern) in rules.items()
        }
        alerts = Alerts(
            "security-alerts",
            AlertsArgs(
                ident,
                AlertsConfig(emails=list(cfg.alert_emails)),
                publisher_rule_arns=[rule.arn for rule in made.values()],
                topic_component="security-findings",
            ),
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": args.audit}),
        )
        for key, rule in made.items():
            aws.cloudwatch.EventTarget(key, region=home, rule=rule.name, arn=alerts.topic_arn, opts=in_audit())
        self.alerts_topic_arn = alerts.topic_arn
        self.delegations = [*delegated.values(), *hub_admins]
        self.register_outputs({"alerts_topic_arn": self.alerts_topic_arn})
