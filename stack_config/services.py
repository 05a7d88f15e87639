"""The ``containers`` section: image repositories, the ECS cluster, its load balancer, alerts and the services.

Field reports behind the rules: ``ecs-circuit-breaker-rollback.md`` (images by
digest, at least 2 tasks in prod, min healthy 50 % / max 200 %, alarms on
deployments, off-hours scaling), ``ecr-dedicated-image-repos.md`` (one
repository per application, keep 100 images), ``ecs-cluster-capacity-scaling.md``
(EC2 capacity that scales with the tasks) and ``ec2-to-ecs-fargate-migration.md``
(Fargate first, separate roles, one security group per service, secrets out of
the environment).
"""

from __future__ import annotations

import pathlib
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from policies import conventions
from stack_config.parsing import Problem, setting, show

ROOT = pathlib.Path(__file__).resolve().parent.parent
LABEL = conventions.DNS_LABEL.pattern.strip("^$")
DIGEST_REF = r"[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}"
CLOCK = r"([01]\d|2[0-3]):[0-5]\d"
SECRET_REF = (
    r"(arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+(:[^:]*:[^:]*:[^:]*)?"
    r"|[A-Za-z0-9/_+=.@-]{1,512}|ssm:/[A-Za-z0-9/_.-]+)"
)
ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
STACK_REF = r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"
MANAGED_POLICY_ARN = r"arn:aws:iam::(aws|\d{12}):policy/[A-Za-z0-9/_+=,.@-]+"
EMAIL = r"[^@\s]+@[^@\s]+\.[a-z]{2,}"
# Names that say "secret": such a value belongs in `secrets`, never in the task definition in clear.
SECRET_LOOKING = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.I)
# Policies no service's task role may hold: they turn one compromised container into the whole account.
FORBIDDEN_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")

# Fargate's valid task sizes: cpu units -> allowed memory (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
PLATFORMS = ("linux/amd64", "linux/arm64")
STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")


def _timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "is not an IANA time zone (like 'Europe/Paris' or 'UTC')"
    return None


def _build_context(value: str) -> str | None:
    path = (ROOT / value).resolve()
    if ROOT not in path.parents and path != ROOT:
        return "must be a folder inside the repository"
    if not path.is_dir():
        return f"is not a folder in the repository (allowed: a path relative to {ROOT.name}/, like 'apps/api')"
    return None


def _statement(value: Any) -> str | None:
    if not isinstance(value, dict) or not {"Effect", "Action", "Resource"} <= set(value):
        return "is not an IAM statement (allowed: a mapping with Effect, Action and Resource)"
    actions = value["Action"] if isinstance(value["Action"], list) else [value["Action"]]
    resources = value["Resource"] if isinstance(value["Resource"], list) else [value["Resource"]]
    if any(a == "*" or str(a).endswith(":*") for a in actions):
        return "grants a wildcard action (allowed: the exact actions the application calls)"
    if "*" in resources:
        return "grants Resource '*' (allowed: the ARNs the application uses)"
    return None


def _managed_policy(value: str) -> str | None:
    if value.rsplit("/", 1)[-1] in FORBIDDEN_MANAGED_POLICIES:
        return f"is not allowed on a task role (forbidden: {', '.join(FORBIDDEN_MANAGED_POLICIES)})"
    return None


@dataclass(frozen=True)
class ImageRepositoriesConfig:
    keep_images: int = setting(
        100, min=1, max=10000, doc="a rollback needs the previous images: keep 100 (ecr-dedicated-image-repos.md)"
    )
    untagged_expiry_days: int = setting(
        7, min=1, max=365, doc="untagged layers are build leftovers; a week leaves time to notice"
    )
    immutable_tag_exclusions: list[str] = setting(
        default_factory=list,
        max=5,
        each={"pattern": r"[A-Za-z0-9._*-]{1,128}", "what": "a tag filter like 'cache*'"},
        doc="tags that may be overwritten (a build cache tag); empty keeps every tag immutable",
    )
    encryption: str = setting(
        "AES256",
        choices=("AES256", "KMS"),
        doc="images hold no secrets and the repository policy is the access control",
    )
    push_principal_arns: list[str] = setting(
        default_factory=list,
        each={"pattern": r"arn:aws:iam::\d{12}:(role|user)/[A-Za-z0-9/_+=,.@-]+", "what": "an IAM role or user ARN"},
        doc="who may assume the CI push role; empty: principals of this account allowed by their own IAM policy",
    )
    promotion_accounts: list[str] = setting(
        default_factory=list,
        each={
            "pattern": r"[a-z0-9][a-z0-9-]{0,48}[a-z0-9]",
            "what": "an account name of the organization like 'shop-prod' (its id comes from the org stack)",
        },
        doc="the org's accounts whose later stages copy this stack's images (their push roles by name); empty: none",
    )


