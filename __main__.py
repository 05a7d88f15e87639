"""The platform, one stack at a time: config in, components wired, outputs exported."""
import pulumi

import stack_config
from components.alerts import Alerts, AlertsArgs
from components.ecs_cluster import EcsCluster, EcsClusterArgs
from components.ecs_service import EcsService, EcsServiceArgs
from components.edge_router import EdgeRouter, EdgeRouterArgs
from components.image_repository import ImageRepository, ImageRepositoryArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.network import Network, NetworkArgs
from components.prerender_renderer import RENDERER_BUILD, PrerenderRenderer, PrerenderRendererArgs
from components.spa_distribution import SpaDistribution, SpaDistributionArgs, spa_fallback
from components.organization import build_org_stack, read_org_account
from foundation.providers import create_providers

# Config first: a bad value stops here with every problem listed, before anything is registered.
try:
    config = stack_config.load(pulumi.get_stack(), stack_config.engine_values())
except stack_config.ConfigError as err:
    raise pulumi.RunError(str(err)) from None
identity = config.identity
# An environment with orgStack set learns its account from the org stack and refuses to deploy anywhere else.
org_account = read_org_account(config.org_stack, identity) if config.org_stack else None
providers = create_providers(identity, config.account_id or (org_account.id if org_account else None))

if config.organization is not None:
    # The management account's `org` stack builds the organization instead of a workload.
    for key, value in build_org_stack(identity, config.organization, providers).items():
        pulumi.export(key, value)
else:
    network = Network("network", NetworkArgs(identity=identity, config=config.network),
                      opts=providers.regional_opts())

    # Containers: a dedicated image repository per service, one cluster and load balancer, services that roll back
    # on their own, and an alerts topic that hears about it. `services` is what other tiers grant access to.
    containers = config.containers
    cluster = EcsCluster("ecs", EcsClusterArgs(identity, containers.cluster, network.vpc_id, network.private_subnet_ids),
                         opts=providers.regional_opts()) if containers.services else None
    alerts = Alerts("alerts", AlertsArgs(identity, containers.alerts, ecs_cluster_arn=cluster.arn if cluster else None),
                    opts=providers.regional_opts())
    alb = LoadBalancer("alb", LoadBalancerArgs(identity, containers.load_balancer, network.vpc_id,
                                               network.public_subnet_ids),
                       opts=providers.regional_opts()) if containers.services else None
    services: dict[str, EcsService] = {}
    images: dict[str, ImageRepository] = {}
    for svc in containers.services:
        images[svc.name] = ImageRepository(f"{svc.name}-images", ImageRepositoryArgs(
            identity, svc.name, containers.image_repositories, build=svc.image.build, digest=svc.image.digest,
            platform=svc.image.platform, account_id=config.account_id), opts=providers.regional_opts())
        services[svc.name] = EcsService(svc.name, EcsServiceArgs(
            identity, svc, cluster_arn=cluster.arn, cluster_name=cluster.name, vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids, image_ref=images[svc.name].image_ref,
            repository_arn=images[svc.name].repository_arn, listener_arn=alb.listener_arn,
            alb_security_group_id=alb.security_group_id, alb_arn_suffix=alb.arn_suffix,
            alarm_topic_arn=alerts.topic_arn, log_retention_days=containers.retention_days(identity.stage),
            ec2_capacity_provider=cluster.ec2_capacity_provider), opts=providers.regional_opts())
        images[svc.name].restrict_access([services[svc.name].execution_role_arn])

    pulumi.export("stage", identity.stage)
    pulumi.export("vpc_id", network.vpc_id)
    pulumi.export("private_subnet_ids", network.private_subnet_ids)
    pulumi.export("public_subnet_ids", network.public_subnet_ids)
    pulumi.export("alerts_topic_arn", alerts.topic_arn)
    if alb is not None:
        pulumi.export("load_balancer_dns_name", alb.dns_name)
    pulumi.export("services", {name: {"service_name": svc.service_name, "image": images[name].image_ref,
                                      "repository_url": images[name].repository_url, "log_group": svc.log_group_name,
                                      "security_group_id": svc.security_group_id, "task_role_arn": svc.task_role_arn}
                               for name, svc in services.items()})

    # --- edge (issue 4): CloudFront for the app; crawlers routed at the edge to our own renderer -------------
    if config.edge is not None:
        edge_cfg = config.edge
        renderer_images = ImageRepository("prerender-images", ImageRepositoryArgs(
            identity, "prerender", containers.image_repositories,
            build=None if edge_cfg.renderer.image else RENDERER_BUILD, digest=edge_cfg.renderer.image,
            lambda_compatible=True, account_id=config.account_id), opts=providers.regional_opts())
        renderer_images.restrict_access([])  # Lambda's service pulls; no role does
        renderer = PrerenderRenderer("prerender", PrerenderRendererArgs(
            identity, edge_cfg.renderer, image_uri=renderer_images.image_ref, site_origins=edge_cfg.site_origins),
            opts=providers.regional_opts())
        edge_router = EdgeRouter("edge-router", EdgeRouterArgs(
            identity, renderer_domain=renderer.domain, renderer_token=renderer.token,
            spa_fallback=spa_fallback(edge_cfg)), opts=providers.edge_opts())
        spa = SpaDistribution("spa", SpaDistributionArgs(
            identity, edge_cfg, edge_router_arn=edge_router.qualified_arn, certificate_provider=providers.us_east_1),
            opts=providers.regional_opts())
        pulumi.export("spa_domain_name", spa.domain_name)
        pulumi.export("prerender_cache_bucket", renderer.cache_bucket)

    # --- data tier (issue 5): cache and document store, reachable only from the services -----------------
    from components.document_store import DocumentStore, DocumentStoreArgs  # noqa: E402
    from components.valkey_cache import ValkeyCache, ValkeyCacheArgs  # noqa: E402

    data_client_sgs = [s.security_group_id for s in services.values()]
    data_client_roles = [s.task_role_arn for s in services.values()]
    if config.cache is not None:
        cache = ValkeyCache("cache", ValkeyCacheArgs(
            identity=identity, config=config.cache, vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
            client_security_group_ids=data_client_sgs, client_role_arns=data_client_roles),
            opts=providers.regional_opts())
        pulumi.export("cache_connection_secret", cache.connection_secret_name)
    if config.document_store is not None:
        documents = DocumentStore("documents", DocumentStoreArgs(
            identity=identity, config=config.document_store, vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids, client_security_group_ids=data_client_sgs,
            client_role_arns=data_client_roles), opts=providers.regional_opts())
        pulumi.export("documents_phase", documents.phase)
        pulumi.export("documents_connection_secret", documents.connection_secret_name)
