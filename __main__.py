"""The platform, one stack at a time: config in, components wired, outputs exported.

org stack     Organization ─ OUs, accounts, guardrails (SCPs), Identity Center, account bootstrap
environment   Network ─┬─ image repositories ─ ECS cluster + load balancer ─ services ─ alerts
                       ├─ data tier (Valkey, DocumentDB → Atlas), reachable only from the services
                       ├─ CloudFront ─ viewer functions (KeyValueStore) ─ app / country / A-B origins;
                       │               crawlers ─ renderer behind origin access control (+ S3 cache)
                       └─ one dashboard: every component's section
"""

import pulumi

import stack_config
from components.access_logs import AccessLogs, AccessLogsArgs
from components.alerts import Alerts, AlertsArgs
from components.dashboard import Dashboard, DashboardArgs, Section
from components.document_store import DocumentStore, DocumentStoreArgs
from components.ecs_cluster import EcsCluster, EcsClusterArgs
from components.ecs_service import EcsService, EcsServiceArgs
from components.edge_functions import EdgeFunctions, EdgeFunctionsArgs
from components.image_repository import (
    ImageRepository,
    ImageRepositoryArgs,
    lifecycle_policy,
    promoted_image,
    replica_ref,
)
from components.load_balancer import LoadBalancer, LoadBalancerArgs, issued_certificate
from components.network import Network, NetworkArgs
from components.organization import build_org_stack, read_org_account
from components.prerender_renderer import RENDERER_BUILD, PrerenderRenderer, PrerenderRendererArgs
from components.recovery_copies import RecoveryCopies, RecoveryCopiesArgs
from components.spa_distribution import SpaDistribution, SpaDistributionArgs
from components.valkey_cache import ValkeyCache, ValkeyCacheArgs
from components.web_acl import WebAcl, WebAclArgs
from foundation import externals as external_checks
from foundation.providers import create_providers
from foundation.replacement import choose_replacement_order
from stack_config import externals
from stack_config.accounts import named_accounts

# --- config in: a bad value stops here with every problem listed, before anything is registered ----------------
try:
    config = stack_config.load(pulumi.get_stack(), stack_config.engine_values())
except stack_config.ConfigError as err:
    raise pulumi.RunError(str(err)) from None
identity = config.identity
# An environment with orgStack set learns its account from the org stack and refuses to deploy anywhere else.
# Every account config names is the organization's: the org stack's outputs are where that is known.
org_account = (
    read_org_account(config.org_stack, identity, named_accounts(stack_config.engine_values()))
    if config.org_stack
    else None
)
account_id = config.account_id or (org_account.id if org_account else None)
choose_replacement_order()  # named resources: deleteBeforeReplace per type, chosen once (foundation/replacement.py)
providers = create_providers(identity, account_id)
regional = providers.regional_opts
# What the stack takes from outside (declared parameters, pinned images) is there, or nothing is deployed.
external_secret_arns = external_checks.verify(externals.expectations(config), providers.regional)

# --- the management account: the organization instead of a workload ----------------------------------------------
if config.organization is not None:
    for key, value in build_org_stack(identity, config.organization, providers).items():
        pulumi.export(key, value)

