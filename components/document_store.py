"""The document store for one environment, at the phase its migration ledger says: DocumentDB -> Atlas.

Phases (``stack_config/data.py`` validates the ledger before anything is registered):

=============  =========================  ======================  ================================
phase          DocumentDB                 Atlas                   services' connection secret
=============  =========================  ======================  ================================
documentdb     yes                        -                       DocumentDB
dual           yes, change streams kept   yes + sync task         DocumentDB
atlas          yes, protected (rollback)  yes                     **Atlas**
retiring       yes, protection lifted     yes                     Atlas
retired        deleted (final snapshot)   yes                     Atlas
=============  =========================  ======================  ================================

Services read ONE secret whose name never changes (``{context}-{stage}-documents-connection``);
a cut-over or a rollback changes its value, never their configuration. MongoDB's live
migration tools do not accept DocumentDB as a source (``documentdb-to-mongodb-atlas.md``),
so ``dual`` runs our own change-stream sync task on Fargate: TLS to DocumentDB on 27017,
PrivateLink to Atlas, authenticated to Atlas by its task role. Before its bulk copy it shards
the declared collections (``atlas.shardedCollections``). In ``atlas`` the same task can run in
reverse (``sync.direction: reverse``) at a capped write rate, to bring DocumentDB up to date
before a rollback without the bulk rewrite that set off ``documentdb-vacuum-locks.md``'s waves.

In the DocumentDB phases the contract's URI names no user: ``credentialsSecretArn`` names the app user's
secret (``{"username", "password"}``), which Secrets Manager rotates every 30 days with alternating users
(``components/documentdb_setup.py``). Services read it when they connect and read it again on an
authentication failure; the user a task logged in with keeps working until the rotation after next.

Both sides of the contract carry the same ``readPreference``: a cut-over must not move every
read from DocumentDB's replicas onto Atlas's primaries. And prod may be in ``dual`` only if
the stack named by ``rehearsedIn`` (staging) was already on Atlas the day prod entered it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import document_db
from components.atlas_cluster import ENDPOINT_PORTS, AtlasCluster, AtlasClusterArgs
from components.connection_secret import connection_secret, contract_json
from components.dashboard import AlarmStatus, Section
from components.document_db import DocumentDb, DocumentDbArgs
from components.documentdb_setup import DocumentDbSetup, DocumentDbSetupArgs
from foundation import iam
from foundation.identity import StackIdentity
from foundation.tagging import ECS_SERVICE_TAGGING
from stack_config.data import DocumentStoreConfig, rehearsal_problem
from stack_config.services import ImageRepositoriesConfig

APP_USER = "app"
SYNC = "docsync"
# Driver timeouts for the contract: fail over to an error page, not a hung request (the cache report's lesson).
CLIENT_TIMEOUTS = {"connectTimeoutMS": 2000, "serverSelectionTimeoutMS": 5000, "socketTimeoutMS": 10000}
TASK_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
SYNC_LOG_RETENTION_DAYS = 30  # the migration's evidence outlives the rollback window's first weeks


@dataclass(frozen=True)
class DocumentStoreArgs:
    identity: StackIdentity
    config: DocumentStoreConfig
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    client_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    client_role_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)
    # The sync task runs here when given; otherwise the store brings a Fargate-only cluster of its own.
    sync_cluster_arn: pulumi.Input[str] | None = None
    # The setup function's image goes to a repository like every other (its retention rules, its push role).
    repositories: ImageRepositoriesConfig = field(default_factory=ImageRepositoriesConfig)
    account_id: pulumi.Input[str] | None = None
    ci_role_arn: pulumi.Input[str | None] | None = None  # CI's deploy role, trusted by the setup image's push role
    alarm_topic_arn: pulumi.Input[str] | None = None
    alert_emails: Sequence[str] = field(default_factory=list)
    # Prod in 'dual' or later: the ledger exported by the stack ``rehearsedIn`` names (a StackReference output).
    rehearsal_ledger: pulumi.Input[list[dict[str, str]]] | None = None


def refuse_unrehearsed(args: DocumentStoreArgs) -> None:
    """Prod's ledger enters 'dual': the rehearsal stack must be named and its ledger handed in, or nothing is built."""
    cfg = args.config
    if args.identity.stage != "prod" or cfg.entered_dual is None:
        return
    if cfg.rehearsed_in is None:
        raise ValueError(
            "documentStore.rehearsedIn: unset while prod's ledger enters 'dual' (allowed: the staging stack whose "
            "ledger reached 'atlas' first; documentdb-vacuum-locks.md: rehearse bulk rewrites in staging)"
        )
    if args.rehearsal_ledger is None:
        raise ValueError(f"documentStore.rehearsedIn: {cfg.rehearsed_in!r} was not read (pass its documents_ledger)")


