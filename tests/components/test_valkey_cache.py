"""Valkey serverless: 6379 and 6380 from the services only, usage limits, snapshots, and a contract with timeouts."""

from __future__ import annotations

from tests.conftest import run_preview, stack_account

CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def cache_rules(preview):
    return [r for r in preview.resources(RULE) if r["name"].startswith("cache-")]


def service_sg_ids(preview):
    return {r["urn"] for r in preview.resources("aws:ec2/securityGroup:SecurityGroup") if "EcsService" in r["urn"]}


def test_serverless_valkey_with_usage_limits_from_config(shipped_preview):
    cache = shipped_preview("prod").one(CACHE, "cache")["inputs"]
    assert cache["engine"] == "valkey" and cache["majorEngineVersion"] == "8"
    limits = cache["cacheUsageLimits"]
    assert limits["dataStorage"] == {"unit": "GB", "minimum": 5, "maximum": 50}
    assert limits["ecpuPerSeconds"] == [{"minimum": 10000, "maximum": 500000}]
    assert cache["kmsKeyId"].startswith("arn:aws:kms:") and cache["userGroupId"] == "shop-prod-cache"


def test_cache_lives_in_private_subnets(shipped_preview):
    prod = shipped_preview("prod")
    private = sorted(prod.snapshot["outputs"]["private_subnet_ids"])
    assert sorted(prod.one(CACHE, "cache")["inputs"]["subnetIds"]) == private


def test_both_ports_open_only_from_each_client_service(shipped_preview):
    dev = shipped_preview("dev")
    rules = cache_rules(dev)
    clients = service_sg_ids(dev)
    assert clients, "the shipped dev stack has services to admit"
    pairs = {
        (r["inputs"]["fromPort"], r["inputs"]["toPort"], next(d for d in r["dependencies"] if d in clients))
        for r in rules
    }
    assert pairs == {(port, port, sg) for port in (6379, 6380) for sg in clients}
    assert not any("cidrIpv4" in r["inputs"] or "cidrIpv6" in r["inputs"] for r in rules)


def test_prod_retains_snapshots_and_survives_a_destroy(shipped_preview):
    prod, dev = shipped_preview("prod").one(CACHE, "cache"), shipped_preview("dev").one(CACHE, "cache")
    assert prod["inputs"]["snapshotRetentionLimit"] == 14 and prod["inputs"]["dailySnapshotTime"] == "03:00"
    assert prod["protect"] and prod["retainOnDelete"]
    # The shared dev is long-lived (usage PRODUCTION): its cache is kept too, with the one day of snapshots it needs.
    assert dev["protect"] and dev["inputs"]["snapshotRetentionLimit"] == 1


def test_staging_cache_holds_production_data_and_survives_a_destroy(shipped_preview):
    staging = shipped_preview("staging").one(CACHE, "cache")
    assert staging["protect"] and staging["retainOnDelete"] and staging["inputs"]["snapshotRetentionLimit"] >= 1


def test_access_control_disables_default_user_and_keeps_the_password_secret(shipped_preview):
    dev = shipped_preview("dev")
    users = {r["name"]: r["inputs"] for r in dev.resources("aws:elasticache/user:User")}
    assert users["cache-default"]["userName"] == "default" and users["cache-default"]["accessString"].startswith("off")
    assert "-@dangerous" in users["cache-app"]["accessString"]
    assert users["cache-app"]["authenticationMode"]["passwords"] == ["[secret]"]
    group = dev.one("aws:elasticache/userGroup:UserGroup", "cache")["inputs"]
    assert group["engine"] == "valkey" and len(group["userIds"]) == 2


def test_connection_contract_is_a_secret_readable_by_the_services(shipped_preview):
    dev = shipped_preview("dev")
    secret = dev.one("aws:secretsmanager/secret:Secret", "cache-connection")["inputs"]
    assert secret["name"] == "shop-dev-cache-connection"
    assert (
        dev.one("aws:secretsmanager/secretVersion:SecretVersion", "cache-connection")["inputs"]["secretString"]
        == "[secret]"
    )
    policy = dev.one("aws:secretsmanager/secretPolicy:SecretPolicy", "cache-connection")["inputs"]["policy"]
    assert "shop-dev-api-task" in policy and "secretsmanager:GetSecretValue" in policy


def test_contract_carries_endpoints_tls_and_short_timeouts():
    from components.valkey_cache import cache_contract
    from stack_config.data import CacheConfig

    contract = cache_contract(CacheConfig(), "primary.example", "reader.example", 6379, 6380, "arn:creds", 30)
    assert contract["endpoint"] == "primary.example" and contract["readerEndpoint"] == "reader.example"
    assert (contract["port"], contract["readerPort"], contract["tls"]) == (6379, 6380, True)
    # The report's outage began with a 60 s default: the contract says ~1 s to connect, <= 1 s per command.
    assert contract["connectTimeoutMs"] == 1000 and contract["commandTimeoutMs"] == 500
    custom = cache_contract(CacheConfig(connect_timeout_ms=800, command_timeout_ms=300), "e", "r", 1, 2, "c", 7)
    assert (custom["connectTimeoutMs"], custom["commandTimeoutMs"]) == (800, 300)