@dataclass(frozen=True)
class Ec2CapacityConfig:
    instance_type: str = setting(
        "t3.medium",
        pattern=r"[a-z][a-z0-9-]*\.[a-z0-9]+",
        what="an EC2 instance type",
        doc="2 vCPU / 4 GB hosts 6-8 small tasks (ecs-cluster-capacity-scaling.md)",
    )
    architecture: str = setting("x86_64", choices=("x86_64", "arm64"), doc="must match the instance type's CPU")
    min_size: int = setting(0, min=0, max=100, doc="managed scaling adds hosts when tasks need them")
    max_size: int = setting(4, min=1, max=200, doc="a ceiling on what a runaway scale-out can cost")
    target_capacity: int = setting(
        80, min=1, max=100, doc="20 % headroom so a scale-out places tasks before new hosts boot"
    )


@dataclass(frozen=True)
class ClusterConfig:
    container_insights: str = setting(
        "enabled",
        choices=("enabled", "enhanced"),
        doc="RunningTaskCount and the deployment alarms need Container Insights",
    )
    fargate_spot: bool = setting(False, doc="Spot tasks can be stopped at 2 minutes' notice: opt in per stack")
    ec2: Ec2CapacityConfig | None = setting(None, doc="EC2 capacity only when a service asks for launchType EC2")


@dataclass(frozen=True)
class LoadBalancerConfig:
    certificate_arn: str | None = setting(
        None,
        pattern=r"arn:aws:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}",
        what="an ACM certificate ARN",
        doc="HTTPS when set; plain HTTP is only allowed outside prod",
    )
    certificate_from: str | None = setting(
        None,
        pattern=r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+",
        what="a stack reference like 'organization/aws-platform/prod'",
        doc="HTTPS with the certificate that stack issues in this region (its 'recovery' output): no ARN to edit",
    )
    idle_timeout_seconds: int = setting(60, min=1, max=4000, doc="the ALB default; raise for long polling")


@dataclass(frozen=True)
class AlertsConfig:
    emails: list[str] = setting(
        default_factory=list,
        each={"pattern": EMAIL, "what": "an e-mail address"},
        doc="who hears about failed deployments and alarms; subscriptions need confirming",
    )


@dataclass(frozen=True)
class BuildSource:
    context: str = setting(check=_build_context)
    dockerfile: str = setting("Dockerfile", pattern=r"[A-Za-z0-9._/-]+", what="a path inside the context")


@dataclass(frozen=True)
class ImageSource:
    build: BuildSource | None = setting(None, doc="built and pushed by this stack into the service's repository")
    digest: str | None = setting(
        None,
        pattern=DIGEST_REF,
        what="an image reference by digest like "
        "'123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-prod-web@sha256:<64 hex>'",
    )
    promote_from: str | None = setting(
        None,
        pattern=STACK_REF,
        what="a stack reference like 'organization/aws-platform/staging'",
        doc="build once: deploy the digest that stack exported, copied into this stack's own repository",
    )
    platform: str = setting(
        "linux/amd64", choices=PLATFORMS, doc="one platform: a single image manifest, and the task's CPU architecture"
    )

    @property
    def sources(self) -> list[str]:
        return [
            name
            for name, on in (("build", self.build), ("digest", self.digest), ("promoteFrom", self.promote_from))
            if on
        ]