def rehearsal_gate(ledger: list[dict[str, str]] | None, reference: str, entered_dual: datetime.date) -> bool:
    """Raise (failing the deploy before anything in Atlas exists) unless the rehearsal stack was on Atlas first."""
    problem = rehearsal_problem(ledger, reference, entered_dual)
    if problem:
        raise ValueError(problem)
    return True


def documents_contract(
    cfg: DocumentStoreConfig,
    docdb_uri: pulumi.Input[str] | None,
    atlas_uri: pulumi.Input[str] | None,
    docdb_credentials_arn: pulumi.Input[str] | None,
) -> dict:
    """The services' one connection document: Atlas from the ``atlas`` phase on, DocumentDB before.

    No password in it on either side. Atlas: MONGODB-AWS, signed by the task role. DocumentDB: a URI without
    credentials and ``credentialsSecretArn``, the app user's rotating secret ``{"username", "password"}``
    (read it to connect; read it again on an authentication failure).

    ``readPreference`` is the same on both sides (and in both URIs): the cut-over changes where the data is,
    never which members serve reads.
    """
    if cfg.serves_from_atlas:
        contract = {"engine": "mongodb-atlas", "uri": atlas_uri, "authMechanism": "MONGODB-AWS"}
    else:
        if docdb_credentials_arn is None:
            raise ValueError(f"phase {cfg.phase!r} serves from DocumentDB: the contract needs the app user's secret")
        contract = {
            "engine": "documentdb",
            "uri": docdb_uri,
            "authMechanism": document_db.AUTH_MECHANISM,
            "authSource": document_db.AUTH_SOURCE,
            "credentialsSecretArn": docdb_credentials_arn,
            "tlsCAFile": "global-bundle.pem",
        }
    return {
        **contract,
        "database": cfg.database_name,
        "phase": cfg.phase,
        "readPreference": cfg.read_preference,
        **CLIENT_TIMEOUTS,
    }


def sync_settings(cfg: DocumentStoreConfig, direction: str) -> list[dict[str, str]]:
    """What the sync container is told beyond where: which way, what to shard first, how fast to write back."""
    settings = [{"name": "SYNC_DIRECTION", "value": direction}]
    atlas = cfg.atlas
    if direction == "forward" and atlas is not None and atlas.sharded_collections:
        # Sharded before the bulk copy: sharding a full collection afterwards means a long re-balance.
        keys = {f"{cfg.database_name}.{c.collection}": c.shard_key() for c in atlas.sharded_collections}
        settings.append({"name": "SHARD_COLLECTIONS", "value": json.dumps(keys, sort_keys=True)})
    if direction == "reverse" and cfg.sync is not None:
        settings.append({"name": "MAX_WRITES_PER_SECOND", "value": str(cfg.sync.reverse_writes_per_second)})
    return settings