# --- an environment ------------------------------------------------------------------------------------------------
else:
    network = Network("network", NetworkArgs(identity, config.network), opts=regional())
    # Each component that has something to show adds its section; the dashboard is assembled at the end.
    dashboard_sections: list[Section] = []
    # Security at the entry points: access logs of the ALB and CloudFront in one private bucket, WAF in front.
    access_logs = AccessLogs("access-logs", AccessLogsArgs(identity), opts=regional())
    ci_role_arn = org_account.deploy_role_arn if org_account else None  # who may push images (CI, nobody else)

    # Containers: a dedicated repository per application, one cluster and load balancer, services that roll back
    # on their own, and an alerts topic that hears about it.
    containers = config.containers
    repositories = containers.image_repositories
    services: dict[str, EcsService] = {}
    images: dict[str, ImageRepository] = {}
    # Services start after the data tier has written their connection secrets, although it is built after them
    # (it admits their security groups and roles): the data tier settles this once its secrets exist.
    secrets_ready, settle_secrets = pulumi.deferred_output()
    # ...and so are their ARNs, which a task definition must name (ECS takes no bare secret name).
    produced_secret_arns, settle_secret_arns = pulumi.deferred_output()
    secret_arns = pulumi.Output.all(external_secret_arns, produced_secret_arns).apply(
        lambda found: {**found[0], **(found[1] or {})}
    )
    cluster = alb = None
    if containers.services:
        cluster = EcsCluster(
            "ecs",
            EcsClusterArgs(identity, containers.cluster, network.vpc_id, network.private_subnet_ids),
            opts=regional(),
        )
        alb = LoadBalancer(
            "alb",
            LoadBalancerArgs(
                identity,
                containers.load_balancer,
                network.vpc_id,
                network.public_subnet_ids,
                access_logs=access_logs,
                web_acl=WebAcl("alb-waf", WebAclArgs(identity, "alb", "REGIONAL"), opts=regional()),
                certificate_arn=issued_certificate(containers.load_balancer.certificate_from, identity.region),
            ),
            opts=regional(),
        )
        pulumi.export("load_balancer_dns_name", alb.dns_name)
    alerts = Alerts(
        "alerts",
        AlertsArgs(identity, containers.alerts, ecs_cluster_arn=cluster.arn if cluster else None),
        opts=regional(),
    )
    # Later stages copy these images (their accounts), and check them first in pull-request previews (their
    # read-only roles): both by the names config gives them, resolved through the org stack.
    later_stage_accounts: pulumi.Input[list[str]] = []
    later_stage_checkers: pulumi.Input[list[str]] = []
    if org_account and repositories.promotion_accounts:
        key = "aws-platform:containers.imageRepositories.promotionAccounts"
        later_stage_accounts = org_account.ids_of(repositories.promotion_accounts, key)
        later_stage_checkers = org_account.read_only_roles_of(repositories.promotion_accounts, key)
    for index, svc in enumerate(containers.services):
        assert cluster is not None and alb is not None  # both exist whenever there are services (above)
        # Build once: a promoted image is the digest the earlier stage ran, copied into this stack's repository.
        promote_key = f"aws-platform:containers.services[{index}].image.promoteFrom"
        promoted = (
            promoted_image(svc.image.promote_from, svc.name, promote_key, identity.region)
            if svc.image.promote_from
            else None
        )
        image = images[svc.name] = ImageRepository(
            f"{svc.name}-images",
            ImageRepositoryArgs(
                identity,
                svc.name,
                repositories,
                build=svc.image.build,
                digest=svc.image.digest,
                promote_from=promoted,
                promote_key=promote_key,
                platform=svc.image.platform,
                account_id=account_id,
                ci_role_arn=ci_role_arn,
                promotion_account_ids=later_stage_accounts,
                promotion_checkers=later_stage_checkers,
            ),
            opts=regional(),
        )
        service = services[svc.name] = EcsService(
            svc.name,
            EcsServiceArgs(
                identity,
                svc,
                cluster_arn=cluster.arn,
                cluster_name=cluster.name,
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                image_ref=image.image_ref,
                repository_arn=image.repository_arn,
                listener_arn=alb.listener_arn,
                alb_security_group_id=alb.security_group_id,
                alb_arn_suffix=alb.arn_suffix,
                alarm_topic_arn=alerts.topic_arn,
                log_retention_days=containers.retention_days(identity.stage),
                ec2_capacity_provider=cluster.ec2_capacity_provider,
                capacity_providers=cluster.capacity_providers,
                secret_arns=secret_arns,
                starts_after=secrets_ready,
            ),
            opts=regional(),
        )
        image.restrict_access([service.execution_role_arn])  # its own execution role pulls; nothing else does
        dashboard_sections.append(service.dashboard)

    # Data tier: reachable only from the services' security groups, authorised by their task roles.
    client_security_groups = [s.security_group_id for s in services.values()]
    client_roles = [s.task_role_arn for s in services.values()]
    connection_ready: list[pulumi.Resource] = []
    connection_arns: dict[str, pulumi.Output[str]] = {}
    if config.cache is not None:
        cache = ValkeyCache(
            "cache",
            ValkeyCacheArgs(
                identity,
                config.cache,
                network.vpc_id,
                network.private_subnet_ids,
                client_security_group_ids=client_security_groups,
                client_role_arns=client_roles,
                alarm_topic_arn=alerts.topic_arn,
            ),
            opts=regional(),
        )
        dashboard_sections.append(cache.dashboard)
        pulumi.export("cache_connection_secret", cache.connection_secret_name)
        connection_ready += cache.connection_ready
        connection_arns[identity.name(externals.SECRET_TYPE, externals.CONTRACT_SECRETS["cache"])] = (
            cache.connection_secret_arn
        )
    documents: DocumentStore | None = None
    if config.document_store is not None:
        # Prod's migration follows staging's: its ledger is read from the stack that rehearsed it.
        rehearsed_in = config.document_store.rehearsed_in
        rehearsal = pulumi.StackReference("rehearsal", stack_name=rehearsed_in) if rehearsed_in else None
        documents = DocumentStore(
            "documents",
            DocumentStoreArgs(
                identity,
                config.document_store,
                network.vpc_id,
                network.private_subnet_ids,
                client_security_group_ids=client_security_groups,
                client_role_arns=client_roles,
                repositories=repositories,
                account_id=account_id,
                ci_role_arn=ci_role_arn,
                sync_cluster_arn=cluster.arn if cluster else None,  # its stopped tasks reach the alerts too
                alarm_topic_arn=alerts.topic_arn,
                alert_emails=containers.alerts.emails,
                rehearsal_ledger=rehearsal.get_output("documents_ledger") if rehearsal else None,
            ),
            opts=regional(),
        )
        dashboard_sections.append(documents.dashboard)
        pulumi.export("documents_phase", documents.phase)
        pulumi.export("documents_ledger", [{"phase": e.phase, "since": e.since} for e in config.document_store.phases])
        pulumi.export("documents_connection_secret", documents.connection_secret_name)
        connection_ready += documents.connection_ready
        connection_arns[identity.name(externals.SECRET_TYPE, externals.CONTRACT_SECRETS["document_store"])] = (
            documents.connection_secret_arn
        )
    # Recovery: what a recovery stack needs is copied into its region by code, continuously (docs/recovery.md).
    documentdb = documents.documentdb if documents is not None else None
    recovery = (
        RecoveryCopies(
            "recovery",
            RecoveryCopiesArgs(
                identity,
                config.recovery,
                account_id,
                repository_names=[images[name].repository_name for name in sorted(images)],
                lifecycle_policy=lifecycle_policy(repositories),
                documentdb_cluster_arn=documentdb.cluster_arn if documentdb else None,
                hosted_zone_id=config.edge.hosted_zone_id if config.edge is not None else None,
                parameters=sorted(
                    {ref.removeprefix("ssm:") for s in containers.services for ref in s.secrets.values()}
                    & {e.ref.removeprefix("ssm:") for e in config.externals if e.ref.startswith("ssm:")}
                ),
            ),
            opts=regional(),
        )
        if config.recovery is not None
        else None
    )
    if recovery is not None and config.recovery is not None:
        pulumi.export(
            "recovery",
            {
                "region": config.recovery.region,
                "documentdb_cluster": documentdb.cluster_identifier if documentdb else None,
                "document_vault_arn": recovery.document_vault_arn,
                "load_balancer_certificate_arn": recovery.load_balancer_certificate_arn,
            },
        )
    settle_secrets(pulumi.Output.from_input(connection_ready))
    settle_secret_arns(pulumi.Output.all(**connection_arns) if connection_arns else pulumi.Output.from_input({}))

    # Edge: CloudFront in front of the app; crawlers routed at the edge to our own renderer.
    if config.edge is not None:
        edge = config.edge
        renderer_image = ImageRepository(
            "prerender-images",
            ImageRepositoryArgs(
                identity,
                "prerender",
                repositories,
                build=None if edge.renderer.image else RENDERER_BUILD,
                digest=edge.renderer.image,
                lambda_compatible=True,
                account_id=account_id,
                ci_role_arn=ci_role_arn,
            ),
            opts=regional(),
        )
        renderer_image.restrict_access([])  # the Lambda service pulls for the function; no role does
        renderer = PrerenderRenderer(
            "prerender",
            PrerenderRendererArgs(
                identity,
                edge.renderer,
                image_uri=renderer_image.image_ref,
                site_origins=edge.site_origins,
                alarm_topic_arn=alerts.topic_arn,
                tracking_parameters=tuple(edge.routing.tracking_parameters),
            ),
            opts=regional(),
        )
        viewer = EdgeFunctions(
            "edge",
            EdgeFunctionsArgs(identity, edge, log_retention_days=edge.renderer.log_retention_days),
            opts=providers.edge_opts(),
        )
        spa = SpaDistribution(
            "spa",
            SpaDistributionArgs(
                identity,
                edge,
                viewer_request_arn=viewer.viewer_request_arn,
                viewer_response_arn=viewer.viewer_response_arn,
                renderer_domain=renderer.domain,
                renderer_origin_access_control_id=renderer.origin_access_control_id,
                certificate_provider=providers.us_east_1,
                alarm_provider=providers.us_east_1,
                alert_emails=list(containers.alerts.emails),
                web_acl_arn=WebAcl(
                    "spa-waf",
                    WebAclArgs(identity, "spa", "CLOUDFRONT", verify_crawlers=True),
                    opts=providers.edge_opts(),
                ).arn,
                access_logs=access_logs,
            ),
            opts=regional(),
        )
        renderer.allow_distribution(spa.arn)  # the renderer answers this distribution and nobody else
        dashboard_sections += [renderer.dashboard, spa.dashboard]
        pulumi.export("spa_domain_name", spa.domain_name)
        pulumi.export("spa_distribution_id", spa.distribution_id)  # what a failover moves names to (docs/recovery.md)
        if spa.failover_dns_changes is not None:
            pulumi.export("failover_dns_changes", spa.failover_dns_changes)
        pulumi.export("prerender_cache_bucket", renderer.cache_bucket)

    dashboard = Dashboard("dashboard", DashboardArgs(identity, dashboard_sections), opts=regional())

    # --- outputs: what other stacks and people read ------------------------------------------------------------
    pulumi.export("dashboard_url", dashboard.url)
    pulumi.export("stage", identity.stage)
    pulumi.export("usage", identity.usage)  # tools/expire_stacks.py destroys EPHEMERAL stacks after 24 hours
    pulumi.export("vpc_id", network.vpc_id)
    pulumi.export("private_subnet_ids", network.private_subnet_ids)
    pulumi.export("public_subnet_ids", network.public_subnet_ids)
    pulumi.export("alerts_topic_arn", alerts.topic_arn)
    pulumi.export(
        "services",
        {
            name: {
                "service_name": svc.service_name,
                "image": images[name].image_ref,
                # The same digest in each recovery region, replicated by ECR: what a recovery stack runs.
                "replicas": {
                    config.recovery.region: images[name].image_ref.apply(
                        lambda ref, region=config.recovery.region: replica_ref(ref, region)
                    )
                }
                if config.recovery is not None
                else {},
                "repository_url": images[name].repository_url,
                "log_group": svc.log_group_name,
                "security_group_id": svc.security_group_id,
                "task_role_arn": svc.task_role_arn,
                # What tools/deploy_gate.py proves is running after each `pulumi up`.
                "cluster_name": cluster.name if cluster else None,
                "task_definition_arn": svc.task_definition_arn,
            }
            for name, svc in services.items()
        },
    )