@dataclass(frozen=True)
class Routing:
    priority: int = setting(min=1, max=50000, doc="listener rules are evaluated in priority order; unique per stack")
    path_pattern: str | None = setting(None, pattern=r"/[A-Za-z0-9/_.*?-]*", what="a path pattern like '/api/*'")
    host: str | None = setting(None, pattern=r"[a-z0-9*.-]+\.[a-z]{2,}", what="a host name like 'api.example.com'")


@dataclass(frozen=True)
class OffHours:
    stop: str = setting("19:00", pattern=CLOCK, what="a time like '19:00'")
    start: str = setting("07:00", pattern=CLOCK, what="a time like '07:00'")
    timezone: str = setting("UTC", check=_timezone, doc="schedules follow the team's clock, summer time included")
    weekdays_only: bool = setting(True, doc="stopped from Friday evening to Monday morning")


@dataclass(frozen=True)
class Deployment:
    minimum_healthy_percent: int = setting(
        50, min=0, max=100, doc="half the tasks may be replaced at once: rollback in minutes"
    )
    maximum_percent: int = setting(200, min=100, max=200, doc="new tasks start beside old ones")
    strategy: str = setting(
        "ROLLING",
        choices=STRATEGIES,
        doc="rolling with circuit breaker; BLUE_GREEN/LINEAR/CANARY shift traffic instead",
    )
    bake_time_minutes: int = setting(5, min=0, max=1440, doc="how long the old tasks stay to roll back to")
    step_percent: float = setting(25.0, min=3.0, max=100.0, doc="LINEAR: traffic moved per step")
    canary_percent: float = setting(10.0, min=0.1, max=100.0, doc="CANARY: traffic on the new tasks first")


@dataclass(frozen=True)
class ServiceConfig:
    name: str = setting(pattern=r"[a-z][a-z0-9-]{0,18}[a-z0-9]", what="a lowercase DNS label of at most 20 characters")
    image: ImageSource = setting()
    port: int = setting(min=1, max=65535)
    routing: Routing = setting()
    cpu: int = setting(256, choices=tuple(FARGATE_SIZES), doc="the smallest Fargate size; raise from metrics")
    memory: int = setting(512, min=128, max=122880, doc="the smallest Fargate size for 256 cpu units")
    desired_count: int = setting(2, min=0, max=1000, doc="two tasks: rollback in 3-5 minutes, not 20")
    min_count: int = setting(2, min=0, max=1000, doc="the autoscaler never goes below this")
    max_count: int = setting(4, min=1, max=1000, doc="a ceiling on what a runaway scale-out can cost")
    cpu_target_percent: int = setting(60, min=10, max=95, doc="room to absorb a spike while a task starts")
    memory_target_percent: int | None = setting(None, min=10, max=95, doc="scale on memory too when set")
    off_hours: OffHours | None = setting(None, doc="non-prod only: scale to 0 at night")
    health_check_path: str = setting("/health", pattern=r"/[A-Za-z0-9/_.-]*", what="a path like '/health'")
    health_check_port: int | None = setting(
        None, min=1, max=65535, doc="must equal port: a health check elsewhere is the 502 death spiral"
    )
    health_check_grace_seconds: int = setting(60, min=0, max=2147483647, doc="time to boot before checks count")
    secrets: dict[str, str] = setting(
        default_factory=dict,
        each={"pattern": SECRET_REF, "what": "a Secrets Manager ARN or name, or 'ssm:/<parameter path>'"},
        doc="injected by ECS at start; never in the task definition in clear",
    )
    environment: dict[str, str] = setting(default_factory=dict, doc="non-secret settings only")
    task_policy_statements: list[Any] = setting(
        default_factory=list, each={"check": _statement}, doc="what the application may call; nothing by default"
    )
    managed_policy_arns: list[str] = setting(
        default_factory=list,
        each={"pattern": MANAGED_POLICY_ARN, "what": "an IAM policy ARN", "check": _managed_policy},
    )
    deployment: Deployment = setting(default_factory=Deployment)
    launch_type: str = setting("FARGATE", choices=("FARGATE", "EC2"), doc="no hosts to patch (fargate migration)")
    spot: bool = setting(False, doc="Fargate Spot for this service (needs cluster.fargateSpot)")

    @property
    def autoscaled(self) -> bool:
        """Whether Application Auto Scaling owns the desired count (then Pulumi must not set it back)."""
        return self.max_count > self.min_count or self.off_hours is not None