class DocumentStore(pulumi.ComponentResource):
    """DocumentDB and/or Atlas for the current phase, the sync task in ``dual``, and the services' secret."""

    phase: str
    served_by: str
    connection_secret_arn: pulumi.Output[str]
    connection_secret_name: pulumi.Output[str]
    # The secret's value and read grant (on DocumentDB also the app user and its secret's grant): services start after
    connection_ready: list[pulumi.Resource]
    documentdb: DocumentDb | None
    atlas: AtlasCluster | None
    sync_direction: str | None
    dashboard: Section

    def __init__(self, name: str, args: DocumentStoreArgs, opts: pulumi.ResourceOptions | None = None):
        refuse_unrehearsed(args)  # before anything is registered
        super().__init__("platform:data:DocumentStore", name, None, opts)
        ident, cfg = args.identity, args.config
        child = pulumi.ResourceOptions(parent=self)
        self.phase = cfg.phase
        self.sync_direction = cfg.syncing
        syncing = self.sync_direction is not None
        gate = None
        if args.rehearsal_ledger is not None and cfg.entered_dual is not None:
            entered, reference = cfg.entered_dual, cfg.rehearsed_in or ""
            gate = pulumi.Output.from_input(args.rehearsal_ledger).apply(
                lambda ledger: rehearsal_gate(ledger, reference, entered)
            )

        sync_sg = sync_role = None
        if syncing:
            sync_sg = aws.ec2.SecurityGroup(
                SYNC,
                name=ident.name("aws:ec2/securityGroup:SecurityGroup", SYNC),
                vpc_id=args.vpc_id,
                description="DocumentDB -> Atlas sync task: no inbound",
                tags={"Name": ident.label(SYNC)},
                opts=child,
            )
            sync_role = aws.iam.Role(
                f"{SYNC}-task",
                name=ident.name("aws:iam/role:Role", f"{SYNC}-task"),
                # No AWS permissions: the role is only its identity to Atlas (MONGODB-AWS signs with it).
                assume_role_policy=iam.assume_role_policy("ecs-tasks.amazonaws.com"),
                opts=child,
            )
        # The user and change streams are set up in the database itself while services or the sync use it.
        sets_up = cfg.sets_up_documentdb
        setup_sg = (
            aws.ec2.SecurityGroup(
                "documentdb-setup",
                name=ident.name("aws:ec2/securityGroup:SecurityGroup", "documentdb-setup"),
                vpc_id=args.vpc_id,
                description="DocumentDB setup function: no inbound",
                tags={"Name": ident.label("documentdb-setup")},
                opts=child,
            )
            if sets_up
            else None
        )
        clients = (
            list(args.client_security_group_ids)
            + ([sync_sg.id] if sync_sg else [])
            + ([setup_sg.id] if setup_sg else [])
        )

        self.documentdb = self.atlas = None
        self._setup_ready: list[pulumi.Resource] = []
        setup_alarms: list[aws.cloudwatch.MetricAlarm] = []
        credentials_grant: list[pulumi.Resource] = []
        docdb_uri = docdb_credentials_arn = None
        if cfg.has_documentdb:
            self.documentdb = DocumentDb(
                "documentdb",
                DocumentDbArgs(
                    identity=ident,
                    config=cfg.documentdb,
                    phase=cfg.phase,
                    vpc_id=args.vpc_id,
                    subnet_ids=args.subnet_ids,
                    client_security_group_ids=clients,
                    alarm_topic_arn=args.alarm_topic_arn,
                ),
                opts=child,
            )
            # No credentials in the URI: the services read the app user's rotating secret (credentialsSecretArn).
            docdb_uri = self.documentdb.endpoint.apply(
                lambda endpoint: document_db.connection_uri(endpoint, cfg.database_name, cfg.read_preference)
            )
            if setup_sg is not None:
                setup, docdb_credentials_arn, credentials_grant = self._setup(args, setup_sg, child)
                self._setup_ready, setup_alarms = setup.ready, [setup.alarm]
        if cfg.has_atlas:
            assert cfg.atlas is not None  # the loader requires it in every Atlas phase
            self.atlas = AtlasCluster(
                "atlas",
                AtlasClusterArgs(
                    identity=ident,
                    config=cfg.atlas,
                    database_name=cfg.database_name,
                    vpc_id=args.vpc_id,
                    subnet_ids=args.subnet_ids,
                    client_security_group_ids=clients,
                    client_role_arns=list(args.client_role_arns),
                    sharding_role_arns=[sync_role.arn] if sync_role else [],
                    read_preference=cfg.read_preference,
                    alert_emails=list(args.alert_emails),
                    gate=gate,
                ),
                opts=child,
            )

        contract = documents_contract(
            cfg, docdb_uri, self.atlas.connection_uri if self.atlas else None, docdb_credentials_arn
        )
        self.served_by = contract["engine"]
        secret = connection_secret(
            "documents-connection",
            ident,
            "documents-connection",
            "The services' document store: the value switches DocumentDB -> Atlas at cut-over",
            contract_json(contract),
            args.client_role_arns,
            self,
            # Visible without reading the secret: which store the services are on right now.
            tags={"served-by": self.served_by, "migration-phase": cfg.phase},
        )

        if sync_sg is not None and sync_role is not None:  # both exist exactly when syncing
            self._sync_task(args, sync_sg, sync_role, child, after=self._setup_ready)
        # Atlas alerts itself (its metrics are not in CloudWatch).
        section = self.documentdb.dashboard if self.documentdb else Section("Document store", [])
        rotation = [AlarmStatus("App user setup and rotation", [a.arn for a in setup_alarms])] if setup_alarms else []
        self.dashboard = replace(section, widgets=[*section.widgets, *rotation])

        self.connection_secret_arn = secret.arn
        self.connection_secret_name = secret.name
        # Services start once their secret has a value and, on DocumentDB, their user exists and they may read it.
        self.connection_ready = secret.ready + self._setup_ready + credentials_grant
        self.register_outputs({"phase": self.phase, "connection_secret_arn": self.connection_secret_arn})

    def _setup(
        self, args: DocumentStoreArgs, sg: aws.ec2.SecurityGroup, child: pulumi.ResourceOptions
    ) -> tuple[DocumentDbSetup, pulumi.Output[str], list[pulumi.Resource]]:
        """The app user's secret (rotated by the setup function, read by the services), and the function's run.

        Returns the setup (its run makes the user exist; its alarm), the secret's ARN, and its value and read grant.
        """
        ident, cfg, docdb = args.identity, args.config, self.documentdb
        assert docdb is not None
        # The first password (readWrite on one database); Secrets Manager's rotations replace it, Pulumi never again.
        password = random.RandomPassword("documentdb-app", length=40, special=False, opts=child)
        # The secret's value is read by the setup function (to make the user) and by the services (to log in).
        app_secret = connection_secret(
            "documentdb-app-user",
            ident,
            "documentdb-app-user",
            "The services' DocumentDB user (credentialsSecretArn in their contract); rotated every 30 days",
            contract_json({"username": APP_USER, "password": password.result}),
            args.client_role_arns,
            self,
        )
        setup = DocumentDbSetup(
            "documentdb-setup",
            DocumentDbSetupArgs(
                identity=ident,
                repositories=args.repositories,
                subnet_ids=args.subnet_ids,
                security_group=sg,
                documentdb=docdb,
                documentdb_security_group_id=docdb.security_group_id,
                endpoint=docdb.endpoint,
                master_secret_arn=docdb.master_secret_arn,
                app_secret_arn=app_secret.arn,
                app_secret_version=app_secret.version.version_id,
                database=cfg.database_name,
                change_streams=cfg.phase == "dual",
                ci_role_arn=args.ci_role_arn,
                account_id=args.account_id,
                alarm_topic_arn=args.alarm_topic_arn,
            ),
            opts=child,
        )
        return setup, app_secret.arn, app_secret.ready

    def _sync_task(
        self,
        args: DocumentStoreArgs,
        sg: aws.ec2.SecurityGroup,
        task_role: aws.iam.Role,
        child: pulumi.ResourceOptions,
        after: list[pulumi.Resource],
    ) -> None:
        """The change-stream sync (or the one-off dump/restore) as a Fargate task in the private subnets."""
        ident, cfg = args.identity, args.config
        sync, docdb, target = cfg.sync, self.documentdb, self.atlas
        assert sync is not None and docdb is not None and target is not None  # phase "dual": the loader requires all
        low, high = ENDPOINT_PORTS
        for rule, port_from, port_to, peer, what in (
            ("documentdb", document_db.PORT, document_db.PORT, docdb.security_group_id, "DocumentDB (TLS)"),
            ("atlas", low, high, target.security_group_id, "Atlas over PrivateLink"),
        ):
            aws.vpc.SecurityGroupEgressRule(
                f"{SYNC}-to-{rule}",
                security_group_id=sg.id,
                ip_protocol="tcp",
                from_port=port_from,
                to_port=port_to,
                referenced_security_group_id=peer,
                description=f"sync task to {what}",
                opts=child,
            )
        # Image pulls, Secrets Manager and CloudWatch Logs through the NAT: HTTPS only.
        aws.vpc.SecurityGroupEgressRule(
            f"{SYNC}-https",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="AWS APIs and the image registry over HTTPS",
            opts=child,
        )

        logs = aws.cloudwatch.LogGroup(
            SYNC, name=ident.path("ecs", SYNC), retention_in_days=SYNC_LOG_RETENTION_DAYS, opts=child
        )
        execution = aws.iam.Role(
            f"{SYNC}-execution",
            name=ident.name("aws:iam/role:Role", f"{SYNC}-execution"),
            assume_role_policy=iam.assume_role_policy("ecs-tasks.amazonaws.com"),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{SYNC}-execution", role=execution.name, policy_arn=TASK_EXECUTION_POLICY, opts=child
        )
        aws.iam.RolePolicy(
            f"{SYNC}-source-secret",
            role=execution.id,
            policy=docdb.master_secret_arn.apply(
                lambda arn: iam.document(iam.statement(["secretsmanager:GetSecretValue"], [arn]))
            ),
            opts=child,
        )

        container = pulumi.Output.all(docdb.endpoint, docdb.master_secret_arn, target.connection_uri, logs.name).apply(
            lambda v: json.dumps(
                [
                    {
                        "name": SYNC,
                        "image": sync.image,
                        "essential": True,
                        "environment": sorted(
                            [
                                {"name": "SYNC_MODE", "value": sync.mode},
                                {"name": "SOURCE_HOST", "value": v[0]},
                                {"name": "SOURCE_PORT", "value": str(document_db.PORT)},
                                {"name": "SOURCE_TLS_CA_FILE", "value": "global-bundle.pem"},
                                {"name": "TARGET_URI", "value": v[2]},
                                {"name": "DATABASE", "value": cfg.database_name},
                                *sync_settings(cfg, self.sync_direction or "forward"),
                            ],
                            key=lambda e: e["name"],
                        ),
                        # The DocumentDB master credentials: change streams on every collection need them.
                        "secrets": [
                            {"name": "SOURCE_USERNAME", "valueFrom": f"{v[1]}:username::"},
                            {"name": "SOURCE_PASSWORD", "valueFrom": f"{v[1]}:password::"},
                        ],
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {
                                "awslogs-group": v[3],
                                "awslogs-region": ident.region,
                                "awslogs-stream-prefix": SYNC,
                            },
                        },
                        "readonlyRootFilesystem": True,
                    }
                ],
                sort_keys=True,
            )
        )
        task = aws.ecs.TaskDefinition(
            SYNC,
            family=ident.name("aws:ecs/taskDefinition:TaskDefinition", SYNC),
            cpu=str(sync.cpu),
            memory=str(sync.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            execution_role_arn=execution.arn,
            task_role_arn=task_role.arn,
            container_definitions=container,
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="ARM64"
            ),
            opts=child,
        )
        if sync.mode != "change-stream":
            return  # dump-restore runs once, in the write-freeze window: `aws ecs run-task` (runbook)

        cluster_arn = args.sync_cluster_arn
        if cluster_arn is None:
            cluster_arn = aws.ecs.Cluster(
                SYNC,
                name=ident.name("aws:ecs/cluster:Cluster", SYNC),
                settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
                opts=child,
            ).arn
        aws.ecs.Service(
            SYNC,
            name=ident.name("aws:ecs/service:Service", SYNC),
            cluster=cluster_arn,
            task_definition=task.arn,
            desired_count=1,
            launch_type="FARGATE",
            # Never two consumers of one change stream: stop the old task before the new one starts.
            deployment_minimum_healthy_percent=0,
            deployment_maximum_percent=100,
            # Tells the ecs-prod-min-tasks policy this single task is deliberate (the only exemption it grants).
            tags={"workload": "singleton"},
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.subnet_ids, security_groups=[sg.id], assign_public_ip=False
            ),
            **ECS_SERVICE_TAGGING,
            # Change streams must be on before the sync follows them (the setup function turns them on).
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