def test_contract_names_the_rotated_credentials_instead_of_carrying_a_password():
    from components.valkey_cache import cache_contract
    from stack_config.data import CacheConfig

    contract = cache_contract(CacheConfig(), "e", "r", 6379, 6380, "arn:aws:secretsmanager:eu-west-1:1:secret:c", 30)
    assert not {"password", "username"} & set(contract), "a rotated password in Pulumi's contract would go stale"
    assert contract["credentialsSecretArn"] == "arn:aws:secretsmanager:eu-west-1:1:secret:c"
    assert contract["credentialsRotateEveryDays"] == 30 and "re-read" in contract["onAuthenticationFailure"]


def test_replace_with_serverless_seeds_from_the_old_group_and_leaves_it_alone(stack_yaml, tmp_path):
    arn = f"arn:aws:elasticache:eu-west-1:{stack_account('dev')}:snapshot:shop-dev-sessions-final"
    config = stack_yaml(
        "dev",
        {
            "aws-platform:cache": {
                "migrateFrom": {
                    "replicationGroupId": "shop-dev-sessions",
                    "mode": "replace-with-serverless",
                    "seedSnapshotArn": arn,
                }
            }
        },
    )
    result = run_preview("dev", tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stdout + result.stderr
    cache = result.one(CACHE, "cache")["inputs"]
    assert cache["snapshotArnsToRestores"] == [arn] and "shop-dev-sessions" in cache["description"]
    assert not result.resources("aws:elasticache/replicationGroup:ReplicationGroup")


def test_upgrade_in_place_switches_the_engine_of_the_existing_group(stack_yaml, tmp_path):
    config = stack_yaml(
        "dev",
        {
            "aws-platform:cache": {
                "migrateFrom": {
                    "replicationGroupId": "shop-dev-sessions",
                    "mode": "upgrade-in-place",
                    "nodeType": "cache.r7g.large",
                }
            }
        },
    )
    result = run_preview("dev", tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert not result.resources(CACHE)
    (group,) = result.resources("aws:elasticache/replicationGroup:ReplicationGroup")
    inputs = group["inputs"]
    assert inputs["replicationGroupId"] == "shop-dev-sessions" and inputs["engine"] == "valkey"
    assert inputs["engineVersion"] == "8.0" and inputs["atRestEncryptionEnabled"] and inputs["transitEncryptionEnabled"]
    assert group["protect"], "an adopted group with live data is never replaced silently"
    # Node-based groups serve reads on 6379: no reader port to open.
    assert {r["inputs"]["fromPort"] for r in cache_rules(result)} == {6379}


def alarms_named(preview, prefix: str) -> dict[str, dict]:
    return {
        r["name"]: r["inputs"]
        for r in preview.resources("aws:cloudwatch/metricAlarm:MetricAlarm")
        if r["name"].startswith(prefix)
    }


def test_alarms_watch_throttling_and_the_share_of_each_maximum(shipped_preview):
    prod = shipped_preview("prod")
    limits = prod.one(CACHE, "cache")["inputs"]["cacheUsageLimits"]
    alarms = alarms_named(prod, "cache-")
    # ...and the password rotation's failures (test_cache_user_rotation.py).
    assert set(alarms) == {"cache-throttled", "cache-ecpu", "cache-storage", "cache-rotation-errors"}
    topic = prod.snapshot["outputs"]["alerts_topic_arn"]
    assert all(a["alarmActions"] == [topic] and a["okActions"] == [topic] for a in alarms.values())
    assert alarms["cache-throttled"]["metricName"] == "ThrottledCmds" and alarms["cache-throttled"]["threshold"] == 0
    # 80 % (the default alarmAtPercent) of the maximums the cache itself was given.
    assert alarms["cache-ecpu"]["threshold"] == 0.8 * limits["ecpuPerSeconds"][0]["maximum"]
    assert alarms["cache-storage"]["threshold"] == 0.8 * limits["dataStorage"]["maximum"] * 1000**3
    rate, ecpu = alarms["cache-ecpu"]["metricQueries"]
    assert rate["expression"] == "ecpu / PERIOD(ecpu)" and rate["returnData"] is True
    assert ecpu["metric"]["dimensions"] == {"clusterId": prod.one(CACHE, "cache")["inputs"]["name"]}


def test_alarm_share_is_configurable(stack_yaml, tmp_path):
    config = stack_yaml(
        "dev", {"aws-platform:cache": {"dataStorageMaxGb": 2, "ecpuPerSecondMax": 5000, "alarmAtPercent": 60}}
    )
    result = run_preview("dev", tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert alarms_named(result, "cache-ecpu")["cache-ecpu"]["threshold"] == 3000


def test_an_upgraded_group_is_watched_node_by_node(stack_yaml, tmp_path):
    migrate = {"replicationGroupId": "shop-dev-sessions", "mode": "upgrade-in-place", "numCacheClusters": 3}
    config = stack_yaml("dev", {"aws-platform:cache": {"migrateFrom": migrate}})
    result = run_preview("dev", tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.stdout + result.stderr
    alarms = {name: a for name, a in alarms_named(result, "cache-").items() if name != "cache-rotation-errors"}
    nodes = {a["dimensions"]["CacheClusterId"] for a in alarms.values()}
    assert nodes == {"shop-dev-sessions-001", "shop-dev-sessions-002", "shop-dev-sessions-003"}
    assert {a["metricName"] for a in alarms.values()} == {"EngineCPUUtilization", "DatabaseMemoryUsagePercentage"}