@dataclass(frozen=True)
class ContainersConfig:
    image_repositories: ImageRepositoriesConfig = setting(default_factory=ImageRepositoriesConfig)
    cluster: ClusterConfig = setting(default_factory=ClusterConfig)
    load_balancer: LoadBalancerConfig = setting(default_factory=LoadBalancerConfig)
    alerts: AlertsConfig = setting(default_factory=AlertsConfig)
    log_retention_days: int | None = setting(
        None,
        choices=(
            1,
            3,
            5,
            7,
            14,
            30,
            60,
            90,
            120,
            150,
            180,
            365,
            400,
            545,
            731,
            1096,
            1827,
            2192,
            2557,
            2922,
            3288,
            3653,
        ),
        doc="unset: 14 days outside prod, 90 in prod (long enough to investigate an incident reported late)",
    )
    services: list[ServiceConfig] = setting(default_factory=list)

    def retention_days(self, stage: str) -> int:
        if self.log_retention_days is not None:
            return self.log_retention_days
        return 90 if stage in conventions.PROTECTED_STAGES else 14


def containers_checks(stage: str, containers: ContainersConfig, key: str) -> list[Problem]:
    """Rules that span keys: prod task counts, Fargate sizes, one image source, unique routes and ports."""
    problems: list[Problem] = []
    prod = stage in conventions.PROTECTED_STAGES
    lb = containers.load_balancer
    if prod and containers.services and lb.certificate_arn is None and lb.certificate_from is None:
        problems.append(
            Problem(
                f"{key}.loadBalancer.certificateArn",
                "is required in prod (allowed: an ACM certificate ARN, or certificateFrom: a stack reference); "
                "plain HTTP is for dev only",
            )
        )
    if lb.certificate_arn is not None and lb.certificate_from is not None:
        problems.append(
            Problem(
                f"{key}.loadBalancer.certificateFrom",
                f"{lb.certificate_from!r} and certificateArn are both set (allowed: one of them)",
            )
        )
    seen_names: set[str] = set()
    seen_priorities: dict[int, str] = {}
    seen_routes: dict[tuple[str | None, str | None], str] = {}
    for i, svc in enumerate(containers.services):
        at = f"{key}.services[{i}]"
        if svc.name in seen_names:
            problems.append(Problem(f"{at}.name", f"{show(svc.name)} is used twice (allowed: unique service names)"))
        seen_names.add(svc.name)
        if len(svc.image.sources) != 1:
            problems.append(
                Problem(
                    f"{at}.image",
                    f"needs exactly one of 'build', 'digest' or 'promoteFrom', not {show(svc.image.sources)} "
                    "(allowed: build: {context: ...}, digest: <repo>@sha256:<hex> or promoteFrom: <org>/<project>/<stack>)",
                )
            )
        if svc.image.promote_from:
            source_stage = conventions.stage_for_stack(svc.image.promote_from.rsplit("/", 1)[-1])
            if source_stage is None or conventions.STAGES.index(source_stage) > conventions.STAGES.index(stage):
                problems.append(
                    Problem(
                        f"{at}.image.promoteFrom",
                        f"{show(svc.image.promote_from)} is not an earlier stage than '{stage}' "
                        f"(allowed: a stack of {', '.join(conventions.STAGES[: conventions.STAGES.index(stage) + 1])}; "
                        f"images move dev -> staging -> prod, never back)",
                    )
                )
        if svc.health_check_port is not None and svc.health_check_port != svc.port:
            problems.append(
                Problem(
                    f"{at}.healthCheckPort",
                    f"{svc.health_check_port} differs from port {svc.port} "
                    f"(allowed: {svc.port}); a health check on another port "
                    f"fails every task: the 502 death spiral",
                )
            )
        if svc.launch_type == "FARGATE":
            allowed = FARGATE_SIZES.get(svc.cpu, ())
            if svc.memory not in allowed:
                problems.append(
                    Problem(
                        f"{at}.memory",
                        f"{svc.memory} is not a Fargate size for cpu {svc.cpu} "
                        f"(allowed: {', '.join(map(str, allowed))})",
                    )
                )
        elif containers.cluster.ec2 is None:
            problems.append(
                Problem(
                    f"{at}.launchType",
                    f"'EC2' needs {key}.cluster.ec2 (EC2 capacity), or tasks sit "
                    f"in PENDING with nowhere to run (allowed: FARGATE)",
                )
            )
        if svc.spot and (svc.launch_type != "FARGATE" or not containers.cluster.fargate_spot):
            problems.append(Problem(f"{at}.spot", f"needs launchType FARGATE and {key}.cluster.fargateSpot: true"))
        if not svc.min_count <= svc.desired_count <= svc.max_count:
            problems.append(
                Problem(
                    f"{at}.desiredCount",
                    f"{svc.desired_count} is outside minCount..maxCount (allowed: {svc.min_count}..{svc.max_count})",
                )
            )
        if prod:
            for field, value in (("desiredCount", svc.desired_count), ("minCount", svc.min_count)):
                if value < 2:
                    problems.append(
                        Problem(
                            f"{at}.{field}",
                            f"{value} in prod (allowed: 2 or more); with one task "
                            f"a failed deployment rolls back in 20 minutes, not 3-5",
                        )
                    )
            if svc.off_hours is not None:
                problems.append(Problem(f"{at}.offHours", "is not allowed in prod (allowed: dev, sandbox, staging)"))
        if svc.off_hours is not None and svc.off_hours.start == svc.off_hours.stop:
            problems.append(
                Problem(f"{at}.offHours.start", f"{show(svc.off_hours.start)} equals stop (allowed: a different time)")
            )
        if svc.routing.path_pattern is None and svc.routing.host is None:
            problems.append(Problem(f"{at}.routing", "needs pathPattern or host (allowed: either or both)"))
        other = seen_priorities.get(svc.routing.priority)
        if other is not None:
            problems.append(
                Problem(
                    f"{at}.routing.priority",
                    f"{svc.routing.priority} is already used by '{other}' (allowed: a unique priority)",
                )
            )
        seen_priorities[svc.routing.priority] = svc.name
        route = (svc.routing.path_pattern, svc.routing.host)
        if route in seen_routes:
            problems.append(
                Problem(
                    f"{at}.routing",
                    f"routes the same requests as '{seen_routes[route]}' (allowed: a distinct pathPattern/host)",
                )
            )
        seen_routes[route] = svc.name
        for env_name in svc.secrets:
            if not re.fullmatch(ENV_NAME, env_name):
                problems.append(
                    Problem(
                        f"{at}.secrets.{env_name}",
                        "is not an environment variable name (allowed: letters, digits, '_')",
                    )
                )
        for env_name in svc.environment:
            if not re.fullmatch(ENV_NAME, env_name):
                problems.append(
                    Problem(
                        f"{at}.environment.{env_name}",
                        "is not an environment variable name (allowed: letters, digits, '_')",
                    )
                )
            elif SECRET_LOOKING.search(env_name):
                problems.append(
                    Problem(
                        f"{at}.environment.{env_name}",
                        "looks like a secret; plain environment "
                        "values are visible in the task definition "
                        "(allowed: move it to 'secrets')",
                    )
                )
            if env_name in svc.secrets:
                problems.append(Problem(f"{at}.environment.{env_name}", "is also in 'secrets' (allowed: one of them)"))
    ec2 = containers.cluster.ec2
    if ec2 is not None and ec2.min_size > ec2.max_size:
        problems.append(
            Problem(
                f"{key}.cluster.ec2.minSize",
                f"{ec2.min_size} is above maxSize {ec2.max_size} (allowed: 0..{ec2.max_size})",
            )
        )
    return problems
